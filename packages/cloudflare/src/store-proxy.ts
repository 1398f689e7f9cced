/**
 * Test mode only: `POST /_edge-kms/store` runs one KmsStore method and answers its result, so the
 * store conformance suite (which runs in Node) can exercise the real Durable Object and KV stores
 * inside workerd. Bytes travel as {"$b": base64}. Never enabled outside KMS_TEST_MODE=1.
 */
import { StoreConflictError, type KmsStore } from '@edge-kms/core';
import { decodeJson, encodeJson } from './json-bytes.js';

const METHODS = new Set(['getKey', 'listKeys', 'getVersion', 'getVersionCandidates', 'listVersions', 'getAlias', 'listAliases', 'commit', 'clear']);

export { decodeJson, encodeJson };

export async function handleStoreProxy(request: Request, store: KmsStore): Promise<Response> {
  const { method, args } = decodeJson(await request.text()) as { method: string; args: unknown[] };
  if (!METHODS.has(method) || typeof (store as unknown as Record<string, unknown>)[method] !== 'function') {
    return new Response(encodeJson({ error: `no such store method ${method}` }), { status: 400 });
  }
  try {
    const result = await (store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!(...args);
    return new Response(encodeJson({ result }));
  } catch (e) {
    if (e instanceof StoreConflictError) return new Response(encodeJson({ conflict: e.message }), { status: 409 });
    return new Response(encodeJson({ error: String(e) }), { status: 500 });
  }
}
