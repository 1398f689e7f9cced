/**
 * ML_DSA_44, ML_DSA_65, ML_DSA_87 (FIPS 204): ML_DSA_SHAKE_256, usage SIGN_VERIFY, for RAW messages
 * (pure ML-DSA with an empty context, hedged) and EXTERNAL_MU (the caller's 64-byte mu, FIPS 204
 * Algorithm 7 from step 6), as AWS signs. Neither Node 20 nor workerd has ML-DSA in WebCrypto, so
 * the keys are @noble/post-quantum's over material opened as bytes for the one call (bytes: 'only').
 * The material is the 32-byte seed in RFC 9881's PKCS#8 seed form; the secret key is expanded from
 * it for each call and wiped. The public key is RFC 9881's SPKI. ML-DSA keys do not rotate.
 */
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { randomBytes } from '../bytes.js';
import type { KeyRecord, KeySpec, KeyUsage } from '../model.js';
import { mlDsaPkcs8, mlDsaSeed, mlDsaSpki, OIDS, oidsAre, readSpki } from './der.js';
import type { KeyFamily, SigningSpec } from './types.js';

const PARAMS = {
  ML_DSA_44: { dsa: ml_dsa44, oid: OIDS.mlDsa44 },
  ML_DSA_65: { dsa: ml_dsa65, oid: OIDS.mlDsa65 },
  ML_DSA_87: { dsa: ml_dsa87, oid: OIDS.mlDsa87 },
} as const;
type MlDsaSpec = keyof typeof PARAMS;

const USAGES: readonly KeyUsage[] = ['SIGN_VERIFY'];
const SIGNING: SigningSpec = {
  algorithms: ['ML_DSA_SHAKE_256'],
  how: {},
  accepts: { ML_DSA_SHAKE_256: { types: ['RAW', 'EXTERNAL_MU'], digestBytes: 64 } },
};

function params(spec: KeySpec): (typeof PARAMS)[MlDsaSpec] {
  const p = PARAMS[spec as MlDsaSpec];
  if (!p) throw new TypeError(`not an ML-DSA key spec: ${spec}`);
  return p;
}

/** Expands the key pair from the material's seed for one use, then wipes the secret key. */
function withKeys<T>(spec: KeySpec, raw: Uint8Array, use: (keys: { secretKey: Uint8Array; publicKey: Uint8Array }) => T): T {
  const p = params(spec);
  const seed = mlDsaSeed(raw, p.oid);
  if (!seed) throw new Error(`not an ${spec} private key`);
  const keys = p.dsa.keygen(seed);
  try {
    return use(keys);
  } finally {
    keys.secretKey.fill(0);
  }
}

export const mlDsaFamily: KeyFamily = {
  name: 'ml-dsa',
  specs: Object.keys(PARAMS) as KeySpec[],
  usages: () => USAGES,
  bytes: () => 'only',
  newMaterial(spec) {
    const seed = randomBytes(32);
    try {
      return mlDsaPkcs8(params(spec).oid, seed);
    } finally {
      seed.fill(0);
    }
  },
  publicKeyOf: async (spec, raw) => withKeys(spec, raw, (k) => mlDsaSpki(params(spec).oid, k.publicKey)),
  checkMaterial: (spec, raw) => (mlDsaSeed(raw, params(spec).oid) ? undefined : `"KeyMaterial" expected a PKCS#8 ${spec} private key (seed form)`),
  importMaterial: () => Promise.reject(new Error('ML-DSA keys are not WebCrypto keys')),
  signing: () => SIGNING,
  signBytes: (spec, _algorithm, type, raw, message) =>
    withKeys(spec, raw, (k) =>
      type === 'EXTERNAL_MU' ? params(spec).dsa.internal.sign(message, k.secretKey, { externalMu: true }) : params(spec).dsa.sign(message, k.secretKey),
    ),
  verifyBytes(spec, _algorithm, type, spki, message, signature) {
    const p = params(spec);
    const pub = readSpki(spki);
    if (!pub || !oidsAre(pub.oids, p.oid) || signature.length !== p.dsa.lengths.signature) return false;
    try {
      return type === 'EXTERNAL_MU'
        ? p.dsa.internal.verify(signature, message, pub.publicKey, { externalMu: true })
        : p.dsa.verify(signature, message, pub.publicKey);
    } catch {
      return false;
    }
  },
  metadata: (key: KeyRecord) => (key.KeyUsage === 'SIGN_VERIFY' ? { SigningAlgorithms: ['ML_DSA_SHAKE_256'] } : {}),
  rotatable: () => false,
};
