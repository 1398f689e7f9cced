/**
 * Streaming envelope encryption in Node, against an in-process edge-kms and over HTTP against the
 * real server (SigV4-signed with the client's credentials): round trips of 0, 1, chunk-1, chunk,
 * chunk+1 bytes and 100 MB, generated and consumed as streams (never held whole: the bytes in
 * flight between source and sink are watched), compared by running SHA-256; every tampering case
 * rejected by the streaming decryptor, which releases nothing but authenticated whole chunks; and
 * messages decrypting after three rotations over HTTP.
 * Run: npx vitest run test/client/streaming.test.ts
 */
import { createHash } from 'node:crypto';
import { createKms } from '@edge-kms/core';
import {
  createKmsClient,
  decryptBytes,
  decryptStream,
  DEFAULT_CHUNK_SIZE,
  encryptBytes,
  encryptStream,
  EnvelopeError,
  KmsClientError,
  type KmsClient,
} from '@edge-kms/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DUMMY_CREDENTIALS, REGION, spawnKmsServer, type KmsServer } from '../helpers/server.js';
import { bytesOf, concat, counter, flow, streamOf, tamperCases, type HashFactory } from './stream-kit.js';

const nodeSha256: HashFactory = () => {
  const h = createHash('sha256');
  return { update: (d: Uint8Array) => h.update(d), digest: () => h.digest('hex') };
};

const C = DEFAULT_CHUNK_SIZE;
const MB100 = 100 * 1024 * 1024;
const ctx = { purpose: 'streaming-test', tenant: 't1' };

/** Encrypts a generated stream and pipes the sealed stream straight into the decryptor. */
async function roundTrip(client: KmsClient, keyId: string, total: number, chunkSize = C) {
  const f = flow(total, { hash: nodeSha256, seed: total + 1 });
  const sealed = counter();
  const { stream, info } = decryptStream(client, encryptStream(client, f.source, { keyId, chunkSize, encryptionContext: ctx }).pipeThrough(sealed.stream));
  await stream.pipeTo(f.sink);
  expect(f.produced()).toBe(total);
  expect(f.consumed()).toBe(total);
  expect(f.outputHash()).toBe(f.inputHash());
  const d = await info;
  expect(d.encryptionContext).toEqual(ctx);
  // the head (key section + body header) is what remains after the chunks: ceil(total / chunk size)
  // chunks, the last one final, and one (empty, final) chunk for an empty message
  const head = sealed.bytes() - total - 16 * Math.max(1, Math.ceil(total / chunkSize));
  return { f, head, info: d };
}

interface Env {
  client: KmsClient;
  keyId: string;
}

const envs: { name: string; setup(): Promise<Env>; teardown?(): Promise<void> }[] = [];
let server: KmsServer | undefined;
envs.push({
  name: 'in-process core',
  async setup() {
    const client = createKmsClient({ kms: createKms() });
    return { client, keyId: (await client.createKey({})).KeyMetadata.KeyId };
  },
});
envs.push({
  name: 'HTTP, real server, SigV4',
  async setup() {
    server = await spawnKmsServer();
    const client = createKmsClient({ endpoint: server.url, region: REGION, credentials: DUMMY_CREDENTIALS });
    return { client, keyId: (await client.createKey({ Description: 'streaming' })).KeyMetadata.KeyId };
  },
  teardown: () => server!.dispose(),
});

