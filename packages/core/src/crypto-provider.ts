/**
 * The primitives on the hot path, behind one small interface. The default is WebCrypto, which
 * runs everywhere. A runtime may inject a faster implementation of the same primitives over the
 * same CryptoKeys: on Node every crypto.subtle call is a hop to a worker thread that costs more
 * than the AES itself, so the Node server injects node:crypto (@edge-kms/node). Keys stay
 * non-extractable CryptoKeys either way.
 */

import { toHex, utf8 } from './bytes.js';

type MaybePromise<T> = T | Promise<T>;

/** WebCrypto's sign/verify parameters of the algorithms KMS keys use. */
export type SignParams = AlgorithmIdentifier | EcdsaParams | RsaPssParams;

export interface CryptoProvider {
  /** AES-256-GCM with a 128-bit tag; returns ciphertext followed by the tag. */
  aesGcmEncrypt(key: CryptoKey, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): MaybePromise<Uint8Array>;
  /** Throws when the tag does not verify. */
  aesGcmDecrypt(key: CryptoKey, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): MaybePromise<Uint8Array>;
  /** SHA-256 as lowercase hex; a string is hashed as its UTF-8 bytes. */
  sha256Hex(data: Uint8Array | string): MaybePromise<string>;
  /** HMAC-SHA256 under an HMAC CryptoKey, as lowercase hex; a string is signed as its UTF-8 bytes. */
  hmacSha256Hex(key: CryptoKey, data: Uint8Array | string): MaybePromise<string>;
  /**
   * crypto.subtle.sign's answer, the same bytes (ECDSA as r ‖ s; Ed25519; RSA; HMAC), for the
   * Sign and GenerateMac operations. Optional: without it the core calls crypto.subtle.sign.
   */
  sign?(params: SignParams, key: CryptoKey, data: Uint8Array): MaybePromise<Uint8Array>;
  /** crypto.subtle.verify's answer (ECDSA signatures as r ‖ s); HMAC compared in constant time. Optional, as sign. */
  verify?(params: SignParams, key: CryptoKey, signature: Uint8Array, data: Uint8Array): MaybePromise<boolean>;
  /**
   * The raw RSA private-key operation (RSASP1 of RFC 8017 §5.2.1, m^d mod n) on a block as long as
   * the modulus, big-endian and less than n, under an RSA private CryptoKey of either WebCrypto kind
   * (RSASSA-PKCS1-v1_5 or RSA-PSS, any hash: the binding is ignored); returns a block as long as the
   * modulus. Optional: it must be constant-time and blinded, so it is never written by hand, and
   * WebCrypto has none (webCryptoProvider lacks it). Without it, Sign of a DIGEST with an RSA key is
   * refused (key-specs/rsa-digest.ts). Throws when the block is not as long as the modulus or is ≥ n.
   */
  rsaPrivateRaw?(key: CryptoKey, block: Uint8Array): MaybePromise<Uint8Array>;
}

const bytesOf = (data: Uint8Array | string): Uint8Array => (typeof data === 'string' ? utf8(data) : data);

export const webCryptoProvider: CryptoProvider = {
  async aesGcmEncrypt(key, iv, aad, plaintext) {
    return new Uint8Array(
      await crypto.subtle.encrypt({ name: 'AES-GCM', iv: iv as BufferSource, additionalData: aad as BufferSource }, key, plaintext as BufferSource),
    );
  },
  async aesGcmDecrypt(key, iv, aad, sealed) {
    return new Uint8Array(
      await crypto.subtle.decrypt({ name: 'AES-GCM', iv: iv as BufferSource, additionalData: aad as BufferSource }, key, sealed as BufferSource),
    );
  },
  async sha256Hex(data) {
    return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytesOf(data) as BufferSource)));
  },
  async hmacSha256Hex(key, data) {
    return toHex(new Uint8Array(await crypto.subtle.sign('HMAC', key, bytesOf(data) as BufferSource)));
  },
};

/** Signs through the provider's sign, else WebCrypto. */
export function signWith(provider: CryptoProvider, params: SignParams, key: CryptoKey, data: Uint8Array): MaybePromise<Uint8Array> {
  if (provider.sign) return provider.sign(params, key, data);
  return crypto.subtle.sign(params, key, data as BufferSource).then((b) => new Uint8Array(b));
}

/** Verifies through the provider's verify, else WebCrypto. */
export function verifyWith(provider: CryptoProvider, params: SignParams, key: CryptoKey, signature: Uint8Array, data: Uint8Array): MaybePromise<boolean> {
  if (provider.verify) return provider.verify(params, key, signature, data);
  return crypto.subtle.verify(params, key, signature as BufferSource, data as BufferSource);
}

let inFlight = 0;

/**
 * How many KMS operations this process (this global scope) is running right now: a provider that
 * can work synchronously may do so for one, and hand work to threads when there are several.
 */
export function operationsInFlight(): number {
  return inFlight;
}

/** kms.execute counts each operation while it runs. */
export function operationStarted(): void {
  inFlight++;
}

export function operationEnded(): void {
  inFlight--;
}
