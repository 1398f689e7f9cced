/**
 * The customer-side import wrapping helper (test/helpers/import-wrap.ts) against node:crypto's own
 * unwrap, RFC 5649's test vectors, and @noble/ciphers' AES-KWP (which the core unwraps with).
 */
import { createCipheriv, createPrivateKey, createPublicKey, randomBytes, sign, verify } from 'node:crypto';
import { aeskwp } from '@noble/ciphers/aes.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AES_KEY_WRAP_KEY_BYTES,
  generateWrappingKeyPair,
  HMAC_MATERIAL_BYTES,
  KWP_IV,
  kwpUnwrap,
  kwpWrap,
  MATERIAL_SPECS,
  oaepMaxPlaintextBytes,
  testMaterial,
  unwrapKeyMaterialForTest,
  WRAPPING_ALGORITHMS,
  WRAPPING_KEY_SPECS,
  wrapKeyMaterial,
} from './import-wrap.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/** RFC 5649 §6 (192-bit KEK). */
const RFC5649_KEK = hex('5840df6e29b02af1 ab493b705bf16ea1 ae8338f4dcc176a8');
const RFC5649_VECTORS = [
  { key: hex('c37b7e6492584340 bed1220780894115 5068f738'), wrapped: hex('138bdeaa9b8fa7fc 61f97742e72248ee 5ae6ae5360d1ae6a 5f54f373fa543b6a') },
  { key: hex('466f7250617369'), wrapped: hex('afbeb0f07dfbf541 9200f2ccb50bb24f') },
];

/** One wrapping key pair per size, as GetParametersForImport would hand out. */
const PAIRS = Object.fromEntries(WRAPPING_KEY_SPECS.map((spec) => [spec, generateWrappingKeyPair(spec)])) as Record<
  (typeof WRAPPING_KEY_SPECS)[number],
  ReturnType<typeof generateWrappingKeyPair>
>;
const modulusBytes = (spec: (typeof WRAPPING_KEY_SPECS)[number]) => Number(spec.slice(4)) / 8;
const isKeyWrap = (algorithm: string) => algorithm.startsWith('RSA_AES_KEY_WRAP');
/** KWP output length: 8-byte AIV block + the plaintext padded to a multiple of 8. */
const kwpLength = (n: number) => 8 + Math.ceil(n / 8) * 8;

describe('AES key wrap with padding through OpenSSL (node:crypto)', () => {
  it('matches the RFC 5649 §6 vectors (id-aes192-wrap-pad), both ways', () => {
    for (const { key, wrapped } of RFC5649_VECTORS) {
      expect(kwpWrap(RFC5649_KEK, key)).toEqual(wrapped);
      expect(kwpUnwrap(RFC5649_KEK, wrapped)).toEqual(key);
      const cipher = createCipheriv('id-aes192-wrap-pad', RFC5649_KEK, Buffer.from('A65959A6', 'hex'));
      expect(new Uint8Array(Buffer.concat([cipher.update(key), cipher.final()]))).toEqual(wrapped);
    }
  });

  it('needs the 4-byte RFC 5649 IV passed explicitly (as documented in the helper)', () => {
    const kek = randomBytes(32);
    expect(() => createCipheriv('id-aes256-wrap-pad', kek, null)).toThrow(/Invalid initialization vector/);
    expect(() => createCipheriv('id-aes256-wrap-pad', kek, Buffer.alloc(0))).toThrow(/Invalid initialization vector/);
    expect(() => createCipheriv('id-aes256-wrap-pad', kek, Buffer.from('A65959A600000014', 'hex'))).toThrow(/Invalid initialization vector/);
    // Another 4-byte value is taken as the AIV's high half, not replaced by the RFC 5649 constant.
    const other = createCipheriv('id-aes192-wrap-pad', RFC5649_KEK, Buffer.from('A6A6A6A6', 'hex'));
    const key = RFC5649_VECTORS[0]!.key;
    expect(new Uint8Array(Buffer.concat([other.update(key), other.final()]))).not.toEqual(RFC5649_VECTORS[0]!.wrapped);
    expect(KWP_IV).toEqual(Buffer.from('A65959A6', 'hex'));
  });

  it('rejects a wrong KEK or a tampered ciphertext with a clear error', () => {
    const { wrapped } = RFC5649_VECTORS[0]!;
    expect(() => kwpUnwrap(new Uint8Array(24), wrapped)).toThrow(/integrity check failed/);
    const tampered = wrapped.slice();
    tampered[12]! ^= 1;
    expect(() => kwpUnwrap(RFC5649_KEK, tampered)).toThrow(/integrity check failed/);
    expect(() => kwpWrap(new Uint8Array(20), new Uint8Array(8))).toThrow(/16, 24 or 32-byte KEK/);
    expect(() => kwpWrap(new Uint8Array(32), new Uint8Array(0))).toThrow(/at least 1 byte/);
  });
});

