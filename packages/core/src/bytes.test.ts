/** Byte helpers against Node's Buffer as the reference. Run: npx vitest run packages/core/src/bytes.test.ts */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constantTimeEqual, fromBase64, fromHex, isUuid, randomUuid, toBase64, toHex } from './bytes.js';

describe('bytes', () => {
  it('base64 and hex round-trip and agree with Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect(toBase64(b)).toBe(Buffer.from(b).toString('base64'));
        expect([...fromBase64(toBase64(b))!]).toEqual([...b]);
        expect(toHex(b)).toBe(Buffer.from(b).toString('hex'));
        expect([...fromHex(toHex(b))!]).toEqual([...b]);
      }),
    );
  });
  it('base64 decoding is strict', () => {
    for (const bad of ['abc', 'ab=c', '****', 'YQ', 'YQ=', 'Y Q==']) expect(fromBase64(bad)).toBeUndefined();
    expect(fromBase64('')).toEqual(new Uint8Array());
  });
  it('constant-time comparison', () => {
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1]), new Uint8Array([1, 2]))).toBe(false);
  });
  it('random UUIDs are v4', () => {
    const ids = new Set(Array.from({ length: 100 }, randomUuid));
    expect(ids.size).toBe(100);
    for (const id of ids) {
      expect(isUuid(id)).toBe(true);
      expect(id[14]).toBe('4');
    }
  });
});
