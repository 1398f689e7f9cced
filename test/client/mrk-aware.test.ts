/**
 * MRK-aware decryption over real HTTP: two loopback endpoints, "us-east-1" and "eu-west-1", serve
 * ONE edge-kms (the Hono app on @hono/node-server; the Region comes from each client's SigV4
 * credential scope). A multi-Region key is made in us-east-1 and replicated to eu-west-1, and
 * messages are envelope-encrypted through createMrkAwareKms. Each endpoint records the operation
 * and KeyId of every request it gets, so the tests see which Region answered and with which ARN:
 * [us, eu] decrypts in us; [eu, us] decrypts in eu with the KeyId rewritten to eu-west-1; a
 * single-Region key goes to its own Region only, its ARN untouched; InvalidCiphertextException and
 * IncorrectKeyException are not retried elsewhere; a disabled replica falls back; with the us
 * endpoint's server closed, decryption and encryption go to eu, a single-Region key of us fails
 * with an AllRegionsFailedError that names the refused connection, and every Region failing gives
 * every Region's failure; a Region that accepts connections and never answers is left after
 * timeoutMs.
 * Run: npx vitest run test/client/mrk-aware.test.ts
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AllRegionsFailedError,
  createKmsClient,
  createMrkAwareKms,
  decryptBytes,
  DisabledException,
  encryptBytes,
  IncorrectKeyException,
  InvalidCiphertextException,
  joinMessage,
  splitMessage,
  type FallbackEvent,
  type KmsClient,
  type MrkAwareOptions,
} from '@edge-kms/client';
import { createKms, type Kms } from '@edge-kms/core';
import { createKmsApp } from '@edge-kms/hono';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CREDENTIALS = { accessKeyId: 'AKIAMRKAWARETEST0001', secretAccessKey: 'not-checked' };
const US = 'us-east-1';
const EU = 'eu-west-1';
const ctx = { purpose: 'mrk-aware' };
const data = new TextEncoder().encode('decrypt near, fall back far');

interface Seen {
  operation: string;
  keyId?: string;
  region?: string;
}

interface Endpoint {
  region: string;
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

/** Serves the app on 127.0.0.1 (a port of its own), recording each request's operation, KeyId and credential Region. */
function endpoint(region: string, fetch: (request: Request) => Response | Promise<Response>): Promise<Endpoint> {
  const seen: Seen[] = [];
  return new Promise((resolve) => {
    const server = serve(
      {
        hostname: '127.0.0.1',
        port: 0,
        fetch: async (request: Request) => {
          const body = JSON.parse((await request.clone().text()) || '{}') as { KeyId?: string };
          seen.push({
            operation: request.headers.get('x-amz-target')?.split('.')[1] ?? '',
            keyId: body.KeyId,
            region: /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(request.headers.get('authorization') ?? '')?.[1],
          });
          return fetch(request);
        },
      },
      (info) => resolve({ region, url: `http://127.0.0.1:${info.port}/`, seen, close: () => closeServer(server as Server) }),
    ) as Server;
  });
}

/** Stops listening and drops every connection, kept-alive ones included: the endpoint is gone. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

const decrypts = (e: Endpoint) => e.seen.filter((s) => s.operation === 'Decrypt');

let kms: Kms;
let us: Endpoint;
let eu: Endpoint;
let usClient: KmsClient;
let euClient: KmsClient;
/** The multi-Region key's ARN in each Region, and a second multi-Region key (for IncorrectKey). */
let mrkUs: string;
let mrkEu: string;
let otherMrkUs: string;
/** A single-Region (UUID) key of us-east-1. */
let singleUs: string;
let usDown = false;

const regional = (e: Endpoint) => createKmsClient({ endpoint: e.url, region: e.region, credentials: CREDENTIALS });
const usFirst = (o?: MrkAwareOptions) =>
  createMrkAwareKms(
    [
      { region: US, client: usClient },
      { region: EU, client: euClient },
    ],
    o,
  );
