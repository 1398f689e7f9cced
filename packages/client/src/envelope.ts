/**
 * Envelope encryption (specified in docs/envelope-format.md, with known-answer vectors). Each
 * message gets a fresh data key from GenerateDataKey (or a cached one, within hard limits); the
 * body is cut into chunks, each sealed with AES-256-GCM with the chunk index as nonce and the index
 * and a final-chunk flag authenticated. Truncation, reordering, duplication and splicing chunks
 * between messages are detected, and a chunk's plaintext is never released before its tag is
 * checked.
 *
 * This module is the entry: `encrypt` and `decrypt` pick the bytes API or the streams API by the
 * input's type, and it exports the envelope surface. The jobs live a floor lower, imports running
 * down: envelope-bytes.ts and envelope-streams.ts (the two APIs) -> sealer.ts and opener.ts (one
 * message's keys and headers) -> data-key-cache.ts, chunk-pipeline.ts (the scheduler),
 * chunk-crypto.ts (message key, chunk AES-GCM) -> envelope-format.ts (the codec).
 */
import type { KmsClient } from './client.js';
import { decryptBytes, encryptBytes, INTO_BYTES_ONLY, type DecryptBytesOptions, type EncryptBytesOptions } from './envelope-bytes.js';
import { decryptStream, encryptStream } from './envelope-streams.js';
import { EnvelopeError } from './errors.js';
import type { Decrypted } from './opener.js';
import type { EncryptOptions } from './sealer.js';

export { messageKey } from './chunk-crypto.js';
export { createDataKeyCache, type DataKeyCache, type DataKeyCacheOptions } from './data-key-cache.js';
export {
  decryptBytes,
  encryptBytes,
  LARGE_MESSAGE_BYTES,
  LARGE_MESSAGE_CHUNK_SIZE,
  maxEncryptedLength,
  sealMessage,
  type DecryptBytesOptions,
  type EncryptBytesOptions,
} from './envelope-bytes.js';
export { decodeKeySection, encodeContext, encodeKeySection, joinMessage, splitMessage, type KeySection } from './envelope-format.js';
export { decryptStream, encryptStream } from './envelope-streams.js';
export type { Decrypted } from './opener.js';
export { DEFAULT_CHUNK_SIZE, prepareSealer, type EncryptOptions, type EnvelopeSuite, type Sealer } from './sealer.js';

/** Encrypt: bytes give bytes; a Blob (or File) gives a Blob; a ReadableStream gives a stream. */
export function encrypt(kms: KmsClient, plaintext: Uint8Array, o: EncryptBytesOptions): Promise<Uint8Array>;
export function encrypt(kms: KmsClient, plaintext: Blob, o: EncryptOptions): Promise<Blob>;
export function encrypt(kms: KmsClient, plaintext: ReadableStream<Uint8Array>, o: EncryptOptions): ReadableStream<Uint8Array>;
export function encrypt(kms: KmsClient, plaintext: Uint8Array | Blob | ReadableStream<Uint8Array>, o: EncryptBytesOptions): unknown {
  if (plaintext instanceof Uint8Array) return encryptBytes(kms, plaintext, o);
  if (o.into !== undefined) throw new EnvelopeError(INTO_BYTES_ONLY);
  if (typeof Blob !== 'undefined' && plaintext instanceof Blob) return new Response(encryptStream(kms, plaintext.stream(), o)).blob();
  return encryptStream(kms, plaintext as ReadableStream<Uint8Array>, o);
}

/** Decrypt: bytes give bytes; a Blob gives a Blob; a stream gives a stream (see decryptStream). */
export function decrypt(kms: KmsClient, message: Uint8Array, o?: DecryptBytesOptions): Promise<Decrypted & { plaintext: Uint8Array }>;
export function decrypt(kms: KmsClient, message: Blob): Promise<Decrypted & { plaintext: Blob }>;
export function decrypt(kms: KmsClient, message: ReadableStream<Uint8Array>): { stream: ReadableStream<Uint8Array>; info: Promise<Decrypted> };
export function decrypt(kms: KmsClient, message: Uint8Array | Blob | ReadableStream<Uint8Array>, o?: DecryptBytesOptions): unknown {
  if (message instanceof Uint8Array) return decryptBytes(kms, message, o);
  if (o?.into !== undefined) throw new EnvelopeError(INTO_BYTES_ONLY);
  if (typeof Blob !== 'undefined' && message instanceof Blob) {
    const { stream, info } = decryptStream(kms, message.stream());
    return Promise.all([new Response(stream).blob(), info]).then(([plaintext, d]) => ({ ...d, plaintext }));
  }
  return decryptStream(kms, message as ReadableStream<Uint8Array>);
}
