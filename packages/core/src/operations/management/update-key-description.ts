/** UpdateKeyDescription. */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import type { InputReader } from '../../validate.js';
import { readKeyId, type Output } from '../common.js';

export async function updateKeyDescription(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  const description = input.string('Description', { required: true, min: 0, max: 8192 });
  input.done();
  const resolved = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'UpdateKeyDescription', key: resolved });
  const { KeyId } = resolved;
  await engine.mutateKey(KeyId, (key) => {
    engine.requireCustomerManaged(key, 'UpdateKeyDescription');
    engine.requireNotPendingDeletion(key);
    return { next: { ...key, Description: description }, result: undefined };
  });
  return {};
}
