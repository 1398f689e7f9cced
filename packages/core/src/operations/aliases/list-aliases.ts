/** ListAliases: every alias, or a key's, paged. */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import type { AliasRecord } from '../../model.js';
import type { InputReader } from '../../validate.js';
import { decodeMarker, encodeMarker, readMarker, type Output } from '../common.js';

export async function listAliases(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = input.string('KeyId', { min: 1, max: 2048 });
  const limit = input.int('Limit', { min: 1, max: 100 }) ?? 50;
  const marker = readMarker(input);
  input.done();
  const after = decodeMarker(marker, (p) => p.startsWith('alias/'));
  authorize(engine, ctx, { action: 'ListAliases' });
  const keyId = ref === undefined ? undefined : (await engine.resolve(ref, { caller: ctx.caller })).KeyId;
  const items: AliasRecord[] = [];
  let cursor = after;
  let more = false;
  // Read pages from the store until this page is full (a KeyId filter may skip many aliases).
  for (;;) {
    const page = await engine.store.listAliases({ after: cursor, limit: limit + 1 });
    for (const a of page.items) {
      if (keyId !== undefined && a.TargetKeyId !== keyId) {
        cursor = a.AliasName;
        continue;
      }
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(a);
      cursor = a.AliasName;
    }
    if (more || !page.next) break;
  }
  const out: Output = {
    Aliases: items.map((a) => ({
      AliasName: a.AliasName,
      AliasArn: engine.aliasArn(a.AliasName),
      TargetKeyId: a.TargetKeyId,
      CreationDate: new Date(a.CreationDate),
      LastUpdatedDate: new Date(a.LastUpdatedDate),
    })),
    Truncated: more,
  };
  if (more) out.NextMarker = encodeMarker(items[items.length - 1]!.AliasName);
  return out;
}
