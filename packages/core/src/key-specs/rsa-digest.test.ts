/**
 * RSA Sign and Verify of a DIGEST against node:crypto and WebCrypto, which hash the message
 * themselves: the signatures of sha(msg) made here verify there and the reverse; PKCS #1 v1.5 is
 * deterministic, so it equals node:crypto's byte for byte. Run:
 * npx vitest run --project unit packages/core/src/key-specs/rsa-digest.test.ts
 */
import { constants, createHash, generateKeyPairSync, KeyObject, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createNodeCryptoProvider } from '@edge-kms/node/crypto';
import { webCryptoProvider } from '../crypto-provider.js';
import { KmsError } from '../errors.js';
import { type RsaDigestAlgorithm, rsaDigestSign, rsaDigestVerify } from './rsa-digest.js';

const node = createNodeCryptoProvider();

const HASHES = {
  256: { web: 'SHA-256', node: 'sha256', bytes: 32 },
  384: { web: 'SHA-384', node: 'sha384', bytes: 48 },
  512: { web: 'SHA-512', node: 'sha512', bytes: 64 },
};
type Bits = keyof typeof HASHES;
interface Alg {
  name: RsaDigestAlgorithm;
  pss: boolean;
  hash: (typeof HASHES)[Bits];
}
const ALGS: Alg[] = ([256, 384, 512] as Bits[]).flatMap((b) => [
  { name: `RSASSA_PKCS1_V1_5_SHA_${b}` as RsaDigestAlgorithm, pss: false, hash: HASHES[b] },
  { name: `RSASSA_PSS_SHA_${b}` as RsaDigestAlgorithm, pss: true, hash: HASHES[b] },
]);
const other = (a: Alg) => ALGS.find((b) => b.hash === a.hash && b.pss !== a.pss)!;

const webParams = (a: Alg) => (a.pss ? { name: 'RSA-PSS', hash: a.hash.web } : { name: 'RSASSA-PKCS1-v1_5', hash: a.hash.web });
const webSignParams = (a: Alg) => (a.pss ? { name: 'RSA-PSS', saltLength: a.hash.bytes } : { name: 'RSASSA-PKCS1-v1_5' });
const nodePadding = (a: Alg, saltLength = a.hash.bytes) =>
  a.pss ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength } : { padding: constants.RSA_PKCS1_PADDING };
const sha = (a: Alg, msg: Uint8Array) => new Uint8Array(createHash(a.hash.node).update(msg).digest());

/** A key pair as the engine holds it: one non-extractable private CryptoKey per algorithm, and the SPKI. */
interface Keys {
  label: string;
  bits: number;
  spki: Uint8Array;
  /** The private key as node:crypto's, to sign and verify with it directly. */
  priv: KeyObject;
  pub: KeyObject;
  signing: Record<string, CryptoKey>;
  verifying: Record<string, CryptoKey>;
}

async function fromPkcs8(label: string, bits: number, pkcs8: Uint8Array, spki: Uint8Array): Promise<Keys> {
  const signing: Record<string, CryptoKey> = {};
  const verifying: Record<string, CryptoKey> = {};
  for (const a of ALGS) {
    signing[a.name] = await crypto.subtle.importKey('pkcs8', pkcs8 as BufferSource, webParams(a), false, ['sign']);
    verifying[a.name] = await crypto.subtle.importKey('spki', spki as BufferSource, webParams(a), true, ['verify']);
  }
  return {
    label,
    bits,
    spki,
    priv: KeyObject.from(signing.RSASSA_PKCS1_V1_5_SHA_256!),
    pub: KeyObject.from(verifying.RSASSA_PKCS1_V1_5_SHA_256!),
    signing,
    verifying,
  };
}

/** node:crypto generates the pair; WebCrypto imports it (as key-specs/rsa.ts does). */
function nodeKeys(bits: number, publicExponent = 65537): Promise<Keys> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent });
  return fromPkcs8(
    `node:crypto RSA ${bits}${publicExponent === 65537 ? '' : ` e=${publicExponent}`}`,
    bits,
    new Uint8Array(privateKey.export({ type: 'pkcs8', format: 'der' })),
    new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })),
  );
}

