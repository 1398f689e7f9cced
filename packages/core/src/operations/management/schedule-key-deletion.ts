/**
 * ScheduleKeyDeletion: PendingWindowInDays 7..30 (default 30); the key is deleted once due. A
 * multi-Region primary with replicas waits in PendingReplicaDeletion until they are deleted, then
 * waits its own window in PendingDeletion (multi-region.ts deletionWrites).
 */
import { DAY_MS } from '../../clock.js';
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import type { InputReader } from '../../validate.js';
import { readKeyId, type Output } from '../common.js';
import type { KeyRecord } from '../../model.js';
import { isPrimary } from '../../multi-region.js';

export async function scheduleKeyDeletion(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  const days = input.int('PendingWindowInDays', { min: 7, max: 30 }) ?? 30;
  input.done();
  const resolved = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'ScheduleKeyDeletion', key: resolved, conditions: { 'kms:schedulekeydeletionpendingwindowindays': String(days) } });
  const { KeyId } = resolved;
  const key = await engine.mutateKey(KeyId, (key) => {
    engine.requireCustomerManaged(key, 'ScheduleKeyDeletion');
    engine.requireNotPendingDeletion(key);
    if (key.KeyState === 'Updating') throw engine.stateError(key);
    const waitsForReplicas = isPrimary(key) && key.MultiRegionConfiguration!.ReplicaRegions.length > 0;
    const next: KeyRecord = waitsForReplicas
      ? { ...key, KeyState: 'PendingReplicaDeletion', PendingDeletionWindowInDays: days }
      : { ...key, KeyState: 'PendingDeletion', DeletionDate: engine.now() + days * DAY_MS, PendingDeletionWindowInDays: days };
    return { next, result: next };
  });
  return {
    KeyId: engine.keyArn(key.KeyId),
    DeletionDate: key.DeletionDate === undefined ? undefined : new Date(key.DeletionDate),
    KeyState: key.KeyState,
    PendingWindowInDays: days,
  };
}
