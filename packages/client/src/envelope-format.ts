/**
 * The envelope message format (specified in docs/envelope-format.md, with known-answer vectors):
 * its constants, the canonical encryption context encoding, and the codec of the key section and
 * the body header. Bytes in, bytes out; no crypto and no KMS.
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
import { EnvelopeError } from './errors.js';
import type { EncryptionContext } from './types.js';

export const MAX_CHUNK_SIZE = 1 << 26;
export const TAG = 16;
const KEY_MAGIC = [0x45, 0x4b, 0x45, 0x01];
const BODY_MAGIC = [0x45, 0x4b, 0x42];
/** Message key HKDF-SHA256(data key, salt = message id, info): for data keys that serve several messages. */
export const ALG_HKDF = 0x01;
/** Message key = the data key (format 2 only): for a data key that serves this message alone. */
export const ALG_DATA_KEY = 0x02;

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });
export const bad = (why: string) => new EnvelopeError(`Invalid envelope: ${why}`);

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

export interface BodyHeader {
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

export function encodeBodyHeader(format: 1 | 2, algorithm: number, chunkSize: number, messageId: Uint8Array, ctx: Uint8Array): Uint8Array {
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
export function decodeBodyHeader(b: Uint8Array): BodyHeader | undefined {
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

/**
 * Chunks of a `length`-byte plaintext: format 2 has ceil(length / chunk size) of them (one for an
 * empty message), the last one final; format 1 has floor(length / chunk size) full chunks and a
 * final one of the rest (empty when the chunk size divides the length).
 */
export function chunkCount(format: 1 | 2, length: number, chunkSize: number): number {
  return format === 2 ? Math.max(1, Math.ceil(length / chunkSize)) : Math.floor(length / chunkSize) + 1;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
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
