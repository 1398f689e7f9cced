/**
 * EnableKeyRotation: RotationPeriodInDays 90..2560 (default 365). On a key whose rotation is
 * already enabled, the AWS policy changes the period (the next date counts from the same anchor);
 * the rotate-by-default policy refuses a direct change.
 */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { DEFAULT_ROTATION_PERIOD_DAYS } from '../../engine.js';
import { KmsError } from '../../errors.js';
import type { InputReader } from '../../validate.js';
import { requireConfigurableRotation } from '../rotation/rotation-shared.js';
import { readKeyId, type Output } from '../common.js';

export async function enableKeyRotation(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  const period = input.int('RotationPeriodInDays', { min: 90, max: 2560 }) ?? DEFAULT_ROTATION_PERIOD_DAYS;
  input.done();
  const resolved = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'EnableKeyRotation', key: resolved, conditions: { 'kms:rotationperiodindays': String(period) } });
  const { KeyId } = resolved;
  await engine.mutateKey(KeyId, (key) => {
    requireConfigurableRotation(engine, key, 'EnableKeyRotation');
    const r = key.Rotation;
    if (r.Enabled && r.PeriodInDays === period) return { result: undefined };
    if (r.Enabled && !engine.rotationPolicy.allowPeriodChangeWhileEnabled) {
      throw new KmsError(
        'KMSInvalidStateException',
        `The rotation period of ${engine.keyArn(key.KeyId)} cannot be changed while automatic rotation is enabled (rotation policy "${engine.rotationPolicy.name}"). Disable key rotation, then enable it with the new period.`,
      );
    }
    const anchor = r.Enabled && r.AnchorDate !== undefined ? r.AnchorDate : engine.now();
    return { next: { ...key, Rotation: { Enabled: true, PeriodInDays: period, AnchorDate: anchor } }, result: undefined };
  });
  return {};
}
