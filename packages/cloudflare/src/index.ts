/** @edge-kms/cloudflare: stores and building blocks for running edge-kms on Cloudflare Workers. */
export { createDurableObjectStore } from './do-store.js';
export { createKvStore, type KvStoreOptions } from './kv-store.js';
export { buildKms, corsOrigins, ConfigurationError, type KmsEnv, type BuiltKms } from './config.js';
export type { DurableObjectStorageLike, KVNamespaceLike } from './cf-types.js';
export { createKvRecordStore } from './kv-record-store.js';
