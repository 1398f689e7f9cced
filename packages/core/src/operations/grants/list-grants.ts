/** ListGrants: a key's grants, by GrantId or grantee, paged. */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import type { InputReader } from '../../validate.js';
import { decodeMarker, encodeMarker, readKeyId, readMarker, type Output } from '../common.js';
import { grantOutput, PRINCIPAL_PATTERN } from './grant-rules.js';

export async function listGrants(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  const limit = input.int('Limit', { min: 1, max: 100 }) ?? 50;
  const marker = readMarker(input);
  const grantId = input.string('GrantId', { min: 1, max: 128 });
  const grantee = input.string('GranteePrincipal', { min: 1, max: 256, pattern: PRINCIPAL_PATTERN });
  input.done();
  const key = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'ListGrants', key });
  const all = (key.Grants ?? []).filter((g) => (grantId === undefined || g.GrantId === grantId) && (grantee === undefined || g.GranteePrincipal === grantee));
  const after = decodeMarker(marker, (p) => /^\d+$/.test(p) && Number(p) <= all.length);
  const start = after === undefined ? 0 : Number(after);
  const page = all.slice(start, start + limit);
  const truncated = start + limit < all.length;
  const out: Output = { Grants: page.map((g) => grantOutput(engine, g)), Truncated: truncated };
  if (truncated) out.NextMarker = encodeMarker(String(start + limit));
  return out;
}