for (const envDef of envs) {
  describe(`streaming over ${envDef.name}`, () => {
    let env: Env;
    beforeAll(async () => {
      env = await envDef.setup();
    });
    afterAll(async () => {
      await envDef.teardown?.();
    });

    it('round trips 0, 1, chunk-1, chunk and chunk+1 bytes; the message always ends with exactly one final chunk', async () => {
      const heads = new Set<number>();
      for (const n of [0, 1, C - 1, C, C + 1]) {
        const { head, info } = await roundTrip(env.client, env.keyId, n);
        heads.add(head);
        expect(info.keyId).toContain(env.keyId);
      }
      expect(heads.size).toBe(1); // the chunk accounting (full chunks, the last one final) holds for every size
    });

    it('round trips 100 MB as streams with bounded memory and equal running SHA-256', async () => {
      const t0 = Date.now();
      const { f } = await roundTrip(env.client, env.keyId, MB100);
      // Never the whole message: a few chunks at most between the generator and the sink.
      expect(f.maxInFlight()).toBeLessThan(8 * C);
      console.log(`100 MB over ${envDef.name}: ${Date.now() - t0} ms, at most ${(f.maxInFlight() / 2 ** 20).toFixed(1)} MiB in flight`);
    }, 90_000);

    it('every tampering case is rejected by the streaming decryptor (and by decryptBytes), releasing only authenticated chunks', async () => {
      const cs = 512;
      const pa = bytesOf(3 * cs + 100, 1);
      const pal = bytesOf(4 * cs, 2);
      const a = await encryptBytes(env.client, pa, { keyId: env.keyId, chunkSize: cs, encryptionContext: ctx });
      const aligned = await encryptBytes(env.client, pal, { keyId: env.keyId, chunkSize: cs, encryptionContext: ctx });
      const b = await encryptBytes(env.client, bytesOf(3 * cs + 100, 3), { keyId: env.keyId, chunkSize: cs, encryptionContext: ctx });
      // the genuine messages open, as bytes and as streams
      for (const [m, p] of [
        [a, pa],
        [aligned, pal],
      ] as const) {
        expect((await decryptBytes(env.client, m)).plaintext).toEqual(p);
        expect(new Uint8Array(await new Response(decryptStream(env.client, streamOf(m, 333)).stream).arrayBuffer())).toEqual(p);
      }
      const cases = tamperCases(a, aligned, b, cs);
      expect(cases.length).toBeGreaterThanOrEqual(30);
      for (const c of cases) {
        const genuine = c.source === 'a' ? pa : pal;
        for (const piece of [97, 4096]) {
          const reader = decryptStream(env.client, streamOf(c.message, piece)).stream.getReader();
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
          expect(error, `${c.name} (pieces of ${piece}): not detected`).toBeDefined();
          expect(error instanceof EnvelopeError || error instanceof KmsClientError, `${c.name}: ${String(error)}`).toBe(true);
          const out = concat(...released);
          expect(out.length % cs, `${c.name}: released a partial chunk`).toBe(0);
          expect(out, `${c.name}: released bytes that are not the genuine plaintext`).toEqual(genuine.subarray(0, out.length));
        }
        await expect(decryptBytes(env.client, c.message), c.name).rejects.toSatisfy((e) => e instanceof EnvelopeError || e instanceof KmsClientError);
      }
    }, 60_000);
  });
}

describe('messages survive rotations over HTTP', () => {
  let srv: KmsServer;
  beforeAll(async () => {
    srv = await spawnKmsServer();
  });
  afterAll(async () => {
    await srv?.dispose();
  });

  it('messages sealed before each of 3 rotations decrypt afterwards, naming the material that wrapped them', async () => {
    const client = createKmsClient({ endpoint: srv.url, region: REGION, credentials: DUMMY_CREDENTIALS });
    const keyId = (await client.createKey({})).KeyMetadata.KeyId;
    const made: { message: Uint8Array; plaintext: Uint8Array; material: string }[] = [];
    for (let i = 0; i <= 3; i++) {
      const material = (await client.describeKey({ KeyId: keyId })).KeyMetadata.CurrentKeyMaterialId!;
      const plaintext = bytesOf(200_000 + i, 10 + i);
      const message = new Uint8Array(
        await new Response(encryptStream(client, streamOf(plaintext, 7777), { keyId, chunkSize: 65_536, encryptionContext: ctx })).arrayBuffer(),
      );
      made.push({ message, plaintext, material });
      if (i < 3) await client.rotateKeyOnDemand({ KeyId: keyId });
    }
    expect(new Set(made.map((m) => m.material)).size).toBe(4);
    expect((await client.listKeyRotations({ KeyId: keyId })).Rotations).toHaveLength(3);
    for (const { message, plaintext, material } of made) {
      const { stream, info } = decryptStream(client, streamOf(message, 5000));
      expect(new Uint8Array(await new Response(stream).arrayBuffer())).toEqual(plaintext);
      expect((await info).keyMaterialId).toBe(material);
      const bytes = await decryptBytes(client, message);
      expect(bytes.plaintext).toEqual(plaintext);
      expect(bytes.keyMaterialId).toBe(material);
    }
  });
});
