/**
 * What the grant operations share. Grants live in the key record and are committed with it, so a
 * grant takes effect, and a revocation removes it, at once; a grant token is usable in
 * GrantTokens immediately.
 */
import { principalMatches } from '../../auth/policy.js';
import type { Caller } from '../../auth/types.js';
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import type { GrantConstraints, GrantRecord } from '../../model.js';
import { InputReader } from '../../validate.js';
import type { Output } from '../common.js';

export const MAX_GRANTS_PER_KEY = 50_000;

export const PRINCIPAL_PATTERN = /^[\w+=,.@:/-]+$/;

export const NO_CONSTRAINTS: readonly string[] = ['Sign', 'Verify', 'GetPublicKey', 'DescribeKey', 'GenerateMac', 'VerifyMac', 'DeriveSharedSecret'];

export const GRANT_ID_RE = /^[0-9a-f]{64}$/;

export function validPrincipal(p: string): boolean {
  return /^\d{12}$/.test(p) || /^arn:aws[a-z-]*:(iam|sts)::\d{12}:.+$/.test(p) || /^[a-z0-9.-]+\.amazonaws\.com$/.test(p);
}

export function readConstraints(input: InputReader): GrantConstraints | undefined {
  const raw = input.raw.Constraints;
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new KmsError('SerializationException', "Value for 'Constraints' must be a structure.");
  const inner = new InputReader(raw as Record<string, unknown>);
  const equals = inner.stringMap('EncryptionContextEquals');
  const subset = inner.stringMap('EncryptionContextSubset');
  // Constraints are stored, and not every store keeps a member named "__proto__" (LMDB's msgpack
  // decoder renames it "__proto_", which would change what the grant allows after a restart):
  // refused here, where AWS would accept it (docs/decisions/0006). Encryption contexts, which are
  // only bound into ciphertexts, take it.
  for (const [field, map] of [
    ['EncryptionContextEquals', equals],
    ['EncryptionContextSubset', subset],
  ] as const) {
    if (map && Object.hasOwn(map, '__proto__'))
      inner.invalid(field, undefined, 'Member must not have the key "__proto__" (edge-kms cannot store it in every store)');
  }
  inner.done();
  const c: GrantConstraints = {};
  if (equals) c.EncryptionContextEquals = equals;
  if (subset) c.EncryptionContextSubset = subset;
  return Object.keys(c).length ? c : undefined;
}

export function sameGrant(g: GrantRecord, n: Omit<GrantRecord, 'GrantId' | 'CreationDate'>): boolean {
  const ops = (x: string[]) => [...x].sort().join(',');
  return (
    g.GranteePrincipal === n.GranteePrincipal &&
    g.RetiringPrincipal === n.RetiringPrincipal &&
    ops(g.Operations) === ops(n.Operations) &&
    JSON.stringify(g.Constraints ?? null) === JSON.stringify(n.Constraints ?? null)
  );
}

export function grantOutput(engine: Engine, g: GrantRecord): Output {
  const out: Output = {
    KeyId: engine.keyArn(g.KeyId),
    GrantId: g.GrantId,
    CreationDate: new Date(g.CreationDate),
    GranteePrincipal: g.GranteePrincipal,
    IssuingAccount: g.IssuingAccount,
    Operations: g.Operations,
  };
  if (g.Name !== undefined) out.Name = g.Name;
  if (g.RetiringPrincipal !== undefined) out.RetiringPrincipal = g.RetiringPrincipal;
  if (g.Constraints) out.Constraints = g.Constraints;
  return out;
}

export function mayRetire(caller: Caller | undefined, g: GrantRecord): boolean {
  if (!caller) return true;
  if (g.RetiringPrincipal !== undefined && principalMatches({ any: false, values: [g.RetiringPrincipal] }, caller)) return true;
  if (g.Operations.includes('RetireGrant') && principalMatches({ any: false, values: [g.GranteePrincipal] }, caller)) return true;
  return caller.arn === g.IssuingAccount;
}

export async function removeGrant(engine: Engine, keyId: string, grantId: string, check: (g: GrantRecord) => void): Promise<void> {
  await engine.mutateKey(keyId, (key) => {
    const grants = key.Grants ?? [];
    const g = grants.find((x) => x.GrantId === grantId);
    if (!g) throw new KmsError('NotFoundException', `Grant ID ${grantId} not found for key ${engine.keyArn(keyId)}.`);
    check(g);
    return { next: { ...key, Grants: grants.filter((x) => x.GrantId !== grantId) }, result: undefined };
  });
}
