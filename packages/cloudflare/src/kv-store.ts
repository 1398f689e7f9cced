/**
 * The Workers KV store, for read-mostly, single-writer deployments. KV has no transactions and no
 * compare-and-set, and a write can take up to a minute to be seen at other locations. What this
 * store promises, and what it does not:
 *
 * - No version is ever lost: every key material version is written under its own KV key,
 *   `v:<keyId>:<version>:<keyMaterialId>`, before any key record points at it. Two writers that
 *   race (two isolates rotating one key at once) both keep their material; if both chose the same
 *   version number, both stay under it and Decrypt tries each (getVersionCandidates).
 * - replaceVersion (imported material deleted, or imported again) overwrites that same KV key, so
 *   the version answers only the new record, never the old one beside it. Like putVersion, its
 *   precondition (the version exists with that KeyMaterialId) is checked by this isolate only,
 *   with no compare-and-set: a racing writer in another isolate may overwrite it (last writer
 *   wins), and other locations may see the old record for up to a minute.
 * - What may lag or be lost to a race is only which version is current (the key record is
 *   last-writer-wins) and counters such as the on-demand rotation count.
 * - Within one isolate, commits are serialized and their preconditions checked, so a single
 *   writer behaves exactly like the other stores (it passes the store conformance suite).
 *
 * Use the Durable Object store when several writers, strict limits or read-after-write across
 * locations matter. Values are JSON; bytes travel as {"$b": base64}. Key material is kept wrapped
 * (or as deleted: imported material whose bytes are gone).
 */
import { checkWritesAsync, type AliasRecord, type KeyRecord, type KmsStore, type ListPage, type MaterialVersion, type StoreWrite } from '@edge-kms/core';
import type { KVNamespaceLike } from './cf-types.js';
import { decodeValue, encodeJson } from './json-bytes.js';

const pad = (n: number) => String(n).padStart(10, '0');

const encode = encodeJson;
const decode = decodeValue;

const refuseUnwrapped = (v: MaterialVersion): void => {
  // Deleted imported material has no bytes to keep.
  if (v.Material.kind !== 'wrapped' && v.Material.kind !== 'deleted') throw new Error('the KV store keeps wrapped key material only');
};

export interface KvStoreOptions {
  /** Prefix for every KV key, so one namespace can hold several KMSs. */
  prefix?: string;
}

export function createKvStore(kv: KVNamespaceLike, options: KvStoreOptions = {}): KmsStore {
  const p = options.prefix ?? '';
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };

  async function names(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await kv.list({ prefix: p + prefix, cursor, limit: 1000 });
      for (const k of page.keys) out.push(k.name.slice(p.length));
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    return out.sort();
  }

  const get = async <T>(key: string) => decode<T>(await kv.get(p + key, 'text'));
  const versionPrefix = (keyId: string, version: number) => `v:${keyId}:${pad(version)}:`;

  async function candidates(keyId: string, version: number): Promise<MaterialVersion[]> {
    const out: MaterialVersion[] = [];
    for (const name of await names(versionPrefix(keyId, version))) {
      const v = await get<MaterialVersion>(name);
      if (v) out.push(v);
    }
    return out;
  }

  async function listRecords<T>(prefix: string, after: string | undefined, limit: number, name: (t: T) => string): Promise<ListPage<T>> {
    const all = (await names(prefix)).filter((n) => after === undefined || n.slice(prefix.length) > after);
    const items: T[] = [];
    for (const n of all.slice(0, limit)) {
      const v = await get<T>(n);
      if (v) items.push(v);
    }
    return all.length > limit && items.length > 0 ? { items, next: name(items[items.length - 1]!) } : { items };
  }

  // The core's precondition rules, over values read from KV just before (no transaction: the
  // commit queue of this isolate is what keeps a check and its writes together).
  const check = (writes: StoreWrite[]): Promise<void> =>
    checkWritesAsync(
      {
        getKey: (keyId) => get<KeyRecord>(`k:${keyId}`),
        hasVersion: async (keyId, version) => (await names(versionPrefix(keyId, version))).length > 0,
        // The candidates' KV keys end in their KeyMaterialIds.
        versionMaterialIds: async (keyId, version) => (await names(versionPrefix(keyId, version))).map((n) => n.slice(versionPrefix(keyId, version).length)),
        getAlias: (name) => get<AliasRecord>(`a:${name}`),
      },
      writes,
      { checkVersion: refuseUnwrapped },
    );

  async function apply(writes: StoreWrite[]): Promise<void> {
    // Versions first: a key record never points at material that is not written yet. A replace
    // writes the KV key of the candidate it replaces (same KeyMaterialId): no second candidate.
    for (const w of writes) {
      if (w.type === 'putVersion' || w.type === 'replaceVersion') {
        await kv.put(p + versionPrefix(w.version.KeyId, w.version.Version) + w.version.KeyMaterialId, encode(w.version));
      }
    }
    for (const w of writes) {
      if (w.type === 'putAlias') await kv.put(`${p}a:${w.alias.AliasName}`, encode(w.alias));
      else if (w.type === 'deleteAlias') await kv.delete(`${p}a:${w.aliasName}`);
      else if (w.type === 'putKey') await kv.put(`${p}k:${w.key.KeyId}`, encode(w.key));
    }
    for (const w of writes) {
      if (w.type !== 'deleteKey') continue;
      await kv.delete(`${p}k:${w.keyId}`);
      for (const n of await names(`v:${w.keyId}:`)) await kv.delete(p + n);
    }
  }

  return {
    getKey: (keyId) => get<KeyRecord>(`k:${keyId}`),
    listKeys: ({ after, limit }) => listRecords<KeyRecord>('k:', after, limit, (k) => k.KeyId),
    async getVersion(keyId, version) {
      const all = await candidates(keyId, version);
      return all[0];
    },
    getVersionCandidates: candidates,
    async listVersions(keyId, { after, limit }) {
      const all = (await names(`v:${keyId}:`)).filter((n) => Number(n.split(':')[2]) > after).slice(0, limit);
      const out: MaterialVersion[] = [];
      for (const n of all) {
        const v = await get<MaterialVersion>(n);
        if (v) out.push(v);
      }
      return out;
    },
    getAlias: (name) => get<AliasRecord>(`a:${name}`),
    listAliases: ({ after, limit }) => listRecords<AliasRecord>('a:', after, limit, (a) => a.AliasName),
    commit: (writes) =>
      serialized(async () => {
        await check(writes);
        await apply(writes);
      }),
    clear: () =>
      serialized(async () => {
        for (const n of await names('')) await kv.delete(p + n);
      }),
  };
}
