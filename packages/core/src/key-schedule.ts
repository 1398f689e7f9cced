/** When things are due, from a key record alone: automatic rotation, deletion; AWS managed alias names. */
import { DAY_MS } from './clock.js';
import type { KeyRecord } from './model.js';

export function isAwsManagedAliasName(name: string): boolean {
  return /^alias\/aws\/[a-zA-Z0-9/_-]+$/.test(name);
}

export function nextRotationDate(key: KeyRecord): number | undefined {
  const r = key.Rotation;
  if (!r.Enabled || r.PeriodInDays === undefined || r.AnchorDate === undefined) return undefined;
  return r.AnchorDate + r.PeriodInDays * DAY_MS;
}

/**
 * Automatic rotation is due: enabled, the date has passed, and the key is usable (AWS does not
 * rotate disabled keys). Never for a multi-Region replica: its primary rotates, for the whole set.
 */
export function isRotationDue(key: KeyRecord, now: number): boolean {
  const next = nextRotationDate(key);
  // Nor while a rotation is still reaching replicas in other deployments (it re-anchored the date).
  return (
    next !== undefined &&
    now >= next &&
    key.KeyState === 'Enabled' &&
    key.MultiRegionConfiguration?.MultiRegionKeyType !== 'REPLICA' &&
    key.PendingRotation === undefined
  );
}

export function isDeletionDue(key: KeyRecord, now: number): boolean {
  return key.KeyState === 'PendingDeletion' && key.DeletionDate !== undefined && now >= key.DeletionDate;
}
