/**
 * The IndexedDB store (on `idb`). Key records, key material versions and aliases live in three
 * object stores; key material is kept as non-extractable CryptoKeys (IndexedDB stores them by
 * structured clone, so no script, ours included, can ever read their bytes).
 *
 * A commit is one readwrite transaction over the three stores. Inside it we await only IndexedDB
 * requests (all WebCrypto work happens before the engine commits), check every precondition (the
 * core's rules, over values read in the transaction), then write; a failed precondition aborts
 * the transaction. IndexedDB runs readwrite transactions with overlapping scopes one at a time,
 * across tabs too, so check-then-write is atomic without Web Locks: two tabs rotating one key
 * cannot both pass the same revision check.
 *
 * `indexedDB` is read only when the store is opened, so importing this module on a server is
 * harmless.
 */
import { checkWritesAsync, type AliasRecord, type KeyRecord, type KmsStore, type ListPage, type MaterialVersion, type StoreWrite } from '@edge-kms/core';
import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction } from 'idb';

export const IDB_SCHEMA_VERSION = 2;

interface KmsDB extends DBSchema {
  keys: { key: string; value: KeyRecord };
  versions: { key: [string, number]; value: MaterialVersion };
  aliases: { key: string; value: AliasRecord; indexes: { byTarget: string } };
}

type Tx = IDBPTransaction<KmsDB, ('keys' | 'versions' | 'aliases')[], 'readwrite'>;

export interface IdbStoreOptions {
  /** Database name; one database per KMS (account and region). Default `edge-kms`. */
  name?: string;
}

/**
 * Schema history. v1: keys, versions, aliases. v2: an index of aliases by target key (ListAliases
 * with KeyId, and deleting a key's aliases, without a scan). Upgrades only add; no data moves.
 */
function upgrade(db: IDBPDatabase<KmsDB>, oldVersion: number, tx: IDBPTransaction<KmsDB, ('keys' | 'versions' | 'aliases')[], 'versionchange'>): void {
  if (oldVersion < 1) {
    db.createObjectStore('keys', { keyPath: 'KeyId' });
    db.createObjectStore('versions', { keyPath: ['KeyId', 'Version'] });
    db.createObjectStore('aliases', { keyPath: 'AliasName' });
  }
  if (oldVersion < 2) {
    tx.objectStore('aliases').createIndex('byTarget', 'TargetKeyId');
  }
}

/**
 * The commit's preconditions (the core's checkWrites), over values read in `tx`: the reads are
 * IndexedDB requests of the transaction, issued together, and nothing else is awaited.
 */
function check(tx: Tx, writes: StoreWrite[]): Promise<void> {
  return checkWritesAsync(
    {
      getKey: (keyId) => tx.objectStore('keys').get(keyId),
      hasVersion: async (keyId, version) => (await tx.objectStore('versions').count([keyId, version])) > 0,
      versionMaterialIds: async (keyId, version) => {
        const found = await tx.objectStore('versions').get([keyId, version]);
        return found ? [found.KeyMaterialId] : [];
      },
      getAlias: (name) => tx.objectStore('aliases').get(name),
    },
    writes,
  );
}

async function apply(tx: Tx, writes: StoreWrite[]): Promise<void> {
  for (const w of writes) {
    switch (w.type) {
      case 'putKey':
        await tx.objectStore('keys').put(w.key);
        break;
      case 'deleteKey':
        await tx.objectStore('keys').delete(w.keyId);
        await tx.objectStore('versions').delete(IDBKeyRange.bound([w.keyId, -Infinity], [w.keyId, Infinity]));
        break;
      case 'putVersion':
        await tx.objectStore('versions').add(w.version);
        break;
      case 'replaceVersion':
        // Checked to exist with the same KeyMaterialId: put overwrites it in place.
        await tx.objectStore('versions').put(w.version);
        break;
      case 'putAlias':
        await tx.objectStore('aliases').put(w.alias);
        break;
      case 'deleteAlias':
        await tx.objectStore('aliases').delete(w.aliasName);
        break;
    }
  }
}

function page<T>(items: T[], limit: number, name: (t: T) => string): ListPage<T> {
  if (items.length > limit) {
    const kept = items.slice(0, limit);
    return { items: kept, next: name(kept[kept.length - 1]!) };
  }
  return { items };
}

export async function createIdbStore(options: IdbStoreOptions = {}): Promise<KmsStore & { db: IDBPDatabase<KmsDB> }> {
  const db = await openDB<KmsDB>(options.name ?? 'edge-kms', IDB_SCHEMA_VERSION, {
    upgrade: (database, oldVersion, _newVersion, tx) => upgrade(database, oldVersion, tx),
    blocking: () => db.close(),
  });

  return {
    db,
    getKey: (keyId) => db.get('keys', keyId),
    async listKeys({ after, limit }) {
      const range = after === undefined ? undefined : IDBKeyRange.lowerBound(after, true);
      return page(await db.getAll('keys', range, limit + 1), limit, (k) => k.KeyId);
    },
    getVersion: (keyId, version) => db.get('versions', [keyId, version]),
    listVersions: (keyId, { after, limit }) => db.getAll('versions', IDBKeyRange.bound([keyId, after + 1], [keyId, Infinity]), limit),
    getAlias: (name) => db.get('aliases', name),
    async listAliases({ after, limit }) {
      const range = after === undefined ? undefined : IDBKeyRange.lowerBound(after, true);
      return page(await db.getAll('aliases', range, limit + 1), limit, (a) => a.AliasName);
    },
    async commit(writes) {
      const tx = db.transaction(['keys', 'versions', 'aliases'], 'readwrite');
      try {
        await check(tx, writes);
        await apply(tx, writes);
        await tx.done;
      } catch (e) {
        try {
          tx.abort();
        } catch {
          // already finished or aborted
        }
        await tx.done.catch(() => undefined);
        throw e;
      }
    },
    async clear() {
      const tx = db.transaction(['keys', 'versions', 'aliases'], 'readwrite');
      await Promise.all([tx.objectStore('keys').clear(), tx.objectStore('versions').clear(), tx.objectStore('aliases').clear(), tx.done]);
    },
    async close() {
      db.close();
    },
  };
}

/** Deletes a KMS database (all keys and their history). */
export async function deleteIdbStore(name = 'edge-kms'): Promise<void> {
  const { deleteDB } = await import('idb');
  await deleteDB(name);
}
