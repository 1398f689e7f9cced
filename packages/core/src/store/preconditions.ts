/**
 * The precondition rules of a commit, for every store: one function decides whether a commit may
 * be applied, over a small read view of the state before the commit. A store only says how it
 * reads that state:
 *
 * - stores with a synchronous transaction (memory, LMDB, Durable Object storage) pass a view over
 *   their backend and call checkWrites inside the transaction (apply.ts: commitWrites);
 * - stores that read asynchronously (IndexedDB, Workers KV) call readPreconditionView with a
 *   reader, which issues every read the checks need at once and answers a view over the values
 *   read, then checkWrites. Nothing but the reader's own requests is awaited in between, so
 *   inside an IndexedDB transaction (where only IndexedDB requests may be awaited) the checks
 *   run over values read in that transaction.
 *
 * The rules, each checked against the state before the commit (writes of one commit never see
 * each other, except that one version may be written once):
 *   putKey       the key's revision (0 when absent) is expectRevision, and key.Revision is
 *                expectRevision + 1
 *   deleteKey    the key exists with revision expectRevision
 *   putVersion   no version (KeyId, Version) exists, nor is written twice by the commit
 *   replaceVersion  the version (KeyId, Version) exists with the same KeyMaterialId, and is not
 *                written twice by the commit (by putVersion or replaceVersion)
 *   putAlias     the alias's target is expectTarget (null: the alias does not exist)
 *   deleteAlias  the alias exists with target expectTarget
 * A violated rule throws StoreConflictError before anything is written.
 */
import { StoreConflictError } from '../errors.js';
import type { AliasRecord, KeyRecord, MaterialVersion } from '../model.js';
import type { StoreWrite } from './types.js';

/** What the checks read: the state before the commit. */
export interface PreconditionView {
  getKey(keyId: string): KeyRecord | undefined;
  hasVersion(keyId: string, version: number): boolean;
  /**
   * The KeyMaterialIds stored under (KeyId, Version): none when the version does not exist; more
   * than one only in a store without compare-and-set after two writers raced (Workers KV).
   */
  versionMaterialIds(keyId: string, version: number): readonly string[];
  getAlias(aliasName: string): AliasRecord | undefined;
}

/** The same reads for a store whose reads are asynchronous. */
export interface PreconditionReader {
  getKey(keyId: string): Promise<KeyRecord | undefined>;
  hasVersion(keyId: string, version: number): Promise<boolean>;
  versionMaterialIds(keyId: string, version: number): Promise<readonly string[]>;
  getAlias(aliasName: string): Promise<AliasRecord | undefined>;
}

export interface CheckWritesOptions {
  /**
   * Called for each version write (putVersion, replaceVersion) as its precondition is checked
   * (after it passed), e.g. to refuse material the store must not keep. It may throw any error.
   */
  checkVersion?(version: MaterialVersion): void;
}

const versionId = (keyId: string, version: number) => `${keyId}/${version}`;

