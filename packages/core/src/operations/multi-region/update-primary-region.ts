/**
 * UpdatePrimaryRegion: the replica in PrimaryRegion becomes the primary of its set and the
 * primary a replica. Called in the primary's Region; both keys must be Enabled. Inside one KMS the
 * change is one commit over every key of the set, so the transient Updating state AWS shows while
 * it propagates is never seen, and cryptographic operations are never interrupted.
 */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import type { KeyRecord, MultiRegionSet } from '../../model.js';
import { isPrimary, setRegions } from '../../multi-region.js';
import type { StoreWrite } from '../../store/types.js';
import type { InputReader } from '../../validate.js';
import { readKeyId, type Output } from '../common.js';
import { notPrimary, readRegion, requireSetRegion } from './region-input.js';

export async function updatePrimaryRegion(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  const newPrimaryRegion = readRegion(input, 'PrimaryRegion');
  input.done();
  const resolved = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'UpdatePrimaryRegion', key: resolved });
  if (!isPrimary(resolved)) throw notPrimary(engine, resolved.KeyId);
  requireSetRegion(engine, newPrimaryRegion, 'PrimaryRegion');
  const acrossDeployments = () =>
    new KmsError(
      'UnsupportedOperationException',
      `${engine.keyArn(resolved.KeyId)} has replicas in other deployments; UpdatePrimaryRegion works only while every key of the set is in this deployment.`,
    );
  if (resolved.MultiRegionConfiguration?.Remote && Object.keys(resolved.MultiRegionConfiguration.Remote).length > 0) throw acrossDeployments();
  const there = engine.regional!.engineFor(newPrimaryRegion);

  await engine.mutateKey(resolved.KeyId, async (primary) => {
    if (!isPrimary(primary)) throw notPrimary(engine, primary.KeyId);
    const set = primary.MultiRegionConfiguration!;
    // Again under the key's lock: a ReplicateKey to another deployment may have committed since.
    if (set.Remote && Object.keys(set.Remote).length > 0) throw acrossDeployments();
    const replica = set.ReplicaRegions.includes(newPrimaryRegion) ? await there.store.getKey(primary.KeyId) : undefined;
    if (!replica) throw new KmsError('NotFoundException', `Key '${there.keyArn(primary.KeyId)}' does not exist`);
    // The replica becomes the primary: its own key policy must allow it too.
    authorize(there, ctx, { action: 'UpdatePrimaryRegion', key: replica });
    engine.requireEnabled(primary);
    there.requireEnabled(replica);
    const nextSet: MultiRegionSet = {
      MultiRegionKeyType: 'REPLICA',
      PrimaryRegion: newPrimaryRegion,
      ReplicaRegions: [...set.ReplicaRegions.filter((r) => r !== newPrimaryRegion), engine.region],
    };
    const across = new Map<string, StoreWrite[]>();
    for (const region of setRegions(set)) {
      if (region === engine.region) continue;
      const other = region === newPrimaryRegion ? replica : await engine.regional!.engineFor(region).store.getKey(primary.KeyId);
      if (!other) continue;
      const type = region === newPrimaryRegion ? 'PRIMARY' : 'REPLICA';
      const next: KeyRecord = { ...other, MultiRegionConfiguration: { ...nextSet, MultiRegionKeyType: type }, Revision: other.Revision + 1 };
      across.set(region, [{ type: 'putKey', key: next, expectRevision: other.Revision }]);
    }
    return { next: { ...primary, MultiRegionConfiguration: nextSet }, across, result: undefined };
  });
  return {};
}
