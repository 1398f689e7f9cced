/**
 * Precondition checking and application of a commit over any synchronous key-value view. Stores
 * whose backend offers a synchronous transaction (memory, LMDB, Durable Object storage) share it,
 * so the rules of a commit live in one place.
 */
import { StoreConflictError } from '../errors.js';
import type { AliasRecord, KeyRecord, MaterialVersion } from '../model.js';
import type { StoreWrite } from './types.js';

export interface SyncView {
  getKey(keyId: string): KeyRecord | undefined;
  hasVersion(keyId: string, version: number): boolean;
  getAlias(name: string): AliasRecord | undefined;
  putKey(key: KeyRecord): void;
  deleteKey(keyId: string): void;
  putVersion(v: MaterialVersion): void;
  putAlias(a: AliasRecord): void;
  deleteAlias(name: string): void;
}

/** Throws StoreConflictError before writing anything if any precondition fails. */
export function checkWrites(view: SyncView, writes: StoreWrite[]): void {
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
        const id = `${w.version.KeyId}/${w.version.Version}`;
        if (seenVersions.has(id) || view.hasVersion(w.version.KeyId, w.version.Version)) {
          throw new StoreConflictError(`version ${id} exists`);
        }
        seenVersions.add(id);
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

export function applyWrites(view: SyncView, writes: StoreWrite[]): void {
  for (const w of writes) {
    switch (w.type) {
      case 'putKey':
        view.putKey(w.key);
        break;
      case 'deleteKey':
        view.deleteKey(w.keyId);
        break;
      case 'putVersion':
        view.putVersion(w.version);
        break;
      case 'putAlias':
        view.putAlias(w.alias);
        break;
      case 'deleteAlias':
        view.deleteAlias(w.aliasName);
        break;
    }
  }
}

/** Checks then applies: the whole commit inside whatever transaction the caller holds. */
export function commitWrites(view: SyncView, writes: StoreWrite[]): void {
  checkWrites(view, writes);
  applyWrites(view, writes);
}
