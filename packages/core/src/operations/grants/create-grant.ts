/** CreateGrant, idempotent by Name; a grantee with CreateGrant may pass on a subset of its operations. */
import { accessDenied, policyDecision, type OperationContext } from '../../auth/authorize.js';
import { principalMatches } from '../../auth/policy.js';
import { randomBytes, toHex } from '../../bytes.js';
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import { GRANT_OPERATIONS, type GrantOperation, type GrantRecord, type KeyUsage } from '../../model.js';
import type { InputReader } from '../../validate.js';
import { dryRun, readGrantTokens, readKeyId, type Output } from '../common.js';
import { familyOf, symmetricFamily } from '../../key-specs/index.js';
import { makeGrantToken } from './grant-tokens.js';
import { MAX_GRANTS_PER_KEY, NO_CONSTRAINTS, PRINCIPAL_PATTERN, readConstraints, sameGrant, validPrincipal } from './grant-rules.js';

const ALWAYS_GRANTABLE: readonly string[] = ['CreateGrant', 'RetireGrant', 'DescribeKey'];
const OPERATIONS_BY_USAGE: Record<KeyUsage, readonly string[]> = {
  ENCRYPT_DECRYPT: [
    'Decrypt',
    'Encrypt',
    'GenerateDataKey',
    'GenerateDataKeyWithoutPlaintext',
    'ReEncryptFrom',
    'ReEncryptTo',
    'GenerateDataKeyPair',
    'GenerateDataKeyPairWithoutPlaintext',
    'GetPublicKey',
  ],
  SIGN_VERIFY: ['Sign', 'Verify', 'GetPublicKey'],
  GENERATE_VERIFY_MAC: ['GenerateMac', 'VerifyMac'],
  KEY_AGREEMENT: ['DeriveSharedSecret', 'GetPublicKey'],
};
/** An asymmetric ENCRYPT_DECRYPT key (RSA) makes no data keys: AWS's grant operations for it. */
const ASYMMETRIC_ENCRYPT_DECRYPT: readonly string[] = ['Decrypt', 'Encrypt', 'ReEncryptFrom', 'ReEncryptTo', 'GetPublicKey'];

export async function createGrant(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  const grantee = input.string('GranteePrincipal', { required: true, min: 1, max: 256, pattern: PRINCIPAL_PATTERN });
  const retiring = input.string('RetiringPrincipal', { min: 1, max: 256, pattern: PRINCIPAL_PATTERN });
  const opsRaw = input.stringList('Operations', { required: true });
  const constraints = readConstraints(input);
  readGrantTokens(input); // each token was checked once for the call (kms.ts execute)
  const name = input.string('Name', { min: 1, max: 256, pattern: /^[a-zA-Z0-9:/_-]+$/ });
  for (const op of opsRaw ?? []) {
    if (!(GRANT_OPERATIONS as readonly string[]).includes(op)) {
      input.invalid('Operations', undefined, `Member must satisfy constraint: [Member must satisfy enum value set: [${GRANT_OPERATIONS.join(', ')}]]`);
      break;
    }
  }
  input.done();
  const operations = [...new Set(opsRaw as GrantOperation[])];
  if (!validPrincipal(grantee)) throw new KmsError('ValidationException', `GranteePrincipal ${grantee} is not a valid principal.`);
  if (retiring !== undefined && !validPrincipal(retiring)) throw new KmsError('ValidationException', `RetiringPrincipal ${retiring} is not a valid principal.`);
  if (constraints && operations.some((o) => NO_CONSTRAINTS.includes(o))) {
    throw new KmsError(
      'ValidationException',
      `Grant constraints are not allowed with the operations ${operations.filter((o) => NO_CONSTRAINTS.includes(o)).join(', ')}.`,
    );
  }
  const resolved = await engine.resolve(ref, { caller: ctx.caller });
  // A grant may only name operations the key supports (the API reference: "KMS returns a
  // ValidationError exception" otherwise).
  const supported =
    resolved.KeyUsage === 'ENCRYPT_DECRYPT' && familyOf(resolved.KeySpec) !== symmetricFamily
      ? ASYMMETRIC_ENCRYPT_DECRYPT
      : OPERATIONS_BY_USAGE[resolved.KeyUsage];
  const unsupported = operations.filter((o) => !ALWAYS_GRANTABLE.includes(o) && !supported.includes(o));
  if (unsupported.length > 0) {
    throw new KmsError('ValidationException', `Grant operations ${unsupported.join(', ')} are not supported for a KMS key with KeyUsage ${resolved.KeyUsage}.`);
  }
  const conditions = {
    'kms:grantoperations': operations as string[],
    'kms:granteeprincipal': grantee,
    'kms:retiringprincipal': retiring,
    'kms:grantconstrainttype': constraints ? Object.keys(constraints) : undefined,
  };
  if (ctx.caller) {
    const d = policyDecision(engine, ctx.caller, { action: 'CreateGrant', key: resolved, conditions });
    if (d === 'Deny') throw accessDenied(ctx.caller, 'CreateGrant', engine.keyArn(resolved.KeyId), true);
    if (d === 'None') {
      // A grantee whose grant includes CreateGrant may pass on a subset of its operations.
      const caller = ctx.caller;
      const via = (resolved.Grants ?? []).some(
        (g) =>
          g.Operations.includes('CreateGrant') &&
          principalMatches({ any: false, values: [g.GranteePrincipal] }, caller) &&
          operations.every((o) => g.Operations.includes(o)),
      );
      if (!via) throw accessDenied(caller, 'CreateGrant', engine.keyArn(resolved.KeyId), false);
    }
  }
  dryRun(input);
  const result = await engine.mutateKey(resolved.KeyId, (key) => {
    engine.requireCustomerManaged(key, 'CreateGrant');
    engine.requireNotPendingDeletion(key);
    const grants = key.Grants ?? [];
    const fields = {
      KeyId: key.KeyId,
      GranteePrincipal: grantee,
      RetiringPrincipal: retiring,
      IssuingAccount: `arn:${engine.partition}:iam::${engine.accountId}:root`,
      Operations: operations,
      Constraints: constraints,
      Name: name,
    };
    if (name !== undefined) {
      const same = grants.find((g) => g.Name === name && sameGrant(g, fields));
      if (same) return { result: same.GrantId };
    }
    if (grants.length >= MAX_GRANTS_PER_KEY) {
      throw new KmsError('LimitExceededException', `The key ${engine.keyArn(key.KeyId)} has reached the limit of ${MAX_GRANTS_PER_KEY} grants.`);
    }
    const grant: GrantRecord = { ...fields, GrantId: toHex(randomBytes(32)), CreationDate: engine.now() };
    for (const k of Object.keys(grant) as (keyof GrantRecord)[]) if (grant[k] === undefined) delete grant[k];
    return { next: { ...key, Grants: [...grants, grant] }, result: grant.GrantId };
  });
  return { GrantToken: makeGrantToken(resolved.KeyId, result), GrantId: result };
}
