/** TagResource: adds or replaces tags (at most 50 a key, counted after the call: TagException "Too many tags"). */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import type { InputReader } from '../../validate.js';
import { checkTags, mergeTags } from '../tags/tag-rules.js';
import { readKeyId, type Output } from '../common.js';

export async function tagResource(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  const tags = input.tags('Tags', { required: true })!;
  input.done();
  checkTags(tags);
  const resolved = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'TagResource', key: resolved, conditions: { 'aws:tagkeys': tags.map((t) => t.TagKey) } });
  await engine.mutateKey(resolved.KeyId, (key) => {
    engine.requireCustomerManaged(key, 'TagResource');
    engine.requireNotPendingDeletion(key);
    return { next: { ...key, Tags: mergeTags(key.Tags, tags) }, result: undefined };
  });
  return {};
}