describe('@noble/ciphers aeskwp (the core unwraps with it)', () => {
  it('matches the RFC 5649 §6 vectors, both ways', () => {
    for (const { key, wrapped } of RFC5649_VECTORS) {
      expect(aeskwp(RFC5649_KEK).encrypt(key)).toEqual(wrapped);
      expect(aeskwp(RFC5649_KEK).decrypt(wrapped)).toEqual(key);
    }
  });

  it("agrees with OpenSSL's id-aes{128,192,256}-wrap-pad for random KEKs and 1..4096-byte plaintexts", () => {
    fc.assert(
      fc.property(fc.constantFrom(16, 24, 32), fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (kekBytes, length, seed) => {
        const kek = randomBytes(kekBytes);
        const plaintext = randomBytes(length);
        const openssl = kwpWrap(kek, plaintext);
        expect(openssl.length).toBe(kwpLength(length));
        expect(aeskwp(kek).encrypt(plaintext)).toEqual(openssl);
        expect(aeskwp(kek).decrypt(openssl)).toEqual(new Uint8Array(plaintext));
        // A flipped bit anywhere, or a wrong KEK, fails noble's integrity check.
        const tampered = openssl.slice();
        tampered[seed % tampered.length]! ^= 1 << (seed % 8);
        expect(() => aeskwp(kek).decrypt(tampered)).toThrow('integrity check failed');
        const otherKek = kek.slice();
        otherKek[0]! ^= 0x80;
        expect(() => aeskwp(otherKek).decrypt(openssl)).toThrow('integrity check failed');
      }),
      { numRuns: 48 },
    );
  });

  it('rejects truncated or extended ciphertexts', () => {
    const { wrapped } = RFC5649_VECTORS[0]!;
    expect(() => aeskwp(RFC5649_KEK).decrypt(wrapped.subarray(0, 8))).toThrow('invalid ciphertext length');
    expect(() => aeskwp(RFC5649_KEK).decrypt(wrapped.subarray(0, 24))).toThrow('integrity check failed');
    expect(() => aeskwp(RFC5649_KEK).decrypt(wrapped.subarray(0, 17))).toThrow();
    expect(() => aeskwp(RFC5649_KEK).decrypt(new Uint8Array([...wrapped, 0, 0, 0, 0, 0, 0, 0, 0]))).toThrow('integrity check failed');
  });

  it('one aeskwp(kek) instance encrypts once, but decrypts any number of times', () => {
    const { key, wrapped } = RFC5649_VECTORS[1]!;
    const w = aeskwp(RFC5649_KEK);
    expect(w.encrypt(key)).toEqual(wrapped);
    expect(() => w.encrypt(key)).toThrow();
    const u = aeskwp(RFC5649_KEK);
    expect(u.decrypt(wrapped)).toEqual(key);
    expect(u.decrypt(wrapped)).toEqual(key);
  });
});

