/**
 * The customer side of "importing key material" (keys with Origin EXTERNAL), done the way the AWS
 * KMS documentation ("Encrypt key material") tells customers to do it with OpenSSL, here with
 * node:crypto only (which is OpenSSL):
 *
 *   const { PublicKey, ImportToken } = await kms.getParametersForImport({ KeyId, WrappingAlgorithm, WrappingKeySpec });
 *   const { material } = testMaterial('SYMMETRIC_DEFAULT');
 *   const EncryptedKeyMaterial = wrapKeyMaterial(PublicKey!, WrappingAlgorithm, material);
 *   await kms.importKeyMaterial({ KeyId, ImportToken, EncryptedKeyMaterial, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
 *
 * Wrapping algorithms:
 * - RSAES_OAEP_SHA_1 / RSAES_OAEP_SHA_256: RSA-OAEP of the raw material, hash and MGF1 hash both
 *   SHA-1 / SHA-256, empty label (`openssl pkeyutl -encrypt -pkeyopt rsa_padding_mode:oaep
 *   -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256`). The material must fit in one OAEP
 *   block: k - 2*hLen - 2 bytes (RSA_2048: 214 with SHA-1, 190 with SHA-256).
 * - RSA_AES_KEY_WRAP_SHA_1 / RSA_AES_KEY_WRAP_SHA_256: a fresh random 32-byte AES key; the
 *   material wrapped with AES-256 key wrap with padding (RFC 5649, `openssl enc
 *   -id-aes256-wrap-pad -iv A65959A6`); the AES key encrypted with RSA-OAEP as above;
 *   EncryptedKeyMaterial = RSA-OAEP(aesKey) ‖ KWP(material), the RSA block (as long as the
 *   modulus) first. Required for RSA private keys; any material may use it.
 *
 * Material formats: SYMMETRIC_DEFAULT = 32 raw bytes; HMAC_* = the raw key bytes; asymmetric
 * (RSA_*, ECC_NIST_*, ECC_SECG_P256K1, ECC_NIST_EDWARDS25519) = the private key as PKCS#8 DER.
 *
 * About OpenSSL's `id-aesNNN-wrap-pad` through node:crypto (checked on Node 20 / OpenSSL 3.0):
 * - The IV is REQUIRED and must be exactly 4 bytes (`getCipherInfo('id-aes256-wrap-pad').ivLength
 *   === 4`): `null`, an empty buffer or the 8-byte full AIV all throw "Invalid initialization
 *   vector". OpenSSL does not default it: the 4 bytes given are used as the high half of the AIV
 *   (pass A6A6A6A6 and you get a different, non-RFC 5649 ciphertext), the low half being the
 *   32-bit message length. So pass RFC 5649's constant A65959A6 explicitly, as AWS's doc does.
 * - Wrap modes process the whole input in one `update()` call (a second update is refused).
 * - Unwrapping with a wrong KEK or a tampered ciphertext makes `update()` throw the unhelpful
 *   "Trying to add data in unsupported state" (and `final()` would then return empty), hence
 *   `kwpUnwrap` re-throws a clear integrity error.
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';

export const WRAPPING_ALGORITHMS = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256'] as const;
export type WrappingAlgorithm = (typeof WRAPPING_ALGORITHMS)[number];

export const WRAPPING_KEY_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const;
export type WrappingKeySpec = (typeof WRAPPING_KEY_SPECS)[number];

/** RFC 5649 §3 alternative initial value, high 32 bits: the IV OpenSSL's wrap-pad ciphers want. */
export const KWP_IV = Buffer.from('A65959A6', 'hex');

/** Bytes in the random AES key of the RSA_AES_KEY_WRAP_* algorithms. */
export const AES_KEY_WRAP_KEY_BYTES = 32;

function oaepHashOf(algorithm: WrappingAlgorithm): 'sha1' | 'sha256' {
  switch (algorithm) {
    case 'RSAES_OAEP_SHA_1':
    case 'RSA_AES_KEY_WRAP_SHA_1':
      return 'sha1';
    case 'RSAES_OAEP_SHA_256':
    case 'RSA_AES_KEY_WRAP_SHA_256':
      return 'sha256';
    default:
      throw new Error(`unknown wrapping algorithm: ${String(algorithm)}`);
  }
}

function isAesKeyWrap(algorithm: WrappingAlgorithm): boolean {
  return algorithm === 'RSA_AES_KEY_WRAP_SHA_1' || algorithm === 'RSA_AES_KEY_WRAP_SHA_256';
}

/** Largest plaintext one RSA-OAEP block carries: k - 2*hLen - 2 (RFC 8017 §7.1.1). */
export function oaepMaxPlaintextBytes(modulusBits: number, algorithm: WrappingAlgorithm): number {
  const hLen = oaepHashOf(algorithm) === 'sha1' ? 20 : 32;
  return Math.ceil(modulusBits / 8) - 2 * hLen - 2;
}

