/**
 * Envelope encryption and namespaces against an in-process edge-kms: round trips at the chunk
 * boundaries for bytes, Blobs and streams; every tampering case (bit flips, truncation,
 * reordering, duplication, splicing between messages, a swapped header); decryption after
 * rotations; the data key cache limits; sealing into and opening into a caller's buffer; and the
 * namespace rules.
 * Run: npx vitest run packages/client/src/envelope.test.ts
 */
import { createKms, createTestClock } from '@edge-kms/core';
import { describe, expect, it } from 'vitest';
import { createKmsClient } from './client.js';
import {
  createDataKeyCache,
  decrypt,
  decryptBytes,
  DEFAULT_CHUNK_SIZE,
  encrypt,
  encryptBytes,
  joinMessage,
  LARGE_MESSAGE_BYTES,
  LARGE_MESSAGE_CHUNK_SIZE,
  maxEncryptedLength,
  splitMessage,
} from './envelope.js';
import { EnvelopeError, NamespaceLockedError } from './errors.js';
import { openNamespace } from './namespace.js';
import { createMemoryRecordStore } from './record-store.js';

async function setup() {
  const kms = createKms();
  const client = createKmsClient({ kms });
  const { KeyMetadata } = await client.createKey({});
  return { kms, client, keyId: KeyMetadata.KeyId };
}

const bytes = (n: number) => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
};

function streamOf(data: Uint8Array, piece = 1000): ReadableStream<Uint8Array> {
  let o = 0;
  return new ReadableStream({
    pull(c) {
      if (o >= data.length) return c.close();
      c.enqueue(data.slice(o, o + piece));
      o += piece;
    },
  });
}

async function collect(s: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(s).arrayBuffer());
}

const CHUNK = 256;

describe('envelope round trips', () => {
  for (const n of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK, 5 * CHUNK + 3]) {
    it(`${n} bytes as bytes, stream and Blob`, async () => {
      const { client, keyId } = await setup();
      const data = bytes(n);
      const ctx = { purpose: 'test' };
      const m1 = await encrypt(client, data, { keyId, encryptionContext: ctx, chunkSize: CHUNK });
      const m2 = await collect(encrypt(client, streamOf(data, 97), { keyId, encryptionContext: ctx, chunkSize: CHUNK }));
      const m3 = new Uint8Array(await (await encrypt(client, new Blob([data as BlobPart]), { keyId, encryptionContext: ctx, chunkSize: CHUNK })).arrayBuffer());
      expect(m2.length).toBe(m1.length);
      for (const m of [m1, m2, m3]) {
        const out = await decrypt(client, m);
        expect(out.plaintext).toEqual(data);
        expect(out.encryptionContext).toEqual(ctx);
        const s = decrypt(client, streamOf(m, 113));
        expect(await collect(s.stream)).toEqual(data);
        expect((await s.info).keyId).toContain(keyId);
      }
    });
  }
});

describe('chunk size of large messages', () => {
  /** Byte equality without the matcher's element-by-element diff (16 MiB arrays). */
  const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
  /** The chunk size a message's body header states (offset 5, u32, docs/envelope-format.md). */
  const chunkSizeOf = (m: Uint8Array) => {
    const { body } = splitMessage(m);
    return new DataView(body.buffer, body.byteOffset).getUint32(5);
  };

  it('encryptBytes seals messages of 16 MiB and more in 1 MiB chunks unless told otherwise; they decrypt as bytes and as streams', async () => {
    const { client, keyId } = await setup();
    const large = new Uint8Array(LARGE_MESSAGE_BYTES + 5);
    for (let o = 0; o < large.length; o += 65536) crypto.getRandomValues(large.subarray(o, Math.min(large.length, o + 65536)));
    const m = await encryptBytes(client, large, { keyId });
    expect(chunkSizeOf(m)).toBe(LARGE_MESSAGE_CHUNK_SIZE);
    expect(m.length - large.length).toBeLessThan(512); // 17 chunks: 17 tags and the headers
    expect(same((await decryptBytes(client, m)).plaintext, large)).toBe(true);
    expect(same(await collect(decrypt(client, streamOf(m, 300_000)).stream), large)).toBe(true);

    const smaller = large.subarray(0, LARGE_MESSAGE_BYTES - 1);
    const m2 = await encryptBytes(client, smaller, { keyId });
    expect(chunkSizeOf(m2)).toBe(DEFAULT_CHUNK_SIZE);
    expect(same((await decryptBytes(client, m2)).plaintext, smaller)).toBe(true);

    const asked = await encryptBytes(client, large, { keyId, chunkSize: 4096 });
    expect(chunkSizeOf(asked)).toBe(4096);
    expect(same((await decryptBytes(client, asked)).plaintext, large)).toBe(true);
  });
});

