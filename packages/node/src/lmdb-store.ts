/**
 * The persistent store for Node: LMDB through lmdb-js. LMDB gives ACID transactions on a
 * copy-on-write B+tree: a commit is all or nothing, and a crash or kill -9 at any moment leaves
 * the last committed state intact. Writes from several processes serialize on LMDB's write lock,
 * so the precondition check and the writes of a commit run in one transaction.
 *
 * Layout (one database, ordered string keys): `k:<keyId>` key records, `v:<keyId>:<version,
 * 10 digits>` key material versions (wrapped material only), `a:<aliasName>` aliases.
 */
import { commitWrites, type AliasRecord, type KeyRecord, type KmsStore, type ListPage, type MaterialVersion, type StoreWrite, type SyncView } from '@edge-kms/core';
import { open, type Database, type RootDatabase } from 'lmdb';

const pad = (n: number) => String(n).padStart(10, '0');
const vkey = (keyId: string, version: number) => `v:${keyId}:${pad(version)}`;

function toBytes(b: Uint8Array): Uint8Array {
  // lmdb returns Buffers; hand out plain Uint8Arrays.
  return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function readVersion(v: MaterialVersion): MaterialVersion {
  if (v.Material.kind === 'wrapped') return { ...v, Material: { ...v.Material, data: toBytes(v.Material.data) } };
  return v;
}

export interface LmdbStoreOptions {
  path: string;
}

export function createLmdbStore(options: LmdbStoreOptions): KmsStore & { db: RootDatabase } {
  const db: RootDatabase = open({ path: options.path, encoding: 'msgpack', compression: false });
  const data: Database = db;

  const view: SyncView = {
    getKey: (id) => data.get(`k:${id}`) as KeyRecord | undefined,
    hasVersion: (id, v) => data.doesExist(vkey(id, v)),
    getAlias: (n) => data.get(`a:${n}`) as AliasRecord | undefined,
    putKey: (k) => void data.put(`k:${k.KeyId}`, k),
    deleteKey: (id) => {
      data.remove(`k:${id}`);
      for (const { key } of data.getRange({ start: `v:${id}:`, end: `v:${id};` })) data.remove(key);
    },
    putVersion: (v) => {
      if (v.Material.kind !== 'wrapped') throw new Error('the LMDB store keeps wrapped key material only');
      data.put(vkey(v.KeyId, v.Version), v);
    },
    putAlias: (a) => void data.put(`a:${a.AliasName}`, a),
    deleteAlias: (n) => void data.remove(`a:${n}`),
  };

  function list<T>(prefix: string, after: string | undefined, limit: number, name: (t: T) => string): ListPage<T> {
    const start = after === undefined ? prefix : `${prefix}${after}\u0000`;
    const items: T[] = [];
    let more = false;
    for (const { value } of data.getRange({ start, end: `${prefix.slice(0, -1)};` })) {
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(value as T);
    }
    return more ? { items, next: name(items[items.length - 1]!) } : { items };
  }

  // lmdb-js keeps a read snapshot for the current event turn. Another process (or handle) may
  // have committed since, so mutable records are read from a fresh snapshot; immutable versions
  // only need one when the old snapshot misses.
  const fresh = () => db.resetReadTxn();

  return {
    db,
    async getKey(keyId) {
      fresh();
      return view.getKey(keyId);
    },
    async listKeys({ after, limit }) {
      fresh();
      return list<KeyRecord>('k:', after, limit, (k) => k.KeyId);
    },
    async getVersion(keyId, version) {
      let v = data.get(vkey(keyId, version)) as MaterialVersion | undefined;
      if (!v) {
        fresh();
        v = data.get(vkey(keyId, version)) as MaterialVersion | undefined;
      }
      return v && readVersion(v);
    },
    async listVersions(keyId, { after, limit }) {
      fresh();
      const out: MaterialVersion[] = [];
      for (const { value } of data.getRange({ start: vkey(keyId, after + 1), end: `v:${keyId};`, limit })) {
        out.push(readVersion(value as MaterialVersion));
      }
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
    async commit(writes: StoreWrite[]) {
      db.transactionSync(() => commitWrites(view, writes));
    },
    async clear() {
      db.transactionSync(() => {
        for (const { key } of data.getRange({})) data.remove(key);
      });
    },
    async close() {
      await db.close();
    },
  };
}