function rsaPublicKey(publicKeySpki: Uint8Array | KeyObject): { key: KeyObject; modulusBits: number } {
  const key = publicKeySpki instanceof Uint8Array ? createPublicKey({ key: Buffer.from(publicKeySpki), format: 'der', type: 'spki' }) : publicKeySpki;
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`the wrapping key must be an RSA public key, got ${key.asymmetricKeyType ?? key.type}`);
  const modulusBits = key.asymmetricKeyDetails?.modulusLength;
  if (!modulusBits) throw new Error('cannot read the modulus length of the wrapping key');
  return { key, modulusBits };
}

function kwpCipherName(kek: Uint8Array): string {
  if (kek.length !== 16 && kek.length !== 24 && kek.length !== 32) throw new Error(`AES key wrap needs a 16, 24 or 32-byte KEK, got ${kek.length}`);
  return `id-aes${kek.length * 8}-wrap-pad`;
}

/** AES key wrap with padding (RFC 5649) with OpenSSL's id-aes{128,192,256}-wrap-pad, chosen by the KEK length. */
export function kwpWrap(kek: Uint8Array, plaintext: Uint8Array): Uint8Array {
  if (plaintext.length === 0) throw new Error('AES key wrap with padding needs at least 1 byte of plaintext');
  const cipher = createCipheriv(kwpCipherName(kek), kek, KWP_IV);
  return new Uint8Array(Buffer.concat([cipher.update(plaintext), cipher.final()]));
}

/** RFC 5649 unwrap (OpenSSL); throws `AES key unwrap failed: integrity check failed` on a wrong KEK or a tampered input. */
export function kwpUnwrap(kek: Uint8Array, wrapped: Uint8Array): Uint8Array {
  const decipher = createDecipheriv(kwpCipherName(kek), kek, KWP_IV);
  let out: Buffer;
  try {
    out = Buffer.concat([decipher.update(wrapped), decipher.final()]);
  } catch (e) {
    throw new Error(`AES key unwrap failed: integrity check failed (${(e as Error).message})`);
  }
  return new Uint8Array(out);
}

function oaepEncrypt(key: KeyObject, modulusBits: number, algorithm: WrappingAlgorithm, plaintext: Uint8Array, what: string): Buffer {
  const max = oaepMaxPlaintextBytes(modulusBits, algorithm);
  if (plaintext.length > max) {
    throw new Error(
      `${what} is ${plaintext.length} bytes, but RSA-OAEP with ${oaepHashOf(algorithm).toUpperCase()} and a ${modulusBits}-bit wrapping key ` +
        `carries at most ${max} bytes: use RSA_AES_KEY_WRAP_SHA_1/RSA_AES_KEY_WRAP_SHA_256 or a larger wrapping key`,
    );
  }
  // node:crypto's oaepHash sets both the OAEP hash and the MGF1 hash; the label is empty.
  return publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaepHashOf(algorithm) }, plaintext);
}

export interface WrapOptions {
  /** RSA_AES_KEY_WRAP_* only: the 32-byte AES key to use instead of a fresh random one (for tests). */
  aesKey?: Uint8Array;
}

/**
 * EncryptedKeyMaterial for ImportKeyMaterial: `material` wrapped under the wrapping public key
 * GetParametersForImport returned (`PublicKey`, SPKI DER; a KeyObject is accepted too).
 */
export function wrapKeyMaterial(
  publicKeySpki: Uint8Array | KeyObject,
  algorithm: WrappingAlgorithm,
  material: Uint8Array,
  options: WrapOptions = {},
): Uint8Array {
  const { key, modulusBits } = rsaPublicKey(publicKeySpki);
  if (material.length === 0) throw new Error('the key material is empty');
  if (!isAesKeyWrap(algorithm)) return new Uint8Array(oaepEncrypt(key, modulusBits, algorithm, material, 'the key material'));
  const aesKey = options.aesKey ?? randomBytes(AES_KEY_WRAP_KEY_BYTES);
  if (aesKey.length !== AES_KEY_WRAP_KEY_BYTES) throw new Error(`the AES key of ${algorithm} must be ${AES_KEY_WRAP_KEY_BYTES} bytes, got ${aesKey.length}`);
  const encryptedAesKey = oaepEncrypt(key, modulusBits, algorithm, aesKey, 'the AES key');
  return new Uint8Array(Buffer.concat([encryptedAesKey, kwpWrap(aesKey, material)]));
}

/**
 * The KMS side of wrapKeyMaterial, with node:crypto, for this helper's own tests (and as an
 * oracle): recovers the material from EncryptedKeyMaterial with the wrapping private key.
 */