describe("sealing into and opening into the caller's buffer", () => {
  /** The client, with its GenerateDataKey and Decrypt calls counted. */
  async function counted() {
    const env = await setup();
    const calls = { generateDataKey: 0, decrypt: 0 };
    const client = {
      ...env.client,
      generateDataKey: (i: Parameters<typeof env.client.generateDataKey>[0]) => (calls.generateDataKey++, env.client.generateDataKey(i)),
      decrypt: (i: Parameters<typeof env.client.decrypt>[0]) => (calls.decrypt++, env.client.decrypt(i)),
    } as typeof env.client;
    return { ...env, client, calls };
  }

  it('maxEncryptedLength bounds every message, at the chunk boundaries and past the 1 MiB-chunk threshold', async () => {
    const { client, keyId } = await setup();
    const ctx = { tenant: 'ü-42', purpose: 'bound' };
    for (const [n, chunkSize] of [
      [0, CHUNK],
      [1, CHUNK],
      [CHUNK - 1, CHUNK],
      [CHUNK, CHUNK],
      [CHUNK + 1, CHUNK],
      [5 * CHUNK + 3, CHUNK],
      [0, undefined],
      [DEFAULT_CHUNK_SIZE + 1, undefined],
      [LARGE_MESSAGE_BYTES, undefined],
    ] as const) {
      for (const encryptionContext of [undefined, ctx]) {
        const m = await encryptBytes(client, new Uint8Array(n), { keyId, chunkSize, encryptionContext });
        const bound = maxEncryptedLength(n, { chunkSize, encryptionContext });
        expect(m.length, `${n} bytes`).toBeLessThanOrEqual(bound);
        // The slack is the key section's room for the longest key ARN and CiphertextBlob AWS answers.
        expect(bound - m.length, `${n} bytes`).toBeLessThan(2048 + 6144);
      }
    }
    expect(() => maxEncryptedLength(-1)).toThrow(EnvelopeError);
    expect(() => maxEncryptedLength(10, { chunkSize: 0 })).toThrow(EnvelopeError);
  });

  it('encryptBytes seals into the buffer given, leaves the bytes after the message alone, and the message decrypts', async () => {
    const { client, keyId } = await setup();
    const into = new Uint8Array(maxEncryptedLength(5 * CHUNK + 3, { chunkSize: CHUNK }) + 10).fill(0xaa);
    const results: Uint8Array[] = [];
    for (const n of [5 * CHUNK + 3, 1, CHUNK]) {
      const data = bytes(n).map((b) => b ^ n);
      const m = await encryptBytes(client, data, { keyId, chunkSize: CHUNK, into });
      expect(m.buffer).toBe(into.buffer);
      expect(m.byteOffset).toBe(into.byteOffset);
      expect(m.length).toBe((await encryptBytes(client, data, { keyId, chunkSize: CHUNK })).length);
      expect((await decryptBytes(client, m)).plaintext).toEqual(data);
      results.push(m.slice());
    }
    // The first (longest) message's tail is untouched by the shorter ones after it; past it, the fill.
    expect(into.subarray(results[0]!.length).every((b) => b === 0xaa)).toBe(true);
    expect(into.subarray(results[2]!.length, results[0]!.length)).toEqual(results[0]!.subarray(results[2]!.length));
  });

  it('decryptBytes opens into the buffer given, as bytes and through decrypt()', async () => {
    const { client, keyId } = await setup();
    const data = bytes(3 * CHUNK + 10);
    const m = await encryptBytes(client, data, { keyId, chunkSize: CHUNK });
    const into = new Uint8Array(m.length).fill(0xaa);
    const out = await decryptBytes(client, m, { into });
    expect(out.plaintext.buffer).toBe(into.buffer);
    expect(out.plaintext).toEqual(data);
    expect(into.subarray(data.length).every((b) => b === 0xaa)).toBe(true);
    const exact = new Uint8Array(data.length);
    expect((await decrypt(client, m, { into: exact })).plaintext).toEqual(data);
  });

  it('a buffer too small, not a Uint8Array, or overlapping the input is refused before KMS is asked, and is left unchanged', async () => {
    const { client, keyId, calls } = await counted();
    const data = bytes(2 * CHUNK);
    const need = maxEncryptedLength(data.length, { chunkSize: CHUNK });
    const small = new Uint8Array(need - 1).fill(7);
    await expect(encryptBytes(client, data, { keyId, chunkSize: CHUNK, into: small })).rejects.toThrow(
      new EnvelopeError(`"into" is ${need - 1} bytes; ${need} needed`),
    );
    await expect(encryptBytes(client, data, { keyId, chunkSize: CHUNK, into: new ArrayBuffer(need) as unknown as Uint8Array })).rejects.toThrow(EnvelopeError);
    const shared = new Uint8Array(need + data.length);
    await expect(encryptBytes(client, shared.subarray(0, data.length), { keyId, chunkSize: CHUNK, into: shared.subarray(data.length - 1) })).rejects.toThrow(
      '"into" overlaps the input',
    );
    expect(calls.generateDataKey).toBe(0);
    expect(small.every((b) => b === 7)).toBe(true);

    const m = await encryptBytes(client, data, { keyId, chunkSize: CHUNK });
    const short = new Uint8Array(data.length - 1).fill(7);
    await expect(decryptBytes(client, m, { into: short })).rejects.toThrow(`"into" is ${data.length - 1} bytes; ${data.length} needed`);
    const whole = new Uint8Array(2 * m.length);
    whole.set(m);
    await expect(decryptBytes(client, whole.subarray(0, m.length), { into: whole.subarray(m.length - 5) })).rejects.toThrow('"into" overlaps the input');
    expect(calls.decrypt).toBe(0);
    expect(short.every((b) => b === 7)).toBe(true);
    // Blobs and streams have no caller's buffer.
    expect(() => encrypt(client, new Blob([data as BlobPart]), { keyId, into: small } as never)).toThrow('"into" is for Uint8Array input only');
  });

  it('a message that fails to decrypt leaves no plaintext in the buffer, not even of the chunks that authenticated', async () => {
    const { client, keyId } = await setup();
    const data = bytes(12 * CHUNK);
    const m = await encryptBytes(client, data, { keyId, chunkSize: CHUNK });
    const t = m.slice();
    t[t.length - 1]! ^= 1; // the final chunk's tag: every chunk before it authenticates
    const into = new Uint8Array(data.length).fill(0xaa);
    await expect(decryptBytes(client, t, { into })).rejects.toThrow();
    expect(into.every((b) => b === 0)).toBe(true);
  });
});

