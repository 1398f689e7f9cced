/**
 * Envelope encryption (specified in docs/envelope-format.md, with known-answer vectors). Each
 * message gets a fresh data key from GenerateDataKey (or a cached one, within hard limits); the
 * body is cut into chunks, each sealed with AES-256-GCM with the chunk index as nonce and the index
 * and a final-chunk flag authenticated. Truncation, reordering, duplication and splicing chunks
 * between messages are detected, and a chunk's plaintext is never released before its tag is
 * checked.
 *
 *   key section   "EKE\x01" | u16 key id length | key id | u16 wrapped length | wrapped data key
 *   body header   "EKB" | format | algorithm | u32 chunk size | 16-byte message id
 *                 | u32 context length | encryption context (canonical encoding)
 *                 [| 16-byte header tag: format 1 only]
 *   chunks        format 2: full chunks of chunk size + 16 bytes, the last one (final) 1..chunk size
 *                 plaintext bytes + 16 (0 + 16 only for an empty message); chunk 0 authenticates
 *                 the body header. Format 1: full chunks, then a final chunk of 0..chunk size-1.
 *
 * Format 2 is written; format 1 (HKDF key, separate header tag) is still read. A data key used
 * for one message only is that message's AES key (algorithm 2); a data key that may serve several
 * messages (the cache) gives each message its own key, HKDF-SHA256(data key, message id)
 * (algorithm 1), so the index nonces never repeat under one key.
 *
 * The key section can be replaced (a namespace key change re-wraps the data key) without touching
 * a byte of the body.
 */
import type { KmsClient } from './client.js';
import { EnvelopeError } from './errors.js';
import type { EncryptionContext } from './types.js';

/** 256 KiB: small enough to keep streams lean, and a 1 MB message seals as 4 chunks in parallel. */
export const DEFAULT_CHUNK_SIZE = 1 << 18;
/**
 * encryptBytes' chunk size for messages of LARGE_MESSAGE_BYTES or more when none is given: fewer,
 * larger WebCrypto calls (64 instead of 256 for 64 MiB; still 8 in flight), about a quarter less
 * time per byte on Node (bench/results.md, section 6). Such a message is in memory whole anyway;
 * decrypting it as a stream holds about two chunks (2 MiB).
 */
export const LARGE_MESSAGE_CHUNK_SIZE = 1 << 20;
export const LARGE_MESSAGE_BYTES = 1 << 24;
const MAX_CHUNK_SIZE = 1 << 26;
const TAG = 16;
/** Chunks sealed or opened at once (WebCrypto runs them in parallel; memory stays bounded). */
const IN_FLIGHT = 8;
const KEY_MAGIC = [0x45, 0x4b, 0x45, 0x01];
const BODY_MAGIC = [0x45, 0x4b, 0x42];
/** Message key HKDF-SHA256(data key, salt = message id, info): for data keys that serve several messages. */
const ALG_HKDF = 0x01;
/** Message key = the data key (format 2 only): for a data key that serves this message alone. */
const ALG_DATA_KEY = 0x02;
const INFO = new TextEncoder().encode('edge-kms envelope v1');
const HEADER_IV = new Uint8Array(12).fill(0xff);

/** How a message is written: format 2 with either key, or format 1 (for its known-answer vectors). */
export type EnvelopeSuite = 'v2-data-key' | 'v2-hkdf' | 'v1';

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });
const bad = (why: string) => new EnvelopeError(`Invalid envelope: ${why}`);

/** UTF-8 of a context string; a lone surrogate (which UTF-8 would turn into U+FFFD) is refused. */
const utf8 = (s: string) => {
  if (/\p{Cs}/u.test(s)) throw bad('the encryption context has a lone surrogate');
  return enc.encode(s);
};

