/**
 * Key policy documents: parsing with MalformedPolicyDocumentException for what AWS would reject,
 * and evaluation as IAM does it for a resource policy: an explicit Deny wins, then an Allow,
 * otherwise deny by default.
 *
 * edge-kms has no IAM. A statement whose principal is an account (`"111122223333"` or
 * `arn:aws:iam::111122223333:root`) therefore applies to every principal of that account, as if
 * each had an IAM policy allowing what the key policy delegates to the account.
 */
import { KmsError } from '../errors.js';
import { evaluateOperator, parseOperator, type ParsedOperator, type RequestContext } from './conditions.js';
import { globMatch } from './glob.js';
import type { Caller } from './types.js';

export type Effect = 'Allow' | 'Deny';

interface PrincipalSet {
  any: boolean;
  values: string[];
}

export interface Statement {
  sid?: string;
  effect: Effect;
  principal?: PrincipalSet;
  notPrincipal?: PrincipalSet;
  action?: string[];
  notAction?: string[];
  resource?: string[];
  notResource?: string[];
  conditions: { op: ParsedOperator; block: Record<string, string[]> }[];
}

export interface Policy {
  statements: Statement[];
}

function malformed(message: string): KmsError {
  return new KmsError('MalformedPolicyDocumentException', message);
}

function stringList(v: unknown, what: string): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) return v as string[];
  throw malformed(`${what} must be a string or a non-empty list of strings.`);
}

function principalSet(v: unknown, what: string): PrincipalSet {
  if (v === '*') return { any: true, values: [] };
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw malformed(`${what} must be "*" or an object such as {"AWS": "arn:aws:iam::111122223333:root"}.`);
  const values: string[] = [];
  let any = false;
  for (const [type, ids] of Object.entries(v as Record<string, unknown>)) {
    if (!['AWS', 'Service', 'Federated', 'CanonicalUser'].includes(type)) throw malformed(`${what} has an unknown principal type "${type}".`);
    for (const id of stringList(ids, `${what}.${type}`)) {
      if (type !== 'AWS') {
        values.push(`${type.toLowerCase()}:${id}`);
        continue;
      }
      if (id === '*') any = true;
      else if (/^\d{12}$/.test(id) || /^arn:aws[a-z-]*:(iam|sts)::\d{12}:.+$/.test(id)) values.push(id);
      else throw malformed(`Policy contains a statement with one or more invalid principals: ${id}`);
    }
  }
  return { any, values };
}

/** Condition values: a string, number or boolean, or a list of them (IAM reads them as strings). */
function values(v: unknown, what: string): string[] {
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => {
    if (typeof x === 'string') return x;
    if (typeof x === 'number' || typeof x === 'boolean') return String(x);
    throw malformed(`${what} must be a string, number or boolean, or a list of them.`);
  });
}

/** AWS's key policy size quota: more is LimitExceededException. */
export const MAX_POLICY_BYTES = 32_768;
/**
 * How deep a key policy's JSON may nest. A valid policy nests at most 5 deep
 * (document > Statement list > statement > Condition > operator > key > value list is the deepest
 * path); anything much deeper cannot be a policy and is refused before it is parsed or walked.
 */
export const MAX_POLICY_DEPTH = 16;

/**
 * The nesting depth of a JSON text (brackets outside strings), in one pass without recursion, or
 * Infinity as soon as it exceeds `limit`.
 */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \\ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return Infinity;
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return max;
}

/** The UTF-8 length of a string, without encoding it. */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c >= 0x800 ? 2 : 1;
  }
  return n;
}

/** A new policy over AWS's size quota is LimitExceededException (stored ones were checked when set). */
export function checkPolicySize(text: string): void {
  if (utf8Length(text) > MAX_POLICY_BYTES) {
    throw new KmsError('LimitExceededException', `The key policy exceeds the key policy size quota of ${MAX_POLICY_BYTES} bytes.`);
  }
}

/**
 * Parses a policy document. A nesting no policy has is refused before the text is parsed or
 * walked (one pass, so a hostile document costs what its length costs).
 */
