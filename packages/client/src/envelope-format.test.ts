/**
 * Envelope message formats 2 (written) and 1 (still read): the known-answer vectors of
 * docs/envelope-format.md (read from the doc, so doc and code cannot drift) reproduced by our
 * code, rebuilt and opened by a second,
 * independent implementation on node:crypto (hkdfSync + aes-256-gcm) written from the doc's text,
 * and opened by decryptBytes / decryptStream with a fake KMS that hands back the data key (a KAT of
 * the format, not of KMS). Also: the length formula, the final-chunk rule, the key section being
 * replaceable without touching the body, and every single-byte change being rejected.
 * Run: npx vitest run packages/client/src/envelope-format.test.ts
 */
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { KmsClient } from './client.js';
import { decryptBytes, decryptStream, encodeContext, joinMessage, prepareSealer, sealMessage, splitMessage, type EnvelopeSuite } from './envelope.js';
import { EnvelopeError, IncorrectKeyException, InvalidCiphertextException, KmsClientError } from './errors.js';
import type { EncryptionContext } from './types.js';

interface Vector {
  name: string;
  /** Absent in the format 1 vectors. */
  format?: 2;
  algorithm?: 1 | 2;
  dataKey: string;
  messageId: string;
  chunkSize: number;
  context: EncryptionContext;
  contextEncoding: string;
  keyId: string;
  wrappedKey: string;
  messageKey: string;
  plaintext: string;
  keySection: string;
  bodyHeader: string;
  message: string;
}

const doc = readFileSync(new URL('../../../docs/envelope-format.md', import.meta.url), 'utf8');
const kats = doc.slice(doc.indexOf('## Known-answer vectors'));
const block = (heading: string) => JSON.parse(/```json\n([\s\S]*?)\n```/.exec(kats.slice(kats.indexOf(heading)))![1]!) as Vector[];
const v2vectors = block('### Format 2');
const v1vectors = block('### Format 1');
const vectors = [...v2vectors, ...v1vectors];
const formatOf = (v: Vector) => v.format ?? 1;
const suiteOf = (v: Vector): EnvelopeSuite => (formatOf(v) === 1 ? 'v1' : v.algorithm === 1 ? 'v2-hkdf' : 'v2-data-key');

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};

/**
 * A fake KMS for the format: Decrypt checks that it was asked exactly what the message says (the
 * wrapped key, the header's context, the key section's key id) and returns a fresh copy of the
 * data key (the envelope code wipes the plaintext it receives). Anything else is refused as KMS
 * would refuse it.
 */
function fakeKms(accept: { keyId: string; wrappedKey: Uint8Array; dataKey: Uint8Array; context: EncryptionContext }[]): KmsClient & { calls: number } {
  const fake = {
    calls: 0,
    async decrypt(input: { CiphertextBlob: Uint8Array; EncryptionContext?: EncryptionContext; KeyId?: string }) {
      fake.calls++;
      const hit = accept.find((a) => hex(a.wrappedKey) === hex(input.CiphertextBlob));
      if (!hit) throw new InvalidCiphertextException('The ciphertext is invalid.', 400);
      if (input.KeyId !== hit.keyId) throw new IncorrectKeyException('The key ID in the request does not identify the key that encrypted the ciphertext.', 400);
      if (JSON.stringify(Object.entries(input.EncryptionContext ?? {}).sort()) !== JSON.stringify(Object.entries(hit.context).sort())) {
        throw new InvalidCiphertextException('The ciphertext is invalid.', 400);
      }
      return { KeyId: hit.keyId, Plaintext: hit.dataKey.slice(), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' as const, KeyMaterialId: 'kat' };
    },
  };
  return fake as unknown as KmsClient & { calls: number };
}
const kmsFor = (v: Vector) => fakeKms([{ keyId: v.keyId, wrappedKey: unhex(v.wrappedKey), dataKey: unhex(v.dataKey), context: v.context }]);

function streamOf(data: Uint8Array, piece: number): ReadableStream<Uint8Array> {
  let o = 0;
  return new ReadableStream({
    pull(c) {
      if (o >= data.length) return c.close();
      c.enqueue(data.slice(o, o + piece));
      o += piece;
    },
  });
}
const collect = async (s: ReadableStream<Uint8Array>) => new Uint8Array(await new Response(s).arrayBuffer());

// ---------------------------------------------------------------------------------------------
// The second implementation: only node:crypto and the text of docs/envelope-format.md.

function independentContext(ctx: EncryptionContext): Buffer {
  const pairs = Object.entries(ctx)
    .map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const)
    .sort((a, b) => Buffer.compare(a[0], b[0]));
  return Buffer.concat([u32(pairs.length), ...pairs.flatMap(([k, v]) => [u32(k.length), k, u32(v.length), v])]);
}

