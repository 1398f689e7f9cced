/** ScheduleKeyDeletion: PendingWindowInDays 7..30 (default 30); the key is deleted once due. */
import { DAY_MS } from '../../clock.js';
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import type { InputReader } from '../../validate.js';
import { readKeyId, type Output } from '../common.js';

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
    const next = { ...key, KeyState: 'PendingDeletion' as const, DeletionDate: engine.now() + days * DAY_MS, PendingDeletionWindowInDays: days };
    return { next, result: next };
  });
  return {
    KeyId: engine.keyArn(key.KeyId),
    DeletionDate: new Date(key.DeletionDate!),
    KeyState: 'PendingDeletion',
    PendingWindowInDays: days,
  };
}
