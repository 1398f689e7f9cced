/**
 * The RSA family: RSA_2048, RSA_3072, RSA_4096 for SIGN_VERIFY (RSASSA_PKCS1_V1_5_SHA_256/384/512,
 * RSASSA_PSS_SHA_256/384/512 with a salt as long as the hash, as AWS signs) and for
 * ENCRYPT_DECRYPT (RSAES_OAEP_SHA_1 and RSAES_OAEP_SHA_256, MGF1 with the same hash and no label,
 * as AWS encrypts), on WebCrypto. WebCrypto binds an RSA CryptoKey to one scheme and hash, so a
 * key's material is opened as one non-extractable CryptoKey per algorithm of its usage
 * (importVariants, importPublicVariants). The material (PKCS#8, rsaEncryption) is the same for
 * both usages. Key generation is WebCrypto's, off the calling thread. RSA keys do not rotate (as
 * in AWS).
 *
 * DIGEST messages have no WebCrypto answer: rsa-digest.ts encodes them, and the crypto provider
 * (node:crypto on Node) does the private-key operation (decision 0008).
 */
import type { KeyRecord, KeySpec, KeyUsage } from '../model.js';
import { generateKeyPair, generatePkcs8, spkiOf } from './asymmetric.js';
import type { KeyFamily, SigningSpec } from './types.js';

/** The modulus length of each RSA key spec (also the RSA wrapping key specs of imports). */
export const RSA_BITS = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 } as const;
const BITS: Partial<Record<KeySpec, number>> = RSA_BITS;
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

/** RSAES_OAEP: the WebCrypto key algorithm of each and its hash length (the plaintext limit is k - 2·hLen - 2 bytes). */
const OAEP = {
  RSAES_OAEP_SHA_1: { key: { name: 'RSA-OAEP', hash: 'SHA-1' }, hashBytes: 20 },
  RSAES_OAEP_SHA_256: { key: { name: 'RSA-OAEP', hash: 'SHA-256' }, hashBytes: 32 },
} as const;
export type RsaEncryptionAlgorithm = keyof typeof OAEP;
export const RSA_ENCRYPTION_ALGORITHMS = Object.keys(OAEP) as RsaEncryptionAlgorithm[];

export interface RsaEncryptionSpec {
  /** The encryption algorithms AWS lists for the spec. */
  algorithms: readonly RsaEncryptionAlgorithm[];
  /** WebCrypto's parameters of each, and the most plaintext it encrypts (AWS's limits: 214/190 bytes for RSA_2048, …). */
  how: Record<RsaEncryptionAlgorithm, { params: RsaOaepParams; maxPlaintextBytes: number }>;
}

const ENCRYPTION = new Map<KeySpec, RsaEncryptionSpec>();

/** How an ENCRYPT_DECRYPT key of an RSA `spec` encrypts (built once a spec). */
export function rsaEncryptionOf(spec: KeySpec): RsaEncryptionSpec {
  let e = ENCRYPTION.get(spec);
  if (!e) {
    const k = bits(spec) / 8;
    const how = {} as RsaEncryptionSpec['how'];
    for (const alg of RSA_ENCRYPTION_ALGORITHMS) how[alg] = { params: { name: 'RSA-OAEP' }, maxPlaintextBytes: k - 2 * OAEP[alg].hashBytes - 2 };
    ENCRYPTION.set(spec, (e = { algorithms: RSA_ENCRYPTION_ALGORITHMS, how }));
  }
  return e;
}

function bits(spec: KeySpec): number {
  const b = BITS[spec];
  if (!b) throw new TypeError(`not an RSA key spec: ${spec}`);
  return b;
}

/** The WebCrypto key algorithm of each algorithm a key of `usage` answers, and the private and public key usages. */
function schemesOf(usage: KeyUsage | undefined): {
  keys: Record<string, RsaHashedImportParams>;
  privateUsage: globalThis.KeyUsage;
  publicUsage: globalThis.KeyUsage;
} {
  return usage === 'ENCRYPT_DECRYPT'
    ? { keys: OAEP_KEYS, privateUsage: 'decrypt', publicUsage: 'encrypt' }
    : { keys: SIGNING_KEYS, privateUsage: 'sign', publicUsage: 'verify' };
}
const keysOf = (table: Record<string, { key: RsaHashedImportParams }>) => Object.fromEntries(Object.entries(table).map(([alg, s]) => [alg, s.key]));
const SIGNING_KEYS = keysOf(SCHEMES);
const OAEP_KEYS = keysOf(OAEP);

/** One CryptoKey per algorithm of `keys`, by AWS's algorithm name, in the table's order. */
async function each(keys: Record<string, RsaHashedImportParams>, use: (key: RsaHashedImportParams) => Promise<CryptoKey>): Promise<Record<string, CryptoKey>> {
  const entries = Object.entries(keys);
  const made = await Promise.all(entries.map(([, key]) => use(key)));
  return Object.fromEntries(entries.map(([alg], i) => [alg, made[i]!]));
}

const SIGNING: SigningSpec = {
  algorithms: ALGORITHMS,
  how: SCHEMES,
  accepts: Object.fromEntries(ALGORITHMS.map((a) => [a, { types: ['RAW', 'DIGEST'], digestBytes: SCHEMES[a].digestBytes }])),
};

export const rsaFamily: KeyFamily = {
  name: 'rsa',
  specs: Object.keys(BITS) as KeySpec[],
  usages: () => USAGES,
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
  importMaterial: (_spec, raw, usage) =>
    usage === 'ENCRYPT_DECRYPT'
      ? crypto.subtle.importKey('pkcs8', raw as BufferSource, OAEP.RSAES_OAEP_SHA_256.key, false, ['decrypt'])
      : crypto.subtle.importKey('pkcs8', raw as BufferSource, SCHEMES.RSASSA_PKCS1_V1_5_SHA_256.key, false, ['sign']),
  importVariants: (_spec, raw, usage) => {
    const s = schemesOf(usage);
    return each(s.keys, (key) => crypto.subtle.importKey('pkcs8', raw as BufferSource, key, false, [s.privateUsage]));
  },
  importPublicVariants: (_spec, spki, usage) => {
    const s = schemesOf(usage);
    return each(s.keys, (key) => crypto.subtle.importKey('spki', spki as BufferSource, key, false, [s.publicUsage]));
  },
  signing: () => SIGNING,
  metadata: (key: KeyRecord) =>
    key.KeyUsage === 'SIGN_VERIFY'
      ? { SigningAlgorithms: [...ALGORITHMS] }
      : key.KeyUsage === 'ENCRYPT_DECRYPT'
        ? { EncryptionAlgorithms: [...RSA_ENCRYPTION_ALGORITHMS] }
        : {},
  rotatable: () => false,
};
