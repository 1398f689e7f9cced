/**
 * Symmetric encryption under a KMS key: the part Encrypt, Decrypt, ReEncrypt and the
 * GenerateDataKey family share; Encrypt, Decrypt and ReEncrypt also take asymmetric encryption
 * keys (asymmetric-encryption.ts), chosen here. Every decryption failure becomes the same
 * InvalidCiphertextException; nothing about why reaches the caller.
 */
import {
  asymmetricEncryptionOf,
  checkAsymmetricPlaintext,
  decryptAsymmetric,
  encryptAsymmetric,
  requireAsymmetricAlgorithm,
  type RsaEncryptionAlgorithm,
} from './asymmetric-encryption.js';
import { openBlob, parseBlob, sealBlob } from './ciphertext.js';
import type { DecoyKey, Engine } from './engine.js';
import { invalidCiphertext, KmsError } from './errors.js';
import { symmetricFamily, familyOf } from './key-specs/index.js';
import type { KeyRecord } from './model.js';

export const ENCRYPTION_ALGORITHMS = ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE'] as const;

/** The algorithms Encrypt, Decrypt and ReEncrypt answer with. */
export type EncryptionAlgorithm = 'SYMMETRIC_DEFAULT' | RsaEncryptionAlgorithm;

export function requireEncryptKey(engine: Engine, key: KeyRecord, algorithm: string | undefined): void {
  engine.requireEnabled(key);
  if (key.KeyUsage !== 'ENCRYPT_DECRYPT' || familyOf(key.KeySpec) !== symmetricFamily) {
    throw new KmsError('InvalidKeyUsageException', `${engine.keyArn(key.KeyId)} key usage is ${key.KeyUsage} which is not valid for this operation.`);
  }
  if (algorithm !== undefined && algorithm !== 'SYMMETRIC_DEFAULT') {
    throw new KmsError('InvalidKeyUsageException', `The encryption algorithm ${algorithm} is not compatible with the type of ${engine.keyArn(key.KeyId)}.`);
  }
}

/**
 * For Encrypt, Decrypt and ReEncrypt, which take a symmetric key or an asymmetric encryption key:
 * the key's state, that the algorithm fits the key (an asymmetric key needs one of its own, and
 * takes no encryption context). The algorithm the call uses.
 */
export function requireCipherKey(
  engine: Engine,
  key: KeyRecord,
  algorithm: string | undefined,
  context: Record<string, string> | undefined,
): EncryptionAlgorithm {
  const asymmetric = asymmetricEncryptionOf(key);
  if (!asymmetric) {
    requireEncryptKey(engine, key, algorithm);
    return 'SYMMETRIC_DEFAULT';
  }
  engine.requireEnabled(key);
  return requireAsymmetricAlgorithm(engine, key, asymmetric, algorithm, context);
}

/** AWS's plaintext limit for an asymmetric key and algorithm (a symmetric key's, 4096 bytes, is the input's). */
export function checkPlaintextSize(key: KeyRecord, algorithm: EncryptionAlgorithm, length: number): void {
  const asymmetric = algorithm !== 'SYMMETRIC_DEFAULT' && asymmetricEncryptionOf(key);
  if (asymmetric) checkAsymmetricPlaintext(key, asymmetric, algorithm as RsaEncryptionAlgorithm, length);
}

/** Encrypts with the algorithm requireCipherKey answered: an edge-kms blob, or an asymmetric key's bare ciphertext. */
export function encryptWith(
  engine: Engine,
  key: KeyRecord,
  algorithm: EncryptionAlgorithm,
  plaintext: Uint8Array,
  context: Record<string, string> | undefined,
): Promise<Uint8Array> {
  if (algorithm === 'SYMMETRIC_DEFAULT') return encryptUnder(engine, key, plaintext, context);
  const asymmetric = asymmetricEncryptionOf(key);
  if (!asymmetric) throw new Error(`${key.KeyId} is not an asymmetric encryption key`);
  checkAsymmetricPlaintext(key, asymmetric, algorithm, plaintext.length);
  return encryptAsymmetric(engine, key, asymmetric, algorithm, plaintext);
}