/** Throws StoreConflictError if any precondition fails; reads only, writes nothing. */
export function checkWrites(view: PreconditionView, writes: StoreWrite[], options?: CheckWritesOptions): void {
  const seenVersions = new Set<string>();
  for (const w of writes) {
    switch (w.type) {
      case 'putKey': {
        const cur = view.getKey(w.key.KeyId);
        const rev = cur ? cur.Revision : 0;
        if (rev !== w.expectRevision) throw new StoreConflictError(`key ${w.key.KeyId} revision ${rev}, expected ${w.expectRevision}`);
        if (w.key.Revision !== w.expectRevision + 1) throw new StoreConflictError('key revision must advance by one');
        break;
      }
      case 'deleteKey': {
        const cur = view.getKey(w.keyId);
        if (!cur || cur.Revision !== w.expectRevision) throw new StoreConflictError(`key ${w.keyId} changed`);
        break;
      }
      case 'putVersion': {
        const id = versionId(w.version.KeyId, w.version.Version);
        if (seenVersions.has(id) || view.hasVersion(w.version.KeyId, w.version.Version)) {
          throw new StoreConflictError(`version ${id} exists`);
        }
        seenVersions.add(id);
        options?.checkVersion?.(w.version);
        break;
      }
      case 'replaceVersion': {
        const { KeyId, Version, KeyMaterialId } = w.version;
        const id = versionId(KeyId, Version);
        if (seenVersions.has(id)) throw new StoreConflictError(`version ${id} written twice`);
        if (!view.versionMaterialIds(KeyId, Version).includes(KeyMaterialId)) {
          throw new StoreConflictError(`version ${id} with key material ${KeyMaterialId} does not exist`);
        }
        seenVersions.add(id);
        options?.checkVersion?.(w.version);
        break;
      }
      case 'putAlias': {
        const cur = view.getAlias(w.alias.AliasName);
        if ((cur?.TargetKeyId ?? null) !== w.expectTarget) throw new StoreConflictError(`alias ${w.alias.AliasName} changed`);
        break;
      }
      case 'deleteAlias': {
        const cur = view.getAlias(w.aliasName);
        if (cur?.TargetKeyId !== w.expectTarget) throw new StoreConflictError(`alias ${w.aliasName} changed`);
        break;
      }
    }
  }
}

/**
 * Reads, all at once, everything checkWrites needs for these writes (each key, version and alias
 * once) and answers a view over the values read. Awaits nothing but the reader's promises.
 */
export async function readPreconditionView(reader: PreconditionReader, writes: StoreWrite[]): Promise<PreconditionView> {
  const keys = new Map<string, KeyRecord | undefined>();
  const versions = new Map<string, boolean>();
  const materialIds = new Map<string, readonly string[]>();
  const aliases = new Map<string, AliasRecord | undefined>();
  const reads: Promise<void>[] = [];
  const readKey = (keyId: string) => {
    if (keys.has(keyId)) return;
    keys.set(keyId, undefined);
    reads.push(reader.getKey(keyId).then((k) => void keys.set(keyId, k)));
  };
  const readAlias = (name: string) => {
    if (aliases.has(name)) return;
    aliases.set(name, undefined);
    reads.push(reader.getAlias(name).then((a) => void aliases.set(name, a)));
  };
  for (const w of writes) {
    switch (w.type) {
      case 'putKey':
        readKey(w.key.KeyId);
        break;
      case 'deleteKey':
        readKey(w.keyId);
        break;
      case 'putVersion': {
        const { KeyId, Version } = w.version;
        const id = versionId(KeyId, Version);
        if (versions.has(id)) break;
        versions.set(id, false);
        reads.push(reader.hasVersion(KeyId, Version).then((has) => void versions.set(id, has)));
        break;
      }
      case 'replaceVersion': {
        const { KeyId, Version } = w.version;
        const id = versionId(KeyId, Version);
        if (materialIds.has(id)) break;
        materialIds.set(id, []);
        reads.push(reader.versionMaterialIds(KeyId, Version).then((ids) => void materialIds.set(id, ids)));
        break;
      }
      case 'putAlias':
        readAlias(w.alias.AliasName);
        break;
      case 'deleteAlias':
        readAlias(w.aliasName);
        break;
    }
  }
  await Promise.all(reads);
  return {
    getKey: (keyId) => keys.get(keyId),
    hasVersion: (keyId, version) => versions.get(versionId(keyId, version)) ?? false,
    versionMaterialIds: (keyId, version) => materialIds.get(versionId(keyId, version)) ?? [],
    getAlias: (name) => aliases.get(name),
  };
}

/** readPreconditionView, then checkWrites: the whole check for a store that reads asynchronously. */
export async function checkWritesAsync(reader: PreconditionReader, writes: StoreWrite[], options?: CheckWritesOptions): Promise<void> {
  checkWrites(await readPreconditionView(reader, writes), writes, options);
}
