/**
 * The node:crypto provider produces exactly what WebCrypto produces, on the same non-extractable
 * keys, and fails where WebCrypto fails. Run: npx vitest run packages/node/src/node-crypto.test.ts
 */
import { webCryptoProvider } from '@edge-kms/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
// The subpath export: the provider without the server, LMDB or Hono (what an in-process core needs).
import { createNodeCryptoProvider } from '@edge-kms/node/crypto';

const node = createNodeCryptoProvider();
const web = webCryptoProvider;

describe('node:crypto provider', () => {
  it('AES-256-GCM and HMAC-SHA256 match WebCrypto on non-extractable keys; SHA-256 matches', async () => {
    const aes = await crypto.subtle.importKey('raw', crypto.getRandomValues(new Uint8Array(32)), 'AES-GCM', false, ['encrypt', 'decrypt']);
    const mac = await crypto.subtle.importKey('raw', crypto.getRandomValues(new Uint8Array(32)), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 5000 }),
        fc.uint8Array({ maxLength: 100 }),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        async (pt, aad, iv) => {
          const a = await node.aesGcmEncrypt(aes, iv, aad, pt);
          expect(a).toEqual(await web.aesGcmEncrypt(aes, iv, aad, pt));
          expect(await node.aesGcmDecrypt(aes, iv, aad, a)).toEqual(pt);
          expect(await node.sha256Hex(pt)).toEqual(await web.sha256Hex(pt));
          expect(await node.hmacSha256Hex(mac, pt)).toEqual(await web.hmacSha256Hex(mac, pt));
          const text = new TextDecoder().decode(pt); // strings are hashed as their UTF-8 bytes
          expect(await node.sha256Hex(text)).toEqual(await web.sha256Hex(new TextEncoder().encode(text)));
          expect(await node.hmacSha256Hex(mac, text)).toEqual(await web.hmacSha256Hex(mac, text));
          const bad = a.slice();
          bad[bad.length - 1]! ^= 1;
          expect(() => node.aesGcmDecrypt(aes, iv, aad, bad)).toThrow();
        },
      ),
      { numRuns: 100 },
    );
    expect(aes.extractable).toBe(false);
  });

  it('HMAC-SHA256 matches WebCrypto for keys shorter than, as long as and longer than a block, messages either side of the prepared limit, repeated calls', async () => {
    for (const length of [1, 32, 63, 64, 65, 100, 200]) {
      const mac = await crypto.subtle.importKey('raw', crypto.getRandomValues(new Uint8Array(length)), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      for (const size of [0, 1, 150, 1023, 1024, 1025, 3000, 150, 0]) {
        const msg = crypto.getRandomValues(new Uint8Array(size));
        expect(await node.hmacSha256Hex(mac, msg), `key ${length} B, message ${size} B`).toEqual(await web.hmacSha256Hex(mac, msg));
      }
      // A long message then a short one: nothing of the first is left in the second's MAC.
      expect(await node.hmacSha256Hex(mac, 'é'.repeat(400))).toEqual(await web.hmacSha256Hex(mac, new TextEncoder().encode('é'.repeat(400))));
      expect(await node.hmacSha256Hex(mac, 'abc')).toEqual(await web.hmacSha256Hex(mac, new TextEncoder().encode('abc')));
    }
  });
});