export function unwrapKeyMaterialForTest(privateKey: KeyObject, algorithm: WrappingAlgorithm, wrapped: Uint8Array): Uint8Array {
  const modulusBits = privateKey.asymmetricKeyDetails?.modulusLength;
  if (privateKey.asymmetricKeyType !== 'rsa' || !modulusBits) throw new Error('the unwrapping key must be an RSA private key');
  const k = Math.ceil(modulusBits / 8);
  const decrypt = (block: Uint8Array) => privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaepHashOf(algorithm) }, block);
  if (!isAesKeyWrap(algorithm)) {
    if (wrapped.length !== k) throw new Error(`${algorithm}: the wrapped material must be ${k} bytes, got ${wrapped.length}`);
    return new Uint8Array(decrypt(wrapped));
  }
  if (wrapped.length < k + 16) throw new Error(`${algorithm}: the wrapped material must be at least ${k + 16} bytes, got ${wrapped.length}`);
  const aesKey = decrypt(wrapped.subarray(0, k));
  if (aesKey.length !== AES_KEY_WRAP_KEY_BYTES) throw new Error(`${algorithm}: the unwrapped AES key is ${aesKey.length} bytes, not ${AES_KEY_WRAP_KEY_BYTES}`);
  return kwpUnwrap(aesKey, wrapped.subarray(k));
}

/** A wrapping key pair like the one GetParametersForImport uses (public key as SPKI DER). */
export function generateWrappingKeyPair(spec: WrappingKeySpec | 2048 | 3072 | 4096): {
  publicKey: Uint8Array;
  publicKeyObject: KeyObject;
  privateKey: KeyObject;
} {
  const modulusLength = typeof spec === 'number' ? spec : Number(spec.slice(4));
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength });
  return { publicKey: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })), publicKeyObject: publicKey, privateKey };
}

export const MATERIAL_SPECS = [
  'SYMMETRIC_DEFAULT',
  'HMAC_224',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'ECC_NIST_EDWARDS25519',
] as const;
export type MaterialSpec = (typeof MATERIAL_SPECS)[number];

/** AWS's allowed lengths of imported HMAC key material, in bytes (inclusive). */
export const HMAC_MATERIAL_BYTES: Record<'HMAC_224' | 'HMAC_256' | 'HMAC_384' | 'HMAC_512', { min: number; max: number; default: number }> = {
  HMAC_224: { min: 28, max: 64, default: 32 },
  HMAC_256: { min: 32, max: 64, default: 32 },
  HMAC_384: { min: 48, max: 128, default: 48 },
  HMAC_512: { min: 64, max: 128, default: 64 },
};

const EC_CURVES = { ECC_NIST_P256: 'prime256v1', ECC_NIST_P384: 'secp384r1', ECC_NIST_P521: 'secp521r1', ECC_SECG_P256K1: 'secp256k1' } as const;

export interface TestMaterial {
  spec: MaterialSpec;
  /** What to wrap: raw bytes (symmetric, HMAC) or the private key as PKCS#8 DER (asymmetric). */
  material: Uint8Array;
  /** Asymmetric only: the matching public key, SPKI DER (what GetPublicKey should return after the import). */
  publicKey?: Uint8Array;
  /** Asymmetric only: the private key, to sign or decrypt locally. */
  privateKey?: KeyObject;
}

/** Fresh key material of a key spec, in the format ImportKeyMaterial wants. `hmacBytes` overrides the HMAC length. */
export function testMaterial(spec: MaterialSpec, options: { hmacBytes?: number } = {}): TestMaterial {
  if (spec === 'SYMMETRIC_DEFAULT') return { spec, material: new Uint8Array(randomBytes(32)) };
  if (spec === 'HMAC_224' || spec === 'HMAC_256' || spec === 'HMAC_384' || spec === 'HMAC_512') {
    return { spec, material: new Uint8Array(randomBytes(options.hmacBytes ?? HMAC_MATERIAL_BYTES[spec].default)) };
  }
  let pair: { publicKey: KeyObject; privateKey: KeyObject };
  if (spec === 'RSA_2048' || spec === 'RSA_3072' || spec === 'RSA_4096') pair = generateKeyPairSync('rsa', { modulusLength: Number(spec.slice(4)) });
  else if (spec === 'ECC_NIST_EDWARDS25519') pair = generateKeyPairSync('ed25519');
  else if (spec in EC_CURVES) pair = generateKeyPairSync('ec', { namedCurve: EC_CURVES[spec] });
  else throw new Error(`unknown key spec: ${String(spec)}`);
  return {
    spec,
    material: new Uint8Array(pair.privateKey.export({ format: 'der', type: 'pkcs8' })),
    publicKey: new Uint8Array(pair.publicKey.export({ format: 'der', type: 'spki' })),
    privateKey: pair.privateKey,
  };
}