function independentSeal(v: Vector): { messageKey: Buffer; keySection: Buffer; bodyHeader: Buffer; message: Buffer } {
  const format = formatOf(v);
  const hkdf = format === 1 || v.algorithm === 1;
  const K = hkdf
    ? Buffer.from(hkdfSync('sha256', unhex(v.dataKey), unhex(v.messageId), Buffer.from('edge-kms envelope v1', 'ascii'), 32))
    : Buffer.from(unhex(v.dataKey));
  const id = Buffer.from(v.keyId, 'utf8');
  const wrapped = unhex(v.wrappedKey);
  const keySection = Buffer.concat([Buffer.from('EKE\x01', 'latin1'), u16(id.length), id, u16(wrapped.length), wrapped]);
  const ctx = independentContext(v.context);
  const header = Buffer.concat([
    Buffer.from('EKB', 'latin1'),
    Buffer.from([format, hkdf ? 0x01 : 0x02]),
    u32(v.chunkSize),
    unhex(v.messageId),
    u32(ctx.length),
    ctx,
  ]);
  let bodyHeader = header;
  if (format === 1) {
    const h = createCipheriv('aes-256-gcm', K, Buffer.alloc(12, 0xff));
    h.setAAD(header);
    h.final();
    bodyHeader = Buffer.concat([header, h.getAuthTag()]);
  }
  const pt = unhex(v.plaintext);
  // Format 1: floor(L / C) full chunks and a final one of L mod C bytes. Format 2: ceil(L / C)
  // chunks (one for L = 0), the last one final, chunk 0 authenticating the header.
  const n = format === 1 ? Math.floor(pt.length / v.chunkSize) + 1 : Math.max(1, Math.ceil(pt.length / v.chunkSize));
  const chunks: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const c = createCipheriv('aes-256-gcm', K, Buffer.concat([Buffer.alloc(4), u64(i)]));
    c.setAAD(Buffer.concat([u64(i), Buffer.from([i === n - 1 ? 1 : 0]), format === 2 && i === 0 ? header : Buffer.alloc(0)]));
    chunks.push(c.update(pt.subarray(i * v.chunkSize, Math.min(pt.length, (i + 1) * v.chunkSize))), c.final(), c.getAuthTag());
  }
  return { messageKey: K, keySection, bodyHeader, message: Buffer.concat([keySection, bodyHeader, ...chunks]) };
}

/** Parses and opens a message with node:crypto, given the data key; throws on any failure. */
function independentOpen(message: Uint8Array, dataKey: Uint8Array) {
  const m = Buffer.from(message);
  let o = 0;
  const take = (n: number) => {
    if (o + n > m.length) throw new Error('truncated');
    return m.subarray(o, (o += n));
  };
  if (take(4).toString('latin1') !== 'EKE\x01') throw new Error('magic');
  const keyId = take(take(2).readUInt16BE()).toString('utf8');
  const wrappedKey = take(take(2).readUInt16BE());
  const bodyStart = o;
  if (take(3).toString('latin1') !== 'EKB') throw new Error('body magic');
  const [format, algorithm] = take(2);
  if (!(format === 1 && algorithm === 1) && !(format === 2 && (algorithm === 1 || algorithm === 2))) throw new Error('format or algorithm');
  const chunkSize = take(4).readUInt32BE();
  const messageId = take(16);
  const ctx = take(take(4).readUInt32BE());
  const header = m.subarray(bodyStart, o);
  const K = algorithm === 1 ? Buffer.from(hkdfSync('sha256', dataKey, messageId, 'edge-kms envelope v1', 32)) : Buffer.from(dataKey);
  if (format === 1) {
    const tag = take(16);
    const h = createDecipheriv('aes-256-gcm', K, Buffer.alloc(12, 0xff));
    h.setAAD(header);
    h.setAuthTag(tag);
    h.final();
  }
  const out: Buffer[] = [];
  for (let i = 0; ; i++) {
    const piece = m.subarray(o, Math.min(m.length, o + chunkSize + 16));
    o += piece.length;
    const final = format === 1 ? piece.length < chunkSize + 16 : o === m.length;
    if (piece.length < 16) throw new Error('no final chunk');
    if (format === 2 && final && i > 0 && piece.length === 16) throw new Error('empty final chunk after full chunks');
    const d = createDecipheriv('aes-256-gcm', K, Buffer.concat([Buffer.alloc(4), u64(i)]));
    d.setAAD(Buffer.concat([u64(i), Buffer.from([final ? 1 : 0]), format === 2 && i === 0 ? header : Buffer.alloc(0)]));
    d.setAuthTag(piece.subarray(piece.length - 16));
    out.push(d.update(piece.subarray(0, piece.length - 16)), d.final());
    if (final) break;
  }
  if (o !== m.length) throw new Error('data after the final chunk');
  return { keyId, wrappedKey, chunkSize, ctx, plaintext: Buffer.concat(out) };
}