describe('node:crypto provider: rsaPrivateRaw', () => {
  it('is m^d mod n on a non-extractable RSA CryptoKey of either kind; refuses a block of the wrong length or ≥ n', async () => {
    const { constants, KeyObject, publicDecrypt } = await import('node:crypto');
    expect(web.rsaPrivateRaw).toBeUndefined();
    for (const name of ['RSASSA-PKCS1-v1_5', 'RSA-PSS']) {
      const pair = await crypto.subtle.generateKey({ name, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, false, [
        'sign',
        'verify',
      ]);
      const block = crypto.getRandomValues(new Uint8Array(256));
      block[0] = 0; // < n
      const out = await node.rsaPrivateRaw!(pair.privateKey, block);
      expect(out).toBeInstanceOf(Uint8Array);
      expect(out.length).toBe(256);
      // (m^d)^e = m
      expect(new Uint8Array(publicDecrypt({ key: KeyObject.from(pair.publicKey), padding: constants.RSA_NO_PADDING }, out))).toEqual(block);
      expect(await node.rsaPrivateRaw!(pair.privateKey, block)).toEqual(out); // deterministic (blinding does not show)
      expect(pair.privateKey.extractable).toBe(false);
      expect(() => node.rsaPrivateRaw!(pair.privateKey, block.subarray(1))).toThrow(RangeError);
      expect(() => node.rsaPrivateRaw!(pair.privateKey, new Uint8Array(257))).toThrow(RangeError);
      expect(() => node.rsaPrivateRaw!(pair.privateKey, new Uint8Array(256).fill(0xff))).toThrow(); // ≥ n
      expect(() => node.rsaPrivateRaw!(pair.publicKey, block)).toThrow(TypeError);
    }
    const aes = await crypto.subtle.importKey('raw', new Uint8Array(32), 'AES-GCM', false, ['encrypt']);
    expect(() => node.rsaPrivateRaw!(aes, new Uint8Array(256))).toThrow(TypeError);
  });
});

describe('node:crypto provider: sign and verify', () => {
  const msg = new TextEncoder().encode('a message signed through node:crypto');
  const subtleSign = async (params: AlgorithmIdentifier | EcdsaParams | RsaPssParams, key: CryptoKey) =>
    new Uint8Array(await crypto.subtle.sign(params, key, msg as BufferSource));

  it('answers what WebCrypto answers, on the same non-extractable keys, for ECDSA, Ed25519, HMAC and RSA', async () => {
    const p = createNodeCryptoProvider();
    const cases: [AlgorithmIdentifier | EcdsaParams | RsaPssParams, CryptoKeyPair, boolean][] = [];
    for (const [curve, hash] of [
      ['P-256', 'SHA-256'],
      ['P-384', 'SHA-384'],
      ['P-521', 'SHA-512'],
    ] as const) {
      cases.push([
        { name: 'ECDSA', hash },
        (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: curve }, false, ['sign', 'verify'])) as CryptoKeyPair,
        false,
      ]);
    }
    cases.push([{ name: 'Ed25519' }, (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair, true]);
    const rsa = { modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-384' };
    cases.push([
      { name: 'RSASSA-PKCS1-v1_5' },
      (await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', ...rsa }, false, ['sign', 'verify'])) as CryptoKeyPair,
      true,
    ]);
    cases.push([
      { name: 'RSA-PSS', saltLength: 48 },
      (await crypto.subtle.generateKey({ name: 'RSA-PSS', ...rsa }, false, ['sign', 'verify'])) as CryptoKeyPair,
      false,
    ]);
    for (const [params, pair, deterministic] of cases) {
      const ours = await p.sign!(params, pair.privateKey, msg);
      const theirs = await subtleSign(params, pair.privateKey);
      expect(ours.length, params.toString()).toBe(theirs.length);
      if (deterministic) expect(ours).toEqual(theirs);
      // Each verifies the other's signature; a changed message or signature does not verify.
      expect(await crypto.subtle.verify(params, pair.publicKey, ours as BufferSource, msg as BufferSource)).toBe(true);
      expect(await p.verify!(params, pair.publicKey, theirs, msg)).toBe(true);
      expect(await p.verify!(params, pair.publicKey, theirs, msg.subarray(1))).toBe(false);
      const bad = theirs.slice();
      bad[bad.length - 1]! ^= 1;
      expect(await p.verify!(params, pair.publicKey, bad, msg)).toBe(false);
      expect(pair.privateKey.extractable).toBe(false);
    }
    for (const hash of ['SHA-256', 'SHA-384', 'SHA-512']) {
      const key = await crypto.subtle.importKey('raw', crypto.getRandomValues(new Uint8Array(48)), { name: 'HMAC', hash }, false, ['sign', 'verify']);
      const mac = await p.sign!('HMAC', key, msg);
      expect(mac).toEqual(await subtleSign('HMAC', key));
      expect(await p.verify!('HMAC', key, mac, msg)).toBe(true);
      expect(await p.verify!('HMAC', key, mac.subarray(1), msg)).toBe(false);
      const bad = mac.slice();
      bad[0]! ^= 1;
      expect(await p.verify!('HMAC', key, bad, msg)).toBe(false);
    }
  });
});
