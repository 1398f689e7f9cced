/**
 * Reads what the page shows about keys: metadata, rotation status and the key material history,
 * and for a multi-Region key the same history as each of its Regions answers it.
 */
import type { KeyMetadata, KmsClient } from '@edge-kms/client';
import { type Backend, ON_DEMAND_LIMIT } from './backend.js';
import { errorMessage } from './dom.js';

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
  /** A multi-Region key: every key of its set, primary first, each read in its own Region. */
  regions?: RegionKeyView[];
}

/** One key of a multi-Region key's set, as DescribeKey and ListKeyRotations answer in its Region. */
export interface RegionKeyView {
  region: string;
  role: 'PRIMARY' | 'REPLICA';
  arn?: string;
  meta?: KeyMetadata;
  versions?: Version[];
  /** Why the Region could not be read (the KMS's error). */
  error?: { name: string; message: string };
}

/** What reading keys needs of the backend: the page's Region and a client for any Region. */
export type KeyReader = Pick<Backend, 'region' | 'kms' | 'kmsIn'>;

async function allKeyIds(kms: KmsClient): Promise<string[]> {
  const ids: string[] = [];
  for (let marker: string | undefined; ; ) {
    const page = await kms.listKeys({ Limit: 1000, Marker: marker });
    ids.push(...page.Keys.map((k) => k.KeyId));
    if (!page.Truncated || !page.NextMarker) return ids;
    marker = page.NextMarker;
  }
}

/** Every key material version, oldest first; the original is dated `originalDate` (the key's creation). */
export async function loadVersions(kms: KmsClient, keyId: string, originalDate?: Date): Promise<Version[]> {
  const versions: Version[] = [];
  for (let marker: string | undefined; ; ) {
    const page = await kms.listKeyRotations({ KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL', Limit: 1000, Marker: marker });
    for (const r of page.Rotations) {
      versions.push({
        n: versions.length + 1,
        keyMaterialId: r.KeyMaterialId ?? '',
        date: r.RotationDate ?? (r.RotationType ? undefined : originalDate),
        type: r.RotationType ?? 'ORIGINAL',
        current: r.KeyMaterialState === 'CURRENT',
      });
    }
    if (!page.Truncated || !page.NextMarker) return versions;
    marker = page.NextMarker;
  }
}

/** Everything about one key; the parts the KMS refuses (pending deletion) are left out. */
export async function loadKey(backend: KeyReader, keyId: string): Promise<KeyView> {
  const kms = backend.kms;
  const { KeyMetadata: meta } = await kms.describeKey({ KeyId: keyId });
  const view: KeyView = { meta };
  if (meta.MultiRegion) view.regions = await loadRegions(backend, view);
  if (meta.KeyState === 'PendingDeletion') return view;
  const created = view.regions?.find((r) => r.role === 'PRIMARY')?.meta?.CreationDate ?? meta.CreationDate;
  const [status, versions] = await Promise.allSettled([kms.getKeyRotationStatus({ KeyId: keyId }), loadVersions(kms, keyId, created)]);
  if (status.status === 'fulfilled') {
    const s = status.value;
    view.rotation = { enabled: s.KeyRotationEnabled, periodDays: s.RotationPeriodInDays, next: s.NextRotationDate };
  }
  if (versions.status === 'fulfilled') {
    view.versions = versions.value;
    if (meta.KeyManager !== 'AWS') view.onDemandLeft = ON_DEMAND_LIMIT - versions.value.filter((v) => v.type === 'ON_DEMAND').length;
  }
  const home = view.regions?.find((r) => r.region === backend.region);
  if (home) home.versions = view.versions;
  return view;
}

/**
 * A multi-Region key's set as its own DescribeKey names it, primary first, each key read through
 * a client that signs for its Region (the page's own Region's versions are filled in by loadKey).
 * Every original version is dated with the primary's creation: the replicas share its material.
 */
async function loadRegions(backend: KeyReader, view: KeyView): Promise<RegionKeyView[]> {
  const { meta } = view;
  const set = meta.MultiRegionConfiguration;
  const members: RegionKeyView[] = [
    ...(set?.PrimaryKey?.Region ? [{ region: set.PrimaryKey.Region, role: 'PRIMARY' as const, arn: set.PrimaryKey.Arn }] : []),
    ...(set?.ReplicaKeys ?? []).filter((r) => r.Region).map((r) => ({ region: r.Region!, role: 'REPLICA' as const, arn: r.Arn })),
  ];
  await Promise.all(
    members.map(async (m) => {
      if (m.region === backend.region) return void (m.meta = meta);
      const kms = backend.kmsIn(m.region);
      try {
        m.meta = (await kms.describeKey({ KeyId: meta.KeyId })).KeyMetadata;
        if (m.meta.KeyState !== 'PendingDeletion' && m.meta.KeyState !== 'PendingReplicaDeletion') m.versions = await loadVersions(kms, meta.KeyId);
      } catch (e) {
        m.error = errorMessage(e);
      }
    }),
  );
  const created = members.find((m) => m.role === 'PRIMARY')?.meta?.CreationDate;
  for (const m of members) for (const v of m.versions ?? []) if (v.type === 'ORIGINAL') v.date ??= created;
  return members;
}

/** Every key of the page's Region, newest first. */
export async function loadKeys(backend: KeyReader): Promise<KeyView[]> {
  const ids = await allKeyIds(backend.kms);
  const keys = await Promise.all(ids.map((id) => loadKey(backend, id)));
  return keys.sort((a, b) => (b.meta.CreationDate?.getTime() ?? 0) - (a.meta.CreationDate?.getTime() ?? 0) || a.meta.KeyId.localeCompare(b.meta.KeyId));
}

export const keyLabel = (k: KeyView): string => k.meta.Description || `key ${k.meta.KeyId.slice(0, k.meta.KeyId.startsWith('mrk-') ? 12 : 8)}`;
