/**
 * The bytes API of envelope encryption: a message held in memory whole, sealed or opened with
 * several chunks in flight, into a new buffer or the caller's (`into`), and the bound on a
 * message's length that sizes such a buffer.
 */
import type { KmsClient } from './client.js';
import { boundFor, openChunk, sealChunk } from './chunk-crypto.js';
import { pipeline } from './chunk-pipeline.js';
import { bad, chunkCount, decodeBodyHeader, decodeKeySection, encodeContext, TAG } from './envelope-format.js';
import { EnvelopeError } from './errors.js';
import { newOpener, type Decrypted } from './opener.js';
import { checkChunkSize, DEFAULT_CHUNK_SIZE, newSealer, type EncryptOptions, type Sealer } from './sealer.js';

/**
 * encryptBytes' chunk size for messages of LARGE_MESSAGE_BYTES or more when none is given: fewer,
 * larger WebCrypto calls (64 instead of 256 for 64 MiB; still 8 in flight), about a quarter less
 * time per byte on Node (bench/results.md, section 6). Such a message is in memory whole anyway;
 * decrypting it as a stream holds about two chunks (2 MiB).
 */
export const LARGE_MESSAGE_CHUNK_SIZE = 1 << 20;
export const LARGE_MESSAGE_BYTES = 1 << 24;

export interface EncryptBytesOptions extends EncryptOptions {
  /**
   * Seal into this buffer instead of a new one: at least `maxEncryptedLength(plaintext.length,
   * options)` bytes, not overlapping the plaintext. The message is returned as a view of its start
   * (the bytes after it are left as they were), and the next message sealed into the same buffer
   * overwrites it. Reusing one buffer for many large messages spares each message a fresh
   * allocation, which is most of the time of a 64 MB message on Node (bench/results.md, section 6).
   */
  into?: Uint8Array;
}

export interface DecryptBytesOptions {
  /**
   * Open into this buffer instead of a new one: at least as long as the plaintext (the message's
   * length always suffices), not overlapping the message. The plaintext is returned as a view of
   * its start; if the message fails to decrypt, that part of the buffer is zeroed.
   */
  into?: Uint8Array;
}

/** AWS's limits on what a GenerateDataKey answers: a key ARN of at most 2048 characters, a CiphertextBlob of at most 6144 bytes. */
const MAX_KEY_ID_BYTES = 2048;
const MAX_WRAPPED_KEY_BYTES = 6144;

/** The chunk size encryptBytes uses for a message of this length under these options (validated). */
const bytesChunkSize = (length: number, chunkSize: number | undefined) =>
  checkChunkSize(chunkSize ?? (length >= LARGE_MESSAGE_BYTES ? LARGE_MESSAGE_CHUNK_SIZE : DEFAULT_CHUNK_SIZE));

/**
 * The most bytes encryptBytes writes for a plaintext of `plaintextLength` bytes under these
 * options, whatever KMS key wraps its data key (within AWS's limits): the size of an `into` buffer.
 */
export function maxEncryptedLength(plaintextLength: number, o: Pick<EncryptOptions, 'chunkSize' | 'encryptionContext'> = {}): number {
  if (!Number.isSafeInteger(plaintextLength) || plaintextLength < 0) throw new EnvelopeError(`"plaintextLength" expected a byte count, got ${plaintextLength}`);
  const n = chunkCount(2, plaintextLength, bytesChunkSize(plaintextLength, o.chunkSize));
  return 8 + MAX_KEY_ID_BYTES + MAX_WRAPPED_KEY_BYTES + 29 + encodeContext(o.encryptionContext).length + plaintextLength + n * TAG;
}

export const INTO_BYTES_ONLY = '"into" is for Uint8Array input only';

/** Checks a caller's output buffer before anything is done: a Uint8Array of at least `need` bytes, apart from `input`. */
function checkInto(into: unknown, input: Uint8Array, need: number): Uint8Array {
  if (!(into instanceof Uint8Array)) throw new EnvelopeError('"into" expected a Uint8Array');
  if (into.length < need) throw new EnvelopeError(`"into" is ${into.length} bytes; ${need} needed`);
  if (into.buffer === input.buffer && into.byteOffset < input.byteOffset + input.byteLength && input.byteOffset < into.byteOffset + into.byteLength) {
    throw new EnvelopeError('"into" overlaps the input');
  }
  return into;
}

