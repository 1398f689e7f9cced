/**
 * The edge-kms ciphertext blob, format 1 (specified in docs/ciphertext-format.md):
 *
 *   offset size
 *   0      2    magic "EK" (0x45 0x4b)
 *   2      1    format version, 0x01
 *   3      1    key id kind, 0x01 = UUID, 0x02 = multi-Region key (`mrk-` + 32 hex digits)
 *   4      16   key id (the UUID's bytes, or the 16 bytes the mrk- id's hex digits spell)
 *   20     4    key material version, uint32 big-endian, 1-based
 *   24     12   AES-GCM IV
 *   36     n    AES-256-GCM ciphertext
 *   36+n   16   AES-GCM tag
 *
 * The additional authenticated data is the 36-byte header followed by the canonical encoding of
 * the encryption context, so neither the header nor the context can be changed undetected. The
 * header names the key and the version, so Decrypt needs no KeyId and finds the material in O(1).
 */
import { concat, fromHex, isMrkId, isUuid, publicRandomBytes, toHex, utf8, uuidFromBytes, uuidToBytes } from './bytes.js';
import { webCryptoProvider, type CryptoProvider } from './crypto-provider.js';

export const BLOB_MAGIC_0 = 0x45;
export const BLOB_MAGIC_1 = 0x4b;
export const BLOB_FORMAT_V1 = 0x01;
export const KEY_ID_KIND_UUID = 0x01;
export const KEY_ID_KIND_MRK = 0x02;
export const HEADER_LENGTH = 36;
export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;
export const BLOB_OVERHEAD = HEADER_LENGTH + TAG_LENGTH;

export interface ParsedBlob {
  keyId: string;
  version: number;
  iv: Uint8Array;
  header: Uint8Array;
  /** Ciphertext followed by the tag, as WebCrypto wants it. */
  sealed: Uint8Array;
}

// Key id bytes by key id: encodeHeader runs on every Encrypt, and parsing a UUID is its main cost.
const keyIdBytes = new Map<string, Uint8Array>();

function idBytes(keyId: string): Uint8Array {
  let b = keyIdBytes.get(keyId);
  if (!b) {
    if (isUuid(keyId)) b = uuidToBytes(keyId);
    else if (isMrkId(keyId)) b = fromHex(keyId.slice(4))!;
    else throw new TypeError(`"keyId" expected a UUID or an mrk- id, got ${keyId}`);
    if (keyIdBytes.size >= 10_000) keyIdBytes.clear();
    keyIdBytes.set(keyId, b);
  }
  return b;
}

export function encodeHeader(keyId: string, version: number, iv: Uint8Array): Uint8Array {
  const h = new Uint8Array(HEADER_LENGTH);
  writeHeader(h, keyId, version, iv);
  return h;
}

/** Writes the 36-byte header at the start of `h`. */
function writeHeader(h: Uint8Array, keyId: string, version: number, iv: Uint8Array): void {
  const id = idBytes(keyId);
  if (!Number.isInteger(version) || version < 1 || version > 0xffffffff) throw new RangeError(`"version" expected 1..2^32-1, got ${version}`);
  if (iv.length !== IV_LENGTH) throw new RangeError(`"iv" expected ${IV_LENGTH} bytes, got ${iv.length}`);
  h[0] = BLOB_MAGIC_0;
  h[1] = BLOB_MAGIC_1;
  h[2] = BLOB_FORMAT_V1;
  h[3] = keyId.charCodeAt(0) === 0x6d /* m: mrk- */ ? KEY_ID_KIND_MRK : KEY_ID_KIND_UUID;
  h.set(id, 4);
  h[20] = version >>> 24;
  h[21] = (version >>> 16) & 0xff;
  h[22] = (version >>> 8) & 0xff;
  h[23] = version & 0xff;
  h.set(iv, 24);
}

