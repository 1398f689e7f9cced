/**
 * The store interface. A store persists keys, their key material versions and aliases, and
 * applies a commit atomically: every write of it or none. Versions are immutable except through
 * replaceVersion, which only imported key material uses (its bytes deleted, or imported again into
 * the same version). Preconditions make concurrent writers safe: a key write names the revision it
 * was computed from, a version write requires the version to be new (a replace: to exist with the
 * same KeyMaterialId), an alias write names the target it expects. A violated precondition rejects
 * the whole commit with StoreConflictError and the engine recomputes and retries. The rules are
 * checked for every store by preconditions.ts; the retry policy is retry.ts.
 */
import type { AliasRecord, KeyRecord, MaterialVersion } from '../model.js';

export type StoreWrite =
  /** Create (expectRevision 0) or replace a key. key.Revision must be expectRevision + 1. */
  | { type: 'putKey'; key: KeyRecord; expectRevision: number }
  /** Delete a key with all of its versions. */
  | { type: 'deleteKey'; keyId: string; expectRevision: number }
  /** Add a version; fails if (KeyId, Version) exists. Versions are replaced only by replaceVersion. */
  | { type: 'putVersion'; version: MaterialVersion }
  /**
   * Replace an existing version's record: imported key material deleted (Material kind
   * 'deleted') or imported again. Fails (StoreConflictError) unless (KeyId, Version) exists with
   * the same KeyMaterialId.
   */
  | { type: 'replaceVersion'; version: MaterialVersion }
  /** Create or retarget an alias; expectTarget null means the alias must not exist yet. */
  | { type: 'putAlias'; alias: AliasRecord; expectTarget: string | null }
  | { type: 'deleteAlias'; aliasName: string; expectTarget: string };

export interface ListPage<T> {
  items: T[];
  /** Pass back as `after` to read the next page; absent on the last page. */
  next?: string;
}

export interface KmsStore {
  getKey(keyId: string): Promise<KeyRecord | undefined>;
  /**
   * The same read without a promise, for stores whose reads are synchronous (memory, LMDB,
   * Durable Object storage): the engine's hot path (Encrypt, Decrypt, GenerateDataKey) then awaits
   * nothing before its cryptography. It must see every committed write, as getKey does.
   */
  getKeyNow?(keyId: string): KeyRecord | undefined;
  /** Keys in ascending KeyId order, starting after `after`. */
  listKeys(options: { after?: string; limit: number }): Promise<ListPage<KeyRecord>>;
  getVersion(keyId: string, version: number): Promise<MaterialVersion | undefined>;
  /**
   * Stores without compare-and-set (Workers KV) may hold more than one material under one version
   * number when two writers raced; they return every candidate here, and Decrypt tries each.
   * Stores with atomic commits need not implement it.
   */
  getVersionCandidates?(keyId: string, version: number): Promise<MaterialVersion[]>;
  /** Versions in ascending order, starting after version `after` (0 for the first). */
  listVersions(keyId: string, options: { after: number; limit: number }): Promise<MaterialVersion[]>;
  getAlias(aliasName: string): Promise<AliasRecord | undefined>;
  /** Aliases in ascending name order, starting after `after`. */
  listAliases(options: { after?: string; limit: number }): Promise<ListPage<AliasRecord>>;
  /** Applies every write or none; throws StoreConflictError when a precondition fails. */
  commit(writes: StoreWrite[]): Promise<void>;
  /** Removes everything (test mode reset). */
  clear(): Promise<void>;
  close?(): Promise<void>;
}
