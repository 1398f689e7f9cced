/**
 * The AES-256-GCM of an envelope message: its message key (the data key itself, or HKDF-SHA256 of
 * it with the message id), and sealing and opening one chunk with the chunk index as nonce and the
 * index and the final-chunk flag (and, in format 2's chunk 0, the body header) authenticated.
 */
import { ALG_HKDF, bad } from './envelope-format.js';

const INFO = new TextEncoder().encode('edge-kms envelope v1');
/** Format 1's header tag: an empty AES-GCM encryption under this nonce, the header as additional data. */
export const HEADER_IV = new Uint8Array(12).fill(0xff);

/** The per-message AES-256-GCM key of algorithm 1: HKDF-SHA256(data key, salt = message id). */
export async function messageKey(dataKey: Uint8Array, messageId: Uint8Array): Promise<CryptoKey> {
  const ikm = await crypto.subtle.importKey('raw', dataKey as BufferSource, 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: messageId as BufferSource, info: INFO }, ikm, { name: 'AES-GCM', length: 256 }, false, [
    'encrypt',
    'decrypt',
  ]);
}

export function keyFor(algorithm: number, dataKey: Uint8Array, messageId: Uint8Array): Promise<CryptoKey> {
  return algorithm === ALG_HKDF
    ? messageKey(dataKey, messageId)
    : crypto.subtle.importKey('raw', dataKey as BufferSource, 'AES-GCM', false, ['encrypt', 'decrypt']);
}

/**
 * Nonce 00000000 | u64(index); additional data u64(index) | final flag, followed in format 2's
 * chunk 0 by the body header (`bound`).
 */
function chunkParams(index: number, final: boolean, bound?: Uint8Array): AesGcmParams {
  const iv = new Uint8Array(12);
  const aad = new Uint8Array(9 + (bound?.length ?? 0));
  const hi = Math.floor(index / 2 ** 32);
  new DataView(iv.buffer).setUint32(4, hi);
  new DataView(iv.buffer).setUint32(8, index >>> 0);
  aad.set(iv.subarray(4), 0);
  aad[8] = final ? 1 : 0;
  if (bound) aad.set(bound, 9);
  return { name: 'AES-GCM', iv, additionalData: aad };
}

/** What chunk `index` binds besides its position: format 2's chunk 0 binds the body header. */
export const boundFor = (format: 1 | 2, header: Uint8Array, index: number) => (format === 2 && index === 0 ? header : undefined);

export async function sealChunk(key: CryptoKey, index: number, final: boolean, plaintext: Uint8Array, bound?: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.encrypt(chunkParams(index, final, bound), key, plaintext as BufferSource));
}

export async function openChunk(key: CryptoKey, index: number, final: boolean, sealed: Uint8Array, bound?: Uint8Array): Promise<Uint8Array> {
  try {
    return new Uint8Array(await crypto.subtle.decrypt(chunkParams(index, final, bound), key, sealed as BufferSource));
  } catch {
    throw bad(`chunk ${index} failed authentication (tampered, reordered, truncated or from another message)`);
  }
}
