/**
 * Ciphertext format 1: the known-answer vectors of docs/ciphertext-format.md (read from the doc,
 * so doc and code cannot drift), checked against our code and against Node's own AES-256-GCM;
 * the encryption context encoding is injective; any single-byte change is detected.
 * Run: npx vitest run packages/core/src/ciphertext.test.ts
 */
import { createCipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from './bytes.js';
import { encodeEncryptionContext, encodeHeader, HEADER_LENGTH, openBlob, parseBlob, sealBlob } from './ciphertext.js';

interface Vector {
  name: string;
  key: string;
  keyId: string;
  version: number;
  iv: string;
  plaintext: string;
  context: Record<string, string>;
  encryptionContextEncoding: string;
  blob: string;
}

const doc = readFileSync(new URL('../../../docs/ciphertext-format.md', import.meta.url), 'utf8');
const vectors = JSON.parse(/```json\n([\s\S]*?)\n```/.exec(doc)![1]!) as Vector[];

const aes = (hex: string, usages: KeyUsage[] = ['encrypt', 'decrypt']) =>
  crypto.subtle.importKey('raw', fromHex(hex)! as BufferSource, 'AES-GCM', false, usages);

describe('ciphertext format 1 known-answer vectors', () => {
  it('the doc holds vectors', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(4);
  });
  for (const v of vectors) {
    it(`${v.name}: our code produces the documented blob and opens it`, async () => {
      expect(toHex(encodeEncryptionContext(v.context))).toBe(v.encryptionContextEncoding);
      const key = await aes(v.key);
      const blob = await sealBlob(key, v.keyId, v.version, utf8(v.plaintext), v.context, fromHex(v.iv)!);
      expect(toHex(blob)).toBe(v.blob);
      const parsed = parseBlob(fromHex(v.blob)!)!;
      expect(parsed.keyId).toBe(v.keyId);
      expect(parsed.version).toBe(v.version);
      expect(new TextDecoder().decode(await openBlob(key, parsed, v.context))).toBe(v.plaintext);
    });
    it(`${v.name}: an independent AES-256-GCM (node:crypto) agrees`, () => {
      const header = encodeHeader(v.keyId, v.version, fromHex(v.iv)!);
      const cipher = createCipheriv('aes-256-gcm', fromHex(v.key)!, fromHex(v.iv)!);
      cipher.setAAD(Buffer.concat([header, fromHex(v.encryptionContextEncoding)!]));
      const body = Buffer.concat([cipher.update(utf8(v.plaintext)), cipher.final(), cipher.getAuthTag()]);
      expect(toHex(header) + body.toString('hex')).toBe(v.blob);
    });
  }
  it('{"a":"bc"} and {"ab":"c"} do not collide', () => {
    const a = vectors.find((v) => JSON.stringify(v.context) === '{"a":"bc"}')!;
    const b = vectors.find((v) => JSON.stringify(v.context) === '{"ab":"c"}')!;
    expect(a.encryptionContextEncoding).not.toBe(b.encryptionContextEncoding);
    expect(a.blob).not.toBe(b.blob);
  });
});

describe('encryption context encoding', () => {
  it('is order independent and injective', () => {
    const ctx = fc.dictionary(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), { maxKeys: 5 });
    fc.assert(
      fc.property(ctx, ctx, (x, y) => {
        const same = JSON.stringify(Object.entries(x).sort()) === JSON.stringify(Object.entries(y).sort());
        expect(toHex(encodeEncryptionContext(x)) === toHex(encodeEncryptionContext(y))).toBe(same);
        const reversed = Object.fromEntries(Object.entries(x).reverse());
        expect(toHex(encodeEncryptionContext(reversed))).toBe(toHex(encodeEncryptionContext(x)));
      }),
      { numRuns: 300 },
    );
  });
});

describe('tamper detection', () => {
  it('any single-byte change of a blob fails to parse or to authenticate', async () => {
    const key = await aes('11'.repeat(32));
    const keyId = '00000000-0000-4000-8000-000000000001';
    const blob = await sealBlob(key, keyId, 2, utf8('secret data'), { purpose: 'test' });
    for (let i = 0; i < blob.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const t = blob.slice();
        t[i]! ^= mask;
        const parsed = parseBlob(t);
        if (!parsed || parsed.keyId !== keyId || parsed.version !== 2) continue; // the engine rejects these before decrypting
        await expect(openBlob(key, parsed, { purpose: 'test' })).rejects.toThrow();
      }
    }
    expect(parseBlob(blob.subarray(0, HEADER_LENGTH + 15))).toBeUndefined();
  });
});
