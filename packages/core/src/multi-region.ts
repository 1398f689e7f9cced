/**
 * Multi-Region keys inside one KMS: a primary and its replicas are key records with the same
 * `mrk-` key id in different Regions' keyspaces of one store. What the set shares (key material
 * and its whole version history, key spec, usage, origin, automatic rotation status and period,
 * the on-demand rotation count, the set's membership) is changed on the primary only and written
 * to every replica in the same commit as the primary's change; everything else (description,
 * policy, grants, aliases, tags, enabled state) is each key's own.
 */
import { DAY_MS } from './clock.js';
import { KmsError } from './errors.js';
import { withImported } from './imported-material.js';
import type { ImportedMaterial, KeyRecord, MaterialVersion, MultiRegionSet } from './model.js';
import type { KmsStore, StoreWrite } from './store/types.js';

/** What this module needs of a Region's engine (engine.ts imports this module, not the reverse). */
export interface RegionEngine {
  readonly region: string;
  readonly partition: string;
  readonly store: KmsStore;
  readonly regional?: RegionalSet;
  now(): number;
  keyArn(keyId: string): string;
}

/** What an engine knows of the KMS's other Regions (createKms implements it). */
/** Replicas in other deployments (replication.ts implements it). */
export interface RemoteReplication {
  /** The Region is served by another deployment (a peer). */
  isRemote(region: string): boolean;
  /** Starts delivering what a primary's remote replicas lack (in the background). */
  kick(engine: RegionEngine, keyId: string): void;
}

export interface RegionalSet<E extends RegionEngine = RegionEngine> {
  /** Replicas in other deployments, when peers are configured. */
  readonly remote?: RemoteReplication;
  /** A Region's engine (whether or not the Region is served to callers). */
  engineFor(region: string): E;
  /** One commit over the writes of several Regions, atomic where the store is. */
  commit(byRegion: Map<string, StoreWrite[]>): Promise<void>;
  /** The Region is served to callers (KmsOptions.regions). */
  serves(region: string): boolean;
}

export function isPrimary(key: KeyRecord): boolean {
  return key.MultiRegionConfiguration?.MultiRegionKeyType === 'PRIMARY';
}

export function isReplica(key: KeyRecord): boolean {
  return key.MultiRegionConfiguration?.MultiRegionKeyType === 'REPLICA';
}

/** The Regions of every key of the set. */
export function setRegions(set: MultiRegionSet): string[] {
  return [set.PrimaryRegion, ...set.ReplicaRegions];
}

/** The set as a replica keeps it: the primary's view without what only the primary tracks. */
export function replicaSet(set: MultiRegionSet): MultiRegionSet {
  const { Remote: _remote, ...rest } = set;
  return { ...rest, MultiRegionKeyType: 'REPLICA' };
}

/** A replica's record with the shared properties of the primary's (a new revision of `replica`). */
export function withShared(
  replica: KeyRecord,
  primary: Pick<
    KeyRecord,
    | 'KeySpec'
    | 'KeyUsage'
    | 'Origin'
    | 'CurrentVersion'
    | 'CurrentKeyMaterialId'
    | 'Rotation'
    | 'OnDemandRotationCount'
    | 'MultiRegionConfiguration'
    | 'PendingRotation'
  > &
    Partial<Pick<KeyRecord, 'Imported'>>,
): KeyRecord {
  const next: KeyRecord = {
    ...replica,
    KeySpec: primary.KeySpec,
    KeyUsage: primary.KeyUsage,
    Origin: primary.Origin,
    CurrentVersion: primary.CurrentVersion,
    CurrentKeyMaterialId: primary.CurrentKeyMaterialId,
    Rotation: primary.Rotation,
    OnDemandRotationCount: primary.OnDemandRotationCount,
    MultiRegionConfiguration: replicaSet(primary.MultiRegionConfiguration!),
    Revision: replica.Revision + 1,
  };
  if (primary.PendingRotation) next.PendingRotation = primary.PendingRotation;
  else delete next.PendingRotation;
  // Imported key material: the set shares which materials exist (their ids and versions); each
  // Region imports them itself, so a material the replica has not imported yet is PENDING_IMPORT
  // there, and the replica's state follows its own imports.
  if (primary.Origin === 'EXTERNAL' && primary.Imported) {
    const own = replica.Imported ?? {};
    const imported: Record<string, ImportedMaterial> = {};
    for (const [id, m] of Object.entries(primary.Imported)) {
      imported[id] =
        own[id]?.Version === m.Version
          ? own[id]!
          : { Version: m.Version, ImportState: 'PENDING_IMPORT', ...(m.Description !== undefined && { Description: m.Description }) };
    }
    return { ...withImported(next, imported, next.CurrentVersion), Revision: next.Revision };
  }
  return next;
}

