/**
 * ReplicateKey: a replica of a multi-Region primary in another Region of the same KMS, with the
 * same key id, the primary's whole key material history and its shared properties, and a policy,
 * description and tags of its own. Called in the primary's Region. One commit makes the replica
 * (key record and every version) and adds its Region to every key of the set, so that from then
 * on each rotation of the primary reaches it too. The answer shows the replica as AWS does while
 * it is made (KeyState Creating, Enabled false); made in one commit, it is usable at once.
 */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { defaultKeyPolicy } from '../../engine.js';
import { KmsError } from '../../errors.js';
import { keyMetadata } from '../../metadata.js';
import type { KeyRecord } from '../../model.js';
import { isPrimary, isReplica, replicaVersion, setRegions, withShared } from '../../multi-region.js';
import type { StoreWrite } from '../../store/types.js';
import type { InputReader } from '../../validate.js';
import { readKeyId, type Output } from '../common.js';
import type { Replication } from '../../replication.js';
import { checkNewPolicy, readPolicy } from '../policies/policy-document.js';
import { checkTags } from '../tags/tag-rules.js';
import { notPrimary, readRegion, requireSetRegion } from './region-input.js';

export async function replicateKey(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  const replicaRegion = readRegion(input, 'ReplicaRegion');
  const policy = readPolicy(input, 'Policy', false);
  const bypass = input.bool('BypassPolicyLockoutSafetyCheck') ?? false;
  const description = input.string('Description', { min: 0, max: 8192 }) ?? '';
  const tags = input.tags('Tags') ?? [];
  input.done();
  checkTags(tags);
  const resolved = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'ReplicateKey', key: resolved });
  if (tags.length > 0) authorize(engine, ctx, { action: 'TagResource', key: resolved, conditions: { 'aws:tagkeys': tags.map((t) => t.TagKey) } });
  if (!isPrimary(resolved)) throw notPrimary(engine, resolved.KeyId);
  requireSetRegion(engine, replicaRegion, 'ReplicaRegion');
  const there = engine.regional!.engineFor(replicaRegion);
  if (policy !== undefined) checkNewPolicy(there, ctx, policy, resolved.KeyId, bypass);

  const remote = engine.regional?.remote?.isRemote(replicaRegion) ? (engine.regional.remote as Replication) : undefined;
  const replica = await engine.mutateKey(resolved.KeyId, async (primary) => {
    if (!isPrimary(primary)) throw notPrimary(engine, primary.KeyId);
    engine.requireEnabled(primary);
    const set = primary.MultiRegionConfiguration!;
    const alreadyExists = () => new KmsError('AlreadyExistsException', `Replica key ${there.keyArn(primary.KeyId)} already exists.`);
    const listed = setRegions(set).includes(replicaRegion);
    // A replica of this primary that its set does not list is an orphan (a store without atomic
    // commits across Regions, Workers KV, lost the primary's half of a ReplicateKey): adopted.
    const existing = remote ? undefined : await there.store.getKey(primary.KeyId);
    const orphan = existing !== undefined && !listed && isReplica(existing) && existing.MultiRegionConfiguration!.PrimaryRegion === engine.region;
    if ((existing && !orphan) || (listed && !(remote && set.Remote?.[replicaRegion]))) throw alreadyExists();
    const next: KeyRecord = {
      ...primary,
      MultiRegionConfiguration: { ...set, ReplicaRegions: listed ? set.ReplicaRegions : [...set.ReplicaRegions, replicaRegion] },
    };
    const now = engine.now();
    const made: KeyRecord = withShared(
      {
        KeyId: primary.KeyId,
        AccountId: primary.AccountId,
        Region: replicaRegion,
        CreationDate: now,
        Description: description,
        KeyUsage: primary.KeyUsage,
        KeySpec: primary.KeySpec,
        Origin: primary.Origin,
        KeyManager: primary.KeyManager,
        KeyState: primary.Origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled',
        MultiRegion: true,
        CurrentVersion: primary.CurrentVersion,
        CurrentKeyMaterialId: primary.CurrentKeyMaterialId,
        Rotation: primary.Rotation,
        OnDemandRotationCount: primary.OnDemandRotationCount,
        Tags: tags,
        Policy: policy ?? defaultKeyPolicy(there.accountId, there.partition),
        Revision: existing?.Revision ?? 0,
      },
      next,
    );
    if (remote && primary.Origin === 'EXTERNAL') {
      throw new KmsError(
        'UnsupportedOperationException',
        `Replicas of multi-Region keys with imported key material in another deployment (${replicaRegion}) are not supported by this edge-kms release; Regions this deployment serves are.`,
      );
    }
    if (remote) {
      // Another deployment serves the Region: the replica is made there, from what we send; this
      // record's outbox then follows it (replication.ts).
      const ack = await remote.replicate(engine, primary, replicaRegion, { Description: description, Policy: made.Policy, Tags: tags, CreationDate: now });
      // Listed already: the peer says whether its replica was still there (then it exists) or
      // had been deleted in its own deployment (made again now, as AWS allows).
      if (listed && !ack.created) throw alreadyExists();
      const withRemote: KeyRecord = {
        ...next,
        MultiRegionConfiguration: { ...next.MultiRegionConfiguration!, Remote: { ...set.Remote, [replicaRegion]: { Version: ack.version, Seq: ack.seq } } },
      };
      return { next: withRemote, result: made };
    }
    // The whole history: a ciphertext of any version decrypts in the new Region too. Imported key
    // material is imported into each Region by its owner: the replica gets the version records
    // without their bytes (PendingImport until it has them all).
    const writes: StoreWrite[] = [{ type: 'putKey', key: made, expectRevision: existing?.Revision ?? 0 }];
    for (let after = 0; ; ) {
      const versions = await engine.store.listVersions(primary.KeyId, { after, limit: 100 });
      for (const version of versions)
        if (!orphan || !(await there.store.getVersion(primary.KeyId, version.Version)))
          writes.push({ type: 'putVersion', version: replicaVersion(primary, version) });
      if (versions.length < 100) break;
      after = versions[versions.length - 1]!.Version;
    }
    return { next, across: new Map([[replicaRegion, writes]]), result: made };
  });
  return {
    ReplicaKeyMetadata: { ...keyMetadata(there, replica), KeyState: 'Creating', Enabled: false },
    ReplicaPolicy: replica.Policy,
    ReplicaTags: replica.Tags,
  };
}
