/**
 * The Durable Object store, the default at the edge: one object per account and region holds
 * the keys in its SQLite-backed storage. A commit is one `transactionSync`, so it is atomic and,
 * a Durable Object being single-threaded and strongly consistent, its preconditions see every
 * earlier commit. Uses the core's ordered key-value layout (the same as the Node LMDB store).
 */
import { createOrderedKvStore, type KmsStore } from '@edge-kms/core';
import type { DurableObjectStorageLike } from './cf-types.js';

export function createDurableObjectStore(storage: DurableObjectStorageLike): KmsStore {
  return createOrderedKvStore({
    kv: {
      get: (key) => storage.kv.get(key),
      put: (key, value) => storage.kv.put(key, value),
      delete: (key) => void storage.kv.delete(key),
      range: (start, end, limit) => storage.kv.list({ start, end, limit }),
    },
    transaction: (fn) => storage.transactionSync(fn),
    checkVersion: (v) => {
      // Deleted imported material has no bytes to keep.
      if (v.Material.kind !== 'wrapped' && v.Material.kind !== 'deleted') throw new Error('the Durable Object store keeps wrapped key material only');
    },
  });
}
