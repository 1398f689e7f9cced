/**
 * Namespace records in IndexedDB: a RecordStore for @edge-kms/client namespaces. Meta and records
 * live in two object stores of their own database; each conditional write (meta compare-and-set,
 * a record write refused while the namespace is locked, a re-wrap that requires the record to
 * still hold the wrapped key it was read with) is one readwrite transaction over both stores, so
 * it is atomic across tabs too.
 */
import type { NamespaceMeta, NamespaceRecord, RecordStore } from '@edge-kms/client';
import { RecordStoreConflict, sameBytes } from '@edge-kms/client';
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

interface NsDB extends DBSchema {
  meta: { key: string; value: NamespaceMeta };
  records: { key: [string, string]; value: NamespaceRecord & { ns: string } };
}

export async function createIdbRecordStore(options: { name?: string } = {}): Promise<RecordStore & { close(): void; db: IDBPDatabase<NsDB> }> {
  const db = await openDB<NsDB>(options.name ?? 'edge-kms-namespaces', 1, {
    upgrade(d) {
      d.createObjectStore('meta', { keyPath: 'name' });
      d.createObjectStore('records', { keyPath: ['ns', 'id'] });
    },
    blocking: () => db.close(),
  });

  async function guarded(ns: string, write: (tx: ReturnType<typeof rw>) => Promise<void>): Promise<void> {
    const tx = rw();
    try {
      const meta = await tx.objectStore('meta').get(ns);
      if (meta?.change) throw new RecordStoreConflict(`namespace ${ns} is locked`);
      await write(tx);
      await tx.done;
    } catch (e) {
      abort(tx);
      throw e;
    }
  }
  const rw = () => db.transaction(['meta', 'records'], 'readwrite');
  const abort = (tx: ReturnType<typeof rw>) => {
    try {
      tx.abort();
    } catch {
      // finished already
    }
    tx.done.catch(() => undefined);
  };
  const strip = (r: (NamespaceRecord & { ns: string }) | undefined): NamespaceRecord | undefined =>
    r && { id: r.id, keyId: r.keyId, wrappedKey: r.wrappedKey, body: r.body };

  return {
    db,
    close: () => db.close(),
    getMeta: (ns) => db.get('meta', ns),
    async putMeta(meta, expectVersion) {
      const tx = rw();
      try {
        const cur = await tx.objectStore('meta').get(meta.name);
        if ((cur?.version ?? 0) !== expectVersion || meta.version !== expectVersion + 1) throw new RecordStoreConflict(`namespace ${meta.name} changed`);
        await tx.objectStore('meta').put(meta);
        await tx.done;
      } catch (e) {
        abort(tx);
        throw e;
      }
    },
    getRecord: async (ns, id) => strip(await db.get('records', [ns, id])),
    putRecord: (ns, record) => guarded(ns, async (tx) => void (await tx.objectStore('records').put({ ...record, ns }))),
    deleteRecord: (ns, id) => guarded(ns, (tx) => tx.objectStore('records').delete([ns, id])),
    async rewrap(ns, id, from, to) {
      const tx = rw();
      try {
        const r = await tx.objectStore('records').get([ns, id]);
        if (!r || !sameBytes(r.wrappedKey, from)) throw new RecordStoreConflict(`record ${id} changed`);
        await tx.objectStore('records').put({ ...r, keyId: to.keyId, wrappedKey: to.wrappedKey });
        await tx.done;
      } catch (e) {
        abort(tx);
        throw e;
      }
    },
    async listIds(ns, { after, limit }) {
      const lower = after === undefined ? [ns, ''] : [ns, after];
      const keys = await db.getAllKeys('records', IDBKeyRange.bound(lower, [ns, '\uffff'], after !== undefined, false), limit);
      return keys.map((k) => k[1]);
    },
    count: (ns) => db.count('records', IDBKeyRange.bound([ns, ''], [ns, '\uffff'])),
  };
}
