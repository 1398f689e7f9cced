/**
 * Namespace records in LMDB, for @edge-kms/client namespaces on Node (and shared by processes):
 * every conditional write is one LMDB write transaction, so it is atomic and survives kill -9.
 * Its files are created mode 0600 in a directory created 0700 (lmdb-open.ts).
 */
import { RecordStoreConflict, sameBytes, type NamespaceMeta, type NamespaceRecord, type RecordStore } from '@edge-kms/client';
import type { RootDatabase } from 'lmdb';
import { openPrivate } from './lmdb-open.js';

const metaKey = (ns: string) => `m:${ns}`;
const recPrefix = (ns: string) => `r:${ns}\u0000`;
const bytes = (b: Uint8Array) => new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

export function createLmdbRecordStore(options: { path: string }): RecordStore & { close(): Promise<void> } {
  const db: RootDatabase = openPrivate(options.path);
  const getMeta = (ns: string) => {
    db.resetReadTxn();
    return db.get(metaKey(ns)) as NamespaceMeta | undefined;
  };
  const getRecord = (ns: string, id: string) => {
    const r = db.get(recPrefix(ns) + id) as NamespaceRecord | undefined;
    return r && { ...r, wrappedKey: bytes(r.wrappedKey), body: bytes(r.body) };
  };
  const unlocked = (ns: string) => {
    if ((db.get(metaKey(ns)) as NamespaceMeta | undefined)?.change) throw new RecordStoreConflict(`namespace ${ns} is locked`);
  };
  return {
    getMeta: async (ns) => getMeta(ns),
    async putMeta(meta, expectVersion) {
      db.transactionSync(() => {
        const cur = db.get(metaKey(meta.name)) as NamespaceMeta | undefined;
        if ((cur?.version ?? 0) !== expectVersion || meta.version !== expectVersion + 1) throw new RecordStoreConflict(`namespace ${meta.name} changed`);
        db.put(metaKey(meta.name), meta);
      });
    },
    async getRecord(ns, id) {
      db.resetReadTxn();
      return getRecord(ns, id);
    },
    async putRecord(ns, record) {
      db.transactionSync(() => {
        unlocked(ns);
        db.put(recPrefix(ns) + record.id, record);
      });
    },
    async deleteRecord(ns, id) {
      db.transactionSync(() => {
        unlocked(ns);
        db.remove(recPrefix(ns) + id);
      });
    },
    async rewrap(ns, id, from, to) {
      db.transactionSync(() => {
        const r = getRecord(ns, id);
        if (!r || !sameBytes(r.wrappedKey, from)) throw new RecordStoreConflict(`record ${id} changed`);
        db.put(recPrefix(ns) + id, { ...r, keyId: to.keyId, wrappedKey: to.wrappedKey });
      });
    },
    async listIds(ns, { after, limit }) {
      db.resetReadTxn();
      const p = recPrefix(ns);
      const start = after === undefined ? p : `${p}${after}\u0000`;
      const ids: string[] = [];
      for (const key of db.getKeys({ start, end: `r:${ns}\u0001`, limit })) ids.push((key as string).slice(p.length));
      return ids;
    },
    async count(ns) {
      db.resetReadTxn();
      return db.getKeysCount({ start: recPrefix(ns), end: `r:${ns}\u0001` });
    },
    close: () => db.close(),
  };
}