/** Parses the framing only; authenticity is established by AES-GCM. Undefined if malformed. */
export function parseBlob(blob: Uint8Array): ParsedBlob | undefined {
  if (blob.length < BLOB_OVERHEAD) return undefined;
  const kind = blob[3];
  if (blob[0] !== BLOB_MAGIC_0 || blob[1] !== BLOB_MAGIC_1 || blob[2] !== BLOB_FORMAT_V1 || (kind !== KEY_ID_KIND_UUID && kind !== KEY_ID_KIND_MRK))
    return undefined;
  const version = new DataView(blob.buffer, blob.byteOffset, blob.byteLength).getUint32(20, false);
  if (version === 0) return undefined;
  const keyId = kind === KEY_ID_KIND_UUID ? uuidFromBytes(blob.subarray(4, 20)) : `mrk-${toHex(blob.subarray(4, 20))}`;
  return {
    keyId,
    version,
    iv: blob.slice(24, 36),
    header: blob.slice(0, HEADER_LENGTH),
    sealed: blob.subarray(HEADER_LENGTH),
  };
}

/**
 * Canonical, unambiguous encoding of an encryption context: uint32 pair count, then for each pair
 * in ascending UTF-8 byte order of the key: uint32 key length, key, uint32 value length, value.
 * An absent and an empty context encode the same (as in AWS KMS).
 */
export function encodeEncryptionContext(ctx: Record<string, string> | undefined): Uint8Array {
  if (!ctx) return new Uint8Array(4);
  const entries = Object.entries(ctx).map(([k, v]) => [utf8(k), utf8(v)] as const);
  entries.sort((a, b) => compareBytes(a[0], b[0]));
  let size = 4;
  for (const [k, v] of entries) size += 8 + k.length + v.length;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, entries.length, false);
  let o = 4;
  for (const [k, v] of entries) {
    dv.setUint32(o, k.length, false);
    out.set(k, o + 4);
    o += 4 + k.length;
    dv.setUint32(o, v.length, false);
    out.set(v, o + 4);
    o += 4 + v.length;
  }
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export function additionalData(header: Uint8Array, ctx: Record<string, string> | undefined): Uint8Array {
  if (!ctx || Object.keys(ctx).length === 0) {
    // Header plus an empty context (a zero pair count): no encoding work on the common path.
    const out = new Uint8Array(header.length + 4);
    out.set(header);
    return out;
  }
  return concat(header, encodeEncryptionContext(ctx));
}

/** AES-256-GCM seal into a format 1 blob. The IV is a parameter only for known-answer tests. */
export async function sealBlob(
  key: CryptoKey,
  keyId: string,
  version: number,
  plaintext: Uint8Array,
  ctx: Record<string, string> | undefined,
  iv: Uint8Array = publicRandomBytes(IV_LENGTH),
  provider: CryptoProvider = webCryptoProvider,
): Promise<Uint8Array> {
  let aad: Uint8Array;
  if (!ctx || isEmpty(ctx)) {
    // The header plus an empty context (a zero pair count), written in place: one buffer.
    aad = new Uint8Array(HEADER_LENGTH + 4);
    writeHeader(aad, keyId, version, iv);
  } else {
    aad = concat(encodeHeader(keyId, version, iv), encodeEncryptionContext(ctx));
  }
  const sealed = await provider.aesGcmEncrypt(key, iv, aad, plaintext);
  const out = new Uint8Array(HEADER_LENGTH + sealed.length);
  out.set(aad.subarray(0, HEADER_LENGTH), 0);
  out.set(sealed, HEADER_LENGTH);
  return out;
}

function isEmpty(o: Record<string, string>): boolean {
  for (const _ in o) return false;
  return true;
}

/** Opens a parsed blob; throws (any error) when authentication fails. */
export async function openBlob(
  key: CryptoKey,
  parsed: ParsedBlob,
  ctx: Record<string, string> | undefined,
  provider: CryptoProvider = webCryptoProvider,
): Promise<Uint8Array> {
  return provider.aesGcmDecrypt(key, parsed.iv, additionalData(parsed.header, ctx), parsed.sealed);
}
