/**
 * A KmsStore over any ordered, synchronous key-value backend with transactions: LMDB on Node and
 * Durable Object storage on Workers share it. The layout, in one ordered key space:
 *
 *   k:<keyId>                      key record
 *   v:<keyId>:<version, 10 digits> key material version (replaced only by replaceVersion)
 *   a:<aliasName>                  alias
 *
 * A commit runs checkWrites and applyWrites inside one backend transaction, so it is atomic and
 * its preconditions are checked against the latest committed state.
 */
import type { AliasRecord, KeyRecord, MaterialVersion } from '../model.js';
import { commitWrites, type SyncView } from './apply.js';
import type { KmsStore, ListPage } from './types.js';

export interface OrderedKv {
  get(key: string): unknown;
  put(key: string, value: unknown): void;
  delete(key: string): void;
  /** Entries with start <= key < end, ascending, at most `limit`. */
  range(start: string, end: string, limit?: number): Iterable<[string, unknown]>;
}

export interface OrderedKvStoreOptions {
  kv: OrderedKv;
  /** Runs fn in one atomic backend transaction (all writes or none). */
  transaction(fn: () => void): void;
  /** Called before reading mutable records, e.g. to drop a stale read snapshot. */
  beforeRead?(): void;
  /** Normalizes a stored version (e.g. the backend's byte type to a plain Uint8Array). */
  readVersion?(v: MaterialVersion): MaterialVersion;
  /** Refuses material the backend must not keep (e.g. CryptoKeys where only bytes persist). */
  checkVersion?(v: MaterialVersion): void;
  close?(): Promise<void>;
}

const pad = (n: number) => String(n).padStart(10, '0');
export const versionKey = (keyId: string, version: number) => `v:${keyId}:${pad(version)}`;

export function createOrderedKvStore(options: OrderedKvStoreOptions): KmsStore {
  const { kv } = options;
  const fresh = options.beforeRead ?? (() => undefined);
  const readVersion = options.readVersion ?? ((v: MaterialVersion) => v);

  const view: SyncView = {
    getKey: (id) => kv.get(`k:${id}`) as KeyRecord | undefined,
    hasVersion: (id, v) => kv.get(versionKey(id, v)) !== undefined,
    versionMaterialIds: (id, v) => {
      const found = kv.get(versionKey(id, v)) as MaterialVersion | undefined;
      return found ? [found.KeyMaterialId] : [];
    },
    getAlias: (n) => kv.get(`a:${n}`) as AliasRecord | undefined,
    putKey: (k) => kv.put(`k:${k.KeyId}`, k),
    deleteKey: (id) => {
      kv.delete(`k:${id}`);
      for (const [key] of [...kv.range(`v:${id}:`, `v:${id};`)]) kv.delete(key);
    },
    putVersion: (v) => {
      options.checkVersion?.(v);
      kv.put(versionKey(v.KeyId, v.Version), v);
    },
    putAlias: (a) => kv.put(`a:${a.AliasName}`, a),
    deleteAlias: (n) => kv.delete(`a:${n}`),
  };

  function list<T>(prefix: string, after: string | undefined, limit: number, name: (t: T) => string): ListPage<T> {
    const start = after === undefined ? prefix : `${prefix}${after}\u0000`;
    const items: T[] = [];
    for (const [, value] of kv.range(start, `${prefix.slice(0, -1)};`, limit + 1)) items.push(value as T);
    if (items.length > limit) {
      items.length = limit;
      return { items, next: name(items[limit - 1]!) };
    }
    return { items };
  }

  return {
    async getKey(keyId) {
      fresh();
      return view.getKey(keyId);
    },
    getKeyNow(keyId) {
      fresh();
      return view.getKey(keyId);
    },
    async listKeys({ after, limit }) {
      fresh();
      return list<KeyRecord>('k:', after, limit, (k) => k.KeyId);
    },
    async getVersion(keyId, version) {
      // Always a fresh snapshot: replaceVersion changes a version (imported material deleted or
      // imported again), so a hit in a stale snapshot may be the old record.
      fresh();
      const v = kv.get(versionKey(keyId, version)) as MaterialVersion | undefined;
      return v && readVersion(v);
    },
    async listVersions(keyId, { after, limit }) {
      fresh();
      const out: MaterialVersion[] = [];
      for (const [, value] of kv.range(versionKey(keyId, after + 1), `v:${keyId};`, limit)) out.push(readVersion(value as MaterialVersion));
      return out;
    },
    async getAlias(name) {
      fresh();
      return view.getAlias(name);
    },
    async listAliases({ after, limit }) {
      fresh();
      return list<AliasRecord>('a:', after, limit, (a) => a.AliasName);
    },
    async commit(writes) {
      options.transaction(() => commitWrites(view, writes));
    },
    async clear() {
      options.transaction(() => {
        for (const [key] of [...kv.range('', '\uffff')]) kv.delete(key);
      });
    },
    close: options.close,
  };
}
