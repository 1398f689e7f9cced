/** ListKeyPolicies: always ["default"]. */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import type { InputReader } from '../../validate.js';
import { readKeyId, readMarker, type Output } from '../common.js';

export async function listKeyPolicies(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  input.int('Limit', { min: 1, max: 1000 });
  readMarker(input);
  input.done();
  const key = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'ListKeyPolicies', key });
  return { PolicyNames: ['default'], Truncated: false };
}
