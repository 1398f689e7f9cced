/**
 * ECC_SECG_P256K1: ECDSA_SHA_256 over secp256k1, usage SIGN_VERIFY only (as in AWS), for RAW and
 * DIGEST messages. No WebCrypto has secp256k1, so the key is @noble/curves' over material opened
 * as bytes for the one call (bytes: 'only'); the material is the PKCS#8 (RFC 5915) AWS hands out for
 * such key pairs, the public key its SPKI. Signatures are DER, as AWS answers them; any valid one
 * verifies, high-S too. secp256k1 keys do not rotate.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { KeyRecord, KeySpec, KeyUsage } from '../model.js';
import { ecPkcs8, ecPrivateScalar, ecSpki, OIDS, oidsAre, readSpki } from './der.js';
import { derToP1363, p1363ToDer } from './ecdsa-der.js';
import type { KeyFamily, SigningSpec } from './types.js';

const USAGES: readonly KeyUsage[] = ['SIGN_VERIFY'];
const SIGNING: SigningSpec = {
  algorithms: ['ECDSA_SHA_256'],
  how: {},
  accepts: { ECDSA_SHA_256: { types: ['RAW', 'DIGEST'], digestBytes: 32 } },
};

/** The private scalar of a secp256k1 PKCS#8, checked to be a valid secret key. */
function scalarOf(raw: Uint8Array): Uint8Array | undefined {
  const d = ecPrivateScalar(raw, OIDS.secp256k1, 32);
  return d && secp256k1.utils.isValidSecretKey(d) ? d : undefined;
}

function withScalar<T>(raw: Uint8Array, use: (d: Uint8Array) => T): T {
  const d = scalarOf(raw);
  if (!d) throw new Error('not a secp256k1 private key');
  try {
    return use(d);
  } finally {
    if (d.buffer !== raw.buffer) d.fill(0);
  }
}

export const secp256k1Family: KeyFamily = {
  name: 'secp256k1',
  specs: ['ECC_SECG_P256K1'] satisfies KeySpec[],
  usages: () => USAGES,
  bytes: () => 'only',
  async newKeyPair() {
    const d = secp256k1.utils.randomSecretKey();
    try {
      const point = secp256k1.getPublicKey(d, false);
      return { pkcs8: ecPkcs8(OIDS.secp256k1, d, point), spki: ecSpki(OIDS.secp256k1, point) };
    } finally {
      d.fill(0);
    }
  },
  async newMaterial() {
    return (await secp256k1Family.newKeyPair!('ECC_SECG_P256K1')).pkcs8;
  },
  publicKeyOf: async (_spec, raw) => withScalar(raw, (d) => ecSpki(OIDS.secp256k1, secp256k1.getPublicKey(d, false))),
  checkMaterial: (_spec, raw) => (scalarOf(raw) ? undefined : '"KeyMaterial" expected a PKCS#8 secp256k1 private key'),
  importMaterial: () => Promise.reject(new Error('secp256k1 keys are not WebCrypto keys')),
  signing: () => SIGNING,
  signBytes: (_spec, _algorithm, type, raw, message) =>
    withScalar(raw, (d) => p1363ToDer(secp256k1.sign(message, d, { prehash: type === 'RAW', format: 'compact' }))),
  verifyBytes(_spec, _algorithm, type, spki, message, signature) {
    const pub = readSpki(spki);
    const rs = derToP1363(signature, 32);
    if (!pub || !rs || !oidsAre(pub.oids, OIDS.ecPublicKey, OIDS.secp256k1)) return false;
    try {
      return secp256k1.verify(rs, message, pub.publicKey, { prehash: type === 'RAW', lowS: false, format: 'compact' });
    } catch {
      return false;
    }
  },
  metadata: (key: KeyRecord) => (key.KeyUsage === 'SIGN_VERIFY' ? { SigningAlgorithms: ['ECDSA_SHA_256'] } : {}),
  rotatable: () => false,
};
