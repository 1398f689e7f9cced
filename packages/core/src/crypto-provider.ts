/**
 * The primitives on the hot path, behind one small interface. The default is WebCrypto, which
 * runs everywhere. A runtime may inject a faster implementation of the same primitives over the
 * same CryptoKeys: on Node every crypto.subtle call is a hop to a worker thread that costs more
 * than the AES itself, so the Node server injects node:crypto (@edge-kms/node). Keys stay
 * non-extractable CryptoKeys either way.
 */

type MaybePromise<T> = T | Promise<T>;

export interface CryptoProvider {
  /** AES-256-GCM with a 128-bit tag; returns ciphertext followed by the tag. */
  aesGcmEncrypt(key: CryptoKey, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): MaybePromise<Uint8Array>;
  /** Throws when the tag does not verify. */
  aesGcmDecrypt(key: CryptoKey, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): MaybePromise<Uint8Array>;
  sha256(data: Uint8Array): MaybePromise<Uint8Array>;
  /** HMAC-SHA256 under an HMAC CryptoKey. */
  hmacSha256(key: CryptoKey, data: Uint8Array): MaybePromise<Uint8Array>;
}

export const webCryptoProvider: CryptoProvider = {
  async aesGcmEncrypt(key, iv, aad, plaintext) {
    return new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: iv as BufferSource, additionalData: aad as BufferSource }, key, plaintext as BufferSource));
  },
  async aesGcmDecrypt(key, iv, aad, sealed) {
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: iv as BufferSource, additionalData: aad as BufferSource }, key, sealed as BufferSource));
  },
  async sha256(data) {
    return new Uint8Array(await crypto.subtle.digest('SHA-256', data as BufferSource));
  },
  async hmacSha256(key, data) {
    return new Uint8Array(await crypto.subtle.sign('HMAC', key, data as BufferSource));
  },
};