describe('tampering is detected', () => {
  async function message(n = 3 * CHUNK + 10) {
    const env = await setup();
    const m = await encryptBytes(env.client, bytes(n), { keyId: env.keyId, chunkSize: CHUNK });
    return { ...env, m };
  }
  const fails = async (client: ReturnType<typeof createKmsClient>, m: Uint8Array) => {
    await expect(decryptBytes(client, m)).rejects.toThrow();
    await expect(collect(decrypt(client, streamOf(m, 50)).stream)).rejects.toThrow();
  };
  it('any flipped byte', async () => {
    const { client, m } = await message(2 * CHUNK + 5);
    for (let i = 0; i < m.length; i += 7) {
      const t = m.slice();
      t[i]! ^= 0x20;
      await expect(decryptBytes(client, t), `byte ${i}`).rejects.toThrow();
    }
  });
  it('truncation at a chunk boundary, and anywhere', async () => {
    const { client, m } = await message(3 * CHUNK);
    const { body } = splitMessage(m);
    const head = m.length - body.length;
    const headerLen = 29 + 4; // format 2, empty context
    await fails(client, m.subarray(0, head + headerLen + 2 * (CHUNK + 16))); // drop the final (full) chunk
    await fails(client, m.subarray(0, head + headerLen + 3 * (CHUNK + 16) - 16)); // drop the final chunk's tag
    await fails(client, m.subarray(0, m.length - 1));
    await fails(client, m.subarray(0, head + 10));
  });
  it('reordered, duplicated and spliced chunks', async () => {
    const a = await message(3 * CHUNK + 10);
    const b = await encryptBytes(a.client, bytes(3 * CHUNK + 10), { keyId: a.keyId, chunkSize: CHUNK });
    const start = a.m.length - (3 * (CHUNK + 16) + 10 + 16);
    const chunk = (m: Uint8Array, i: number) => m.subarray(start + i * (CHUNK + 16), start + (i + 1) * (CHUNK + 16));
    const build = (...parts: Uint8Array[]) => {
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) out.set(p, (o += p.length) - p.length);
      return out;
    };
    const head = a.m.subarray(0, start);
    const tail = a.m.subarray(start + 3 * (CHUNK + 16));
    await fails(a.client, build(head, chunk(a.m, 1), chunk(a.m, 0), chunk(a.m, 2), tail)); // reordered
    await fails(a.client, build(head, chunk(a.m, 0), chunk(a.m, 0), chunk(a.m, 2), tail)); // duplicated
    await fails(a.client, build(head, chunk(a.m, 0), chunk(b, 1), chunk(a.m, 2), tail)); // spliced from b
    await fails(a.client, build(head, chunk(a.m, 0), chunk(a.m, 1), chunk(a.m, 2), chunk(a.m, 2), tail)); // extra chunk
    expect((await decryptBytes(a.client, build(head, chunk(a.m, 0), chunk(a.m, 1), chunk(a.m, 2), tail))).plaintext).toEqual(bytes(3 * CHUNK + 10));
  });
  it('a body moved under another message key section', async () => {
    const { client, keyId } = await setup();
    const a = splitMessage(await encryptBytes(client, bytes(10), { keyId }));
    const b = splitMessage(await encryptBytes(client, bytes(10), { keyId }));
    await expect(decryptBytes(client, joinMessage(b, a.body))).rejects.toBeInstanceOf(EnvelopeError);
  });
});

