/**
 * The state of an EXTERNAL key's imported materials (KeyRecord.Imported), as pure functions over
 * records: which material is current or pending rotation, the key state they make, and the writes
 * that delete material (DeleteImportedKeyMaterial, expiry). The engine and the import operations
 * commit what these compute.
 */
import type { ImportedMaterial, KeyRecord, KeyState, MaterialVersion } from './model.js';
import type { StoreWrite } from './store/types.js';

/** AWS's KeyMaterialState of one imported material. */
export function materialState(key: KeyRecord, m: ImportedMaterial): 'CURRENT' | 'NON_CURRENT' | 'PENDING_ROTATION' {
  if (m.Version > key.CurrentVersion) return 'PENDING_ROTATION';
  return m.Version === key.CurrentVersion ? 'CURRENT' : 'NON_CURRENT';
}

/** The material waiting for RotateKeyOnDemand (one at most), with its id. */
export function pendingRotation(key: KeyRecord): [string, ImportedMaterial] | undefined {
  for (const e of Object.entries(key.Imported ?? {})) if (e[1].Version > key.CurrentVersion) return e;
  return undefined;
}

/** The earliest expiry among the materials still imported (undefined: none expires). */
export function earliestValidTo(imported: Record<string, ImportedMaterial>): number | undefined {
  let min: number | undefined;
  for (const m of Object.values(imported))
    if (m.ImportState === 'IMPORTED' && m.ValidTo !== undefined && (min === undefined || m.ValidTo < min)) min = m.ValidTo;
  return min;
}

/**
 * The key state its materials make: PendingImport while it has no current material or any
 * material it decrypts with (current or older) is not imported; otherwise the state it had
 * (PendingImport becomes Enabled). Pending deletion stays.
 */
export function importedKeyState(key: KeyRecord, imported: Record<string, ImportedMaterial>, currentVersion: number): KeyState {
  if (key.KeyState === 'PendingDeletion' || key.KeyState === 'PendingReplicaDeletion') return key.KeyState;
  const missing = currentVersion === 0 || Object.values(imported).some((m) => m.Version <= currentVersion && m.ImportState !== 'IMPORTED');
  if (missing) return 'PendingImport';
  return key.KeyState === 'PendingImport' ? 'Enabled' : key.KeyState;
}

/** The key with `imported` as its materials: state and earliest expiry recomputed. */
export function withImported(key: KeyRecord, imported: Record<string, ImportedMaterial>, currentVersion = key.CurrentVersion): KeyRecord {
  const next: KeyRecord = { ...key, Imported: imported, KeyState: importedKeyState(key, imported, currentVersion) };
  const validTo = earliestValidTo(imported);
  if (validTo === undefined) delete next.ImportValidTo;
  else next.ImportValidTo = validTo;
  return next;
}

/**
 * Deleting imported materials (by id): the version records stay with their KeyMaterialId (so the
 * same material can be imported again) and lose their bytes; the materials are PENDING_IMPORT.
 * `versions` are the materials' current version records.
 */
export function deletionOf(key: KeyRecord, ids: readonly string[], versions: readonly MaterialVersion[]): { next: KeyRecord; writes: StoreWrite[] } {
  const imported = { ...key.Imported };
  const writes: StoreWrite[] = [];
  for (const id of ids) {
    const m = imported[id];
    if (!m) continue;
    imported[id] = { Version: m.Version, ImportState: 'PENDING_IMPORT', ...(m.Description !== undefined && { Description: m.Description }) };
    const v = versions.find((x) => x.Version === m.Version && x.KeyMaterialId === id);
    // The public key of an asymmetric key stays: it is public, and the same material brings it back.
    if (v && v.Material.kind !== 'deleted') writes.push({ type: 'replaceVersion', version: { ...v, Material: { kind: 'deleted' } } });
  }
  return { next: withImported(key, imported), writes };
}

/** Whether an EXTERNAL key has material whose ValidTo has come. */
export function isImportExpiryDue(key: KeyRecord, now: number): boolean {
  return key.ImportValidTo !== undefined && key.ImportValidTo <= now;
}

/** The ids of the materials whose ValidTo has come. */
export function expiredMaterials(key: KeyRecord, now: number): string[] {
  return Object.entries(key.Imported ?? {})
    .filter(([, m]) => m.ImportState === 'IMPORTED' && m.ValidTo !== undefined && m.ValidTo <= now)
    .map(([id]) => id);
}
