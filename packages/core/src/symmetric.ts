/**
 * Symmetric encryption under a KMS key: the part Encrypt, Decrypt, ReEncrypt and the
 * GenerateDataKey family share. Every decryption failure becomes the same
 * InvalidCiphertextException; nothing about why reaches the caller.
 */
import { openBlob, parseBlob, sealBlob } from './ciphertext.js';
import type { DecoyKey, Engine } from './engine.js';
import { invalidCiphertext, KmsError } from './errors.js';
import { symmetricFamily, familyOf } from './key-specs/index.js';
import type { KeyRecord } from './model.js';

export const ENCRYPTION_ALGORITHMS = ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE'] as const;

export function requireEncryptKey(engine: Engine, key: KeyRecord, algorithm: string | undefined): void {
  engine.requireEnabled(key);
  if (key.KeyUsage !== 'ENCRYPT_DECRYPT' || familyOf(key.KeySpec) !== symmetricFamily) {
    throw new KmsError('InvalidKeyUsageException', `${engine.keyArn(key.KeyId)} key usage is ${key.KeyUsage} which is not valid for this operation.`);
  }
  if (algorithm !== undefined && algorithm !== 'SYMMETRIC_DEFAULT') {
    throw new KmsError('InvalidKeyUsageException', `The encryption algorithm ${algorithm} is not compatible with the type of ${engine.keyArn(key.KeyId)}.`);
  }
}

/** Encrypts under the key's current key material version. */
export function encryptUnder(engine: Engine, key: KeyRecord, plaintext: Uint8Array, context: Record<string, string> | undefined): Promise<Uint8Array> {
  const ready = engine.currentMaterialNow(key);
  if (ready) return sealBlob(ready.key, key.KeyId, key.CurrentVersion, plaintext, context, undefined, engine.crypto);
  return engine.currentMaterial(key).then((m) => sealBlob(m.key, key.KeyId, key.CurrentVersion, plaintext, context, undefined, engine.crypto));
}

export interface Decrypted {
  key: KeyRecord;
  plaintext: Uint8Array;
  keyMaterialId: string;
}

/**
 * Decrypts a blob. With `keyRef`, the blob must have been made under that key
 * (IncorrectKeyException otherwise). The key's state is checked before any decryption.
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
        const plaintext = await openBlob(m.key, parsed, context, engine.crypto);
        if (!decoy) return { key, plaintext, keyMaterialId: m.keyMaterialId };
      } catch {
        // not this one
      }
    }
    if (decoy || !engine.store.getVersionCandidates) break;
  }
  throw invalidCiphertext();
}