describe('rotation and caching', () => {
  it('messages made before three rotations still decrypt, naming their key material', async () => {
    const clock = createTestClock();
    const kms = createKms({ clock });
    const client = createKmsClient({ kms });
    const { KeyMetadata } = await client.createKey({});
    const made: { m: Uint8Array; material: string }[] = [];
    for (let i = 0; i < 4; i++) {
      const material = (await client.describeKey({ KeyId: KeyMetadata.KeyId })).KeyMetadata.CurrentKeyMaterialId!;
      made.push({ m: await encryptBytes(client, bytes(100 + i), { keyId: KeyMetadata.KeyId }), material });
      await client.rotateKeyOnDemand({ KeyId: KeyMetadata.KeyId });
    }
    for (const [i, { m, material }] of made.entries()) {
      const out = await decryptBytes(client, m);
      expect(out.plaintext).toEqual(bytes(100 + i));
      expect(out.keyMaterialId).toBe(material);
    }
  });
  it('the data key cache reuses keys within its limits only', async () => {
    const { client, keyId } = await setup();
    let calls = 0;
    const counting = { ...client, generateDataKey: (i: Parameters<typeof client.generateDataKey>[0]) => (calls++, client.generateDataKey(i)) } as typeof client;
    const cache = createDataKeyCache({ maxAgeMs: 60_000, maxMessages: 3, maxBytes: 1000 });
    const wrapped = new Set<string>();
    for (let i = 0; i < 6; i++) wrapped.add(splitMessage(await encryptBytes(counting, bytes(100), { keyId, cache })).wrappedKey.join());
    expect(calls).toBe(2);
    expect(wrapped.size).toBe(2);
    await encryptBytes(counting, bytes(2000), { keyId, cache }); // larger than maxBytes: never cached
    expect(calls).toBe(3);
    await encryptBytes(counting, bytes(10), { keyId, cache, encryptionContext: { other: 'ctx' } }); // other context, other key
    expect(calls).toBe(4);
    cache.clear();
    expect(cache.size).toBe(0);
  });
  it('a data key that serves several messages never keys a message itself: cached messages use HKDF keys', async () => {
    const { client, keyId } = await setup();
    const algorithm = (m: Uint8Array) => splitMessage(m).body[4];
    const cache = createDataKeyCache({ maxAgeMs: 60_000, maxMessages: 10, maxBytes: 10_000 });
    const same = bytes(100);
    const cached = [await encryptBytes(client, same, { keyId, cache }), await encryptBytes(client, same, { keyId, cache })];
    expect(splitMessage(cached[0]!).wrappedKey).toEqual(splitMessage(cached[1]!).wrappedKey); // one data key
    expect(cached.map(algorithm)).toEqual([0x01, 0x01]); // HKDF(data key, message id), the first message too
    // The same plaintext under one data key: the chunk ciphertexts differ (the message keys differ),
    // where reusing the data key itself with the index nonces would repeat them.
    const chunk = (m: Uint8Array) => m.subarray(m.length - 116, m.length - 16).join();
    expect(chunk(cached[0]!)).not.toBe(chunk(cached[1]!));
    const fresh = await encryptBytes(client, same, { keyId });
    expect(algorithm(fresh)).toBe(0x02); // a data key of its own: used as the message key
    for (const m of [...cached, fresh]) expect((await decryptBytes(client, m)).plaintext).toEqual(same);
  });
});

