/** ListKeys: Limit 1..1000 (default 100) with Marker paging, in key id order. */
import { isKeyId } from '../../bytes.js';
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { isDeletionDue } from '../../engine.js';
import type { InputReader } from '../../validate.js';
import { decodeMarker, encodeMarker, readMarker, type Output } from '../common.js';

export async function listKeys(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const limit = input.int('Limit', { min: 1, max: 1000 }) ?? 100;
  const marker = readMarker(input);
  input.done();
  authorize(engine, ctx, { action: 'ListKeys' });
  const after = decodeMarker(marker, isKeyId);
  const page = await engine.store.listKeys({ after, limit });
  const now = engine.now();
  const keys = [];
  for (const k of page.items) {
    if (isDeletionDue(k, now)) {
      await engine.deleteIfDue(k.KeyId);
      continue;
    }
    keys.push({ KeyId: k.KeyId, KeyArn: engine.keyArn(k.KeyId) });
  }
  const out: Output = { Keys: keys, Truncated: page.next !== undefined };
  if (page.next !== undefined) out.NextMarker = encodeMarker(page.next);
  return out;
}
