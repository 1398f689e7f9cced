/**
 * Byte helpers: base64 (the only place the wire encoding lives), hex, UTF-8, concatenation,
 * constant-time comparison and zeroing. Web APIs only.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

type Base64Native = {
  fromBase64?: (s: string) => Uint8Array;
};
type Base64NativeProto = { toBase64?: () => string };

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

const LONE_SURROGATE = /\p{Cs}/u;
const nativeWellFormed = (String.prototype as { isWellFormed?: () => boolean }).isWellFormed;

/**
 * Is `s` well-formed UTF-16 (no lone surrogate)? A lone surrogate has no UTF-8 encoding:
 * TextEncoder writes U+FFFD for it, so "\ud800", "\udfff" and "\ufffd" would become the same bytes.
 */
export function isWellFormed(s: string): boolean {
  return nativeWellFormed ? nativeWellFormed.call(s) : !LONE_SURROGATE.test(s);
}

/** Decodes UTF-8 strictly; throws TypeError on malformed input. */
export function fromUtf8(b: Uint8Array): string {
  return decoder.decode(b);
}

const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard base64 with padding, as AWS JSON 1.1 uses for blobs. */
export function toBase64(bytes: Uint8Array): string {
  const native = (bytes as unknown as Base64NativeProto).toBase64;
  if (typeof native === 'function') return native.call(bytes);
  let out = '';
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK) as unknown as number[]);
  }
  return btoa(out);
}

/** Strict base64 decode; returns undefined when the input is not canonical base64. */
export function fromBase64(s: string): Uint8Array | undefined {
  if (s.length % 4 !== 0 || !B64_RE.test(s)) return undefined;
  const native = (Uint8Array as unknown as Base64Native).fromBase64;
  if (typeof native === 'function') {
    try {
      return native(s);
    } catch {
      return undefined;
    }
  }
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** base64url without padding (RFC 4648 §5), for opaque tokens: paging markers, grant tokens. */
export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** base64url decode (padding optional; standard base64 is read too); undefined when it is neither. */
export function fromBase64Url(s: string): Uint8Array | undefined {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/');
  return fromBase64(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!];
  return s;
}

export function fromHex(s: string): Uint8Array | undefined {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) return undefined;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Compares two byte arrays in time that depends only on their lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Compares two strings (hex digests) in time that depends only on their lengths. */
export function constantTimeEqualStrings(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Overwrites a secret with zeros once it is no longer needed. */
export function wipe(...buffers: (Uint8Array | undefined)[]): void {
  for (const b of buffers) b?.fill(0);
}

export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  // getRandomValues is limited to 65536 bytes a call.
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

// Non-secret randomness (IVs, request ids) is taken from a pooled buffer: one getRandomValues
// call per 4 KiB instead of one per request, which is a measurable share of a request on Node.
// Bytes are handed out once and zeroed in the pool. Secrets (key material, data keys) never come
// from the pool.
const POOL_SIZE = 4096;
let pool = new Uint8Array(0);
let poolPos = 0;

/** Fresh CSPRNG bytes for values that are not secret (IVs, nonces, identifiers). */
export function publicRandomBytes(n: number): Uint8Array {
  if (n > 256) return randomBytes(n);
  if (poolPos + n > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_SIZE));
    poolPos = 0;
  }
  const out = pool.slice(poolPos, poolPos + n);
  pool.fill(0, poolPos, poolPos + n);
  poolPos += n;
  return out;
}

/** A UUID v4 from CSPRNG bytes (crypto.randomUUID needs a secure context in browsers). */
export function randomUuid(): string {
  const b = publicRandomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return uuidFromBytes(b);
}

export function uuidFromBytes(b: Uint8Array): string {
  const h = toHex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

export function uuidToBytes(s: string): Uint8Array {
  return fromHex(s.replace(/-/g, ''))!;
}

const MRK_RE = /^mrk-[0-9a-f]{32}$/;

/** A multi-Region key id: `mrk-` and 32 lowercase hexadecimal digits (16 bytes). */
export function isMrkId(s: string): boolean {
  return MRK_RE.test(s);
}

/** A key id of either kind: a UUID, or a multi-Region key's `mrk-` id. */
export function isKeyId(s: string): boolean {
  return UUID_RE.test(s) || MRK_RE.test(s);
}

export function randomMrkId(): string {
  return `mrk-${toHex(publicRandomBytes(16))}`;
}
