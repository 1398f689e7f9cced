/** GetKeyPolicy: the key policy document. */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import type { InputReader } from '../../validate.js';
import { readKeyId, type Output } from '../common.js';
import { readPolicyName } from './policy-name.js';

export async function getKeyPolicy(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  readPolicyName(input);
  const key = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'GetKeyPolicy', key });
  return { Policy: key.Policy, PolicyName: 'default' };
}