/** Canonical encryption context encoding (the same as the KMS ciphertext format's). */
export function encodeContext(ctx: EncryptionContext = {}): Uint8Array {
  const pairs = Object.keys(ctx)
    .map((k) => [utf8(k), utf8(ctx[k]!)] as const)
    .sort((a, b) => compare(a[0], b[0]));
  const out = new Uint8Array(4 + pairs.reduce((n, [k, v]) => n + 8 + k.length + v.length, 0));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, pairs.length);
  let o = 4;
  for (const [k, v] of pairs) {
    dv.setUint32(o, k.length);
    out.set(k, o + 4);
    o += 4 + k.length;
    dv.setUint32(o, v.length);
    out.set(v, o + 4);
    o += 4 + v.length;
  }
  return out;
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function decodeContext(b: Uint8Array): EncryptionContext {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ctx: EncryptionContext = {};
  let o = 4;
  try {
    for (let n = dv.getUint32(0); n > 0; n--) {
      const kl = dv.getUint32(o);
      if (o + 4 + kl > b.length) throw bad('encryption context');
      const k = dec.decode(b.subarray(o + 4, o + 4 + kl));
      o += 4 + kl;
      const vl = dv.getUint32(o);
      if (o + 4 + vl > b.length) throw bad('encryption context');
      ctx[k] = dec.decode(b.subarray(o + 4, o + 4 + vl));
      o += 4 + vl;
    }
  } catch (e) {
    // A length past the end (RangeError) or bytes that are not UTF-8 (TypeError): malformed.
    throw e instanceof EnvelopeError ? e : bad('encryption context');
  }
  if (o !== b.length) throw bad('encryption context');
  return ctx;
}

export interface KeySection {
  keyId: string;
  wrappedKey: Uint8Array;
}

export function encodeKeySection(s: KeySection): Uint8Array {
  const id = enc.encode(s.keyId);
  if (id.length > 0xffff || s.wrappedKey.length > 0xffff) throw bad('key section too large');
  const out = new Uint8Array(8 + id.length + s.wrappedKey.length);
  const dv = new DataView(out.buffer);
  out.set(KEY_MAGIC);
  dv.setUint16(4, id.length);
  out.set(id, 6);
  dv.setUint16(6 + id.length, s.wrappedKey.length);
  out.set(s.wrappedKey, 8 + id.length);
  return out;
}

/** Parses the key section at the start of a message; `length` is where the body starts. */
export function decodeKeySection(m: Uint8Array): KeySection & { length: number } {
  if (m.length < 8 || KEY_MAGIC.some((b, i) => m[i] !== b)) throw bad('not an edge-kms envelope message (format 1)');
  const dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
  const il = dv.getUint16(4);
  if (m.length < 8 + il) throw bad('truncated key section');
  let keyId: string;
  try {
    keyId = dec.decode(m.subarray(6, 6 + il));
  } catch {
    throw bad('key id is not UTF-8');
  }
  const wl = dv.getUint16(6 + il);
  if (m.length < 8 + il + wl) throw bad('truncated key section');
  return { keyId, wrappedKey: m.slice(8 + il, 8 + il + wl), length: 8 + il + wl };
}

interface BodyHeader {
  format: 1 | 2;
  algorithm: number;
  chunkSize: number;
  messageId: Uint8Array;
  context: EncryptionContext;
  /** Format 1: the header bytes covered by the tag. Format 2: the header, bound into chunk 0. */
  authenticated: Uint8Array;
  /** Format 1 only. */
  tag?: Uint8Array;
  length: number;
}

function encodeBodyHeader(format: 1 | 2, algorithm: number, chunkSize: number, messageId: Uint8Array, ctx: Uint8Array): Uint8Array {
  const out = new Uint8Array(29 + ctx.length);
  const dv = new DataView(out.buffer);
  out.set(BODY_MAGIC);
  out[3] = format;
  out[4] = algorithm;
  dv.setUint32(5, chunkSize);
  out.set(messageId, 9);
  dv.setUint32(25, ctx.length);
  out.set(ctx, 29);
  return out;
}

/** Parses a body header; undefined if more bytes are needed. */
function decodeBodyHeader(b: Uint8Array): BodyHeader | undefined {
  if (b.length < 29) return undefined;
  const format = b[3];
  const algorithm = b[4]!;
  const known = format === 1 ? algorithm === ALG_HKDF : format === 2 && (algorithm === ALG_HKDF || algorithm === ALG_DATA_KEY);
  if (BODY_MAGIC.some((x, i) => b[i] !== x) || !known) throw bad('unknown body format or algorithm');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const chunkSize = dv.getUint32(5);
  if (chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) throw bad('chunk size');
  const cl = dv.getUint32(25);
  if (cl > 1 << 20) throw bad('encryption context too large');
  const tagLength = format === 1 ? TAG : 0;
  if (b.length < 29 + cl + tagLength) return undefined;
  return {
    format: format as 1 | 2,
    algorithm,
    chunkSize,
    messageId: b.slice(9, 25),
    context: decodeContext(b.subarray(29, 29 + cl)),
    authenticated: b.slice(0, 29 + cl),
    tag: format === 1 ? b.slice(29 + cl, 29 + cl + TAG) : undefined,
    length: 29 + cl + tagLength,
  };
}

