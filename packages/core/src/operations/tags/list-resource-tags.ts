/** ListResourceTags: a key's tags, paged. */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import type { InputReader } from '../../validate.js';
import { decodeMarker, encodeMarker, readKeyId, readMarker, type Output } from '../common.js';

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
