/**
 * A commit over any synchronous key-value view: the checks of preconditions.ts, then the writes.
 * Stores whose backend offers a synchronous transaction (memory, LMDB, Durable Object storage)
 * run commitWrites inside it, so checking and writing are one atomic step.
 */
import type { AliasRecord, KeyRecord, MaterialVersion } from '../model.js';
import { checkWrites, type PreconditionView } from './preconditions.js';
import type { StoreWrite } from './types.js';

export interface SyncView extends PreconditionView {
  putKey(key: KeyRecord): void;
  deleteKey(keyId: string): void;
  /**
   * Writes a version record, replacing any under the same (KeyId, Version): used for putVersion
   * and replaceVersion alike, whose preconditions (new, or existing with the same KeyMaterialId)
   * checkWrites has checked.
   */
  putVersion(v: MaterialVersion): void;
  putAlias(a: AliasRecord): void;
  deleteAlias(name: string): void;
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
      case 'replaceVersion':
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