const euFirst = (o?: MrkAwareOptions) =>
  createMrkAwareKms(
    [
      { region: EU, client: euClient },
      { region: US, client: usClient },
    ],
    o,
  );

async function createMrk(): Promise<string> {
  const md = (await kms.execute('CreateKey', { MultiRegion: true, Description: 'mrk-aware test' })) as { KeyMetadata: { KeyId: string; Arn: string } };
  expect(md.KeyMetadata.KeyId).toMatch(/^mrk-[0-9a-f]{32}$/);
  await kms.execute('ReplicateKey', { KeyId: md.KeyMetadata.KeyId, ReplicaRegion: EU });
  return md.KeyMetadata.Arn;
}

/** The error a promise rejects with; fails the test if it resolves. */
async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a failure');
}

beforeAll(async () => {
  kms = createKms();
  const app = createKmsApp({ kms });
  us = await endpoint(US, app.fetch);
  eu = await endpoint(EU, app.fetch);
  usClient = regional(us);
  euClient = regional(eu);
  mrkUs = await createMrk();
  mrkEu = mrkUs.replace(`:${US}:`, `:${EU}:`);
  otherMrkUs = await createMrk();
  singleUs = ((await kms.execute('CreateKey', {})) as { KeyMetadata: { Arn: string } }).KeyMetadata.Arn;
  expect(singleUs).toMatch(/:us-east-1:\d{12}:key\/[0-9a-f-]{36}$/);
});

afterAll(async () => {
  if (!usDown) await us?.close();
  await eu?.close();
});

