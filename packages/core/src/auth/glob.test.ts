/**
 * The wildcard matcher: the same answers as two independent references (a dynamic-programming
 * matcher and a regular expression, on inputs small enough for both), and no input that makes it
 * slow: the patterns that froze the regular-expression matcher run in a small time budget.
 * Run: npx vitest run packages/core/src/auth/glob.test.ts
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { globMatch } from './glob.js';
import { evaluatePolicy, parsePolicy } from './policy.js';

/** Reference 1: the textbook O(n·m) table. */
function dpMatch(pattern: string, value: string): boolean {
  const m = pattern.length;
  const n = value.length;
  let row = new Array<boolean>(n + 1).fill(false);
  row[0] = true;
  for (let i = 1; i <= m; i++) {
    const p = pattern[i - 1];
    const next = new Array<boolean>(n + 1).fill(false);
    next[0] = p === '*' && row[0]!;
    for (let j = 1; j <= n; j++) {
      if (p === '*') next[j] = row[j]! || next[j - 1]!;
      else next[j] = row[j - 1]! && (p === '?' || p === value[j - 1]);
    }
    row = next;
  }
  return row[n]!;
}

/** Reference 2: the regular expression the policy engine used before (fine on small inputs). */
function regexMatch(pattern: string, value: string): boolean {
  const src = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${src}$`, 's').test(value);
}

// A small alphabet, so that random patterns and values often match and often almost match.
const char = fc.constantFrom('a', 'b', '/', '.', '\\', '(', 'é', '\n');
const patternChar = fc.oneof({ weight: 3, arbitrary: char }, { weight: 1, arbitrary: fc.constantFrom('*', '?') });
const pattern = fc.array(patternChar, { maxLength: 12 }).map((cs) => cs.join(''));
const value = fc.array(char, { maxLength: 16 }).map((cs) => cs.join(''));

describe('globMatch', () => {
  it('agrees with a dynamic-programming reference and with a regular expression', () => {
    fc.assert(
      fc.property(pattern, value, (p, v) => {
        const got = globMatch(p, v);
        expect(got).toBe(dpMatch(p, v));
        expect(got).toBe(regexMatch(p, v));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees on values built from the pattern (matches, and near misses)', () => {
    const built = pattern.chain((p) =>
      fc
        .tuple(...[...p].map((c) => (c === '*' ? fc.array(char, { maxLength: 3 }).map((a) => a.join('')) : c === '?' ? char : fc.constant(c))))
        .chain((pieces) => fc.tuple(fc.constant(p), fc.constant(pieces.join('')), fc.nat({ max: 20 }), char)),
    );
    fc.assert(
      fc.property(built, ([p, v, at, c]) => {
        expect(globMatch(p, v)).toBe(true);
        const mutated = v.length ? v.slice(0, at % v.length) + c + v.slice((at % v.length) + 1) : c;
        expect(globMatch(p, mutated)).toBe(dpMatch(p, mutated));
      }),
      { numRuns: 3000 },
    );
  });

  it('matches case-insensitively when asked (actions)', () => {
    expect(globMatch('kms:Encrypt*', 'KMS:encryptDataKey', true)).toBe(true);
    expect(globMatch('kms:Encrypt*', 'KMS:encryptDataKey')).toBe(false);
    expect(globMatch('kms:?ecrypt', 'kms:DECRYPT', true)).toBe(true);
  });

  // Each of these took seconds or longer with the regular expression; each is a few milliseconds
  // of work here. The budget is generous (shared CI machines) and still far below the old cost.
  it.each([
    ['*/*/reports', '/'.repeat(200_000)],
    ['*/*/*/*/*/reports', '/'.repeat(200_000)],
    [`${'*?'.repeat(30)}x`, 'a'.repeat(5_000)],
    ['*a*a*a*a*a*a*a*a*b', 'a'.repeat(200_000)],
    [`*${'a'.repeat(1000)}b*`, 'a'.repeat(200_000)],
    [`*${'a?'.repeat(8)}b*`, 'a'.repeat(200_000)],
  ])('adversarial pattern %# runs in linear time', (p, v) => {
    const t0 = performance.now();
    const got = globMatch(p, v);
    const ms = performance.now() - t0;
    expect(got).toBe(false);
    expect(ms).toBeLessThan(500);
  });

  it('a Deny on StringNotLike with a huge context value is decided at once', () => {
    const policy = parsePolicy(
      JSON.stringify({
        Statement: [
          { Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { StringNotLike: { 'kms:EncryptionContext:path': '*/*/reports' } } },
        ],
      }),
    );
    const t0 = performance.now();
    const decision = evaluatePolicy(policy, {
      caller: { accountId: '111122223333', arn: 'arn:aws:iam::111122223333:user/mallory' },
      action: 'kms:Encrypt',
      resource: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      context: new Map([['kms:encryptioncontext:path', '/'.repeat(200_000)]]),
    });
    expect(decision).toBe('Deny');
    expect(performance.now() - t0).toBeLessThan(500);
  });
});
