/**
 * The elliptic-curve signing families: ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521 (ECDSA with
 * SHA-256, SHA-384, SHA-512: one algorithm a curve, as in AWS) and ECC_NIST_EDWARDS25519 (Ed25519),
 * usage SIGN_VERIFY, all on WebCrypto: the private key is a non-extractable CryptoKey, the public
 * key SPKI DER. Asymmetric keys do not rotate (as in AWS).
 *
 * KEY_AGREEMENT (ECDH) on the NIST curves is WebCrypto's too. What WebCrypto cannot do, @noble/curves
 * does over the material opened as bytes for the one call (bytes: 'also'): ECDSA over a DIGEST the
 * caller hashed already, and ED25519_PH_SHA_512 (Ed25519ph of RFC 8032, which hashes the caller's
 * DIGEST once more, as AWS documents). ECC_SECG_P256K1 is its own family (secp256k1.ts).
 */
import { ed25519ph } from '@noble/curves/ed25519.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import type { KeyRecord, KeySpec, KeyUsage } from '../model.js';
import { generateKeyPair, generatePkcs8, spkiOf } from './asymmetric.js';
import { ecPrivateScalar, ed25519Seed, OIDS, oidsAre, readSpki } from './der.js';
import { derToP1363, p1363ToDer } from './ecdsa-der.js';
import type { KeyFamily, SigningSpec } from './types.js';

export type SigningAlgorithm = 'ECDSA_SHA_256' | 'ECDSA_SHA_384' | 'ECDSA_SHA_512' | 'ED25519_SHA_512' | 'ED25519_PH_SHA_512';

interface CurveSpec {
  /** The WebCrypto key algorithm. */
  key: EcKeyImportParams | Algorithm;
  /** The signing algorithms AWS lists for the spec, and WebCrypto's parameters and digest length of each we implement. */
  algorithms: readonly SigningAlgorithm[];
  sign: Partial<Record<SigningAlgorithm, { params: EcdsaParams | Algorithm; digestBytes: number }>>;
  /** The length of one of r, s (ECDSA), for the DER conversion. */
  scalarBytes?: number;
  /** The message types AWS accepts for each algorithm. */
  accepts: SigningSpec['accepts'];
  /** The curve's OID (DER) and its @noble/curves implementation, for DIGEST messages. */
  oid: Uint8Array;
  noble?: typeof p256;
}

export const CURVES: Partial<Record<KeySpec, CurveSpec>> = {
  ECC_NIST_P256: {
    key: { name: 'ECDSA', namedCurve: 'P-256' },
    algorithms: ['ECDSA_SHA_256'],
    sign: { ECDSA_SHA_256: { params: { name: 'ECDSA', hash: 'SHA-256' }, digestBytes: 32 } },
    scalarBytes: 32,
    accepts: { ECDSA_SHA_256: { types: ['RAW', 'DIGEST'], digestBytes: 32 } },
    oid: OIDS.p256,
    noble: p256,
  },
  ECC_NIST_P384: {
    key: { name: 'ECDSA', namedCurve: 'P-384' },
    algorithms: ['ECDSA_SHA_384'],
    sign: { ECDSA_SHA_384: { params: { name: 'ECDSA', hash: 'SHA-384' }, digestBytes: 48 } },
    scalarBytes: 48,
    accepts: { ECDSA_SHA_384: { types: ['RAW', 'DIGEST'], digestBytes: 48 } },
    oid: OIDS.p384,
    noble: p384,
  },
  ECC_NIST_P521: {
    key: { name: 'ECDSA', namedCurve: 'P-521' },
    algorithms: ['ECDSA_SHA_512'],
    sign: { ECDSA_SHA_512: { params: { name: 'ECDSA', hash: 'SHA-512' }, digestBytes: 64 } },
    scalarBytes: 66,
    accepts: { ECDSA_SHA_512: { types: ['RAW', 'DIGEST'], digestBytes: 64 } },
    oid: OIDS.p521,
    noble: p521,
  },
  ECC_NIST_EDWARDS25519: {
    key: { name: 'Ed25519' },
    algorithms: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'],
    sign: { ED25519_SHA_512: { params: { name: 'Ed25519' }, digestBytes: 64 } },
    accepts: { ED25519_SHA_512: { types: ['RAW'] }, ED25519_PH_SHA_512: { types: ['DIGEST'], digestBytes: 64 } },
    oid: OIDS.ed25519,
  },
};

const USAGES: readonly KeyUsage[] = ['SIGN_VERIFY', 'KEY_AGREEMENT'];
const EDWARDS_USAGES: readonly KeyUsage[] = ['SIGN_VERIFY'];

