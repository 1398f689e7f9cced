/**
 * Streaming envelope encryption in real Chromium (Vitest browser mode) against an in-process
 * edge-kms: round trips of 0, 1, chunk-1, chunk, chunk+1 bytes and 100 MB, generated and consumed
 * as streams (never held whole), compared by running SHA-256; every tampering case rejected by the
 * streaming decryptor, which releases only authenticated whole chunks; Blobs too; sealing into and
 * opening into a reused buffer.
 * Run: npx vitest run --project browser packages/client/src/streaming.browser.test.ts
 */
import { createKms } from '@edge-kms/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { bytesOf, concat, counter, flow, Sha256, streamOf, tamperCases } from '../../../test/client/stream-kit.js';
import { createKmsClient, type KmsClient } from './client.js';
import { decrypt, decryptBytes, decryptStream, DEFAULT_CHUNK_SIZE, encrypt, encryptBytes, encryptStream, maxEncryptedLength } from './envelope.js';
import { EnvelopeError, KmsClientError } from './errors.js';

const C = DEFAULT_CHUNK_SIZE;
const ctx = { purpose: 'browser-streaming' };
let client: KmsClient;
let keyId: string;

beforeAll(async () => {
  client = createKmsClient({ kms: createKms() });
  keyId = (await client.createKey({})).KeyMetadata.KeyId;
});

async function roundTrip(total: number, chunkSize = C) {
  const f = flow(total, { seed: total + 3 });
  const sealed = counter();
  const { stream, info } = decryptStream(client, encryptStream(client, f.source, { keyId, chunkSize, encryptionContext: ctx }).pipeThrough(sealed.stream));
  await stream.pipeTo(f.sink);
  expect(f.consumed()).toBe(total);
  expect(f.outputHash()).toBe(f.inputHash());
  expect((await info).encryptionContext).toEqual(ctx);
  return { f, head: sealed.bytes() - total - 16 * Math.max(1, Math.ceil(total / chunkSize)) };
}

describe('streaming envelope encryption in Chromium', () => {
  it('the test SHA-256 agrees with WebCrypto, fed in any pieces', async () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 100_003]) {
      const data = bytesOf(n, n);
      const h = new Sha256();
      for (let o = 0; o < n; o += 1 + (o % 97)) h.update(data.subarray(o, Math.min(n, o + 1 + (o % 97))));
      const want = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', data as BufferSource)), (b) => b.toString(16).padStart(2, '0')).join('');
      expect(h.digest(), `${n} bytes`).toBe(want);
    }
  });

  it('round trips 0, 1, chunk-1, chunk and chunk+1 bytes', async () => {
    const heads = new Set<number>();
    for (const n of [0, 1, C - 1, C, C + 1]) heads.add((await roundTrip(n)).head);
    expect(heads.size).toBe(1);
  });

  it('round trips 100 MB as streams with bounded memory and equal running SHA-256', async () => {
    const t0 = performance.now();
    const { f } = await roundTrip(100 * 1024 * 1024);
    expect(f.maxInFlight()).toBeLessThan(8 * C);
    console.log(`100 MB in Chromium: ${Math.round(performance.now() - t0)} ms, at most ${(f.maxInFlight() / 2 ** 20).toFixed(1)} MiB in flight`);
  }, 90_000);

  it('Blobs in, Blobs out', async () => {
    const data = bytesOf(3 * 4096 + 5);
    const sealed = await encrypt(client, new Blob([data as BlobPart]), { keyId, chunkSize: 4096, encryptionContext: ctx });
    expect(sealed).toBeInstanceOf(Blob);
    const opened = await decrypt(client, sealed);
    expect(new Uint8Array(await opened.plaintext.arrayBuffer())).toEqual(data);
    expect(opened.encryptionContext).toEqual(ctx);
  });

  it('every tampering case is rejected by the streaming decryptor (and by decryptBytes), releasing only authenticated chunks', async () => {
    const cs = 512;
    const pa = bytesOf(3 * cs + 100, 1);
    const pal = bytesOf(4 * cs, 2);
    const a = await encryptBytes(client, pa, { keyId, chunkSize: cs, encryptionContext: ctx });
    const aligned = await encryptBytes(client, pal, { keyId, chunkSize: cs, encryptionContext: ctx });
    const b = await encryptBytes(client, bytesOf(3 * cs + 100, 3), { keyId, chunkSize: cs, encryptionContext: ctx });
    expect((await decryptBytes(client, a)).plaintext).toEqual(pa);
    const cases = tamperCases(a, aligned, b, cs);
    for (const c of cases) {
      const genuine = c.source === 'a' ? pa : pal;
      const reader = decryptStream(client, streamOf(c.message, 97)).stream.getReader();
      const released: Uint8Array[] = [];
      let error: unknown;
      for (;;) {
        try {
          const r = await reader.read();
          if (r.done) break;
          released.push(r.value);
        } catch (e) {
          error = e;
          break;
        }
      }
      expect(error, `${c.name}: not detected`).toBeDefined();
      expect(error instanceof EnvelopeError || error instanceof KmsClientError, `${c.name}: ${String(error)}`).toBe(true);
      const out = concat(...released);
      expect(out.length % cs, `${c.name}: released a partial chunk`).toBe(0);
      expect(out, `${c.name}: released bytes that are not the genuine plaintext`).toEqual(genuine.subarray(0, out.length));
      await expect(decryptBytes(client, c.message), c.name).rejects.toSatisfy((e) => e instanceof EnvelopeError || e instanceof KmsClientError);
    }
  });

  it('seals into and opens into one reused buffer (the into option), and a tampered message leaves zeros there', async () => {
    const data = bytesOf(2 * 1024 * 1024 + 7, 9);
    const sealedInto = new Uint8Array(maxEncryptedLength(data.length, { encryptionContext: ctx }));
    const openedInto = new Uint8Array(data.length);
    for (let i = 0; i < 3; i++) {
      const m = await encryptBytes(client, data, { keyId, encryptionContext: ctx, into: sealedInto });
      expect(m.buffer).toBe(sealedInto.buffer);
      const out = await decryptBytes(client, m, { into: openedInto });
      expect(out.plaintext.buffer).toBe(openedInto.buffer);
      // A plain loop: the matcher's element-by-element diff of 2 MB arrays takes seconds here.
      expect(out.plaintext.length === data.length && out.plaintext.every((b, j) => b === data[j])).toBe(true);
    }
    const m = (await encryptBytes(client, data, { keyId, encryptionContext: ctx })).slice();
    m[m.length - 1]! ^= 1;
    await expect(decryptBytes(client, m, { into: openedInto })).rejects.toBeInstanceOf(EnvelopeError);
    expect(openedInto.every((b) => b === 0)).toBe(true);
  });
});
