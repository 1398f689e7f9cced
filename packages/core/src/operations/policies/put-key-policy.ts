/** PutKeyPolicy: replaces the key policy (size, shape and the lockout safety check first). */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import type { InputReader } from '../../validate.js';
import { checkNewPolicy, readPolicy } from '../policies/policy-document.js';
import { readKeyId, type Output } from '../common.js';
import { readPolicyName } from './policy-name.js';

export async function putKeyPolicy(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  const policy = readPolicy(input, 'Policy', true)!;
  const bypass = input.bool('BypassPolicyLockoutSafetyCheck') ?? false;
  readPolicyName(input);
  const resolved = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'PutKeyPolicy', key: resolved });
  checkNewPolicy(engine, ctx, policy, resolved.KeyId, bypass);
  await engine.mutateKey(resolved.KeyId, (key) => {
    engine.requireCustomerManaged(key, 'PutKeyPolicy');
    engine.requireNotPendingDeletion(key);
    return { next: { ...key, Policy: policy }, result: undefined };
  });
  return {};
}
