/**
 * What the fuzz suite sends: request values as a small tree that plain JSON cannot express
 * (verbatim number texts such as `1e309` and `-0`, objects with `__proto__` or duplicate keys,
 * references to ids the KMS made at run time, large values built only when sent), its
 * serialization to the JSON text on the wire, and fast-check arbitraries of hostile values.
 */
import fc from 'fast-check';
import { abbreviate } from './model.js';

const show = Symbol.for('fast-check/toStringMethod');

/** JSON text sent exactly as written (`1e309`, `-0`, `[[[…]]]`). */
export class Raw {
  constructor(readonly text: string) {}
  [show](): string {
    return `Raw(${abbreviate(JSON.stringify(this.text), 120)})`;
  }
}

/** A JSON object as ordered entries: `__proto__`, `constructor` and duplicate keys stay as given. */
export class Obj {
  constructor(readonly entries: [string, unknown][]) {}
  [show](): string {
    return `Obj(${this.entries.map(([k, v]) => `${JSON.stringify(k)}: ${fc.stringify(v)}`).join(', ')})`;
  }
}

/** A value made when the request is built (a 300,000-character string, 20,000 items), shown by its label. */
export class Lazy {
  constructor(
    readonly label: string,
    readonly make: () => unknown,
  ) {}
  [show](): string {
    return `Lazy(${this.label})`;
  }
}

export type RefKind = 'keyRef' | 'cipherKey' | 'grantKey' | 'alias' | 'ciphertext' | 'context' | 'grantId' | 'grantToken' | 'marker';

/**
 * A value the KMS made at run time (a key id, a ciphertext, a grant token, a marker), picked by
 * index from what the run has seen so far, and changed by `variant` into a near-valid form
 * (variant 0: as it is). `index` -1 means the call's own slot, so that members of one call (a
 * ciphertext and its encryption context) can pick the same entry.
 */
export class Ref {
  constructor(
    readonly kind: RefKind,
    readonly index: number,
    readonly variant: number,
  ) {}
  [show](): string {
    return `Ref(${this.kind}, ${this.index}, ${this.variant})`;
  }
}