export function parsePolicy(text: string): Policy {
  if (jsonDepth(text, MAX_POLICY_DEPTH) > MAX_POLICY_DEPTH) {
    throw malformed(`The policy document nests deeper than ${MAX_POLICY_DEPTH} levels, which no key policy does.`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw malformed('The policy document is not valid JSON.');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw malformed('The policy document must be a JSON object.');
  const d = doc as Record<string, unknown>;
  if (d.Version !== undefined && d.Version !== '2012-10-17' && d.Version !== '2008-10-17') throw malformed(`Unsupported policy Version ${String(d.Version)}.`);
  if (d.Statement === undefined) throw malformed('The policy document must have a Statement.');
  const raw = Array.isArray(d.Statement) ? d.Statement : [d.Statement];
  if (raw.length === 0) throw malformed('The policy document must have at least one statement.');
  const statements = raw.map((s, i): Statement => {
    if (!s || typeof s !== 'object' || Array.isArray(s)) throw malformed(`Statement ${i} must be an object.`);
    const st = s as Record<string, unknown>;
    const known = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);
    for (const k of Object.keys(st)) if (!known.has(k)) throw malformed(`Statement ${i} has an unknown element "${k}".`);
    if (st.Effect !== 'Allow' && st.Effect !== 'Deny') throw malformed(`Statement ${i} must have Effect "Allow" or "Deny".`);
    if ((st.Principal === undefined) === (st.NotPrincipal === undefined))
      throw malformed(`Statement ${i} must have exactly one of Principal and NotPrincipal (key policies require a principal).`);
    if ((st.Action === undefined) === (st.NotAction === undefined)) throw malformed(`Statement ${i} must have exactly one of Action and NotAction.`);
    if (st.Resource !== undefined && st.NotResource !== undefined) throw malformed(`Statement ${i} cannot have both Resource and NotResource.`);
    if (st.Resource === undefined && st.NotResource === undefined) throw malformed(`Statement ${i} must have a Resource (usually "*").`);
    const conditions: Statement['conditions'] = [];
    if (st.Condition !== undefined) {
      if (!st.Condition || typeof st.Condition !== 'object' || Array.isArray(st.Condition))
        throw malformed(`Statement ${i} has a Condition that is not an object.`);
      for (const [opName, block] of Object.entries(st.Condition as Record<string, unknown>)) {
        const op = parseOperator(opName);
        if (!op) throw malformed(`Statement ${i} uses an unknown condition operator "${opName}".`);
        if (!block || typeof block !== 'object' || Array.isArray(block))
          throw malformed(`Statement ${i}: condition ${opName} must map condition keys to values.`);
        const norm: Record<string, string[]> = {};
        for (const [k, v] of Object.entries(block as Record<string, unknown>)) norm[k] = values(v, `Statement ${i}: the value of ${opName} ${k}`);
        conditions.push({ op, block: norm });
      }
    }
    const action = st.Action !== undefined ? stringList(st.Action, 'Action') : undefined;
    const notAction = st.NotAction !== undefined ? stringList(st.NotAction, 'NotAction') : undefined;
    for (const a of [...(action ?? []), ...(notAction ?? [])]) {
      if (a !== '*' && !/^kms:[A-Za-z*?]+$/.test(a)) throw malformed(`Statement ${i} has an invalid action "${a}": key policies take kms: actions.`);
    }
    return {
      sid: typeof st.Sid === 'string' ? st.Sid : undefined,
      effect: st.Effect,
      principal: st.Principal !== undefined ? principalSet(st.Principal, 'Principal') : undefined,
      notPrincipal: st.NotPrincipal !== undefined ? principalSet(st.NotPrincipal, 'NotPrincipal') : undefined,
      action,
      notAction,
      resource: st.Resource !== undefined ? stringList(st.Resource, 'Resource') : undefined,
      notResource: st.NotResource !== undefined ? stringList(st.NotResource, 'NotResource') : undefined,
      conditions,
    };
  });
  return { statements };
}

/** The role ARN behind an assumed-role session ARN, which a key policy names. */
function roleOf(arn: string): string | undefined {
  const m = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(arn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : undefined;
}

export function principalMatches(set: PrincipalSet, caller: Caller): boolean {
  if (set.any) return true;
  const role = roleOf(caller.arn);
  for (const p of set.values) {
    if (/^\d{12}$/.test(p)) {
      if (p === caller.accountId) return true;
      continue;
    }
    const root = /^arn:aws[a-z-]*:iam::(\d{12}):root$/.exec(p);
    if (root) {
      if (root[1] === caller.accountId) return true;
      continue;
    }
    if (p === caller.arn || (role !== undefined && p === role)) return true;
  }
  return false;
}

export interface PolicyRequest {
  caller: Caller;
  action: string;
  resource: string;
  /** The request context, or a function that builds it (only called if a condition needs it). */
  context: RequestContext | (() => RequestContext);
}

function statementApplies(s: Statement, req: PolicyRequest): boolean {
  if (s.principal && !principalMatches(s.principal, req.caller)) return false;
  if (s.notPrincipal && principalMatches(s.notPrincipal, req.caller)) return false;
  if (s.action && !s.action.some((a) => globMatch(a, req.action, true))) return false;
  if (s.notAction?.some((a) => globMatch(a, req.action, true))) return false;
  if (s.resource && !s.resource.some((r) => globMatch(r, req.resource))) return false;
  if (s.notResource?.some((r) => globMatch(r, req.resource))) return false;
  if (s.conditions.length === 0) return true;
  if (typeof req.context === 'function') req.context = req.context();
  const context = req.context;
  return s.conditions.every((c) => evaluateOperator(c.op, c.block, context));
}

/** 'Deny' (explicit), 'Allow', or 'None' (implicit deny). */
export function evaluatePolicy(policy: Policy, req: PolicyRequest): 'Allow' | 'Deny' | 'None' {
  let allowed = false;
  for (const s of policy.statements) {
    if (!statementApplies(s, req)) continue;
    if (s.effect === 'Deny') return 'Deny';
    allowed = true;
  }
  return allowed ? 'Allow' : 'None';
}
