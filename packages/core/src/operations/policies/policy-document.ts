/**
 * Key policy documents on the wire: reading a Policy member (MalformedPolicyDocumentException for
 * anything AWS would reject) and the lockout safety check: unless BypassPolicyLockoutSafetyCheck
 * is set, a new policy must let the caller change the policy again.
 */
import type { OperationContext } from '../../auth/authorize.js';
import { checkPolicySize, evaluatePolicy, parsePolicy } from '../../auth/policy.js';
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import type { InputReader } from '../../validate.js';

export function readPolicy(input: InputReader, field: string, required: boolean): string | undefined {
  // The model's limits (131,072 characters, tab, newlines and U+0020..U+00FF) are a
  // ValidationException; AWS's 32 KB size quota is LimitExceededException (checkNewPolicy).
  const policy = input.string(field, { required, min: 1, max: 131072, pattern: /^[\u0009\u000A\u000D\u0020-\u00FF]+$/, sensitive: true });
  if (policy === undefined) return undefined;
  return policy;
}

/**
 * Checks the size quota (LimitExceededException), parses (MalformedPolicyDocumentException) and
 * runs the lockout safety check.
 */
export function checkNewPolicy(engine: Engine, ctx: OperationContext, policy: string, keyId: string, bypass: boolean): void {
  checkPolicySize(policy);
  const parsed = parsePolicy(policy);
  if (bypass || !ctx.caller) return;
  const decision = evaluatePolicy(parsed, {
    caller: ctx.caller,
    action: 'kms:PutKeyPolicy',
    resource: engine.keyArn(keyId),
    context: new Map([
      ['aws:principalarn', ctx.caller.arn],
      ['kms:calleraccount', ctx.caller.accountId],
    ]),
  });
  if (decision !== 'Allow') {
    throw new KmsError('MalformedPolicyDocumentException', 'The new key policy will not allow you to update the key policy in the future.');
  }
}
