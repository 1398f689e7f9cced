/** ListRetirableGrants: every grant a principal may retire, across keys, paged. */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import type { GrantRecord } from '../../model.js';
import type { InputReader } from '../../validate.js';
import { decodeMarker, encodeMarker, readMarker, type Output } from '../common.js';
import { grantOutput, PRINCIPAL_PATTERN } from './grant-rules.js';

export async function listRetirableGrants(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const retiring = input.string('RetiringPrincipal', { required: true, min: 1, max: 256, pattern: PRINCIPAL_PATTERN });
  const limit = input.int('Limit', { min: 1, max: 100 }) ?? 50;
  const marker = readMarker(input);
  input.done();
  authorize(engine, ctx, { action: 'ListRetirableGrants' });
  const found: GrantRecord[] = [];
  for (let after: string | undefined; ; ) {
    const page = await engine.store.listKeys({ after, limit: 500 });
    for (const k of page.items) for (const g of k.Grants ?? []) if (g.RetiringPrincipal === retiring) found.push(g);
    if (!page.next) break;
    after = page.next;
  }
  const pos = decodeMarker(marker, (p) => /^\d+$/.test(p) && Number(p) <= found.length);
  const start = pos === undefined ? 0 : Number(pos);
  const page = found.slice(start, start + limit);
  const truncated = start + limit < found.length;
  const out: Output = { Grants: page.map((g) => grantOutput(engine, g)), Truncated: truncated };
  if (truncated) out.NextMarker = encodeMarker(String(start + limit));
  return out;
}
