/**
 * The key families edge-kms implements, and familyOf(spec). A spec without a family (SM2, China
 * Regions only) is one AWS has and edge-kms does not: CreateKey refuses it.
 * Adding a family: a file beside symmetric.ts implementing KeyFamily, and a line in FAMILIES.
 */
import type { KeySpec, KeyUsage } from '../model.js';
import { symmetricFamily } from './symmetric.js';
import { hmacFamily } from './hmac.js';
import { eccFamily } from './ecc.js';
import { rsaFamily } from './rsa.js';
import { secp256k1Family } from './secp256k1.js';
import { mlDsaFamily } from './ml-dsa.js';
import type { KeyFamily } from './types.js';

export type { KeyFamily, MessageType, SigningSpec } from './types.js';
export { RSA_BITS, rsaFamily } from './rsa.js';
export { importAesKey, symmetricFamily, SYMMETRIC_KEY_BYTES } from './symmetric.js';
export { hmacFamily, macAlgorithmOf, MAC_ALGORITHMS, type MacAlgorithm } from './hmac.js';
export { eccFamily, curveOf, CURVES, ECDH_BITS, ecdhOf, type SigningAlgorithm } from './ecc.js';
export { derToP1363, p1363ToDer } from './ecdsa-der.js';

const FAMILIES: readonly KeyFamily[] = [symmetricFamily, hmacFamily, eccFamily, secp256k1Family, rsaFamily, mlDsaFamily];

const BY_SPEC = new Map<KeySpec, KeyFamily>(FAMILIES.flatMap((f) => f.specs.map((s) => [s, f] as const)));

/** The family of a key spec, or undefined when edge-kms does not implement it. */
export function familyOf(spec: KeySpec): KeyFamily | undefined {
  return BY_SPEC.get(spec);
}

/**
 * How a key's raw material becomes the CryptoKeys it is used as: the importers a material
 * protector is given (MaterialContext), the same when material is made, opened or received from
 * a peer, so that a family with variants (RSA) is sealed and opened alike everywhere.
 */
export function importersOf(key: { KeySpec: KeySpec; KeyUsage?: KeyUsage }): {
  importKey: (raw: Uint8Array) => Promise<CryptoKey>;
  importVariants?: (raw: Uint8Array) => Promise<Record<string, CryptoKey>>;
  bytes?: 'only' | 'also';
} {
  const family = familyOfKey(key);
  const variants = family.importVariants;
  const bytes = family.bytes?.(key.KeySpec, key.KeyUsage);
  return {
    importKey: (raw) => family.importMaterial(key.KeySpec, raw, key.KeyUsage),
    importVariants: variants && ((raw) => variants(key.KeySpec, raw, key.KeyUsage)),
    ...(bytes && { bytes }),
  };
}

/** The family of a stored key: every stored key's spec has one. */
export function familyOfKey(key: { KeySpec: KeySpec }): KeyFamily {
  const f = BY_SPEC.get(key.KeySpec);
  if (!f) throw new Error(`no key family for ${key.KeySpec}`);
  return f;
}
