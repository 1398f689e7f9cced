/**
 * Authorization of one operation on one key: the key policy (explicit Deny wins, then Allow)
 * beside the key's grants. Operations that have no key resource (CreateKey, ListKeys,
 * ListAliases, GenerateRandom, ListRetirableGrants) are governed by IAM in AWS; edge-kms has no
 * IAM, so they are allowed to principals of the KMS's own account and refused to others.
 * In-process calls without a caller are trusted and not checked.
 */
import { KmsError } from '../errors.js';
import type { Engine } from '../engine.js';
import type { GrantRecord, KeyRecord } from '../model.js';
import type { ContextValue, RequestContext } from './conditions.js';
import { evaluatePolicy, parsePolicy, principalMatches, type Policy } from './policy.js';
import type { Caller } from './types.js';

export interface OperationContext {
  caller?: Caller;
  /** The Region to act in (in-process calls); else the caller's, else the KMS's default Region. */
  region?: string;
}

export interface AccessRequest {
  /** The action without the `kms:` prefix, e.g. 'Encrypt' or 'ReEncryptFrom'. */
  action: string;
  key?: KeyRecord;
  encryptionContext?: Record<string, string>;
  /** The alias the request named the key by (kms:RequestAlias). */
  requestAlias?: string;
  /** Further condition keys, lower case (kms:rotationperiodindays, …). */
  conditions?: Record<string, ContextValue>;
}

const policyCache = new Map<string, Policy>();

export function cachedPolicy(text: string): Policy {
  let p = policyCache.get(text);
  if (!p) {
    p = parsePolicy(text);
    if (policyCache.size > 1000) policyCache.clear();
    policyCache.set(text, p);
  }
  return p;
}

export function requestAliasOf(ref: string): string | undefined {
  if (ref.startsWith('alias/')) return ref;
  const m = /^arn:[^:]+:kms:[^:]*:\d{12}:(alias\/.+)$/.exec(ref);
  return m?.[1];
}

function buildContext(engine: Engine, caller: Caller, req: AccessRequest): RequestContext {
  const now = engine.now();
  const c: RequestContext = new Map<string, ContextValue>([
    ['aws:principalarn', caller.arn],
    ['aws:principalaccount', caller.accountId],
    ['kms:calleraccount', caller.accountId],
    ['aws:currenttime', new Date(now).toISOString()],
    ['aws:epochtime', String(Math.floor(now / 1000))],
    ['aws:securetransport', caller.secureTransport ? 'true' : 'false'],
    ['kms:grantisforawsresource', 'false'],
  ]);
  if (caller.sourceIp) c.set('aws:sourceip', caller.sourceIp);
  if (req.key) {
    c.set('kms:keyspec', req.key.KeySpec);
    c.set('kms:customermasterkeyspec', req.key.KeySpec);
    c.set('kms:keyusage', req.key.KeyUsage);
    c.set('kms:customermasterkeyusage', req.key.KeyUsage);
    c.set('kms:keyorigin', req.key.Origin);
    c.set('kms:multiregion', String(req.key.MultiRegion));
    c.set('aws:resourceaccount', req.key.AccountId);
  }
  if (req.requestAlias) c.set('kms:requestalias', req.requestAlias);
  if (req.encryptionContext) {
    const keys = Object.keys(req.encryptionContext);
    c.set('kms:encryptioncontextkeys', keys);
    for (const k of keys) c.set(`kms:encryptioncontext:${k.toLowerCase()}`, req.encryptionContext[k]);
  }
  for (const [k, v] of Object.entries(req.conditions ?? {})) c.set(k.toLowerCase(), v);
  return c;
}

function sameContext(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && b[k] === a[k]);
}

export function grantAllows(grant: GrantRecord, caller: Caller, action: string, ctx: Record<string, string> | undefined): boolean {
  if (!(grant.Operations as string[]).includes(action)) return false;
  if (!principalMatches({ any: false, values: [grant.GranteePrincipal] }, caller)) return false;
  const c = grant.Constraints;
  if (c?.EncryptionContextEquals && !sameContext(c.EncryptionContextEquals, ctx ?? {})) return false;
  if (c?.EncryptionContextSubset) {
    const have = ctx ?? {};
    for (const [k, v] of Object.entries(c.EncryptionContextSubset)) if (have[k] !== v) return false;
  }
  return true;
}

export function accessDenied(caller: Caller, action: string, resource: string, explicit: boolean, identityBased = false): KmsError {
  const why = explicit
    ? 'with an explicit deny in a resource-based policy'
    : `because no ${identityBased ? 'identity-based' : 'resource-based'} policy allows the kms:${action} action`;
  return new KmsError('AccessDeniedException', `User: ${caller.arn} is not authorized to perform: kms:${action} on resource: ${resource} ${why}`);
}

/** The key policy's decision alone (or the account rule for actions without a key). */
export function policyDecision(engine: Engine, caller: Caller, req: AccessRequest): 'Allow' | 'Deny' | 'None' {
  if (!req.key) return caller.accountId === engine.accountId ? 'Allow' : 'None';
  return evaluatePolicy(cachedPolicy(req.key.Policy), {
    caller,
    action: `kms:${req.action}`,
    resource: engine.keyArn(req.key.KeyId),
    context: lazyContext(engine, caller, req),
  });
}

/**
 * The request context, built only if a condition asks for it. A returned arrow rather than one
 * written into the object literal: esbuild's keepNames (tsx, npm start) names the latter with an
 * Object.defineProperty call on every request.
 */
function lazyContext(engine: Engine, caller: Caller, req: AccessRequest): () => RequestContext {
  return () => buildContext(engine, caller, req);
}

/** The key policy, then the key's grants. */
export function isAllowed(engine: Engine, caller: Caller, req: AccessRequest): 'Allow' | 'Deny' | 'None' {
  const decision = policyDecision(engine, caller, req);
  if (decision !== 'None' || !req.key) return decision;
  for (const g of req.key.Grants ?? []) if (grantAllows(g, caller, req.action, req.encryptionContext)) return 'Allow';
  return 'None';
}

export function authorize(engine: Engine, ctx: OperationContext, req: AccessRequest): void {
  const caller = ctx.caller;
  if (!caller) return;
  const decision = isAllowed(engine, caller, req);
  if (decision === 'Allow') return;
  const resource = req.key ? engine.keyArn(req.key.KeyId) : '*';
  throw accessDenied(caller, req.action, resource, decision === 'Deny', !req.key);
}
