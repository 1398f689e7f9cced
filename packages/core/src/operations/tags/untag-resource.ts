/** UntagResource: removes tags by key. */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import type { InputReader } from '../../validate.js';
import { readKeyId, type Output } from '../common.js';

export async function untagResource(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  const keys = input.stringList('TagKeys', { required: true, itemMin: 1, itemMax: 128 })!;
  input.done();
  const resolved = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'UntagResource', key: resolved, conditions: { 'aws:tagkeys': keys } });
  await engine.mutateKey(resolved.KeyId, (key) => {
    engine.requireCustomerManaged(key, 'UntagResource');
    engine.requireNotPendingDeletion(key);
    const drop = new Set(keys);
    return { next: { ...key, Tags: key.Tags.filter((t) => !drop.has(t.TagKey)) }, result: undefined };
  });
  return {};
}
