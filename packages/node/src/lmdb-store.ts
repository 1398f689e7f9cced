/**
 * The persistent store for Node: LMDB through lmdb-js, with the core's ordered key-value layout.
 * LMDB gives ACID transactions on a copy-on-write B+tree: a commit is all or nothing, and a crash
 * or kill -9 at any moment leaves the last committed state intact. Writes from several processes
 * serialize on LMDB's write lock, so a commit's precondition check and its writes run in one
 * transaction. Key material is kept wrapped only (CryptoKeys cannot be persisted here), or as
 * deleted (imported material whose bytes are gone).
 * The database and its lock file are created mode 0600 (an existing wider file is narrowed), in
 * a directory created 0700 (lmdb-open.ts).
 */
import { createOrderedKvStore, deepFreeze, type KmsStore, type MaterialVersion } from '@edge-kms/core';
import type { RootDatabase } from 'lmdb';
import { openPrivate } from './lmdb-open.js';

function toBytes(b: Uint8Array): Uint8Array {
  // lmdb returns Buffers; hand out plain Uint8Arrays.
  return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export interface LmdbStoreOptions {
  path: string;
}

export function createLmdbStore(options: LmdbStoreOptions): KmsStore & { db: RootDatabase } {
  const db: RootDatabase = openPrivate(options.path);
  // Key records are read on every request. Decoding one costs more than comparing its stored
  // bytes, so the last decoded (frozen) record is kept with its bytes and reused while they are
  // unchanged: always the committed value, never a stale one.
  const decoded = new Map<string, { bytes: Buffer; value: unknown }>();
  const get = (key: string): unknown => {
    if (!key.startsWith('k:')) return db.get(key);
    const raw = db.getBinary(key);
    if (raw === undefined) {
      decoded.delete(key);
      return undefined;
    }
    const hit = decoded.get(key);
    if (hit?.bytes.equals(raw)) return hit.value;
    const value = deepFreeze(db.get(key));
    if (decoded.size >= 10_000) decoded.clear();
    decoded.set(key, { bytes: raw, value });
    return value;
  };
  const store = createOrderedKvStore({
    kv: {
      get,
      put: (key, value) => void db.put(key, value),
      delete: (key) => void db.remove(key),
      range: (start, end, limit) => {
        const out: [string, unknown][] = [];
        for (const { key, value } of db.getRange({ start, end, limit })) out.push([key as string, value]);
        return out;
      },
    },
    transaction: (fn) => db.transactionSync(fn),
    // lmdb-js keeps a read snapshot for the current event turn; another process (or handle) may
    // have committed since.
    beforeRead: () => db.resetReadTxn(),
    readVersion: (v: MaterialVersion) => {
      const out: MaterialVersion = v.Material.kind === 'wrapped' ? { ...v, Material: { ...v.Material, data: toBytes(v.Material.data) } } : { ...v };
      // lmdb-js hands out Buffers: a copy, so that no caller shares memory with another.
      if (v.PublicKey) out.PublicKey = new Uint8Array(v.PublicKey);
      return out;
    },
    checkVersion: (v) => {
      // Deleted imported material has no bytes to keep.
      if (v.Material.kind !== 'wrapped' && v.Material.kind !== 'deleted') throw new Error('the LMDB store keeps wrapped key material only');
    },
    close: async () => {
      await db.close();
    },
  });
  return { ...store, db };
}
