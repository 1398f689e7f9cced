/** TagResource, UntagResource, ListResourceTags. */
import { authorize, type OperationContext } from '../auth/authorize.js';
import type { Engine } from '../engine.js';
import type { InputReader } from '../validate.js';
import { checkTags, decodeMarker, encodeMarker, mergeTags, readKeyId, readMarker, type Output } from './shared.js';

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

export async function listResourceTags(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  const limit = input.int('Limit', { min: 1, max: 50 }) ?? 50;
  const marker = readMarker(input);
  input.done();
  const key = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'ListResourceTags', key });
  const sorted = [...key.Tags].sort((a, b) => (a.TagKey < b.TagKey ? -1 : a.TagKey > b.TagKey ? 1 : 0));
  const after = decodeMarker(marker, (p) => /^\d+$/.test(p) && Number(p) <= sorted.length);
  const start = after === undefined ? 0 : Number(after);
  const items = sorted.slice(start, start + limit);
  const truncated = start + limit < sorted.length;
  const out: Output = { Tags: items, Truncated: truncated };
  if (truncated) out.NextMarker = encodeMarker(String(start + limit));
  return out;
}
