/**
 * The RSA family: RSA_2048, RSA_3072, RSA_4096 for SIGN_VERIFY (RSASSA_PKCS1_V1_5_SHA_256/384/512,
 * RSASSA_PSS_SHA_256/384/512 with a salt as long as the hash, as AWS signs) on WebCrypto. WebCrypto
 * binds an RSA CryptoKey to one scheme and hash, so a key's material is opened as one
 * non-extractable CryptoKey per algorithm (importVariants). Key generation is WebCrypto's, off the
 * calling thread. RSA keys do not rotate (as in AWS).
 *
 * Not here yet: ENCRYPT_DECRYPT (RSAES_OAEP_SHA_1/256 in Encrypt, Decrypt, ReEncrypt) and DIGEST
 * messages (no WebCrypto answer; see the decision on node:crypto vs a BigInt signer).
 */
import type { KeyRecord, KeySpec, KeyUsage } from '../model.js';
import { generateKeyPair, generatePkcs8, spkiOf } from './asymmetric.js';
import type { KeyFamily, SigningSpec } from './types.js';

const BITS: Partial<Record<KeySpec, number>> = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 };
const USAGES: readonly KeyUsage[] = ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'];

const SCHEMES = {
  RSASSA_PSS_SHA_256: { key: { name: 'RSA-PSS', hash: 'SHA-256' }, params: { name: 'RSA-PSS', saltLength: 32 }, digestBytes: 32 },
  RSASSA_PSS_SHA_384: { key: { name: 'RSA-PSS', hash: 'SHA-384' }, params: { name: 'RSA-PSS', saltLength: 48 }, digestBytes: 48 },
  RSASSA_PSS_SHA_512: { key: { name: 'RSA-PSS', hash: 'SHA-512' }, params: { name: 'RSA-PSS', saltLength: 64 }, digestBytes: 64 },
  RSASSA_PKCS1_V1_5_SHA_256: { key: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, params: { name: 'RSASSA-PKCS1-v1_5' }, digestBytes: 32 },
  RSASSA_PKCS1_V1_5_SHA_384: { key: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' }, params: { name: 'RSASSA-PKCS1-v1_5' }, digestBytes: 48 },
  RSASSA_PKCS1_V1_5_SHA_512: { key: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-512' }, params: { name: 'RSASSA-PKCS1-v1_5' }, digestBytes: 64 },
} as const;
const ALGORITHMS = Object.keys(SCHEMES) as (keyof typeof SCHEMES)[];

function bits(spec: KeySpec): number {
  const b = BITS[spec];
  if (!b) throw new TypeError(`not an RSA key spec: ${spec}`);
  return b;
}

async function each(
  use: (alg: keyof typeof SCHEMES, scheme: (typeof SCHEMES)[keyof typeof SCHEMES]) => Promise<CryptoKey>,
): Promise<Record<string, CryptoKey>> {
  const out: Record<string, CryptoKey> = {};
  await Promise.all(ALGORITHMS.map(async (alg) => void (out[alg] = await use(alg, SCHEMES[alg]))));
  return out;
}

const SIGNING: SigningSpec = { algorithms: ALGORITHMS, how: SCHEMES };

export const rsaFamily: KeyFamily = {
  name: 'rsa',
  specs: Object.keys(BITS) as KeySpec[],
  usages: () => USAGES,
  notYet: (spec, usage) =>
    usage === 'ENCRYPT_DECRYPT' ? `${spec} keys for ENCRYPT_DECRYPT (RSAES_OAEP) are not supported by this edge-kms release; SIGN_VERIFY ones are.` : undefined,
  newMaterial: (spec) =>
    generatePkcs8(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: bits(spec), publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' } as RsaHashedKeyGenParams,
      ['sign', 'verify'],
    ),
  newKeyPair: (spec) =>
    generateKeyPair(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: bits(spec), publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' } as RsaHashedKeyGenParams,
      ['sign', 'verify'],
    ),
  publicKeyOf: (_spec, raw) => spkiOf(raw, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as RsaHashedImportParams, 'sign', 'verify'),
  checkMaterial: (_spec, raw) => (raw.length >= 256 && raw.length <= 4096 ? undefined : '"KeyMaterial" expected a PKCS#8 RSA private key'),
  importMaterial: (_spec, raw) => crypto.subtle.importKey('pkcs8', raw as BufferSource, SCHEMES.RSASSA_PKCS1_V1_5_SHA_256.key, false, ['sign']),
  importVariants: (_spec, raw) => each((_alg, s) => crypto.subtle.importKey('pkcs8', raw as BufferSource, s.key, false, ['sign'])),
  importPublicVariants: (_spec, spki) => each((_alg, s) => crypto.subtle.importKey('spki', spki as BufferSource, s.key, false, ['verify'])),
  signing: () => SIGNING,
  metadata: (key: KeyRecord) => (key.KeyUsage === 'SIGN_VERIFY' ? { SigningAlgorithms: [...ALGORITHMS] } : {}),
  rotatable: () => false,
};
