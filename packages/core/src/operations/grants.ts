/**
 * Grants: CreateGrant (with Name idempotency), ListGrants, ListRetirableGrants, RetireGrant (by
 * token, or by key id and grant id), RevokeGrant. Grants live in the key record and are committed
 * with it, so a grant takes effect, and a revocation removes it, at once; a grant token is usable
 * in GrantTokens immediately.
 */
import { accessDenied, authorize, policyDecision, type OperationContext } from '../auth/authorize.js';
import { principalMatches } from '../auth/policy.js';
import type { Caller } from '../auth/types.js';
import { concat, randomBytes, toBase64, fromBase64, toHex, uuidFromBytes, uuidToBytes, isUuid } from '../bytes.js';
import type { Engine } from '../engine.js';
import { KmsError } from '../errors.js';
import { GRANT_OPERATIONS, type GrantConstraints, type GrantOperation, type GrantRecord } from '../model.js';
import { InputReader } from '../validate.js';
import { decodeMarker, encodeMarker, readKeyId, readMarker, type Output } from './shared.js';
import { dryRun, readGrantTokens } from '../symmetric.js';

export const MAX_GRANTS_PER_KEY = 50_000;
const PRINCIPAL_PATTERN = /^[\w+=,.@:/-]+$/;
const NO_CONSTRAINTS: readonly string[] = ['Sign', 'Verify', 'GetPublicKey', 'DescribeKey', 'GenerateMac', 'VerifyMac', 'DeriveSharedSecret'];
const GRANT_ID_RE = /^[0-9a-f]{64}$/;

function validPrincipal(p: string): boolean {
  return /^\d{12}$/.test(p) || /^arn:aws[a-z-]*:(iam|sts)::\d{12}:.+$/.test(p) || /^[a-z0-9.-]+\.amazonaws\.com$/.test(p);
}