/** The JSON text of a value tree (Refs must have been resolved). Strings are escaped by JSON.stringify, so lone surrogates travel as `\ud800`. */
export function toJsonText(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (v instanceof Lazy) return toJsonText(v.make());
  if (v instanceof Ref) throw new Error(`unresolved ${fc.stringify(v)}`);
  if (v instanceof Obj)
    return `{${v.entries
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${JSON.stringify(k)}:${toJsonText(x)}`)
      .join(',')}}`;
  if (Array.isArray(v)) return `[${v.map(toJsonText).join(',')}]`;
  if (v instanceof Uint8Array) return JSON.stringify(Buffer.from(v).toString('base64'));
  if (v && typeof v === 'object') return toJsonText(new Obj(Object.entries(v)));
  if (v === undefined) return 'null';
  return JSON.stringify(v);
}

/** Replaces every Ref in a tree by what `lookup` gives for it. */
export function resolveRefs(v: unknown, lookup: (r: Ref) => unknown): unknown {
  if (v instanceof Ref) return lookup(v);
  if (v instanceof Obj) return new Obj(v.entries.map(([k, x]) => [k, resolveRefs(x, lookup)]));
  if (Array.isArray(v)) return v.map((x) => resolveRefs(x, lookup));
  return v;
}

const b64 = (bytes: Uint8Array | number[]): string => Buffer.from(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes)).toString('base64');

export const nested = (depth: number, open = '[', close = ']', inner = '"x"'): Raw => new Raw(open.repeat(depth) + inner + close.repeat(depth));

const big = (label: string, make: () => unknown) => fc.constant(new Lazy(label, make));

/** Strings that break assumptions: lone surrogates, prototype names, number-like text, control and format characters, lengths at and past the limits. */
export const hostileString: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    'null',
    'undefined',
    'NaN',
    '-NaN',
    'Infinity',
    '-0',
    '1e309',
    '0x10',
    'true',
    '[]',
    '{}',
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    '__defineGetter__',
    '\ud800',
    '\udfff',
    'a\udbffb',
    '\ude00\ud83d',
    '\ud83d',
    '\ufffd',
    '😀',
    '𝄞',
    '\u0000',
    '\u0000a',
    '\u2028\u2029',
    '\u202e',
    '\ufeff',
    '\u00ff',
    '\u0100',
    '\t\n\r',
    '%00',
    '%s%n',
    '../..',
    '\\',
    '"',
    "'",
    '<script>',
    'é',
    'alias/',
    'alias/aws/',
    'alias/aws',
    'arn:',
    'arn:aws:kms:us-east-1:111122223333:key/',
    'arn:aws:kms:us-east-1:111122223333:alias/',
    '*',
    '?',
    '*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?x',
    'kms:*',
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 4 }),
  fc
    .constantFrom(1, 128, 129, 255, 256, 257, 1024, 1025, 2048, 2049, 4096, 4097, 6144, 8192, 8193, 32768, 32769, 131072, 131073)
    .map((n) => new Lazy(`'a' x ${n}`, () => 'a'.repeat(n))),
  big(`'/' x 200000`, () => '/'.repeat(200_000)),
  big(`'\\ud800' x 5000`, () => '\ud800'.repeat(5000)),
  big(`'é' x 70000`, () => 'é'.repeat(70_000)),
);

/** Numbers as JSON text: beyond double range, negative zero, fractions, exponents, past 2^53. */
export const hostileNumber: fc.Arbitrary<unknown> = fc.oneof(
  fc
    .constantFrom(
      '1e309',
      '-1e309',
      '-0',
      '0.0',
      '1.0',
      '1.5',
      '1e2',
      '1E+2',
      '2e-1',
      '1e-400',
      '9007199254740993',
      '-9007199254740993',
      '4294967296',
      '2147483648',
      '-2147483649',
      '100000000000000000000000000000',
    )
    .map((t) => new Raw(t)),
  fc.constantFrom(0, -1, 1, 7, 6, 30, 31, 89, 90, 2560, 2561, 1024, 1025, 100, 101, 1000, 1001, 50, 51, 2 ** 31 - 1, 2 ** 53),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Blobs that are not canonical base64, or are too short or too long. */
export const hostileBase64: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    '',
    '=',
    '==',
    'A',
    'AA',
    'AAA',
    'AA=',
    'AA==',
    'AAA=',
    'AB==',
    'A===',
    'AAAA====',
    '====',
    'AQ',
    'AQ=',
    'AQ==\n',
    ' AQ==',
    'AQ==AQ==',
    '-_-_',
    'YQ',
    '****',
    '\ud800AA=',
    '%41%41',
  ),
  fc.uint8Array({ maxLength: 64 }).map((b) => b64(b).replace(/=+$/, '')),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => b64(b).replace(/\+/g, '-').replace(/\//g, '_')),
  fc.uint8Array({ maxLength: 64 }).map((b) => `${b64(b)}\n`),
  fc.constantFrom(4097, 6145, 8193, 300_000).map((n) => new Lazy(`base64 of ${n} bytes`, () => b64(new Uint8Array(n).fill(0x5a)))),
);

/** Any JSON value of the wrong kind: deep nesting, long arrays, objects with prototype keys. */
export const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.constantFrom([], {}, [null], [[]], [{}], [1, '1'], { '': '' }, true, false, null, 0, '') },
  { weight: 1, arbitrary: hostileNumber },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      new Obj([['__proto__', { a: 1 }]]),
      new Obj([['constructor', { prototype: { polluted: 'yes' } }]]),
      new Obj([['__proto__', null]]),
      new Obj([
        ['a', 1],
        ['a', '1'],
      ]),
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom(5000, 100_000).map((n) => new Lazy(`[ x ${n}`, () => nested(n))) },
  { weight: 1, arbitrary: fc.constantFrom(5000, 20_000).map((n) => new Lazy(`{"a": x ${n}`, () => nested(n, '{"a":', '}'))) },
  { weight: 1, arbitrary: fc.constantFrom(10_000, 20_000).map((n) => new Lazy(`${n} strings`, () => new Raw(`[${Array(n).fill('"x"').join(',')}]`))) },
  { weight: 1, arbitrary: big('20000 objects', () => new Raw(`[${Array(20_000).fill('{"TagKey":"k","TagValue":"v"}').join(',')}]`)) },
);

/** A map value that is hostile: prototype keys, lone surrogates, huge, nested, not strings. */
export const hostileMap: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    new Obj([['__proto__', 'v']]),
    new Obj([['constructor', 'v']]),
    new Obj([['__proto__', { k: 'v' }]]),
    new Obj([['k', '\ud800']]),
    new Obj([['\udfff', 'v']]),
    new Obj([['k', 'a\udbffb']]),
    new Obj([
      ['k', 'v'],
      ['k', 'w'],
    ]),
    new Obj([['', '']]),
    new Obj([['k', 1]]),
    new Obj([['k', null]]),
    new Obj([['k', ['v']]]),
    new Obj([['k', { v: 'v' }]]),
    new Obj([
      ['toString', 'x'],
      ['hasOwnProperty', 'y'],
      ['valueOf', 'z'],
    ]),
  ),
  fc
    .dictionary(
      fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'constructor', '\ud800', '')),
      fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('\udfff', '\ufffd')),
      { maxKeys: 4 },
    )
    .map((d) => new Obj(Object.entries(d))),
  big('1000 entries', () => new Obj(Array.from({ length: 1000 }, (_, i) => [`k${i}`, `v${i}`]))),
  big(`value 'a' x 300000`, () => new Obj([['k', 'a'.repeat(300_000)]])),
  big('{"k": {"k": … x 5000', () => new Obj([['k', nested(5000, '{"k":', '}')]])),
);