describe('namespaces', () => {
  it('put, get, list, delete; changeKey re-wraps without touching bodies; the lock', async () => {
    const { client, keyId } = await setup();
    const other = (await client.createKey({})).KeyMetadata;
    const store = createMemoryRecordStore();
    const ns = await openNamespace({ name: 'docs', kms: client, store, keyId });
    for (let i = 0; i < 50; i++) await ns.put(`r${String(i).padStart(3, '0')}`, `record ${i}`);
    expect(await ns.list({ limit: 3 })).toEqual(['r000', 'r001', 'r002']);
    const bodies = new Map<string, string>();
    for (const id of await ns.list()) bodies.set(id, (await store.getRecord('docs', id))!.body.join());
    let sawLock = false;
    const progress: number[] = [];
    await ns.changeKey(other.KeyId, {
      concurrency: 4,
      onProgress: (p) => progress.push(p.done),
      beforeRecord: async (id) => {
        if (id !== 'r010') return;
        await expect(ns.put('new', 'x')).rejects.toBeInstanceOf(NamespaceLockedError);
        await expect(ns.delete('r000')).rejects.toBeInstanceOf(NamespaceLockedError);
        await expect(ns.changeKey(keyId)).rejects.toBeInstanceOf(NamespaceLockedError);
        expect(await ns.getText('r000')).toBe('record 0');
        expect(await ns.getText('r049')).toBe('record 49');
        sawLock = true;
      },
    });
    expect(sawLock).toBe(true);
    expect(progress.at(-1)).toBe(50);
    expect(await ns.keyId()).toBe(other.Arn);
    for (const id of await ns.list()) {
      const r = (await store.getRecord('docs', id))!;
      expect(r.body.join()).toBe(bodies.get(id));
      expect(r.keyId).toBe(other.Arn);
    }
    await client.disableKey({ KeyId: keyId });
    expect(await ns.getText('r025')).toBe('record 25');
    await ns.put('after', 'change');
    expect(await ns.getText('after')).toBe('change');
  });
  it('refuses a customer managed -> AWS managed change, and a disabled or pending-deletion target, before touching anything', async () => {
    const { client, keyId } = await setup();
    const store = createMemoryRecordStore();
    const ns = await openNamespace({ name: 'n', kms: client, store, keyId });
    await ns.put('a', 'x');
    const before = JSON.stringify(await store.getRecord('n', 'a'));
    await expect(ns.changeKey('alias/aws/s3')).rejects.toThrow(/customer managed key to an AWS managed key/);
    const disabled = (await client.createKey({})).KeyMetadata.KeyId;
    await client.disableKey({ KeyId: disabled });
    await expect(ns.changeKey(disabled)).rejects.toThrow(/disabled/);
    const doomed = (await client.createKey({})).KeyMetadata.KeyId;
    await client.scheduleKeyDeletion({ KeyId: doomed, PendingWindowInDays: 7 });
    await expect(ns.changeKey(doomed)).rejects.toThrow(/pending deletion/);
    expect(JSON.stringify(await store.getRecord('n', 'a'))).toBe(before);
    expect(await ns.pendingChange()).toBeUndefined();
    await ns.put('b', 'still writable');
  });
  it('an interrupted change resumes on open, and every record reads at every moment', async () => {
    const { client, keyId } = await setup();
    const target = (await client.createKey({})).KeyMetadata;
    const store = createMemoryRecordStore();
    const ns = await openNamespace({ name: 'crash', kms: client, store, keyId });
    for (let i = 0; i < 20; i++) await ns.put(`k${i}`, `v${i}`);
    let n = 0;
    await expect(
      ns.changeKey(target.KeyId, {
        concurrency: 1,
        beforeRecord: () => {
          if (++n === 8) throw new Error('crash');
        },
      }),
    ).rejects.toThrow('crash');
    const change = await ns.pendingChange();
    expect(change?.to).toBe(target.Arn);
    const keys = new Set<string>();
    for (let i = 0; i < 20; i++) {
      keys.add((await store.getRecord('crash', `k${i}`))!.keyId);
      expect(await ns.getText(`k${i}`)).toBe(`v${i}`);
    }
    expect(keys.size).toBe(2);
    const reopened = await openNamespace({ name: 'crash', kms: client, store });
    expect(await reopened.pendingChange()).toBeUndefined();
    expect(await reopened.keyId()).toBe(target.Arn);
    for (let i = 0; i < 20; i++) expect((await store.getRecord('crash', `k${i}`))!.keyId).toBe(target.Arn);
  });
});