describe('wrapKeyMaterial / unwrapKeyMaterialForTest', () => {
  for (const spec of WRAPPING_KEY_SPECS) {
    for (const algorithm of WRAPPING_ALGORITHMS) {
      it(`${algorithm} under ${spec}: round trip, layout`, () => {
        const { publicKey, publicKeyObject, privateKey } = PAIRS[spec];
        const k = modulusBytes(spec);
        const material = new Uint8Array(randomBytes(32));
        const wrapped = wrapKeyMaterial(publicKey, algorithm, material);
        expect(wrapped).toBeInstanceOf(Uint8Array);
        expect(wrapped.length).toBe(isKeyWrap(algorithm) ? k + kwpLength(32) : k);
        expect(unwrapKeyMaterialForTest(privateKey, algorithm, wrapped)).toEqual(material);
        // OAEP is randomized: two wraps differ, both unwrap.
        const again = wrapKeyMaterial(publicKeyObject, algorithm, material);
        expect(again).not.toEqual(wrapped);
        expect(unwrapKeyMaterialForTest(privateKey, algorithm, again)).toEqual(material);
        // The other hash does not unwrap it.
        const otherHash = algorithm.endsWith('SHA_1') ? algorithm.replace(/SHA_1$/, 'SHA_256') : algorithm.replace(/SHA_256$/, 'SHA_1');
        expect(() => unwrapKeyMaterialForTest(privateKey, otherHash as typeof algorithm, wrapped)).toThrow();
      });
    }
  }

  it('RSA_AES_KEY_WRAP_*: RSA-OAEP(aesKey) first, then KWP(material) under that AES key (noble unwraps it)', () => {
    const { publicKey, privateKey } = PAIRS.RSA_3072;
    const aesKey = new Uint8Array(randomBytes(AES_KEY_WRAP_KEY_BYTES));
    const material = new Uint8Array(randomBytes(100));
    for (const algorithm of ['RSA_AES_KEY_WRAP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256'] as const) {
      const wrapped = wrapKeyMaterial(publicKey, algorithm, material, { aesKey });
      const rsaBlock = wrapped.subarray(0, 384);
      const kwpBlock = wrapped.subarray(384);
      expect(unwrapKeyMaterialForTest(privateKey, algorithm === 'RSA_AES_KEY_WRAP_SHA_1' ? 'RSAES_OAEP_SHA_1' : 'RSAES_OAEP_SHA_256', rsaBlock)).toEqual(
        aesKey,
      );
      expect(kwpBlock).toEqual(aeskwp(aesKey).encrypt(material));
      expect(aeskwp(aesKey).decrypt(kwpBlock)).toEqual(material);
      const tamperedKwp = wrapped.slice();
      tamperedKwp[wrapped.length - 1]! ^= 1;
      expect(() => unwrapKeyMaterialForTest(privateKey, algorithm, tamperedKwp)).toThrow(/integrity check failed/);
      const tamperedRsa = wrapped.slice();
      tamperedRsa[10]! ^= 1;
      expect(() => unwrapKeyMaterialForTest(privateKey, algorithm, tamperedRsa)).toThrow();
    }
    expect(() => wrapKeyMaterial(publicKey, 'RSA_AES_KEY_WRAP_SHA_256', material, { aesKey: new Uint8Array(16) })).toThrow(/must be 32 bytes/);
  });

  it('RSAES_OAEP_*: the plaintext limit is k - 2*hLen - 2, beyond it a clear error', () => {
    expect(oaepMaxPlaintextBytes(2048, 'RSAES_OAEP_SHA_256')).toBe(190);
    expect(oaepMaxPlaintextBytes(2048, 'RSAES_OAEP_SHA_1')).toBe(214);
    expect(oaepMaxPlaintextBytes(4096, 'RSAES_OAEP_SHA_256')).toBe(446);
    for (const spec of WRAPPING_KEY_SPECS) {
      const { publicKey, privateKey } = PAIRS[spec];
      for (const algorithm of ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as const) {
        const max = oaepMaxPlaintextBytes(modulusBytes(spec) * 8, algorithm);
        const fits = new Uint8Array(randomBytes(max));
        expect(unwrapKeyMaterialForTest(privateKey, algorithm, wrapKeyMaterial(publicKey, algorithm, fits))).toEqual(fits);
        expect(() => wrapKeyMaterial(publicKey, algorithm, new Uint8Array(max + 1))).toThrow(
          new RegExp(`is ${max + 1} bytes.*at most ${max} bytes.*RSA_AES_KEY_WRAP`),
        );
      }
    }
    expect(() => wrapKeyMaterial(PAIRS.RSA_2048.publicKey, 'RSAES_OAEP_SHA_256', new Uint8Array(191))).toThrow(
      'the key material is 191 bytes, but RSA-OAEP with SHA256 and a 2048-bit wrapping key carries at most 190 bytes',
    );
  });

  it('an RSA_4096 private key (PKCS#8) goes through RSA_AES_KEY_WRAP under every wrapping key size, not through RSAES_OAEP', () => {
    const rsa = testMaterial('RSA_4096');
    expect(rsa.material.length).toBeGreaterThan(2300);
    for (const spec of WRAPPING_KEY_SPECS) {
      const { publicKey, privateKey } = PAIRS[spec];
      for (const algorithm of WRAPPING_ALGORITHMS) {
        if (!isKeyWrap(algorithm)) {
          expect(() => wrapKeyMaterial(publicKey, algorithm, rsa.material)).toThrow(/at most \d+ bytes/);
          continue;
        }
        const wrapped = wrapKeyMaterial(publicKey, algorithm, rsa.material);
        expect(wrapped.length).toBe(modulusBytes(spec) + kwpLength(rsa.material.length));
        const unwrapped = unwrapKeyMaterialForTest(privateKey, algorithm, wrapped);
        expect(unwrapped).toEqual(rsa.material);
        const key = createPrivateKey({ key: Buffer.from(unwrapped), format: 'der', type: 'pkcs8' });
        expect(key.asymmetricKeyDetails?.modulusLength).toBe(4096);
      }
    }
  });

  it('rejects a wrapping key that is not RSA, and empty material', () => {
    const ec = testMaterial('ECC_NIST_P256');
    expect(() => wrapKeyMaterial(ec.publicKey!, 'RSAES_OAEP_SHA_256', new Uint8Array(32))).toThrow(/must be an RSA public key, got ec/);
    expect(() => wrapKeyMaterial(PAIRS.RSA_2048.publicKey, 'RSAES_OAEP_SHA_256', new Uint8Array(0))).toThrow(/empty/);
  });
});

