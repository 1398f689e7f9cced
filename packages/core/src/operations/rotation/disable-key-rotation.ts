/** DisableKeyRotation. */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import type { InputReader } from '../../validate.js';
import { requireConfigurableRotation } from '../rotation/rotation-shared.js';
import { readKeyId, type Output } from '../common.js';

export async function disableKeyRotation(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  input.done();
  const resolved = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'DisableKeyRotation', key: resolved });
  const { KeyId } = resolved;
  await engine.mutateKey(KeyId, (key) => {
    requireConfigurableRotation(engine, key, 'DisableKeyRotation');
    if (!key.Rotation.Enabled) return { result: undefined };
    return { next: { ...key, Rotation: { Enabled: false } }, result: undefined };
  });
  return {};
}
