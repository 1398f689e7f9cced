/**
 * GetKeyRotationStatus: KeyRotationEnabled, and while enabled RotationPeriodInDays and
 * NextRotationDate. While a key is pending deletion its rotation status is false (AWS: "KMS does
 * not rotate the key material"); the settings are kept and come back if the deletion is canceled.
 * OnDemandRotationStartDate appears while an on-demand rotation is in progress: only a
 * multi-Region key with replicas in other deployments has one (the new version is reaching them);
 * every other rotation completes within its request.
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
  // AWS answers the key id here, not the ARN (its recorded answers show the id).
  if (key.KeyState === 'PendingDeletion' || key.KeyState === 'PendingReplicaDeletion') return { KeyId: key.KeyId, KeyRotationEnabled: false };
  const out: Output = { KeyId: key.KeyId, KeyRotationEnabled: key.Rotation.Enabled };
  if (key.PendingRotation?.Type === 'ON_DEMAND') out.OnDemandRotationStartDate = new Date(key.PendingRotation.StartDate);
  const next = nextRotationDate(key);
  if (key.Rotation.Enabled && next !== undefined) {
    out.RotationPeriodInDays = key.Rotation.PeriodInDays;
    out.NextRotationDate = new Date(next);
  }
  return out;
}
