/** Reads what the page shows about keys: metadata, rotation status and the key material history. */
import type { KeyMetadata, KmsClient } from '@edge-kms/client';
import { ON_DEMAND_LIMIT } from './backend.js';

/** One key material version: the original, or one added by a rotation. */
export interface Version {
  /** Position in the key's history, 1 = the original material. */
  n: number;
  keyMaterialId: string;
  date?: Date;
  type: 'ORIGINAL' | 'AUTOMATIC' | 'ON_DEMAND';
  current: boolean;
}

export interface KeyView {
  meta: KeyMetadata;
  /** Absent when the KMS would not say (e.g. for a key pending deletion). */
  rotation?: { enabled: boolean; periodDays?: number; next?: Date };
  versions?: Version[];
  /** RotateKeyOnDemand calls left: the quota minus the ON_DEMAND rotations (customer managed keys only). */
  onDemandLeft?: number;
}

async function allKeyIds(kms: KmsClient): Promise<string[]> {
  const ids: string[] = [];
  for (let marker: string | undefined; ; ) {
    const page = await kms.listKeys({ Limit: 1000, Marker: marker });
    ids.push(...page.Keys.map((k) => k.KeyId));
    if (!page.Truncated || !page.NextMarker) return ids;
    marker = page.NextMarker;
  }
}

export async function loadVersions(kms: KmsClient, meta: KeyMetadata): Promise<Version[]> {
  const versions: Version[] = [];
  for (let marker: string | undefined; ; ) {
    const page = await kms.listKeyRotations({ KeyId: meta.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL', Limit: 1000, Marker: marker });
    for (const r of page.Rotations) {
      versions.push({
        n: versions.length + 1,
        keyMaterialId: r.KeyMaterialId ?? '',
        date: r.RotationDate ?? (r.RotationType ? undefined : meta.CreationDate),
        type: r.RotationType ?? 'ORIGINAL',
        current: r.KeyMaterialState === 'CURRENT',
      });
    }
    if (!page.Truncated || !page.NextMarker) return versions;
    marker = page.NextMarker;
  }
}

/** Everything about one key; the parts the KMS refuses (pending deletion) are left out. */
export async function loadKey(kms: KmsClient, keyId: string): Promise<KeyView> {
  const { KeyMetadata: meta } = await kms.describeKey({ KeyId: keyId });
  const view: KeyView = { meta };
  if (meta.KeyState === 'PendingDeletion') return view;
  const [status, versions] = await Promise.allSettled([kms.getKeyRotationStatus({ KeyId: keyId }), loadVersions(kms, meta)]);
  if (status.status === 'fulfilled') {
    const s = status.value;
    view.rotation = { enabled: s.KeyRotationEnabled, periodDays: s.RotationPeriodInDays, next: s.NextRotationDate };
  }
  if (versions.status === 'fulfilled') {
    view.versions = versions.value;
    if (meta.KeyManager !== 'AWS') view.onDemandLeft = ON_DEMAND_LIMIT - versions.value.filter((v) => v.type === 'ON_DEMAND').length;
  }
  return view;
}

/** Every key, newest first. */
export async function loadKeys(kms: KmsClient): Promise<KeyView[]> {
  const ids = await allKeyIds(kms);
  const keys = await Promise.all(ids.map((id) => loadKey(kms, id)));
  return keys.sort((a, b) => (b.meta.CreationDate?.getTime() ?? 0) - (a.meta.CreationDate?.getTime() ?? 0) || a.meta.KeyId.localeCompare(b.meta.KeyId));
}

export const keyLabel = (k: KeyView): string => k.meta.Description || `key ${k.meta.KeyId.slice(0, 8)}`;