/** Seals bytes with a prepared sealer (the data key is already known), into a new buffer or `into`. */
export async function sealMessage(s: Sealer, plaintext: Uint8Array, into?: Uint8Array): Promise<Uint8Array> {
  const n = chunkCount(s.format, plaintext.length, s.chunkSize);
  const bodyStart = s.keySection.length + s.headerLength;
  const length = bodyStart + plaintext.length + n * TAG;
  // A KMS that answers beyond AWS's limits could make the message longer than maxEncryptedLength.
  if (into) checkInto(into, plaintext, length);
  let out!: Uint8Array;
  await pipeline(
    n,
    (i) =>
      sealChunk(s.key, i, i === n - 1, plaintext.subarray(i * s.chunkSize, Math.min(plaintext.length, (i + 1) * s.chunkSize)), boundFor(s.format, s.header, i)),
    (c, i) => out.set(c, bodyStart + i * (s.chunkSize + TAG)),
    // The output is allocated (zeroed, its pages touched) while the first chunks are sealed.
    () => {
      out = into ? into.subarray(0, length) : new Uint8Array(length);
      out.set(s.keySection);
    },
  );
  out.set(await s.bodyHeader, s.keySection.length);
  return out;
}

/** Encrypts bytes into one envelope message, in a new buffer or the caller's (`into`). */
export async function encryptBytes(kms: KmsClient, plaintext: Uint8Array, o: EncryptBytesOptions): Promise<Uint8Array> {
  const chunkSize = bytesChunkSize(plaintext.length, o.chunkSize);
  // Checked before anything is asked of KMS (or taken from the cache).
  if (o.into !== undefined) checkInto(o.into, plaintext, maxEncryptedLength(plaintext.length, { chunkSize, encryptionContext: o.encryptionContext }));
  return sealMessage(await newSealer(kms, chunkSize === o.chunkSize ? o : { ...o, chunkSize }, plaintext.length), plaintext, o.into);
}

/** Decrypts one envelope message held in memory, into a new buffer or the caller's (`into`). */
export async function decryptBytes(kms: KmsClient, message: Uint8Array, o: DecryptBytesOptions = {}): Promise<Decrypted & { plaintext: Uint8Array }> {
  const ks = decodeKeySection(message);
  const header = decodeBodyHeader(message.subarray(ks.length));
  if (!header) throw bad('truncated header');
  const body = message.subarray(ks.length + header.length);
  const full = header.chunkSize + TAG;
  // Chunk boundaries come from the chunk size alone; the last piece is the final chunk.
  const n = header.format === 2 ? Math.ceil(body.length / full) : Math.floor(body.length / full) + 1;
  const last = body.length - (n - 1) * full;
  if (n === 0 || last < TAG) throw bad('truncated: no final chunk');
  if (header.format === 2 && n > 1 && last === TAG) throw bad('empty final chunk after full chunks');
  const length = body.length - n * TAG;
  // Checked before KMS is asked for the data key.
  const into = o.into === undefined ? undefined : checkInto(o.into, message, length);
  const op = await newOpener(kms, ks, header);
  let out: Uint8Array | undefined;
  try {
    await pipeline(
      n,
      (i) => openChunk(op.key, i, i === n - 1, body.subarray(i * full, Math.min(body.length, (i + 1) * full)), boundFor(op.format, op.header, i)),
      (p, i) => out!.set(p, i * header.chunkSize),
      () => (out = into ? into.subarray(0, length) : new Uint8Array(length)),
    );
  } catch (e) {
    // Chunks authenticated before the one that failed were written: none of them is released.
    out?.fill(0);
    throw e;
  }
  return { plaintext: out!, encryptionContext: op.encryptionContext, keyId: op.keyId, keyMaterialId: op.keyMaterialId };
}