// ---------------------------------------------------------------------------------------------

describe('envelope known-answer vectors (docs/envelope-format.md)', () => {
  it('the doc holds, for each format, empty, 1 byte, exactly one chunk, chunk + 1 with a multi-pair context; format 2 also with an HKDF key', () => {
    for (const vs of [v2vectors.filter((v) => v.algorithm === 2), v1vectors]) {
      expect(vs).toHaveLength(4);
      expect(vs.map((v) => v.plaintext.length / 2)).toEqual([0, 1, vs[2]!.chunkSize, vs[3]!.chunkSize + 1]);
      expect(Object.keys(vs[3]!.context).length).toBeGreaterThan(1);
    }
    expect(v1vectors.every((v) => v.format === undefined)).toBe(true);
    const hkdf = v2vectors.filter((v) => v.algorithm === 1);
    expect(hkdf.map((v) => v.plaintext.length / 2)).toEqual([2 * hkdf[0]!.chunkSize, hkdf[1]!.chunkSize + 1]);
  });

  for (const v of vectors) {
    describe(`format ${formatOf(v)}: ${v.name}`, () => {
      it('our code (prepareSealer + sealMessage) produces the documented bytes', async () => {
        expect(hex(encodeContext(v.context))).toBe(v.contextEncoding);
        const sealer = await prepareSealer(
          { keyId: v.keyId, wrappedKey: unhex(v.wrappedKey) },
          unhex(v.dataKey),
          unhex(v.messageId),
          v.chunkSize,
          v.context,
          suiteOf(v),
        );
        expect(hex(sealer.keySection)).toBe(v.keySection);
        expect(hex(await sealer.bodyHeader)).toBe(v.bodyHeader);
        expect(hex(await sealMessage(sealer, unhex(v.plaintext)))).toBe(v.message);
      });

      it('an independent implementation on node:crypto (hkdfSync, aes-256-gcm) agrees', () => {
        const ind = independentSeal(v);
        expect(hex(independentContext(v.context))).toBe(v.contextEncoding);
        expect(hex(ind.messageKey)).toBe(v.messageKey);
        expect(hex(ind.keySection)).toBe(v.keySection);
        expect(hex(ind.bodyHeader)).toBe(v.bodyHeader);
        expect(hex(ind.message)).toBe(v.message);
        const opened = independentOpen(unhex(v.message), unhex(v.dataKey));
        expect(opened.keyId).toBe(v.keyId);
        expect(hex(opened.wrappedKey)).toBe(v.wrappedKey);
        expect(opened.chunkSize).toBe(v.chunkSize);
        expect(hex(opened.ctx)).toBe(v.contextEncoding);
        expect(hex(opened.plaintext)).toBe(v.plaintext);
      });

      it('the length follows the formula of its format', () => {
        const L = v.plaintext.length / 2;
        const C = v.chunkSize;
        const k = Buffer.byteLength(v.keyId);
        const w = v.wrappedKey.length / 2;
        const c = v.contextEncoding.length / 2;
        expect(v.keySection.length / 2).toBe(8 + k + w);
        if (formatOf(v) === 1) {
          // floor(L / C) full chunks and one final chunk of L mod C bytes, empty when C divides L
          expect(v.bodyHeader.length / 2).toBe(29 + c + 16);
          expect(v.message.length / 2).toBe(8 + k + w + 29 + c + 16 + L + 16 * (Math.floor(L / C) + 1));
          const body = unhex(v.message).subarray(8 + k + w + 29 + c + 16);
          expect(body.length - Math.floor(L / C) * (C + 16)).toBe((L % C) + 16);
        } else {
          // ceil(L / C) chunks (one for L = 0), all full but the final one, which holds 1..C bytes
          expect(v.bodyHeader.length / 2).toBe(29 + c);
          const n = Math.max(1, Math.ceil(L / C));
          expect(v.message.length / 2).toBe(8 + k + w + 29 + c + L + 16 * n);
          const body = unhex(v.message).subarray(8 + k + w + 29 + c);
          expect(body.length - (n - 1) * (C + 16)).toBe(L - (n - 1) * C + 16);
        }
      });

      it('decryptBytes and decryptStream open it with the data key, asking KMS with no key id from the caller', async () => {
        const kms = kmsFor(v);
        const out = await decryptBytes(kms, unhex(v.message));
        expect(hex(out.plaintext)).toBe(v.plaintext);
        expect(out.encryptionContext).toEqual(v.context);
        expect(out.keyId).toBe(v.keyId);
        for (const piece of [1, 7, 1000]) {
          const s = decryptStream(kms, streamOf(unhex(v.message), piece));
          expect(hex(await collect(s.stream))).toBe(v.plaintext);
          expect((await s.info).encryptionContext).toEqual(v.context);
        }
      });

      it('the key section can be replaced without touching a byte of the body', async () => {
        const m = unhex(v.message);
        const parts = splitMessage(m);
        expect(hex(parts.body)).toBe(v.message.slice(v.keySection.length));
        const other = {
          keyId: 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000001',
          wrappedKey: crypto.getRandomValues(new Uint8Array(84)),
        };
        const moved = joinMessage(other, parts.body);
        expect(hex(moved).endsWith(hex(parts.body))).toBe(true);
        const kms = fakeKms([{ ...other, dataKey: unhex(v.dataKey), context: v.context }]);
        expect(hex((await decryptBytes(kms, moved)).plaintext)).toBe(v.plaintext);
        // and the old wrapped key is no longer asked for
        await expect(decryptBytes(kms, m)).rejects.toBeInstanceOf(InvalidCiphertextException);
      });

      it('every single-byte change is rejected, by the parser, by KMS or by a tag, with a typed error', async () => {
        const kms = kmsFor(v);
        const m = unhex(v.message);
        const typed = (e: unknown) => e instanceof EnvelopeError || e instanceof KmsClientError;
        for (let i = 0; i < m.length; i++) {
          const t = m.slice();
          t[i]! ^= i % 2 ? 0x01 : 0x80;
          const e1 = await decryptBytes(kms, t).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(typed(e1), `byte ${i}: ${String(e1)}`).toBe(true);
          const e2 = await collect(decryptStream(kms, streamOf(t, 11)).stream).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(typed(e2), `byte ${i} streamed: ${String(e2)}`).toBe(true);
          // The key section is KMS's to authenticate (the fake KMS above refuses it); the body is the envelope's.
          if (i >= v.keySection.length / 2) expect(() => independentOpen(t, unhex(v.dataKey)), `byte ${i} (node:crypto)`).toThrow();
        }
      });
    });
  }

  it('body bytes changed, truncated or extended fail with EnvelopeError after KMS', async () => {
    for (const v of [v2vectors[3]!, v2vectors[5]!, v1vectors[3]!]) await truncatedOrExtended(v);
  });

  async function truncatedOrExtended(v: Vector) {
    const kms = kmsFor(v);
    const m = unhex(v.message);
    const headerEnd = v.keySection.length / 2 + v.bodyHeader.length / 2;
    for (const cut of [headerEnd, headerEnd + v.chunkSize + 16, headerEnd + 15, m.length - 1]) {
      await expect(decryptBytes(kms, m.subarray(0, cut)), `cut at ${cut}`).rejects.toBeInstanceOf(EnvelopeError);
      await expect(collect(decryptStream(kms, streamOf(m.subarray(0, cut), 5)).stream), `stream cut at ${cut}`).rejects.toBeInstanceOf(EnvelopeError);
    }
    const extended = new Uint8Array(m.length + 1);
    extended.set(m);
    await expect(decryptBytes(kms, extended)).rejects.toBeInstanceOf(EnvelopeError);
    await expect(collect(decryptStream(kms, streamOf(extended, 5)).stream)).rejects.toThrow(
      /data after the final chunk|failed authentication|empty final chunk/,
    );
  }

  it('format 2: a full final chunk is final; dropping it, or appending an empty chunk after it, is rejected', async () => {
    for (const v of [v2vectors[2]!, v2vectors[4]!]) {
      const kms = kmsFor(v);
      const m = unhex(v.message);
      const withEmpty = new Uint8Array(m.length + 16);
      withEmpty.set(m);
      withEmpty.set(m.subarray(m.length - 16), m.length); // a copy of the last tag as an "empty chunk"
      for (const bad of [m.subarray(0, m.length - (v.chunkSize + 16)), withEmpty]) {
        await expect(decryptBytes(kms, bad)).rejects.toBeInstanceOf(EnvelopeError);
        await expect(collect(decryptStream(kms, streamOf(bad, 3)).stream)).rejects.toBeInstanceOf(EnvelopeError);
        expect(() => independentOpen(bad, unhex(v.dataKey))).toThrow();
      }
    }
  });

  it('format 1: an exactly-one-chunk message without its empty final chunk is rejected, although every remaining tag is valid', async () => {
    const v = v1vectors[2]!;
    const kms = kmsFor(v);
    const m = unhex(v.message);
    const dropped = m.subarray(0, m.length - 16);
    await expect(decryptBytes(kms, dropped)).rejects.toThrow(/no final chunk|failed authentication/);
    await expect(collect(decryptStream(kms, streamOf(dropped, 3)).stream)).rejects.toThrow(/no final chunk/);
  });
});
