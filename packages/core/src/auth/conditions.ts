/**
 * IAM condition operators for key policies: String*, Numeric*, Date*, Bool, Null, Arn*, IpAddress,
 * BinaryEquals, with the IfExists suffix and the ForAllValues:/ForAnyValue: set prefixes.
 */
import { globMatch } from './glob.js';

export type ContextValue = string | string[] | undefined;

/** Request context: condition key (lower case) -> value(s). */
export type RequestContext = Map<string, ContextValue>;

type Matcher = (actual: string, expected: string) => boolean;

function parseDate(v: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

function num(f: (a: number, b: number) => boolean): Matcher {
  return (a, b) => {
    const x = Number(a);
    const y = Number(b);
    return a.trim() !== '' && b.trim() !== '' && !Number.isNaN(x) && !Number.isNaN(y) && f(x, y);
  };
}

function date(f: (a: number, b: number) => boolean): Matcher {
  return (a, b) => {
    const x = parseDate(a);
    const y = parseDate(b);
    return x !== undefined && y !== undefined && f(x, y);
  };
}

function ipv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function ipv6(s: string): bigint | undefined {
  if (!s.includes(':')) return undefined;
  const [head, tail] = s.split('::') as [string, string | undefined];
  if (s.split('::').length > 2) return undefined;
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  if (fill < 0 || (tail === undefined && h.length !== 8)) return undefined;
  const groups = [...h, ...Array(fill).fill('0'), ...t];
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

function ipMatch(actual: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split('/') as [string, string | undefined];
  const a4 = ipv4(actual);
  const n4 = ipv4(net);
  if (a4 !== undefined && n4 !== undefined) {
    const bits = bitsText === undefined ? 32 : Number(bitsText);
    if (!(bits >= 0 && bits <= 32)) return false;
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return (a4 & mask) === (n4 & mask);
  }
  const a6 = ipv6(actual);
  const n6 = ipv6(net);
  if (a6 !== undefined && n6 !== undefined) {
    const bits = BigInt(bitsText === undefined ? 128 : Number(bitsText));
    if (!(bits >= 0n && bits <= 128n)) return false;
    const shift = 128n - bits;
    return a6 >> shift === n6 >> shift;
  }
  return false;
}

/** Positive matchers; the "Not" operators are their negation over all values. */
const MATCHERS: Record<string, Matcher> = {
  stringequals: (a, b) => a === b,
  stringequalsignorecase: (a, b) => a.toLowerCase() === b.toLowerCase(),
  stringlike: (a, b) => globMatch(b, a),
  numericequals: num((a, b) => a === b),
  numericlessthan: num((a, b) => a < b),
  numericlessthanequals: num((a, b) => a <= b),
  numericgreaterthan: num((a, b) => a > b),
  numericgreaterthanequals: num((a, b) => a >= b),
  dateequals: date((a, b) => a === b),
  datelessthan: date((a, b) => a < b),
  datelessthanequals: date((a, b) => a <= b),
  dategreaterthan: date((a, b) => a > b),
  dategreaterthanequals: date((a, b) => a >= b),
  bool: (a, b) => a.toLowerCase() === b.toLowerCase(),
  binaryequals: (a, b) => a === b,
  arnequals: (a, b) => globMatch(b, a),
  arnlike: (a, b) => globMatch(b, a),
  ipaddress: (a, b) => ipMatch(a, b),
};

const NEGATIONS: Record<string, string> = {
  stringnotequals: 'stringequals',
  stringnotequalsignorecase: 'stringequalsignorecase',
  stringnotlike: 'stringlike',
  numericnotequals: 'numericequals',
  datenotequals: 'dateequals',
  arnnotequals: 'arnequals',
  arnnotlike: 'arnlike',
  notipaddress: 'ipaddress',
};

export interface ParsedOperator {
  set?: 'forallvalues' | 'foranyvalue';
  base: string;
  negated: boolean;
  ifExists: boolean;
}

/** Parses an operator name; undefined if it is not one we know. */
export function parseOperator(name: string): ParsedOperator | undefined {
  let rest = name.toLowerCase();
  let set: ParsedOperator['set'];
  if (rest.startsWith('forallvalues:')) {
    set = 'forallvalues';
    rest = rest.slice('forallvalues:'.length);
  } else if (rest.startsWith('foranyvalue:')) {
    set = 'foranyvalue';
    rest = rest.slice('foranyvalue:'.length);
  }
  let ifExists = false;
  if (rest.endsWith('ifexists')) {
    ifExists = true;
    rest = rest.slice(0, -'ifexists'.length);
  }
  if (rest === 'null') return set || ifExists ? undefined : { base: 'null', negated: false, ifExists: false };
  // Own properties only: an operator named "__proto__" or "constructor" is not one we know.
  if (Object.hasOwn(MATCHERS, rest)) return { set, base: rest, negated: false, ifExists };
  if (Object.hasOwn(NEGATIONS, rest)) return { set, base: NEGATIONS[rest]!, negated: true, ifExists };
  return undefined;
}

function asList(v: ContextValue): string[] | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v : [v];
}

/** Evaluates one operator block `{ "<key>": value | [values] }` against the request context. */
export function evaluateOperator(op: ParsedOperator, block: Record<string, string[]>, context: RequestContext): boolean {
  for (const [rawKey, expected] of Object.entries(block)) {
    const actual = asList(context.get(rawKey.toLowerCase()));
    if (op.base === 'null') {
      const wantAbsent = expected.some((e) => e.toLowerCase() === 'true');
      const absent = actual === undefined || actual.length === 0;
      if (wantAbsent !== absent) return false;
      continue;
    }
    const matcher = MATCHERS[op.base]!;
    const matchesAny = (a: string) => expected.some((e) => matcher(a, e));
    if (actual === undefined || actual.length === 0) {
      if (op.ifExists) continue;
      if (op.set === 'forallvalues') continue; // vacuously true
      if (op.set === 'foranyvalue') return false;
      if (op.negated) continue; // AWS: a missing key "does not match", so a Not operator holds
      return false;
    }
    let ok: boolean;
    if (op.set === 'forallvalues') {
      ok = actual.every((a) => (op.negated ? !matchesAny(a) : matchesAny(a)));
    } else {
      // ForAnyValue, and single-valued keys (a multivalued key without a set prefix behaves as any).
      ok = op.negated ? !actual.some((a) => matchesAny(a)) : actual.some((a) => matchesAny(a));
      if (op.set === 'foranyvalue' && op.negated) ok = actual.some((a) => !matchesAny(a));
    }
    if (!ok) return false;
  }
  return true;
}
