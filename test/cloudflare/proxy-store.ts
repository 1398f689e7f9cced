/**
 * A KmsStore in Node whose every method runs inside workerd, on the Worker's real Durable Object
 * or KV store, through the test-mode endpoint POST /_edge-kms/store. Lets the store conformance
 * suite run against the edge stores unchanged.
 */
import { StoreConflictError, type KmsStore } from '@edge-kms/core';
import { decodeJson, encodeJson } from '../../packages/cloudflare/src/store-proxy.js';

/** `candidates`: the store behind implements getVersionCandidates (KV does, Durable Objects do not). */
export function createProxyStore(url: string, instance = 0, candidates = true): KmsStore {
  const call = async (method: string, ...args: unknown[]): Promise<any> => {
    const r = await fetch(`${url}/_edge-kms/store?instance=${instance}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: encodeJson({ method, args }),
    });
    const body = decodeJson(await r.text()) as { result?: unknown; conflict?: string; error?: string };
    if (r.status === 409) throw new StoreConflictError(body.conflict);
    if (!r.ok) throw new Error(body.error ?? `store proxy ${r.status}`);
    return body.result ?? undefined;
  };
  const store: KmsStore = {
    getKey: (keyId) => call('getKey', keyId),
    listKeys: (o) => call('listKeys', o),
    getVersion: (keyId, v) => call('getVersion', keyId, v),
    listVersions: (keyId, o) => call('listVersions', keyId, o),
    getAlias: (n) => call('getAlias', n),
    listAliases: (o) => call('listAliases', o),
    commit: (w) => call('commit', w),
    clear: () => call('clear'),
  };
  if (candidates) store.getVersionCandidates = (keyId, v) => call('getVersionCandidates', keyId, v);
  return store;
}