/** Encrypts under the key's current key material version. */
export function encryptUnder(engine: Engine, key: KeyRecord, plaintext: Uint8Array, context: Record<string, string> | undefined): Promise<Uint8Array> {
  const ready = engine.currentMaterialNow(key);
  if (ready) return sealBlob(ready.key!, key.KeyId, key.CurrentVersion, plaintext, context, undefined, engine.crypto);
  return engine.currentMaterial(key).then((m) => sealBlob(m.key!, key.KeyId, key.CurrentVersion, plaintext, context, undefined, engine.crypto));
}

export interface Decrypted {
  key: KeyRecord;
  plaintext: Uint8Array;
  algorithm: EncryptionAlgorithm;
  /** The key material version's id: symmetric keys only (AWS answers KeyMaterialId only for them). */
  keyMaterialId?: string;
}

/**
 * Decrypts a blob. With `keyRef`, the blob must have been made under that key
 * (IncorrectKeyException otherwise). The key's state is checked before any decryption.
 * A ciphertext of an asymmetric key names no key: it is decrypted only when `keyRef` names that
 * key (and `algorithm` is the one it was made with); without `keyRef` it does not parse as an
 * edge-kms blob and fails as any other.
 */
export async function decryptBlob(
  engine: Engine,
  blob: Uint8Array,
  context: Record<string, string> | undefined,
  keyRef: string | undefined,
  algorithm: string | undefined,
  authorizeKey?: (key: KeyRecord) => void,
  caller?: { accountId: string },
): Promise<Decrypted> {
  const parsed = parseBlob(blob);
  let key: KeyRecord;
  // A ciphertext that names no key (or a version its key lacks) takes the same steps as a forged
  // ciphertext of a real key, on the engine's decoy key: the authorization and state checks
  // (their answers ignored), then an AES-GCM open that fails. The time taken is then no oracle for
  // which key ids and versions exist; bench/oracle.ts measures both side by side.
  let decoy: DecoyKey | undefined;
  if (keyRef !== undefined) {
    key = await engine.resolve(keyRef, { allowAlias: true, createAwsManaged: true, caller });
    const asymmetric = asymmetricEncryptionOf(key);
    if (asymmetric) {
      authorizeKey?.(key);
      engine.requireEnabled(key);
      const used = requireAsymmetricAlgorithm(engine, key, asymmetric, algorithm, context);
      return { key, plaintext: await decryptAsymmetric(engine, key, asymmetric, used, blob), algorithm: used };
    }
    if (!parsed) throw invalidCiphertext();
    if (parsed.keyId !== key.KeyId) {
      throw new KmsError('IncorrectKeyException', 'The key ID in the request does not identify a KMS key that can perform this operation.');
    }
  } else {
    if (!parsed) throw invalidCiphertext();
    const found = engine.findKey(parsed.keyId);
    const k = found instanceof Promise ? await found : found;
    if (k) key = k;
    else {
      const d = engine.decoyKey();
      decoy = d instanceof Promise ? await d : d;
      key = decoy.record;
    }
  }
  if (!decoy) {
    authorizeKey?.(key);
    requireEncryptKey(engine, key, algorithm);
  } else {
    try {
      authorizeKey?.(key);
      requireEncryptKey(engine, key, algorithm);
    } catch {
      // ignored: the answer is InvalidCiphertextException whatever a real key would have allowed
    }
  }
  if (!decoy && parsed.version > key.CurrentVersion) {
    const d = engine.decoyKey();
    decoy = d instanceof Promise ? await d : d;
  }
  // Usually one candidate; several only where racing writers of a store without compare-and-set
  // made more than one material under this version number (then a fresh read may find more).
  const tried = new Set<string>();
  for (const refresh of [false, true]) {
    const opened = decoy ? decoy.materials : refresh ? undefined : engine.materialsNow(key.KeyId, parsed.version);
    for (const m of opened ?? (await engine.materials(key, parsed.version, refresh))) {
      if (tried.has(m.keyMaterialId)) continue;
      tried.add(m.keyMaterialId);
      try {
        const plaintext = await openBlob(m.key!, parsed, context, engine.crypto);
        if (!decoy) return { key, plaintext, algorithm: 'SYMMETRIC_DEFAULT', keyMaterialId: m.keyMaterialId };
      } catch {
        // not this one
      }
    }
    if (decoy || !engine.store.getVersionCandidates) break;
  }
  throw invalidCiphertext();
}
