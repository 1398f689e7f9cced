/**
 * GetKeyRotationStatus: KeyRotationEnabled, and while enabled RotationPeriodInDays and
 * NextRotationDate. While a key is pending deletion its rotation status is false (AWS: "KMS does
 * not rotate the key material"); the settings are kept and come back if the deletion is canceled. On-demand rotations complete within the request here, so
 * OnDemandRotationStartDate (AWS: "while an on-demand rotation is in progress") never appears.
 */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { nextRotationDate } from '../../engine.js';
import type { InputReader } from '../../validate.js';
import { readKeyId, type Output } from '../common.js';

export async function getKeyRotationStatus(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  input.done();
  const key = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'GetKeyRotationStatus', key });
  if (key.KeyState === 'PendingDeletion') return { KeyId: engine.keyArn(key.KeyId), KeyRotationEnabled: false };
  const out: Output = { KeyId: engine.keyArn(key.KeyId), KeyRotationEnabled: key.Rotation.Enabled };
  const next = nextRotationDate(key);
  if (key.Rotation.Enabled && next !== undefined) {
    out.RotationPeriodInDays = key.Rotation.PeriodInDays;
    out.NextRotationDate = new Date(next);
  }
  return out;
}
