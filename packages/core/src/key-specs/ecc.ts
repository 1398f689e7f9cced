/**
 * The elliptic-curve signing families: ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521 (ECDSA with
 * SHA-256, SHA-384, SHA-512: one algorithm a curve, as in AWS) and ECC_NIST_EDWARDS25519 (Ed25519),
 * usage SIGN_VERIFY, all on WebCrypto: the private key is a non-extractable CryptoKey, the public
 * key SPKI DER. Asymmetric keys do not rotate (as in AWS).
 *
 * Not here yet: KEY_AGREEMENT (ECDH) for the NIST curves, ECC_SECG_P256K1, ED25519_PH_SHA_512 and
 * DIGEST messages (WebCrypto cannot sign a digest hashed already; they need @noble/curves over
 * material opened as bytes).
 */
import type { KeyRecord, KeySpec, KeyUsage } from '../model.js';
import { generateKeyPair, generatePkcs8, spkiOf } from './asymmetric.js';
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
}

export const CURVES: Partial<Record<KeySpec, CurveSpec>> = {
  ECC_NIST_P256: {
    key: { name: 'ECDSA', namedCurve: 'P-256' },
    algorithms: ['ECDSA_SHA_256'],
    sign: { ECDSA_SHA_256: { params: { name: 'ECDSA', hash: 'SHA-256' }, digestBytes: 32 } },
    scalarBytes: 32,
  },
  ECC_NIST_P384: {
    key: { name: 'ECDSA', namedCurve: 'P-384' },
    algorithms: ['ECDSA_SHA_384'],
    sign: { ECDSA_SHA_384: { params: { name: 'ECDSA', hash: 'SHA-384' }, digestBytes: 48 } },
    scalarBytes: 48,
  },
  ECC_NIST_P521: {
    key: { name: 'ECDSA', namedCurve: 'P-521' },
    algorithms: ['ECDSA_SHA_512'],
    sign: { ECDSA_SHA_512: { params: { name: 'ECDSA', hash: 'SHA-512' }, digestBytes: 64 } },
    scalarBytes: 66,
  },
  ECC_NIST_EDWARDS25519: {
    key: { name: 'Ed25519' },
    algorithms: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'],
    sign: { ED25519_SHA_512: { params: { name: 'Ed25519' }, digestBytes: 64 } },
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
      SIGNING.set(spec, (s = { algorithms: c.algorithms, how }));
    }
    return s;
  },
  metadata: (key: KeyRecord) =>
    key.KeyUsage === 'SIGN_VERIFY'
      ? { SigningAlgorithms: [...curveOf(key.KeySpec).algorithms] }
      : key.KeyUsage === 'KEY_AGREEMENT'
        ? { KeyAgreementAlgorithms: ['ECDH'] }
        : {},
  rotatable: () => false,
};
