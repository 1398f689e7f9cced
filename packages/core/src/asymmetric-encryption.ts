/**
 * Encryption under an asymmetric KMS key: RSA_2048/3072/4096 keys with KeyUsage ENCRYPT_DECRYPT,
 * RSAES_OAEP_SHA_1 and RSAES_OAEP_SHA_256 (MGF1 over the same hash, an empty label), as AWS. The
 * ciphertext is the bare RSA-OAEP output, as AWS's: it has no header and does not name its key,
 * so decrypting it needs the KeyId and the algorithm, and it binds no encryption context. Anyone
 * with the public key (GetPublicKey) can make one; only the KMS decrypts it. Every decryption
 * failure (wrong key, wrong algorithm, a changed or wrong-length ciphertext) is the one
 * InvalidCiphertextException of symmetric.ts, with the same message.
 */
import type { Engine } from './engine.js';
import { invalidCiphertext, KmsError } from './errors.js';
import { familyOf, rsaFamily } from './key-specs/index.js';
import { rsaEncryptionOf, type RsaEncryptionAlgorithm, type RsaEncryptionSpec } from './key-specs/rsa.js';
import type { KeyRecord } from './model.js';

export type { RsaEncryptionAlgorithm } from './key-specs/rsa.js';

/** How `key` encrypts, when it is an asymmetric encryption key; undefined for every other key. */
export function asymmetricEncryptionOf(key: KeyRecord): RsaEncryptionSpec | undefined {
  return key.KeyUsage === 'ENCRYPT_DECRYPT' && familyOf(key.KeySpec) === rsaFamily ? rsaEncryptionOf(key.KeySpec) : undefined;
}

/**
 * The algorithm of a call with an asymmetric encryption key: it must be given and be one of the
 * key's (SYMMETRIC_DEFAULT, the default, is not), and no encryption context may come with it.
 * The key's state is the caller's to check first.
 */
export function requireAsymmetricAlgorithm(
  engine: Engine,
  key: KeyRecord,
  spec: RsaEncryptionSpec,
  algorithm: string | undefined,
  context: Record<string, string> | undefined,
): RsaEncryptionAlgorithm {
  if (algorithm === undefined || !(spec.algorithms as readonly string[]).includes(algorithm)) {
    throw new KmsError(
      'InvalidKeyUsageException',
      `The encryption algorithm ${algorithm ?? 'SYMMETRIC_DEFAULT'} is not compatible with the type of ${engine.keyArn(key.KeyId)}.`,
    );
  }
  // An empty map binds nothing: taken as none.
  if (context && Object.keys(context).length > 0) {
    throw new KmsError(
      'ValidationException',
      `An encryption context is not supported with ${engine.keyArn(key.KeyId)}: asymmetric KMS keys (${algorithm}) do not support an encryption context.`,
    );
  }
  return algorithm as RsaEncryptionAlgorithm;
}

/** AWS's plaintext limit of the algorithm and key spec (RSA_2048: 214 bytes with RSAES_OAEP_SHA_1, 190 with RSAES_OAEP_SHA_256, …). */
export function checkAsymmetricPlaintext(key: KeyRecord, spec: RsaEncryptionSpec, algorithm: RsaEncryptionAlgorithm, length: number): void {
  const max = spec.how[algorithm].maxPlaintextBytes;
  if (length > max) {
    throw new KmsError('ValidationException', `Algorithm ${algorithm} and key spec ${key.KeySpec} cannot encrypt data larger than ${max} bytes.`);
  }
}

/** RSA-OAEP encryption with the public key of the key's current version (the one GetPublicKey hands out). */
export async function encryptAsymmetric(
  engine: Engine,
  key: KeyRecord,
  spec: RsaEncryptionSpec,
  algorithm: RsaEncryptionAlgorithm,
  plaintext: Uint8Array,
): Promise<Uint8Array> {
  const m = engine.currentMaterialNow(key) ?? (await engine.currentMaterial(key));
  const pub = m.publicVariants?.[algorithm];
  if (!pub) throw new Error(`the current version of ${key.KeyId} has no ${algorithm} public key`);
  return new Uint8Array(await crypto.subtle.encrypt(spec.how[algorithm].params, pub, plaintext as BufferSource));
}

/** RSA-OAEP decryption with the private key of the key's current version (RSA keys do not rotate). */
export async function decryptAsymmetric(
  engine: Engine,
  key: KeyRecord,
  spec: RsaEncryptionSpec,
  algorithm: RsaEncryptionAlgorithm,
  ciphertext: Uint8Array,
): Promise<Uint8Array> {
  const m = engine.currentMaterialNow(key) ?? (await engine.currentMaterial(key));
  const priv = m.variants?.[algorithm];
  if (!priv) throw new Error(`the current version of ${key.KeyId} has no ${algorithm} private key`);
  try {
    return new Uint8Array(await crypto.subtle.decrypt(spec.how[algorithm].params, priv, ciphertext as BufferSource));
  } catch {
    // A wrong length, a changed block, another key's or another hash's ciphertext: all the same.
    throw invalidCiphertext();
  }
}
