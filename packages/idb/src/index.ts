/** @edge-kms/idb: key history in IndexedDB. */
export { createIdbStore, deleteIdbStore, IDB_SCHEMA_VERSION, type IdbStoreOptions } from './idb-store.js';
export { createIdbRecordStore } from './idb-record-store.js';