/** The per-message AES-256-GCM key of algorithm 1: HKDF-SHA256(data key, salt = message id). */
export async function messageKey(dataKey: Uint8Array, messageId: Uint8Array): Promise<CryptoKey> {
  const ikm = await crypto.subtle.importKey('raw', dataKey as BufferSource, 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: messageId as BufferSource, info: INFO },
    ikm,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

function keyFor(algorithm: number, dataKey: Uint8Array, messageId: Uint8Array): Promise<CryptoKey> {
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
const boundFor = (format: 1 | 2, header: Uint8Array, index: number) => (format === 2 && index === 0 ? header : undefined);

async function sealChunk(key: CryptoKey, index: number, final: boolean, plaintext: Uint8Array, bound?: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.encrypt(chunkParams(index, final, bound), key, plaintext as BufferSource));
}

async function openChunk(key: CryptoKey, index: number, final: boolean, sealed: Uint8Array, bound?: Uint8Array): Promise<Uint8Array> {
  try {
    return new Uint8Array(await crypto.subtle.decrypt(chunkParams(index, final, bound), key, sealed as BufferSource));
  } catch {
    throw bad(`chunk ${index} failed authentication (tampered, reordered, truncated or from another message)`);
  }
}

/**
 * Runs `count` chunk operations with up to IN_FLIGHT at once and hands each result to `take`, in
 * order, as soon as it and every earlier one are done. Later operations are started before a
 * result is taken, so WebCrypto always has work while results are copied.
 */
async function pipeline(
  count: number,
  start: (i: number) => Promise<Uint8Array>,
  take: (result: Uint8Array, i: number) => void,
  whileRunning?: () => void,
): Promise<void> {
  if (count === 1) {
    const only = start(0);
    only.catch(() => undefined);
    whileRunning?.();
    take(await only, 0);
    return;
  }
  const running: Promise<Uint8Array>[] = [];
  let next = 0;
  const launch = () => {
    const p = start(next++);
    p.catch(() => undefined); // a failure is reported once, by the await below
    running.push(p);
  };
  while (next < count && running.length < IN_FLIGHT) launch();
  whileRunning?.();
  for (let i = 0; i < count; i++) {
    const result = await running.shift()!;
    if (next < count) launch();
    take(result, i);
  }
}

// ---------------------------------------------------------------------------------------------
// Data keys, with optional caching under hard limits.

export interface DataKeyCacheOptions {
  /** How long a data key may be reused, ms. */
  maxAgeMs: number;
  /** Messages per data key. */
  maxMessages: number;
  /** Plaintext bytes per data key. */
  maxBytes: number;
  /** Entries kept (default 100). */
  capacity?: number;
}

interface CachedKey {
  keyId: string;
  plaintext: Uint8Array;
  wrapped: Uint8Array;
  created: number;
  messages: number;
  bytes: number;
}

export interface DataKeyCache {
  readonly options: DataKeyCacheOptions;
  /** Wipes every cached data key. */
  clear(): void;
  /** Entries currently held (for tests and metrics). */
  readonly size: number;
  /** @internal */
  take(id: string, bytes: number, now: number): CachedKey | undefined;
  /** @internal */
  put(id: string, entry: CachedKey): void;
}

export function createDataKeyCache(options: DataKeyCacheOptions): DataKeyCache {
  const entries = new Map<string, CachedKey>();
  const capacity = options.capacity ?? 100;
  const drop = (id: string) => {
    entries.get(id)?.plaintext.fill(0);
    entries.delete(id);
  };
  return {
    options,
    get size() {
      return entries.size;
    },
    clear() {
      for (const id of [...entries.keys()]) drop(id);
    },
    take(id, bytes, now) {
      const e = entries.get(id);
      if (!e) return undefined;
      if (now - e.created >= options.maxAgeMs || e.messages + 1 > options.maxMessages || e.bytes + bytes > options.maxBytes) {
        drop(id);
        return undefined;
      }
      e.messages++;
      e.bytes += bytes;
      return e;
    },
    put(id, entry) {
      if (entries.size >= capacity) drop(entries.keys().next().value!);
      entries.set(id, entry);
    },
  };
}

export interface EncryptOptions {
  keyId: string;
  encryptionContext?: EncryptionContext;
  chunkSize?: number;
  cache?: DataKeyCache;
}

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

function checkChunkSize(size: number): number {
  if (!Number.isInteger(size) || size < 1 || size > MAX_CHUNK_SIZE) throw new EnvelopeError(`"chunkSize" expected 1..${MAX_CHUNK_SIZE}, got ${size}`);
  return size;
}

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

const INTO_BYTES_ONLY = '"into" is for Uint8Array input only';

/** Checks a caller's output buffer before anything is done: a Uint8Array of at least `need` bytes, apart from `input`. */
function checkInto(into: unknown, input: Uint8Array, need: number): Uint8Array {
  if (!(into instanceof Uint8Array)) throw new EnvelopeError('"into" expected a Uint8Array');
  if (into.length < need) throw new EnvelopeError(`"into" is ${into.length} bytes; ${need} needed`);
  if (into.buffer === input.buffer && into.byteOffset < input.byteOffset + input.byteLength && input.byteOffset < into.byteOffset + into.byteLength) {
    throw new EnvelopeError('"into" overlaps the input');
  }
  return into;
}

export interface Sealer {
  format: 1 | 2;
  keySection: Uint8Array;
  /** The body header as written (format 1: with its tag; resolves once the tag is computed). */
  bodyHeader: Promise<Uint8Array>;
  /** Format 2: the header bytes chunk 0 authenticates. */
  header: Uint8Array;
  headerLength: number;
  chunkSize: number;
  key: CryptoKey;
}

async function newSealer(kms: KmsClient, o: EncryptOptions, knownLength: number | undefined): Promise<Sealer> {
  const chunkSize = checkChunkSize(o.chunkSize ?? DEFAULT_CHUNK_SIZE);
  const ctx = encodeContext(o.encryptionContext);
  // A stream of unknown length cannot be counted against a byte limit in advance: no cache.
  const cache = o.cache && knownLength !== undefined ? o.cache : undefined;
  const cacheId = cache ? `${o.keyId}\u0000${Array.from(ctx).join(',')}` : '';
  const cached = cache?.take(cacheId, knownLength!, Date.now());
  // A data key that may serve another message (it is or will be in the cache) never keys a
  // message itself: such messages use algorithm 1 (HKDF with the message id).
  const shared = cached !== undefined || (cache !== undefined && knownLength! <= cache.options.maxBytes && cache.options.maxMessages >= 1);
  const generated = cached ? undefined : kms.generateDataKey({ KeyId: o.keyId, KeySpec: 'AES_256', EncryptionContext: o.encryptionContext });
  // While KMS makes the data key: everything that does not depend on it.
  const algorithm = shared ? ALG_HKDF : ALG_DATA_KEY;
  const messageId = crypto.getRandomValues(new Uint8Array(16));
  const header = encodeBodyHeader(2, algorithm, chunkSize, messageId, ctx);
  let dk: { keyId: string; plaintext: Uint8Array; wrapped: Uint8Array };
  if (cached) {
    dk = { keyId: cached.keyId, plaintext: cached.plaintext, wrapped: cached.wrapped };
  } else {
    const out = await generated!;
    dk = { keyId: out.KeyId, plaintext: out.Plaintext, wrapped: out.CiphertextBlob };
    if (shared) cache!.put(cacheId, { keyId: out.KeyId, plaintext: out.Plaintext, wrapped: out.CiphertextBlob, created: Date.now(), messages: 1, bytes: knownLength! });
  }
  try {
    return sealerOf(2, { keyId: dk.keyId, wrappedKey: dk.wrapped }, header, chunkSize, await keyFor(algorithm, dk.plaintext, messageId));
  } finally {
    if (!shared) dk.plaintext.fill(0);
  }
}

/** Everything but the KMS call: deterministic given the data key and message id (known-answer tests). */
export async function prepareSealer(
  section: KeySection,
  dataKey: Uint8Array,
  messageId: Uint8Array,
  chunkSize: number,
  context: EncryptionContext | undefined,
  suite: EnvelopeSuite = 'v2-data-key',
): Promise<Sealer> {
  const format = suite === 'v1' ? 1 : 2;
  const algorithm = suite === 'v2-data-key' ? ALG_DATA_KEY : ALG_HKDF;
  const key = await keyFor(algorithm, dataKey, messageId);
  return sealerOf(format, section, encodeBodyHeader(format, algorithm, chunkSize, messageId, encodeContext(context)), chunkSize, key);
}

function sealerOf(format: 1 | 2, section: KeySection, header: Uint8Array, chunkSize: number, key: CryptoKey): Sealer {
  const keySection = encodeKeySection(section);
  if (format === 2) return { format, keySection, bodyHeader: Promise.resolve(header), header, headerLength: header.length, chunkSize, key };
  // Format 1's header tag is not awaited here: it is computed while the first chunks are sealed.
  const bodyHeader = crypto.subtle
    .encrypt({ name: 'AES-GCM', iv: HEADER_IV, additionalData: header as BufferSource }, key, new Uint8Array(0))
    .then((tag) => concatBytes(header, new Uint8Array(tag)));
  bodyHeader.catch(() => undefined);
  return { format, keySection, bodyHeader, header, headerLength: header.length + TAG, chunkSize, key };
}

/**
 * Chunks of a `length`-byte plaintext: format 2 has ceil(length / chunk size) of them (one for an
 * empty message), the last one final; format 1 has floor(length / chunk size) full chunks and a
 * final one of the rest (empty when the chunk size divides the length).
 */
function chunkCount(format: 1 | 2, length: number, chunkSize: number): number {
  return format === 2 ? Math.max(1, Math.ceil(length / chunkSize)) : Math.floor(length / chunkSize) + 1;
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
    (i) => sealChunk(s.key, i, i === n - 1, plaintext.subarray(i * s.chunkSize, Math.min(plaintext.length, (i + 1) * s.chunkSize)), boundFor(s.format, s.header, i)),
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

/** Buffers a byte stream into exact-size pieces without holding more than one piece. */
class Reader {
  private pending: Uint8Array[] = [];
  private have = 0;
  private done = false;
  constructor(private readonly source: ReadableStreamDefaultReader<Uint8Array>) {}

  private async fill(n: number): Promise<void> {
    while (this.have < n && !this.done) {
      const r = await this.source.read();
      if (r.done) this.done = true;
      else if (r.value.length) {
        this.pending.push(r.value);
        this.have += r.value.length;
      }
    }
  }

  /**
   * Up to n bytes (fewer only at the end of the stream), in a new buffer or at the start of `into`
   * (at least n bytes long), which the caller then reuses for the next read.
   */
  async read(n: number, into?: Uint8Array): Promise<Uint8Array> {
    await this.fill(n);
    const take = Math.min(n, this.have);
    const out = into ? into.subarray(0, take) : new Uint8Array(take);
    let o = 0;
    while (o < take) {
      const head = this.pending[0]!;
      const k = Math.min(head.length, take - o);
      out.set(head.subarray(0, k), o);
      o += k;
      if (k === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(k);
    }
    this.have -= take;
    return out;
  }

  /** Whether the stream has no byte left (reads ahead by at most one piece of the source). */
  async atEnd(): Promise<boolean> {
    await this.fill(1);
    return this.have === 0;
  }

  cancel(reason?: unknown): Promise<void> {
    return this.source.cancel(reason);
  }
}

/** Encrypts a stream of any length with bounded memory (about two chunks). */
export function encryptStream(kms: KmsClient, source: ReadableStream<Uint8Array>, o: EncryptOptions): ReadableStream<Uint8Array> {
  const reader = new Reader(source.getReader());
  let sealer: Sealer | undefined;
  let index = 0;
  let finished = false;
  // Every chunk's plaintext is gathered into this one buffer, wiped and reused once its chunk is
  // sealed (one chunk at a time): a stream leaves only the sealed chunks to the GC, not also a
  // copy of each plaintext chunk.
  let scratch: Uint8Array | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!sealer) {
          sealer = await newSealer(kms, o, undefined);
          controller.enqueue(concatBytes(sealer.keySection, await sealer.bodyHeader));
          return;
        }
        if (finished) return controller.close();
        scratch ??= new Uint8Array(sealer.chunkSize);
        const part = await reader.read(sealer.chunkSize, scratch);
        // The final chunk is the last one: a full piece is final when nothing follows it.
        const final = part.length < sealer.chunkSize || (await reader.atEnd());
        const i = index++;
        controller.enqueue(await sealChunk(sealer.key, i, final, part, boundFor(sealer.format, sealer.header, i)));
        part.fill(0);
        if (final) {
          finished = true;
          controller.close();
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 1 },
  );
}

export interface Decrypted {
  encryptionContext: EncryptionContext;
  /** The KMS key that unwrapped the data key, and its key material version. */
  keyId: string;
  keyMaterialId?: string;
}

interface Opener extends Decrypted {
  key: CryptoKey;
  format: 1 | 2;
  header: Uint8Array;
  chunkSize: number;
}

async function newOpener(kms: KmsClient, ks: KeySection, header: BodyHeader): Promise<Opener> {
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
  return { key, format: header.format, header: header.authenticated, chunkSize: header.chunkSize, encryptionContext: header.context, keyId: out.KeyId, keyMaterialId: out.KeyMaterialId };
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

/**
 * Decrypts a stream with bounded memory. `info` resolves once the header is authenticated (format
 * 2: with chunk 0); each chunk's plaintext is released only after that chunk's tag is verified,
 * and a stream that ends without its final chunk errors.
 */
export function decryptStream(kms: KmsClient, source: ReadableStream<Uint8Array>): { stream: ReadableStream<Uint8Array>; info: Promise<Decrypted> } {
  const reader = new Reader(source.getReader());
  let opener: Opener | undefined;
  let index = 0;
  /** Each sealed chunk is read into this one buffer, reused once the chunk is opened. */
  let scratch: Uint8Array | undefined;
  let resolveInfo!: (d: Decrypted) => void;
  let rejectInfo!: (e: unknown) => void;
  const info = new Promise<Decrypted>((res, rej) => {
    resolveInfo = res;
    rejectInfo = rej;
  });
  info.catch(() => undefined);
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          if (!opener) {
            const fixed = await reader.read(6);
            if (fixed.length < 6) throw bad('truncated key section');
            const il = new DataView(fixed.buffer).getUint16(4);
            const idAndLen = await reader.read(il + 2);
            if (idAndLen.length < il + 2) throw bad('truncated key section');
            const wl = new DataView(idAndLen.buffer).getUint16(il);
            const wrapped = await reader.read(wl);
            const ks = decodeKeySection(concatBytes(fixed, idAndLen, wrapped));
            const fixedHeader = await reader.read(29);
            const cl = fixedHeader.length === 29 ? new DataView(fixedHeader.buffer).getUint32(25) : 0;
            if (cl > 1 << 20) throw bad('encryption context too large');
            const tagLength = fixedHeader[3] === 1 ? TAG : 0;
            const header = decodeBodyHeader(concatBytes(fixedHeader, await reader.read(cl + tagLength)));
            if (!header) throw bad('truncated header');
            opener = await newOpener(kms, ks, header);
            if (opener.format === 1) resolveInfo(opener);
          }
          const full = opener.chunkSize + TAG;
          scratch ??= new Uint8Array(full);
          const sealed = await reader.read(full, scratch);
          // Format 1: the first short piece is the final chunk. Format 2: the last piece is, and a
          // full piece is final when nothing follows it.
          const final = sealed.length < full || (opener.format === 2 && (await reader.atEnd()));
          if (final && sealed.length < TAG) throw bad('truncated: no final chunk');
          if (opener.format === 2 && final && index > 0 && sealed.length === TAG) throw bad('empty final chunk after full chunks');
          const i = index++;
          const plaintext = await openChunk(opener.key, i, final, sealed, boundFor(opener.format, opener.header, i));
          if (opener.format === 2 && i === 0) resolveInfo(opener);
          controller.enqueue(plaintext);
          // A short read only happens at the end of the stream, so nothing can follow a final chunk;
          // bytes appended to a message land in a chunk and fail its authentication.
          if (final) controller.close();
        } catch (e) {
          rejectInfo(e);
          controller.error(e);
          await reader.cancel(e).catch(() => undefined);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 1 },
  );
  return { stream, info };
}

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Splits a message into its replaceable key section and its immutable body. */
export function splitMessage(message: Uint8Array): KeySection & { body: Uint8Array } {
  const ks = decodeKeySection(message);
  return { keyId: ks.keyId, wrappedKey: ks.wrappedKey, body: message.subarray(ks.length) };
}

export function joinMessage(section: KeySection, body: Uint8Array): Uint8Array {
  return concatBytes(encodeKeySection(section), body);
}

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