/** Grant token: base64url(0x01 ‖ key id (16) ‖ grant id (32) ‖ nonce (16)). */
export function makeGrantToken(keyId: string, grantId: string): string {
  const bytes = concat(new Uint8Array([1]), uuidToBytes(keyId), new Uint8Array(grantId.match(/../g)!.map((h) => parseInt(h, 16))), randomBytes(16));
  return toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function parseGrantToken(token: string): { keyId: string; grantId: string } | undefined {
  const b64 = token.replace(/-/g, '+').replace(/_/g, '/');
  const bytes = fromBase64(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  if (!bytes || bytes.length !== 65 || bytes[0] !== 1) return undefined;
  return { keyId: uuidFromBytes(bytes.subarray(1, 17)), grantId: toHex(bytes.subarray(17, 49)) };
}

function invalidToken(): KmsError {
  return new KmsError('InvalidGrantTokenException', 'The grant token is not valid.');
}

/** GrantTokens given to any operation must be tokens this KMS issued. */
export function checkGrantTokens(tokens: string[] | undefined): void {
  for (const t of tokens ?? []) if (!parseGrantToken(t)) throw invalidToken();
}

function readConstraints(input: InputReader): GrantConstraints | undefined {
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
  for (const [field, map] of [['EncryptionContextEquals', equals], ['EncryptionContextSubset', subset]] as const) {
    if (map && Object.hasOwn(map, '__proto__')) inner.invalid(field, undefined, 'Member must not have the key "__proto__" (edge-kms cannot store it in every store)');
  }
  inner.done();
  const c: GrantConstraints = {};
  if (equals) c.EncryptionContextEquals = equals;
  if (subset) c.EncryptionContextSubset = subset;
  return Object.keys(c).length ? c : undefined;
}

function sameGrant(g: GrantRecord, n: Omit<GrantRecord, 'GrantId' | 'CreationDate'>): boolean {
  const ops = (x: string[]) => [...x].sort().join(',');
  return (
    g.GranteePrincipal === n.GranteePrincipal &&
    g.RetiringPrincipal === n.RetiringPrincipal &&
    ops(g.Operations) === ops(n.Operations) &&
    JSON.stringify(g.Constraints ?? null) === JSON.stringify(n.Constraints ?? null)
  );
}

function grantOutput(engine: Engine, g: GrantRecord): Output {
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

export async function createGrant(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  const grantee = input.string('GranteePrincipal', { required: true, min: 1, max: 256, pattern: PRINCIPAL_PATTERN });
  const retiring = input.string('RetiringPrincipal', { min: 1, max: 256, pattern: PRINCIPAL_PATTERN });
  const opsRaw = input.stringList('Operations', { required: true });
  const constraints = readConstraints(input);
  const tokens = input.stringList('GrantTokens', { maxItems: 10, itemMin: 1, itemMax: 8192 });
  const name = input.string('Name', { min: 1, max: 256, pattern: /^[a-zA-Z0-9:/_-]+$/ });
  for (const op of opsRaw ?? []) {
    if (!(GRANT_OPERATIONS as readonly string[]).includes(op)) {
      input.invalid('Operations', undefined, `Member must satisfy constraint: [Member must satisfy enum value set: [${GRANT_OPERATIONS.join(', ')}]]`);
      break;
    }
  }
  input.done();
  checkGrantTokens(tokens);
  const operations = [...new Set(opsRaw as GrantOperation[])];
  if (!validPrincipal(grantee)) throw new KmsError('ValidationException', `GranteePrincipal ${grantee} is not a valid principal.`);
  if (retiring !== undefined && !validPrincipal(retiring)) throw new KmsError('ValidationException', `RetiringPrincipal ${retiring} is not a valid principal.`);
  if (constraints && operations.some((o) => NO_CONSTRAINTS.includes(o))) {
    throw new KmsError('ValidationException', `Grant constraints are not allowed with the operations ${operations.filter((o) => NO_CONSTRAINTS.includes(o)).join(', ')}.`);
  }
  const resolved = await engine.resolve(ref, { caller: ctx.caller });
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
        (g) => g.Operations.includes('CreateGrant') && principalMatches({ any: false, values: [g.GranteePrincipal] }, caller) && operations.every((o) => g.Operations.includes(o)),
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

function mayRetire(engine: Engine, caller: Caller | undefined, g: GrantRecord): boolean {
  if (!caller) return true;
  if (g.RetiringPrincipal !== undefined && principalMatches({ any: false, values: [g.RetiringPrincipal] }, caller)) return true;
  if (g.Operations.includes('RetireGrant') && principalMatches({ any: false, values: [g.GranteePrincipal] }, caller)) return true;
  return caller.arn === g.IssuingAccount;
}

async function removeGrant(engine: Engine, keyId: string, grantId: string, check: (g: GrantRecord) => void): Promise<void> {
  await engine.mutateKey(keyId, (key) => {
    const grants = key.Grants ?? [];
    const g = grants.find((x) => x.GrantId === grantId);
    if (!g) throw new KmsError('NotFoundException', `Grant ID ${grantId} not found for key ${engine.keyArn(keyId)}.`);
    check(g);
    return { next: { ...key, Grants: grants.filter((x) => x.GrantId !== grantId) }, result: undefined };
  });
}

export async function retireGrant(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const token = input.string('GrantToken', { min: 1, max: 8192 });
  const ref = input.string('KeyId', { min: 1, max: 2048 });
  const grantIdIn = input.string('GrantId', { min: 1, max: 128 });
  input.done();
  let keyId: string;
  let grantId: string;
  if (token !== undefined) {
    const parsed = parseGrantToken(token);
    if (!parsed) throw invalidToken();
    ({ keyId, grantId } = parsed);
    if (grantIdIn !== undefined && grantIdIn !== grantId) throw new KmsError('InvalidGrantIdException', 'The GrantId does not match the grant token.');
  } else {
    if (ref === undefined || grantIdIn === undefined) {
      throw new KmsError('ValidationException', 'Specify either GrantToken, or both KeyId and GrantId.');
    }
    if (!GRANT_ID_RE.test(grantIdIn)) throw new KmsError('InvalidGrantIdException', `The grant ID ${grantIdIn} is not valid.`);
    keyId = (await engine.resolve(ref, { caller: ctx.caller })).KeyId;
    grantId = grantIdIn;
  }
  if (!isUuid(keyId)) throw invalidToken();
  await engine.loadKey(keyId);
  await removeGrant(engine, keyId, grantId, (g) => {
    if (!mayRetire(engine, ctx.caller, g)) throw accessDenied(ctx.caller!, 'RetireGrant', engine.keyArn(keyId), false);
  });
  return {};
}

export async function revokeGrant(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  const grantId = input.string('GrantId', { required: true, min: 1, max: 128 });
  readGrantTokens(input);
  input.done();
  if (!GRANT_ID_RE.test(grantId)) throw new KmsError('InvalidGrantIdException', `The grant ID ${grantId} is not valid.`);
  const key = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'RevokeGrant', key });
  dryRun(input);
  await removeGrant(engine, key.KeyId, grantId, () => undefined);
  return {};
}