/** WebCrypto generates a non-extractable pair of one kind; that one private CryptoKey signs every algorithm. */
async function webKeys(kind: 'RSASSA-PKCS1-v1_5' | 'RSA-PSS', bits: number): Promise<Keys> {
  const pair = await crypto.subtle.generateKey({ name: kind, modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
  expect(pair.privateKey.extractable).toBe(false);
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey));
  const signing: Record<string, CryptoKey> = {};
  const verifying: Record<string, CryptoKey> = {};
  for (const a of ALGS) {
    signing[a.name] = pair.privateKey;
    verifying[a.name] = await crypto.subtle.importKey('spki', spki as BufferSource, webParams(a), true, ['verify']);
  }
  return { label: `WebCrypto ${kind} ${bits}`, bits, spki, priv: KeyObject.from(pair.privateKey), pub: KeyObject.from(pair.publicKey), signing, verifying };
}

const KEYS: Keys[] = [];
beforeAll(async () => {
  KEYS.push(await webKeys('RSASSA-PKCS1-v1_5', 2048), await webKeys('RSA-PSS', 2048), await nodeKeys(2048), await nodeKeys(3072));
}, 120_000);

const msg = new TextEncoder().encode('edge-kms signs what AWS KMS signs');

describe('rsaDigestSign (node:crypto provider)', () => {
  it('PKCS #1 v1.5: equals node:crypto sign(hash, msg) byte for byte; verifies in node:crypto, WebCrypto and rsaDigestVerify', async () => {
    for (const keys of KEYS) {
      for (const a of ALGS.filter((x) => !x.pss)) {
        const what = `${keys.label} ${a.name}`;
        const sig = await rsaDigestSign(node, keys.signing[a.name]!, a.name, sha(a, msg), keys.bits);
        expect(sig.length, what).toBe(keys.bits / 8);
        expect(sig, what).toEqual(new Uint8Array(nodeSign(a.hash.node, msg, keys.priv)));
        expect(nodeVerify(a.hash.node, msg, keys.pub, sig), what).toBe(true);
        expect(await crypto.subtle.verify(webSignParams(a), keys.verifying[a.name]!, sig as BufferSource, msg), what).toBe(true);
        expect(await rsaDigestVerify(keys.spki, a.name, sha(a, msg), sig), what).toBe(true);
      }
    }
  });

  it('PSS (salt as long as the hash): verifies in node:crypto, WebCrypto RSA-PSS and rsaDigestVerify; randomized', async () => {
    for (const keys of KEYS) {
      for (const a of ALGS.filter((x) => x.pss)) {
        const what = `${keys.label} ${a.name}`;
        const sig = await rsaDigestSign(node, keys.signing[a.name]!, a.name, sha(a, msg), keys.bits);
        expect(sig.length, what).toBe(keys.bits / 8);
        expect(nodeVerify(a.hash.node, msg, { key: keys.pub, ...nodePadding(a) }, sig), what).toBe(true);
        expect(await crypto.subtle.verify(webSignParams(a), keys.verifying[a.name]!, sig as BufferSource, msg), what).toBe(true);
        expect(await rsaDigestVerify(keys.spki, a.name, sha(a, msg), sig), what).toBe(true);
        // Not another salt length: AWS's PSS salt is as long as the hash.
        expect(nodeVerify(a.hash.node, msg, { key: keys.pub, ...nodePadding(a, 0) }, sig), what).toBe(false);
        const again = await rsaDigestSign(node, keys.signing[a.name]!, a.name, sha(a, msg), keys.bits);
        expect(again, what).not.toEqual(sig);
      }
    }
  });

  it('random messages, every algorithm: node:crypto verifies what rsaDigestSign makes', async () => {
    const keys = KEYS[2]!;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...ALGS), async (m, a) => {
        const sig = await rsaDigestSign(node, keys.signing[a.name]!, a.name, sha(a, m), keys.bits);
        expect(nodeVerify(a.hash.node, m, { key: keys.pub, ...nodePadding(a) }, sig)).toBe(true);
        expect(await rsaDigestVerify(keys.spki, a.name, sha(a, m), sig)).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  it('a 4096-bit key made by WebCrypto, and a public exponent of 3', async () => {
    for (const keys of [await webKeys('RSA-PSS', 4096), await nodeKeys(2048, 3)]) {
      for (const a of ALGS) {
        const sig = await rsaDigestSign(node, keys.signing[a.name]!, a.name, sha(a, msg), keys.bits);
        expect(sig.length).toBe(keys.bits / 8);
        expect(nodeVerify(a.hash.node, msg, { key: keys.pub, ...nodePadding(a) }, sig), `${keys.label} ${a.name}`).toBe(true);
        expect(await rsaDigestVerify(keys.spki, a.name, sha(a, msg), sig), `${keys.label} ${a.name}`).toBe(true);
      }
    }
  }, 120_000);

  it('refuses without the raw RSA operation (WebCrypto alone): UnsupportedOperationException', async () => {
    const keys = KEYS[0]!;
    for (const a of ALGS) {
      const err = await rsaDigestSign(webCryptoProvider, keys.signing[a.name]!, a.name, sha(a, msg), keys.bits).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KmsError);
      expect((err as KmsError).code).toBe('UnsupportedOperationException');
      expect((err as KmsError).message).toMatch(/node:crypto/);
    }
  });

  it('refuses a digest not as long as the hash (ValidationException) and a modulus size that is not the key’s', async () => {
    const keys = KEYS[0]!;
    for (const a of ALGS) {
      for (const n of [0, a.hash.bytes - 1, a.hash.bytes + 1]) {
        const err = await rsaDigestSign(node, keys.signing[a.name]!, a.name, new Uint8Array(n), keys.bits).catch((e: unknown) => e);
        expect((err as KmsError).code).toBe('ValidationException');
      }
    }
    await expect(rsaDigestSign(node, keys.signing.RSASSA_PSS_SHA_256!, 'RSASSA_PSS_SHA_256', sha(ALGS[1]!, msg), 3072)).rejects.toThrow(TypeError);
  });
});

describe('rsaDigestVerify (portable)', () => {
  it('accepts node:crypto signatures of every algorithm; rejects tampered signatures and digests, the other scheme, another key', async () => {
    for (const keys of KEYS) {
      const otherKey = KEYS.find((k) => k !== keys && k.bits === keys.bits) ?? KEYS[0]!;
      for (const a of ALGS) {
        const what = `${keys.label} ${a.name}`;
        const digest = sha(a, msg);
        const sig = new Uint8Array(nodeSign(a.hash.node, msg, { key: keys.priv, ...nodePadding(a) }));
        expect(await rsaDigestVerify(keys.spki, a.name, digest, sig), what).toBe(true);
        for (const i of [0, 1, sig.length >> 1, sig.length - 1]) {
          const bad = sig.slice();
          bad[i]! ^= 0x01;
          expect(await rsaDigestVerify(keys.spki, a.name, digest, bad), `${what}, byte ${i} flipped`).toBe(false);
        }
        for (const i of [0, digest.length - 1]) {
          const bad = digest.slice();
          bad[i]! ^= 0x80;
          expect(await rsaDigestVerify(keys.spki, a.name, bad, sig), `${what}, digest byte ${i} flipped`).toBe(false);
        }
        expect(await rsaDigestVerify(keys.spki, other(a).name, digest, sig), `${what} checked as ${other(a).name}`).toBe(false);
        if (otherKey !== keys) expect(await rsaDigestVerify(otherKey.spki, a.name, digest, sig), `${what} under another key`).toBe(false);
        // A PSS signature with a salt that is not as long as the hash is not AWS's.
        if (a.pss) {
          const short = new Uint8Array(nodeSign(a.hash.node, msg, { key: keys.priv, ...nodePadding(a, 20) }));
          expect(await rsaDigestVerify(keys.spki, a.name, digest, short), `${what}, salt of 20 bytes`).toBe(false);
        }
      }
    }
  });

  it('is false (never throws) for digests and signatures of the wrong length, a signature ≥ n, zero and one, an unknown algorithm', async () => {
    const keys = KEYS[2]!;
    const k = keys.bits / 8;
    const nBytes = new Uint8Array(Buffer.from(keys.pub.export({ format: 'jwk' }).n!, 'base64url'));
    expect(nBytes.length).toBe(k);
    const one = new Uint8Array(k);
    one[k - 1] = 1;
    const nPlusOne = nBytes.slice();
    nPlusOne[k - 1]! += 1; // n is odd: no carry
    for (const a of ALGS) {
      const digest = sha(a, msg);
      const sig = new Uint8Array(nodeSign(a.hash.node, msg, { key: keys.priv, ...nodePadding(a) }));
      for (const d of [new Uint8Array(0), digest.subarray(1), new Uint8Array([...digest, 0])]) {
        expect(await rsaDigestVerify(keys.spki, a.name, d, sig)).toBe(false);
      }
      for (const s of [new Uint8Array(0), sig.subarray(1), new Uint8Array([0, ...sig]), new Uint8Array([...sig, 0])]) {
        expect(await rsaDigestVerify(keys.spki, a.name, digest, s)).toBe(false);
      }
      for (const s of [nBytes, nPlusOne, new Uint8Array(k).fill(0xff), new Uint8Array(k), one]) {
        expect(await rsaDigestVerify(keys.spki, a.name, digest, s)).toBe(false);
      }
      // An algorithm that is not one of these six.
      expect(await rsaDigestVerify(keys.spki, 'RSASSA_PSS_SHA_1' as RsaDigestAlgorithm, digest, sig)).toBe(false);
    }
  });

  it('is false for s + n, the same residue as a valid signature s, when it still fits in the modulus length', async () => {
    const big = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).toString('hex')}`);
    const modulus = (keys: Keys) => big(Buffer.from(keys.pub.export({ format: 'jwk' }).n!, 'base64url'));
    const keys = KEYS.filter((x) => x.bits === 2048).reduce((a, b) => (modulus(a) < modulus(b) ? a : b));
    const n = modulus(keys);
    const a = ALGS.find((x) => x.name === 'RSASSA_PSS_SHA_256')!;
    let found = 0;
    for (let i = 0; i < 200 && found < 3; i++) {
      const sig = new Uint8Array(nodeSign(a.hash.node, msg, { key: keys.priv, ...nodePadding(a) }));
      const shifted = big(sig) + n;
      if (shifted >= 1n << 2048n) continue;
      found++;
      const aliased = new Uint8Array(Buffer.from(shifted.toString(16).padStart(512, '0'), 'hex'));
      expect(aliased.length).toBe(256);
      expect(await rsaDigestVerify(keys.spki, a.name, sha(a, msg), sig)).toBe(true);
      expect(await rsaDigestVerify(keys.spki, a.name, sha(a, msg), aliased)).toBe(false);
    }
    expect(found).toBeGreaterThan(0);
  });

  it('throws TypeError when the SPKI is not an RSA public key', async () => {
    const keys = KEYS[0]!;
    const ec = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const ecSpki = new Uint8Array(await crypto.subtle.exportKey('spki', ec.publicKey));
    const truncated = keys.spki.subarray(0, keys.spki.length - 1);
    const trailing = new Uint8Array([...keys.spki, 0]);
    for (const spki of [new Uint8Array(0), ecSpki, truncated, trailing, new Uint8Array([0x30, 0x80, 0, 0])]) {
      await expect(rsaDigestVerify(spki, 'RSASSA_PSS_SHA_256', new Uint8Array(32), new Uint8Array(256))).rejects.toThrow(TypeError);
    }
  });
});
