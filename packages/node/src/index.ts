/** @edge-kms/node: the persistent LMDB store, root key handling and the Node server. */
export { createLmdbStore, type LmdbStoreOptions } from './lmdb-store.js';
export { loadRootKey } from './root-key.js';
export { startServer, isLoopback, OpenModeRefused, type ServerOptions, type RunningServer } from './server.js';
export { parseIdentities } from '@edge-kms/core';
export { createLmdbRecordStore } from './lmdb-record-store.js';
export { createNodeCryptoProvider } from './node-crypto.js';
