/**
 * RotateKeyOnDemand: a new current version now; capped per key; NextRotationDate unchanged. On a
 * multi-Region primary the version reaches every replica in the same commit. A key with imported
 * material makes the material pending rotation current instead. Answers the key ARN.
 */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import type { InputReader } from '../../validate.js';
import { requireConfigurableRotation, supportsOnDemandRotation } from '../rotation/rotation-shared.js';
import { readKeyId, type Output } from '../common.js';

export async function rotateKeyOnDemand(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  input.done();
  const resolved = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'RotateKeyOnDemand', key: resolved });
  const { KeyId } = resolved;
  await engine.rotate(KeyId, 'ON_DEMAND', (key) => requireConfigurableRotation(engine, key, 'RotateKeyOnDemand', supportsOnDemandRotation));
  return { KeyId: engine.keyArn(KeyId) };
}