/** What the set shares, as one comparable value (what only the primary tracks left out). */
export function sharedState(k: KeyRecord): string {
  const { Remote: _r, SharedSeq: _s, MultiRegionKeyType: _t, ...set } = k.MultiRegionConfiguration ?? ({} as MultiRegionSet);
  return JSON.stringify([
    k.KeySpec,
    k.KeyUsage,
    k.Origin,
    k.CurrentVersion,
    k.CurrentKeyMaterialId,
    k.OnDemandRotationCount,
    k.Rotation,
    k.PendingRotation ?? null,
    set,
    // Imported key material: which materials exist is shared, not where each is imported.
    k.Origin === 'EXTERNAL' ? Object.entries(k.Imported ?? {}).map(([id, m]) => [id, m.Version]) : null,
  ]);
}

function sharedChanged(a: KeyRecord, b: KeyRecord): boolean {
  return sharedState(a) !== sharedState(b);
}

/** A primary with replicas in other deployments. */
export function hasRemoteReplicas(key: KeyRecord): boolean {
  const remote = key.MultiRegionConfiguration?.Remote;
  return isPrimary(key) && remote !== undefined && Object.keys(remote).length > 0;
}

/**
 * A primary's next record, counting a change to what the set shares when replicas in other
 * deployments must be told of it (they apply changes in this order, each once).
 */
export function countSharedChange(before: KeyRecord, next: KeyRecord): KeyRecord {
  if (!hasRemoteReplicas(next) || !sharedChanged(before, next)) return next;
  const set = next.MultiRegionConfiguration!;
  return { ...next, MultiRegionConfiguration: { ...set, SharedSeq: Math.max(set.SharedSeq ?? 0, (before.MultiRegionConfiguration?.SharedSeq ?? 0) + 1) } };
}

/** A primary without its replicas in other deployments (no peer serves them any more). */
export function detachRemoteReplicas(key: KeyRecord): KeyRecord {
  const set = key.MultiRegionConfiguration;
  if (!set?.Remote) return key;
  const gone = new Set(Object.keys(set.Remote));
  const { Remote: _r, ...rest } = set;
  const next: KeyRecord = { ...key, MultiRegionConfiguration: { ...rest, ReplicaRegions: set.ReplicaRegions.filter((r) => !gone.has(r)) } };
  if (next.PendingRotation) {
    next.CurrentVersion = next.PendingRotation.Version;
    next.CurrentKeyMaterialId = next.PendingRotation.KeyMaterialId;
    delete next.PendingRotation;
  }
  return next;
}

/** The primary has something to deliver to a replica in another deployment. */
export function needsDelivery(key: KeyRecord): boolean {
  if (!hasRemoteReplicas(key)) return false;
  const last = key.PendingRotation?.Version ?? key.CurrentVersion;
  const seq = key.MultiRegionConfiguration!.SharedSeq ?? 0;
  return Object.values(key.MultiRegionConfiguration!.Remote!).some((a) => a.Version < last || a.Seq < seq);
}

/**
 * The writes a change of a multi-Region primary (`before` → `next`, with `writes`) makes in its
 * replicas' Regions: each replica's record with the shared properties, and every new version.
 * Undefined when the change touches nothing shared.
 */
/**
 * A primary's version as a replica gets it: as it is, except imported key material, which each
 * Region imports itself (the replica gets the record without its bytes, to import them into).
 */