describe('MRK-aware envelope decryption over two Regional endpoints of one edge-kms', () => {
  let message: Uint8Array;
  let singleMessage: Uint8Array;

  beforeAll(async () => {
    message = await encryptBytes(usFirst(), data, { keyId: mrkUs, encryptionContext: ctx });
    singleMessage = await encryptBytes(usFirst(), data, { keyId: singleUs, encryptionContext: ctx });
  });

  it('the endpoints serve their Regions: the replica is in eu-west-1 under the same key id', async () => {
    const md = (await euClient.describeKey({ KeyId: mrkEu })).KeyMetadata;
    expect(md.Arn).toBe(mrkEu);
    expect(md.MultiRegionConfiguration?.MultiRegionKeyType).toBe('REPLICA');
    expect(eu.seen.at(-1)).toEqual({ operation: 'DescribeKey', keyId: mrkEu, region: EU });
    // The message was made in us-east-1 (the nearest), under the us ARN.
    expect(splitMessage(message).keyId).toBe(mrkUs);
    expect(us.seen.filter((s) => s.operation === 'GenerateDataKey').map((s) => s.keyId)).toEqual([mrkUs, singleUs]);
  });

  it('[us, eu] decrypts in us-east-1; eu-west-1 is not asked', async () => {
    const before = { us: decrypts(us).length, eu: decrypts(eu).length };
    const out = await decryptBytes(usFirst(), message);
    expect(out.plaintext).toEqual(data);
    expect(out.keyId).toBe(mrkUs);
    expect(decrypts(us).length).toBe(before.us + 1);
    expect(decrypts(us).at(-1)).toEqual({ operation: 'Decrypt', keyId: mrkUs, region: US });
    expect(decrypts(eu).length).toBe(before.eu);
  });

  it('[eu, us] decrypts the us-made message in eu-west-1, with the KeyId rewritten to the eu ARN', async () => {
    const before = { us: decrypts(us).length, eu: decrypts(eu).length };
    const out = await decryptBytes(euFirst(), message);
    expect(out.plaintext).toEqual(data);
    expect(out.keyId).toBe(mrkEu);
    expect(decrypts(eu).length).toBe(before.eu + 1);
    expect(decrypts(eu).at(-1)).toEqual({ operation: 'Decrypt', keyId: mrkEu, region: EU });
    expect(decrypts(us).length).toBe(before.us);
  });

  it('[eu, us] sends a single-Region key of us-east-1 to us only, its ARN unchanged', async () => {
    const before = { us: decrypts(us).length, eu: decrypts(eu).length };
    const out = await decryptBytes(euFirst(), singleMessage);
    expect(out.plaintext).toEqual(data);
    expect(decrypts(us).at(-1)).toEqual({ operation: 'Decrypt', keyId: singleUs, region: US });
    expect(decrypts(us).length).toBe(before.us + 1);
    expect(decrypts(eu).length).toBe(before.eu);
  });

  it('InvalidCiphertextException (a tampered data key) is thrown as is, without asking eu-west-1', async () => {
    const { keyId, wrappedKey, body } = splitMessage(message);
    const tampered = wrappedKey.slice();
    tampered[tampered.length >> 1]! ^= 1;
    const before = { us: decrypts(us).length, eu: decrypts(eu).length };
    const events: FallbackEvent[] = [];
    const e = await failure(decryptBytes(usFirst({ onFallback: (ev) => events.push(ev) }), joinMessage({ keyId, wrappedKey: tampered }, body)));
    expect(e).toBeInstanceOf(InvalidCiphertextException);
    expect(decrypts(us).length).toBe(before.us + 1);
    expect(decrypts(eu).length).toBe(before.eu);
    expect(events).toEqual([]);
  });

  it('IncorrectKeyException (the message names another multi-Region key) is thrown as is, without asking eu-west-1', async () => {
    const { wrappedKey, body } = splitMessage(message);
    const before = { us: decrypts(us).length, eu: decrypts(eu).length };
    const e = await failure(decryptBytes(usFirst(), joinMessage({ keyId: otherMrkUs, wrappedKey }, body)));
    expect(e).toBeInstanceOf(IncorrectKeyException);
    expect(decrypts(us).length).toBe(before.us + 1);
    expect(decrypts(eu).length).toBe(before.eu);
  });

  it("a disabled replica is that Region's failure: [eu, us] falls back to us-east-1 on DisabledException", async () => {
    const euKms = kms.inRegion(EU);
    await euKms.execute('DisableKey', { KeyId: mrkEu });
    try {
      const events: FallbackEvent[] = [];
      const before = { us: decrypts(us).length, eu: decrypts(eu).length };
      const out = await decryptBytes(euFirst({ onFallback: (ev) => events.push(ev) }), message);
      expect(out.plaintext).toEqual(data);
      expect(out.keyId).toBe(mrkUs);
      expect(decrypts(eu).slice(before.eu)).toEqual([{ operation: 'Decrypt', keyId: mrkEu, region: EU }]);
      expect(decrypts(us).slice(before.us)).toEqual([{ operation: 'Decrypt', keyId: mrkUs, region: US }]);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ operation: 'Decrypt', region: EU, next: US });
      expect(events[0]!.error).toBeInstanceOf(DisabledException);
    } finally {
      await euKms.execute('EnableKey', { KeyId: mrkEu });
    }
  });

  describe('with the us-east-1 endpoint down (its HTTP server closed)', () => {
    beforeAll(async () => {
      await us.close();
      usDown = true;
    });

    it('[us, eu] decrypts through eu-west-1, with the KeyId rewritten; the refused connection is reported', async () => {
      const events: FallbackEvent[] = [];
      const before = { us: us.seen.length, eu: decrypts(eu).length };
      const out = await decryptBytes(usFirst({ onFallback: (ev) => events.push(ev) }), message);
      expect(out.plaintext).toEqual(data);
      expect(out.keyId).toBe(mrkEu);
      expect(us.seen.length).toBe(before.us);
      expect(decrypts(eu).slice(before.eu)).toEqual([{ operation: 'Decrypt', keyId: mrkEu, region: EU }]);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ operation: 'Decrypt', region: US, next: EU });
      expect(events[0]!.error).toBeInstanceOf(TypeError); // fetch rejected
    });

    it('envelope encryption falls back too: GenerateDataKey in eu-west-1, and the message names the eu ARN', async () => {
      const before = eu.seen.length;
      const m = await encryptBytes(usFirst(), data, { keyId: mrkUs, encryptionContext: ctx });
      expect(splitMessage(m).keyId).toBe(mrkEu);
      expect(eu.seen.slice(before)).toEqual([{ operation: 'GenerateDataKey', keyId: mrkEu, region: EU }]);
      expect((await decryptBytes(usFirst(), m)).plaintext).toEqual(data);
      // With encryptFallback: false, encryption uses the nearest Region only.
      const e = await failure(encryptBytes(usFirst({ encryptFallback: false }), data, { keyId: mrkUs }));
      expect(e).toBeInstanceOf(AllRegionsFailedError);
      expect((e as AllRegionsFailedError).failures.map((f) => f.region)).toEqual([US]);
    });

    it('a single-Region key of us-east-1 fails with an error naming the failure; eu-west-1 is not asked, nothing rewritten', async () => {
      const before = eu.seen.length;
      const events: FallbackEvent[] = [];
      const e = await failure(decryptBytes(usFirst({ onFallback: (ev) => events.push(ev) }), singleMessage));
      expect(e).toBeInstanceOf(AllRegionsFailedError);
      const all = e as AllRegionsFailedError;
      expect(all.name).toBe('AllRegionsFailedError');
      expect(all.operation).toBe('Decrypt');
      expect(all.keyId).toBe(singleUs);
      expect(all.failures).toHaveLength(1);
      expect(all.failures[0]!.region).toBe(US);
      expect(all.failures[0]!.error).toBeInstanceOf(TypeError);
      expect(all.errors).toEqual([all.failures[0]!.error]);
      expect(all.message).toContain(`${singleUs} is a single-Region key, used in ${US} only`);
      expect(all.message).toContain(`${US}: TypeError: fetch failed (ECONNREFUSED)`);
      expect(eu.seen.length).toBe(before);
      expect(events).toEqual([]);
    });

    it("every Region failing (us down, eu's replica disabled) gives every Region's failure, in order", async () => {
      const euKms = kms.inRegion(EU);
      await euKms.execute('DisableKey', { KeyId: mrkEu });
      try {
        const e = await failure(decryptBytes(usFirst(), message));
        expect(e).toBeInstanceOf(AllRegionsFailedError);
        const all = e as AllRegionsFailedError;
        expect(all.failures.map((f) => f.region)).toEqual([US, EU]);
        expect(all.failures[0]!.error).toBeInstanceOf(TypeError);
        expect(all.failures[1]!.error).toBeInstanceOf(DisabledException);
        expect(all.message).toMatch(
          /^Decrypt with arn:aws:kms:us-east-1:\d{12}:key\/mrk-[0-9a-f]{32} failed: every Region asked failed: us-east-1: TypeError: fetch failed \(ECONNREFUSED\); eu-west-1: DisabledException: /,
        );
      } finally {
        await euKms.execute('EnableKey', { KeyId: mrkEu });
      }
    });
  });
});

describe('a Region that accepts connections and never answers', () => {
  let silent: Server;
  let silentUrl: string;
  let heard = 0;

  beforeAll(async () => {
    silent = createServer(() => {
      heard++; // never answered
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`;
  });
  afterAll(() => closeServer(silent));

  it('is left after timeoutMs, and eu-west-1 decrypts', async () => {
    const message = await encryptBytes(euClient, data, { keyId: mrkEu, encryptionContext: ctx });
    const events: FallbackEvent[] = [];
    const silentUs = createKmsClient({ endpoint: silentUrl, region: US, credentials: CREDENTIALS });
    const mrk = createMrkAwareKms(
      [
        { region: US, client: silentUs },
        { region: EU, client: euClient },
      ],
      { timeoutMs: 300, onFallback: (ev) => events.push(ev) },
    );
    const t0 = Date.now();
    const out = await decryptBytes(mrk, message);
    expect(out.plaintext).toEqual(data);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(heard).toBe(1);
    expect(events).toHaveLength(1);
    expect((events[0]!.error as Error).name).toBe('TimeoutError');
    expect(decrypts(eu).at(-1)).toEqual({ operation: 'Decrypt', keyId: mrkEu, region: EU });
  });
});