describe('testMaterial', () => {
  it('makes material of every key spec, in the format ImportKeyMaterial wants, that round-trips', () => {
    const { publicKey, privateKey } = PAIRS.RSA_4096;
    for (const spec of MATERIAL_SPECS) {
      const m = testMaterial(spec);
      expect(m.spec).toBe(spec);
      if (spec === 'SYMMETRIC_DEFAULT') {
        expect(m.material.length).toBe(32);
        expect(m.publicKey).toBeUndefined();
      } else if (spec.startsWith('HMAC_')) {
        const { min, max } = HMAC_MATERIAL_BYTES[spec as keyof typeof HMAC_MATERIAL_BYTES];
        expect(m.material.length).toBeGreaterThanOrEqual(min);
        expect(m.material.length).toBeLessThanOrEqual(max);
        expect(m.publicKey).toBeUndefined();
      } else {
        // PKCS#8 DER whose public half is publicKey (SPKI DER), and that signs.
        const priv = createPrivateKey({ key: Buffer.from(m.material), format: 'der', type: 'pkcs8' });
        const pub = createPublicKey({ key: Buffer.from(m.publicKey!), format: 'der', type: 'spki' });
        expect(new Uint8Array(createPublicKey(priv).export({ format: 'der', type: 'spki' }))).toEqual(m.publicKey);
        const hash = spec === 'ECC_NIST_EDWARDS25519' ? null : 'sha256';
        const sig = sign(hash, Buffer.from('import'), priv);
        expect(verify(hash, Buffer.from('import'), pub, sig)).toBe(true);
      }
      for (const algorithm of WRAPPING_ALGORITHMS) {
        if (!isKeyWrap(algorithm) && m.material.length > oaepMaxPlaintextBytes(4096, algorithm)) continue;
        expect(unwrapKeyMaterialForTest(privateKey, algorithm, wrapKeyMaterial(publicKey, algorithm, m.material))).toEqual(m.material);
      }
    }
    expect(testMaterial('HMAC_384', { hmacBytes: 128 }).material.length).toBe(128);
    expect(testMaterial('ECC_SECG_P256K1').privateKey?.asymmetricKeyDetails?.namedCurve).toBe('secp256k1');
  });

  it('which asymmetric materials fit in one RSA_2048 OAEP block (every ECC material but P-521; RSA never)', () => {
    const sizes = Object.fromEntries(
      MATERIAL_SPECS.filter((s) => !s.startsWith('HMAC') && s !== 'SYMMETRIC_DEFAULT' && !s.startsWith('RSA')).map((s) => [s, testMaterial(s).material.length]),
    );
    expect(sizes).toEqual({ ECC_NIST_P256: 138, ECC_NIST_P384: 185, ECC_NIST_P521: 241, ECC_SECG_P256K1: 135, ECC_NIST_EDWARDS25519: 48 });
    expect(sizes.ECC_NIST_P521).toBeGreaterThan(oaepMaxPlaintextBytes(2048, 'RSAES_OAEP_SHA_1'));
  });
});
