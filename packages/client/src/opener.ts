/**
 * The opening side of one envelope message before any chunk is opened: KMS unwraps its data key,
 * the message key is made from it (and the data key wiped), and a format 1 header tag is checked.
 * Shared by the bytes API and the streams API.
 */
import type { KmsClient } from './client.js';
import { HEADER_IV, keyFor } from './chunk-crypto.js';
import { bad, type BodyHeader, type KeySection } from './envelope-format.js';
import type { EncryptionContext } from './types.js';

export interface Decrypted {
  encryptionContext: EncryptionContext;
  /** The KMS key that unwrapped the data key, and its key material version. */
  keyId: string;
  keyMaterialId?: string;
}

export interface Opener extends Decrypted {
  key: CryptoKey;
  format: 1 | 2;
  header: Uint8Array;
  chunkSize: number;
}

export async function newOpener(kms: KmsClient, ks: KeySection, header: BodyHeader): Promise<Opener> {
  const out = await kms.decrypt({ CiphertextBlob: ks.wrappedKey, EncryptionContext: header.context, KeyId: ks.keyId });
  let key: CryptoKey;
  try {
    key = await keyFor(header.algorithm, out.Plaintext, header.messageId);
  } finally {
    out.Plaintext.fill(0);
  }
  if (header.format === 1) {
    try {
      await crypto.subtle.decrypt({ name: 'AES-GCM', iv: HEADER_IV, additionalData: header.authenticated as BufferSource }, key, header.tag as BufferSource);
    } catch {
      throw bad('header failed authentication');
    }
  }
  return {
    key,
    format: header.format,
    header: header.authenticated,
    chunkSize: header.chunkSize,
    encryptionContext: header.context,
    keyId: out.KeyId,
    keyMaterialId: out.KeyMaterialId,
  };
}
