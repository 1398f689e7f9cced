/**
 * Where a namespace keeps its records. A record is its data's envelope message split in two: the
 * key section (which KMS key wrapped the data key, and the wrapped key) and the body (header and
 * chunks). A key change rewrites only key sections; bodies are never read or written by it.
 *
 * Stores must make three things atomic: a meta update conditional on the meta's version, a record
 * write conditional on the namespace not being locked, and a re-wrap conditional on the record
 * still holding the wrapped key it was read with. Implementations: memory (here), IndexedDB
 * (@edge-kms/idb), Workers KV (@edge-kms/cloudflare), LMDB (@edge-kms/node).
 */

export interface NamespaceRecord {
  id: string;
  /** The KMS key (ARN) whose material wrapped this record's data key. */
  keyId: string;
  wrappedKey: Uint8Array;
  /** Envelope body: never changed by a key change. */
  body: Uint8Array;
}

export interface KeyChange {
  from: string;
  to: string;
  startedAt: number;
}

export interface NamespaceMeta {
  name: string;
  /** The namespace's KMS key (ARN): new records are wrapped under it. */
  keyId: string;
  /** Present while a key change runs (or was interrupted): the namespace is locked. */
  change?: KeyChange;
  /** Incremented by every meta update (compare-and-set). */
  version: number;
}

export class RecordStoreConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordStoreConflict';
  }
}

export interface RecordStore {
  getMeta(ns: string): Promise<NamespaceMeta | undefined>;
  /** Writes meta if the stored version is `expectVersion` (0: absent); meta.version must be expectVersion + 1. */
  putMeta(meta: NamespaceMeta, expectVersion: number): Promise<void>;
  getRecord(ns: string, id: string): Promise<NamespaceRecord | undefined>;
  /** Writes (or, with `remove`, deletes) a record unless the namespace is locked (RecordStoreConflict). */
  putRecord(ns: string, record: NamespaceRecord): Promise<void>;
  deleteRecord(ns: string, id: string): Promise<void>;
  /** Replaces a record's key section if it still holds `fromWrappedKey`; the body is not touched. */
  rewrap(ns: string, id: string, fromWrappedKey: Uint8Array, to: { keyId: string; wrappedKey: Uint8Array }): Promise<void>;
  /** Record ids in ascending order after `after`. */
  listIds(ns: string, options: { after?: string; limit: number }): Promise<string[]>;
  count(ns: string): Promise<number>;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export function createMemoryRecordStore(): RecordStore {
  const metas = new Map<string, NamespaceMeta>();
  const records = new Map<string, Map<string, NamespaceRecord>>();
  const of = (ns: string) => {
    let m = records.get(ns);
    if (!m) records.set(ns, (m = new Map()));
    return m;
  };
  const locked = (ns: string) => metas.get(ns)?.change !== undefined;
  // Each namespace's ids in ascending order, made when first listed and dropped when an id comes or
  // goes: paging through a namespace (a key change does) then sorts it once, not once a page.
  const sorted = new Map<string, string[]>();
  return {
    async getMeta(ns) {
      const m = metas.get(ns);
      return m && structuredClone(m);
    },
    async putMeta(meta, expectVersion) {
      if ((metas.get(meta.name)?.version ?? 0) !== expectVersion || meta.version !== expectVersion + 1)
        throw new RecordStoreConflict(`namespace ${meta.name} changed`);
      metas.set(meta.name, structuredClone(meta));
    },
    async getRecord(ns, id) {
      const r = of(ns).get(id);
      return r && { ...r };
    },
    async putRecord(ns, record) {
      if (locked(ns)) throw new RecordStoreConflict(`namespace ${ns} is locked`);
      const m = of(ns);
      if (!m.has(record.id)) sorted.delete(ns);
      m.set(record.id, { ...record });
    },
    async deleteRecord(ns, id) {
      if (locked(ns)) throw new RecordStoreConflict(`namespace ${ns} is locked`);
      if (of(ns).delete(id)) sorted.delete(ns);
    },
    async rewrap(ns, id, from, to) {
      const r = of(ns).get(id);
      if (!r || !sameBytes(r.wrappedKey, from)) throw new RecordStoreConflict(`record ${id} changed`);
      of(ns).set(id, { ...r, keyId: to.keyId, wrappedKey: to.wrappedKey });
    },
    async listIds(ns, { after, limit }) {
      let ids = sorted.get(ns);
      if (!ids) sorted.set(ns, (ids = [...of(ns).keys()].sort()));
      // The first id greater than `after`.
      let lo = 0;
      if (after !== undefined) {
        let hi = ids.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (ids[mid]! <= after) lo = mid + 1;
          else hi = mid;
        }
      }
      return ids.slice(lo, lo + limit);
    },
    async count(ns) {
      return of(ns).size;
    },
  };
}