export function replicaVersion(primary: Pick<KeyRecord, 'Origin'>, version: MaterialVersion): MaterialVersion {
  return primary.Origin === 'EXTERNAL' ? { ...version, Material: { kind: 'deleted' } } : version;
}

export async function replicaWrites(
  engine: RegionEngine,
  before: KeyRecord,
  next: KeyRecord,
  writes: StoreWrite[],
): Promise<Map<string, StoreWrite[]> | undefined> {
  if (!isPrimary(before) || !isPrimary(next)) return undefined;
  // New versions reach every replica; imported material does not (each Region imports its own):
  // a replica gets the version record without its bytes, to import them into.
  const versions = writes.filter((w) => w.type === 'putVersion').map((w) => ({ ...w, version: replicaVersion(next, w.version) }));
  if (versions.length === 0 && !sharedChanged(before, next)) return undefined;
  const byRegion = new Map<string, StoreWrite[]>();
  for (const region of next.MultiRegionConfiguration!.ReplicaRegions) {
    const replica = await engine.regional!.engineFor(region).store.getKey(before.KeyId);
    if (!replica) continue;
    byRegion.set(region, [{ type: 'putKey', key: withShared(replica, next), expectRevision: replica.Revision }, ...versions]);
  }
  return byRegion.size > 0 ? byRegion : undefined;
}

/**
 * The writes that take a deleted key out of its set: every other key of the set drops the
 * deleted key's Region. A primary waiting for its replicas (PendingReplicaDeletion) whose last
 * replica goes starts its own waiting period (PendingDeletion) now.
 */
export async function deletionWrites(engine: RegionEngine, deleted: KeyRecord): Promise<Map<string, StoreWrite[]> | undefined> {
  const set = deleted.MultiRegionConfiguration!;
  const byRegion = new Map<string, StoreWrite[]>();
  for (const region of setRegions(set)) {
    if (region === engine.region) continue;
    const other = await engine.regional!.engineFor(region).store.getKey(deleted.KeyId);
    if (!other?.MultiRegionConfiguration) continue;
    const replicas = other.MultiRegionConfiguration.ReplicaRegions.filter((r) => r !== engine.region);
    let next: KeyRecord = { ...other, MultiRegionConfiguration: { ...other.MultiRegionConfiguration, ReplicaRegions: replicas }, Revision: other.Revision + 1 };
    if (next.KeyState === 'PendingReplicaDeletion' && isPrimary(next) && replicas.length === 0) {
      const days = next.PendingDeletionWindowInDays ?? 30;
      next = { ...next, KeyState: 'PendingDeletion', DeletionDate: engine.now() + days * DAY_MS };
    }
    // The set changed: a primary with replicas in other deployments tells them (engine.deleteIfDue kicks).
    if (isPrimary(other)) next = countSharedChange(other, next);
    byRegion.set(region, [{ type: 'putKey', key: next, expectRevision: other.Revision }]);
  }
  return byRegion.size > 0 ? byRegion : undefined;
}

/** The configuration DescribeKey shows: the primary's ARN and Region, every replica's. */
export function multiRegionConfiguration(engine: RegionEngine, key: KeyRecord): Record<string, unknown> | undefined {
  const set = key.MultiRegionConfiguration;
  if (!set) return undefined;
  const arn = (region: string) => `arn:${engine.partition}:kms:${region}:${key.AccountId}:key/${key.KeyId}`;
  return {
    MultiRegionKeyType: set.MultiRegionKeyType,
    PrimaryKey: { Arn: arn(set.PrimaryRegion), Region: set.PrimaryRegion },
    ReplicaKeys: set.ReplicaRegions.map((r) => ({ Arn: arn(r), Region: r })),
  };
}

/** Rotation is configured and run on the primary only. */
export function refuseOnReplica(engine: RegionEngine, key: KeyRecord, operation: string): void {
  if (isReplica(key)) {
    throw new KmsError(
      'UnsupportedOperationException',
      `${engine.keyArn(key.KeyId)} is a multi-Region replica key. ${operation} can only be called on the primary key, in ${key.MultiRegionConfiguration!.PrimaryRegion}; the primary's rotation reaches every replica.`,
    );
  }
}
