/**
 * The core's hot-path primitives on node:crypto. On Node every crypto.subtle call is handed to a
 * worker thread, and for the small inputs of KMS requests (a data key, a 4 KB plaintext, a
 * canonical request) that hand-off costs more than the work. node:crypto does the same AES-GCM,
 * SHA-256 and HMAC synchronously, on the same non-extractable CryptoKeys (KeyObject.from reads a
 * CryptoKey without making it extractable). The bytes produced are identical (tests check it).
 */
import * as nodeCrypto from 'node:crypto';
import { createCipheriv, createDecipheriv, createHash, createHmac, KeyObject, type BinaryLike } from 'node:crypto';
import type { CryptoProvider } from '@edge-kms/core';

const TAG = 16;

// crypto.hash (Node >= 20.12) is the one-shot digest, with no Hash object per call.
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: BinaryLike, encoding: 'hex') => string }).hash;
const sha256Hex = oneShot ? (data: BinaryLike) => oneShot('sha256', data, 'hex') : (data: BinaryLike) => createHash('sha256').update(data).digest('hex');

export function createNodeCryptoProvider(): CryptoProvider {
  const keys = new WeakMap<CryptoKey, KeyObject>();
  const keyObject = (key: CryptoKey): KeyObject => {
    let k = keys.get(key);
    if (!k) keys.set(key, (k = KeyObject.from(key)));
    return k;
  };
  const aes = (key: KeyObject) => `aes-${key.symmetricKeySize! * 8}-gcm` as const;
  return {
    aesGcmEncrypt(key, iv, aad, plaintext) {
      const k = keyObject(key);
      const c = createCipheriv(aes(k) as 'aes-256-gcm', k, iv, { authTagLength: TAG });
      c.setAAD(aad);
      const head = c.update(plaintext);
      const tail = c.final();
      const tag = c.getAuthTag();
      const out = new Uint8Array(head.length + tail.length + TAG);
      out.set(head, 0);
      out.set(tail, head.length);
      out.set(tag, head.length + tail.length);
      return out;
    },
    aesGcmDecrypt(key, iv, aad, sealed) {
      if (sealed.length < TAG) throw new Error('ciphertext too short');
      const k = keyObject(key);
      const d = createDecipheriv(aes(k) as 'aes-256-gcm', k, iv, { authTagLength: TAG });
      d.setAAD(aad);
      d.setAuthTag(sealed.subarray(sealed.length - TAG));
      const head = d.update(sealed.subarray(0, sealed.length - TAG));
      const tail = d.final(); // throws when the tag does not verify
      const out = new Uint8Array(head.length + tail.length);
      out.set(head, 0);
      out.set(tail, head.length);
      return out;
    },
    sha256Hex,
    hmacSha256Hex: (key, data) => createHmac('sha256', keyObject(key)).update(data).digest('hex'),
  };
}
