/** GetKeyPolicy, PutKeyPolicy, ListKeyPolicies: every key has one policy, named "default". */
import { authorize, type OperationContext } from '../auth/authorize.js';
import type { Engine } from '../engine.js';
import { KmsError } from '../errors.js';
import type { InputReader } from '../validate.js';
import { checkNewPolicy, readPolicy } from './policy.js';
import { readKeyId, readMarker, type Output } from './shared.js';

function readPolicyName(input: InputReader): void {
  const name = input.string('PolicyName', { min: 1, max: 128, pattern: /^[\w]+$/ });
  input.done();
  if (name !== undefined && name !== 'default') throw new KmsError('NotFoundException', `No such policy exists: ${name}. A key has one policy, "default".`);
}

export async function getKeyPolicy(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  readPolicyName(input);
  const key = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'GetKeyPolicy', key });
  return { Policy: key.Policy, PolicyName: 'default' };
}

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

export async function listKeyPolicies(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  input.int('Limit', { min: 1, max: 1000 });
  readMarker(input);
  input.done();
  const key = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'ListKeyPolicies', key });
  return { PolicyNames: ['default'], Truncated: false };
}