/** ECDH's shared secret length in bits: the curve's field size (P-521: 521 bits, WebCrypto rounds to 528). */
export const ECDH_BITS: Partial<Record<KeySpec, number>> = { ECC_NIST_P256: 256, ECC_NIST_P384: 384, ECC_NIST_P521: 528 };

/** The WebCrypto ECDH algorithm of a NIST curve key spec. */
export function ecdhOf(spec: KeySpec): EcKeyImportParams {
  return { name: 'ECDH', namedCurve: (curveOf(spec).key as EcKeyImportParams).namedCurve };
}

export function curveOf(spec: KeySpec): CurveSpec {
  const c = CURVES[spec];
  if (!c) throw new TypeError(`not an elliptic-curve key spec: ${spec}`);
  return c;
}

const SIGNING = new Map<KeySpec, SigningSpec>();

export const eccFamily: KeyFamily = {
  name: 'ecc',
  specs: Object.keys(CURVES) as KeySpec[],
  usages: (spec) => (spec === 'ECC_NIST_EDWARDS25519' ? EDWARDS_USAGES : USAGES),
  newMaterial: (spec) => generatePkcs8(curveOf(spec).key, ['sign', 'verify']),
  newKeyPair: (spec) => generateKeyPair(curveOf(spec).key, ['sign', 'verify']),
  publicKeyOf: (spec, raw) => spkiOf(raw, curveOf(spec).key, 'sign', 'verify'),
  checkMaterial: (_spec, raw) => (raw.length >= 32 && raw.length <= 512 ? undefined : '"KeyMaterial" expected a PKCS#8 private key'),
  // The same PKCS#8 (id-ecPublicKey) serves ECDSA and ECDH: the key's usage picks the algorithm.
  importMaterial: (spec, raw, usage) =>
    usage === 'KEY_AGREEMENT'
      ? crypto.subtle.importKey('pkcs8', raw as BufferSource, ecdhOf(spec), false, ['deriveBits'])
      : crypto.subtle.importKey('pkcs8', raw as BufferSource, curveOf(spec).key, false, ['sign']),
  importPublicKey: (spec, spki) => crypto.subtle.importKey('spki', spki as BufferSource, curveOf(spec).key, false, ['verify']),
  signing(spec) {
    // Built once a spec: Sign and Verify ask on every call.
    let s = SIGNING.get(spec);
    if (!s) {
      const c = curveOf(spec);
      const how: SigningSpec['how'] = {};
      for (const [alg, h] of Object.entries(c.sign)) how[alg] = { ...h, scalarBytes: c.scalarBytes };
      SIGNING.set(spec, (s = { algorithms: c.algorithms, how, accepts: c.accepts }));
    }
    return s;
  },
  // DIGEST messages and Ed25519ph need the private key as bytes for the call; key agreement does not.
  bytes: (_spec, usage) => (usage === 'KEY_AGREEMENT' ? undefined : 'also'),
  signBytes(spec, algorithm, type, raw, message) {
    const c = curveOf(spec);
    if (algorithm === 'ED25519_PH_SHA_512') {
      const seed = ed25519Seed(raw);
      if (!seed) throw new Error('not an Ed25519 private key');
      return ed25519ph.sign(message, seed);
    }
    if (!c.noble || !c.scalarBytes || type !== 'DIGEST') throw new Error(`${algorithm} ${type} is signed by WebCrypto`);
    const d = ecPrivateScalar(raw, c.oid, c.scalarBytes);
    if (!d) throw new Error(`not a ${spec} private key`);
    try {
      return p1363ToDer(c.noble.sign(message, d, { prehash: false, format: 'compact' }));
    } finally {
      if (d.buffer !== raw.buffer) d.fill(0);
    }
  },
  verifyBytes(spec, algorithm, _type, spki, message, signature) {
    const c = curveOf(spec);
    const pub = readSpki(spki);
    if (!pub) return false;
    try {
      if (algorithm === 'ED25519_PH_SHA_512') return oidsAre(pub.oids, OIDS.ed25519) && ed25519ph.verify(signature, message, pub.publicKey);
      if (!c.noble || !c.scalarBytes || !oidsAre(pub.oids, OIDS.ecPublicKey, c.oid)) return false;
      const rs = derToP1363(signature, c.scalarBytes);
      // lowS: false: any valid signature verifies, high-S ones too (AWS does not normalize).
      return rs !== undefined && c.noble.verify(rs, message, pub.publicKey, { prehash: false, lowS: false, format: 'compact' });
    } catch {
      return false;
    }
  },
  metadata: (key: KeyRecord) =>
    key.KeyUsage === 'SIGN_VERIFY'
      ? { SigningAlgorithms: [...curveOf(key.KeySpec).algorithms] }
      : key.KeyUsage === 'KEY_AGREEMENT'
        ? { KeyAgreementAlgorithms: ['ECDH'] }
        : {},
  rotatable: () => false,
};
