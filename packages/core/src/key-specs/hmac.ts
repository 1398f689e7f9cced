/**
 * The HMAC family: HMAC_256, HMAC_384, HMAC_512 keys for GenerateMac and VerifyMac, usage
 * GENERATE_VERIFY_MAC, key material as long as the hash's output (AWS's key lengths), opened as
 * a non-extractable WebCrypto HMAC CryptoKey. HMAC keys do not rotate (as in AWS).
 *
 * HMAC_224 too, with 28 bytes of material: WebCrypto has no SHA-224, so its MACs are @noble/hashes'
 * over the material opened as bytes for the one call (bytes: 'only').
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha224 } from '@noble/hashes/sha2.js';
import { randomBytes } from '../bytes.js';
import type { KeyRecord, KeySpec, KeyUsage } from '../model.js';
import type { KeyFamily } from './types.js';

export type MacAlgorithm = 'HMAC_SHA_224' | 'HMAC_SHA_256' | 'HMAC_SHA_384' | 'HMAC_SHA_512';
export const MAC_ALGORITHMS: readonly MacAlgorithm[] = ['HMAC_SHA_224', 'HMAC_SHA_256', 'HMAC_SHA_384', 'HMAC_SHA_512'];

/** `bytes`: the length of material KMS generates; `max`: the longest imported material AWS takes (at least `bytes`). */
const SPECS = {
  HMAC_224: { bytes: 28, max: 64, hash: 'SHA-224', algorithm: 'HMAC_SHA_224' },
  HMAC_256: { bytes: 32, max: 64, hash: 'SHA-256', algorithm: 'HMAC_SHA_256' },
  HMAC_384: { bytes: 48, max: 128, hash: 'SHA-384', algorithm: 'HMAC_SHA_384' },
  HMAC_512: { bytes: 64, max: 128, hash: 'SHA-512', algorithm: 'HMAC_SHA_512' },
} as const satisfies Partial<Record<KeySpec, { bytes: number; max: number; hash: string; algorithm: MacAlgorithm }>>;
type HmacSpec = keyof typeof SPECS;

const USAGES: readonly KeyUsage[] = ['GENERATE_VERIFY_MAC'];

function spec(s: KeySpec): (typeof SPECS)[HmacSpec] {
  const found = SPECS[s as HmacSpec];
  if (!found) throw new TypeError(`not an HMAC key spec: ${s}`);
  return found;
}

/** The one MAC algorithm a key spec allows (AWS: HMAC_256 keys take HMAC_SHA_256, …). */
export function macAlgorithmOf(keySpec: KeySpec): MacAlgorithm {
  return spec(keySpec).algorithm;
}

export const hmacFamily: KeyFamily = {
  name: 'hmac',
  specs: Object.keys(SPECS) as KeySpec[],
  usages: () => USAGES,
  newMaterial: (s) => randomBytes(spec(s).bytes),
  checkMaterial: (s, raw) =>
    raw.length >= spec(s).bytes && raw.length <= spec(s).max ? undefined : `"KeyMaterial" expected ${spec(s).bytes} to ${spec(s).max} bytes for ${s}`,
  bytes: (s) => (s === 'HMAC_224' ? 'only' : undefined),
  macBytes: (s, raw, message) => {
    if (s !== 'HMAC_224') throw new TypeError(`${s} MACs are WebCrypto's`);
    return hmac(sha224, raw, message);
  },
  importMaterial: (s, raw) => crypto.subtle.importKey('raw', raw as BufferSource, { name: 'HMAC', hash: spec(s).hash }, false, ['sign', 'verify']),
  metadata: (key: KeyRecord) => (key.KeyUsage === 'GENERATE_VERIFY_MAC' ? { MacAlgorithms: [spec(key.KeySpec).algorithm] } : {}),
  rotatable: () => false,
};
