/**
 * The @edge-kms/client over HTTP against the real server with SigV4 verification on (identities
 * from KMS_IDENTITIES): its signatures are accepted, a wrong secret gives an
 * InvalidSignatureException object of an exported class, KMS errors arrive as typed error classes,
 * and retries: a tiny real HTTP proxy (node:http) in front of the server answers the first N
 * requests with ThrottlingException / 5xx and then forwards, counting requests, so we see the
 * client retry throttling and 5xx with jittered backoff, never retry a 400 (ValidationException,
 * AccessDeniedException), and give up after maxAttempts.
 * Run: npx vitest run test/client/http-client.test.ts
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import {
  AccessDeniedException,
  AlreadyExistsException,
  createKmsClient,
  decryptBytes,
  DisabledException,
  encryptBytes,
  IncorrectKeyException,
  InvalidCiphertextException,
  InvalidSignatureException,
  isRetryable,
  KMSInternalException,
  KMSInvalidStateException,
  KmsClientError,
  MissingAuthenticationTokenException,
  NotFoundException,
  ThrottlingException,
  UnrecognizedClientException,
  ValidationException,
  type KmsClientOptions,
  type KmsErrorClass,
} from '@edge-kms/client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ALICE, CAROL, spawnVerifyingServer } from '../auth/support.js';
import { REGION, type KmsServer } from '../helpers/server.js';

let server: KmsServer;
beforeAll(async () => {
  server = await spawnVerifyingServer();
});
afterAll(async () => {
  await server?.dispose();
});

const as = (who: { accessKeyId: string; secretAccessKey: string }, o: Partial<KmsClientOptions> = {}) =>
  createKmsClient({ endpoint: server.url, region: REGION, credentials: { accessKeyId: who.accessKeyId, secretAccessKey: who.secretAccessKey }, ...o });

/** The error a call fails with; fails the test if it succeeds. */
async function failure(p: Promise<unknown>): Promise<KmsClientError> {
  try {
    await p;
  } catch (e) {
    return e as KmsClientError;
  }
  throw new Error('expected the call to fail');
}

describe('SigV4 against a verifying server', () => {
  it('the client signs requests the server accepts, end to end with envelope encryption', async () => {
    const alice = as(ALICE);
    const { KeyMetadata } = await alice.createKey({ Description: 'client over http' });
    expect(KeyMetadata.Arn).toContain(':key/');
    expect(KeyMetadata.CreationDate).toBeInstanceOf(Date);
    const ct = await alice.encrypt({ KeyId: KeyMetadata.KeyId, Plaintext: new TextEncoder().encode('hi'), EncryptionContext: { a: 'b' } });
    expect(ct.CiphertextBlob).toBeInstanceOf(Uint8Array);
    const pt = await alice.decrypt({ CiphertextBlob: ct.CiphertextBlob, EncryptionContext: { a: 'b' } });
    expect(new TextDecoder().decode(pt.Plaintext)).toBe('hi');
    const m = await encryptBytes(alice, new Uint8Array(5000).fill(7), { keyId: KeyMetadata.KeyId, chunkSize: 1024 });
    expect((await decryptBytes(alice, m)).plaintext).toEqual(new Uint8Array(5000).fill(7));
  });

  it('a wrong secret gives an InvalidSignatureException object of the exported class, not retried', async () => {
    let calls = 0;
    const counting: typeof fetch = (...a) => (calls++, fetch(...a));
    const wrong = as({ accessKeyId: ALICE.accessKeyId, secretAccessKey: `${ALICE.secretAccessKey}x` }, { fetch: counting, maxAttempts: 5 });
    const e = await failure(wrong.listKeys({}));
    expect(e).toBeInstanceOf(InvalidSignatureException);
    expect(e).toBeInstanceOf(KmsClientError);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('InvalidSignatureException');
    expect(e.status).toBe(400);
    expect(e.message).toMatch(/signature/i);
    expect(isRetryable(e)).toBe(false);
    expect(calls).toBe(1);
  });

  it('an unknown access key gives UnrecognizedClientException; no credentials at all, MissingAuthenticationTokenException', async () => {
    const e = await failure(as({ accessKeyId: 'AKIANOBODY0000000000', secretAccessKey: 'x' }).listKeys({}));
    expect(e).toBeInstanceOf(UnrecognizedClientException);
    expect(e.name).toBe('UnrecognizedClientException');
    const none = await failure(createKmsClient({ endpoint: server.url, region: REGION }).listKeys({}));
    expect(none).toBeInstanceOf(MissingAuthenticationTokenException);
    expect(none.name).toBe('MissingAuthenticationTokenException');
  });

  it('KMS errors arrive as typed classes with name, status and request id', async () => {
    const alice = as(ALICE);
    const check = async (p: Promise<unknown>, C: KmsErrorClass, name: string) => {
      const e = await failure(p);
      expect(e, name).toBeInstanceOf(C);
      expect(e).toBeInstanceOf(KmsClientError);
      expect(e.name).toBe(name);
      expect(e.status).toBe(name === 'KMSInternalException' ? 500 : 400);
      expect(e.requestId).toBeTruthy();
      expect(e.message.length).toBeGreaterThan(0);
      return e;
    };
    await check(alice.describeKey({ KeyId: '00000000-0000-4000-8000-000000000000' }), NotFoundException, 'NotFoundException');
    const k = (await alice.createKey({})).KeyMetadata.KeyId;
    const other = (await alice.createKey({})).KeyMetadata.KeyId;
    const ct = (await alice.encrypt({ KeyId: k, Plaintext: new Uint8Array([1]) })).CiphertextBlob;
    await check(alice.decrypt({ CiphertextBlob: ct, KeyId: other }), IncorrectKeyException, 'IncorrectKeyException');
    await check(
      alice.decrypt({ CiphertextBlob: ct.map((b, i) => (i === ct.length - 1 ? b ^ 1 : b)) }),
      InvalidCiphertextException,
      'InvalidCiphertextException',
    );
    await check(alice.generateRandom({ NumberOfBytes: 0 }), ValidationException, 'ValidationException');
    await alice.createAlias({ AliasName: 'alias/http-client', TargetKeyId: k });
    await check(alice.createAlias({ AliasName: 'alias/http-client', TargetKeyId: k }), AlreadyExistsException, 'AlreadyExistsException');
    await alice.disableKey({ KeyId: other });
    await check(alice.encrypt({ KeyId: other, Plaintext: new Uint8Array([1]) }), DisabledException, 'DisabledException');
    await alice.scheduleKeyDeletion({ KeyId: other, PendingWindowInDays: 7 });
    await check(alice.encrypt({ KeyId: other, Plaintext: new Uint8Array([1]) }), KMSInvalidStateException, 'KMSInvalidStateException');
    // carol is in another account: alice's key is not hers to use
    await check(
      as(CAROL).encrypt({ KeyId: `arn:aws:kms:${REGION}:${ALICE.accountId}:key/${k}`, Plaintext: new Uint8Array([1]) }),
      AccessDeniedException,
      'AccessDeniedException',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Retries, through a real proxy.

type Canned = { status: number; body: string; contentType?: string };
const THROTTLE: Canned = { status: 400, body: '{"__type":"ThrottlingException","message":"Rate exceeded"}' };
const INTERNAL_500: Canned = { status: 500, body: '{"__type":"KMSInternalException","message":"We encountered an internal error. Please try again."}' };
const INTERNAL_503: Canned = { status: 503, body: '{"__type":"KMSInternalException","message":"Service unavailable"}' };
const HTML_502: Canned = { status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body></html>', contentType: 'text/html' };
const VALIDATION: Canned = { status: 400, body: '{"__type":"ValidationException","message":"1 validation error detected"}' };
const DENIED: Canned = { status: 400, body: '{"__type":"AccessDeniedException","message":"User is not authorized"}' };

interface Proxy {
  url: string;
  /** Answers for the next requests, in order; once used up, requests are forwarded. */
  plan: Canned[];
  /** Every request seen: arrival time and target. */
  seen: { at: number; target: string; forwarded: boolean }[];
  close(): Promise<void>;
}

async function startProxy(upstream: string): Promise<Proxy> {
  const up = new URL(upstream);
  const proxy: Proxy = { url: '', plan: [], seen: [], close: async () => undefined };
  const srv: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const canned = proxy.plan.shift();
      proxy.seen.push({ at: performance.now(), target: String(req.headers['x-amz-target']), forwarded: !canned });
      if (canned) {
        res.writeHead(canned.status, { 'content-type': canned.contentType ?? 'application/x-amz-json-1.1', 'x-amzn-requestid': `proxy-${proxy.seen.length}` });
        res.end(canned.body);
        return;
      }
      // Forward as is, Host header included: the signature covers it.
      const headers: IncomingHttpHeaders = { ...req.headers };
      const out = request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      out.on('error', (e) => {
        res.writeHead(502);
        res.end(String(e));
      });
      out.end(Buffer.concat(parts));
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const a = srv.address();
  proxy.url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  proxy.close = () =>
    new Promise<void>((r) => {
      srv.closeAllConnections();
      srv.close(() => r());
    });
  return proxy;
}

describe('retries through a proxy in front of the real server', () => {
  let proxy: Proxy;
  let keyId: string;
  beforeAll(async () => {
    proxy = await startProxy(server.url);
    keyId = (await as(ALICE).createKey({ Description: 'retries' })).KeyMetadata.KeyId;
  });
  afterAll(async () => {
    await proxy?.close();
  });
  afterEach(() => {
    proxy.plan.length = 0;
    proxy.seen.length = 0;
    vi.restoreAllMocks();
  });

  const client = (o: Partial<KmsClientOptions> = {}) =>
    createKmsClient({
      endpoint: proxy.url,
      region: REGION,
      credentials: { accessKeyId: ALICE.accessKeyId, secretAccessKey: ALICE.secretAccessKey },
      retryBaseMs: 5,
      retryCapMs: 50,
      ...o,
    });

  it('the proxy forwards signed requests untouched', async () => {
    const out = await client().describeKey({ KeyId: keyId });
    expect(out.KeyMetadata.KeyId).toBe(keyId);
    expect(proxy.seen).toHaveLength(1);
    expect(proxy.seen[0]).toMatchObject({ target: 'TrentService.DescribeKey', forwarded: true });
  });

  for (const [name, canned] of [
    ['ThrottlingException (400)', THROTTLE],
    ['KMSInternalException (500)', INTERNAL_500],
    ['KMSInternalException (503)', INTERNAL_503],
    ['a 502 with an HTML body from a load balancer', HTML_502],
  ] as const) {
    it(`retries ${name} and succeeds once the server answers`, async () => {
      proxy.plan.push(canned, canned);
      const out = await client({ maxAttempts: 3 }).generateDataKey({ KeyId: keyId, KeySpec: 'AES_256' });
      expect(out.Plaintext).toHaveLength(32);
      expect(proxy.seen.map((s) => s.forwarded)).toEqual([false, false, true]);
      expect(new Set(proxy.seen.map((s) => s.target))).toEqual(new Set(['TrentService.GenerateDataKey']));
    });
  }

  it('gives up after maxAttempts, with the last error typed', async () => {
    proxy.plan.push(...Array(10).fill(THROTTLE));
    const e = await failure(client({ maxAttempts: 4 }).describeKey({ KeyId: keyId }));
    expect(e).toBeInstanceOf(ThrottlingException);
    expect(e.name).toBe('ThrottlingException');
    expect(e.message).toBe('Rate exceeded');
    expect(proxy.seen).toHaveLength(4);
    proxy.plan.length = 0;
    proxy.seen.length = 0;
    proxy.plan.push(...Array(10).fill(INTERNAL_503));
    const e5 = await failure(client({ maxAttempts: 2 }).describeKey({ KeyId: keyId }));
    expect(e5).toBeInstanceOf(KMSInternalException);
    expect(e5.status).toBe(503);
    expect(proxy.seen).toHaveLength(2);
  });

  it('maxAttempts 1 means no retry at all', async () => {
    proxy.plan.push(THROTTLE);
    expect(await failure(client({ maxAttempts: 1 }).describeKey({ KeyId: keyId }))).toBeInstanceOf(ThrottlingException);
    expect(proxy.seen).toHaveLength(1);
  });

  it('does not retry a 400 ValidationException or AccessDeniedException, canned or real', async () => {
    proxy.plan.push(VALIDATION, VALIDATION);
    expect(await failure(client({ maxAttempts: 5 }).describeKey({ KeyId: keyId }))).toBeInstanceOf(ValidationException);
    expect(proxy.seen).toHaveLength(1);
    proxy.plan.length = 0;
    proxy.seen.length = 0;
    proxy.plan.push(DENIED, DENIED);
    expect(await failure(client({ maxAttempts: 5 }).describeKey({ KeyId: keyId }))).toBeInstanceOf(AccessDeniedException);
    expect(proxy.seen).toHaveLength(1);
    expect(proxy.plan).toHaveLength(1); // the second canned answer was never asked for
    proxy.plan.length = 0;
    proxy.seen.length = 0;
    // the real server's answers, through the proxy
    expect(await failure(client({ maxAttempts: 5 }).generateRandom({ NumberOfBytes: 0 }))).toBeInstanceOf(ValidationException);
    expect(proxy.seen).toHaveLength(1);
    proxy.seen.length = 0;
    const carol = client({ maxAttempts: 5, credentials: { accessKeyId: CAROL.accessKeyId, secretAccessKey: CAROL.secretAccessKey } });
    expect(await failure(carol.encrypt({ KeyId: `arn:aws:kms:${REGION}:${ALICE.accountId}:key/${keyId}`, Plaintext: new Uint8Array([1]) }))).toBeInstanceOf(
      AccessDeniedException,
    );
    expect(proxy.seen).toHaveLength(1);
    proxy.seen.length = 0;
    expect(await failure(client({ maxAttempts: 5 }).describeKey({ KeyId: '00000000-0000-4000-8000-000000000000' }))).toBeInstanceOf(NotFoundException);
    expect(proxy.seen).toHaveLength(1);
  });

  it('the backoff is full jitter: random × min(cap, base × 2^attempt)', async () => {
    // The top of the jitter range: the waits are (nearly) the whole exponential backoff.
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    proxy.plan.push(THROTTLE, THROTTLE, THROTTLE);
    await client({ maxAttempts: 4, retryBaseMs: 40, retryCapMs: 10_000 }).describeKey({ KeyId: keyId });
    const gaps = proxy.seen.slice(1).map((s, i) => s.at - proxy.seen[i]!.at);
    expect(proxy.seen).toHaveLength(4);
    // attempt 1 waits ~80 ms, attempt 2 ~160 ms, attempt 3 ~320 ms
    expect(gaps[0]).toBeGreaterThanOrEqual(75);
    expect(gaps[1]).toBeGreaterThanOrEqual(155);
    expect(gaps[2]).toBeGreaterThanOrEqual(315);
    // and the cap holds
    proxy.seen.length = 0;
    proxy.plan.push(THROTTLE, THROTTLE, THROTTLE);
    await client({ maxAttempts: 4, retryBaseMs: 40, retryCapMs: 60 }).describeKey({ KeyId: keyId });
    const capped = proxy.seen.slice(1).map((s, i) => s.at - proxy.seen[i]!.at);
    expect(Math.max(...capped)).toBeLessThan(60 + 100);
    // The bottom of the range: retries come at once.
    vi.spyOn(Math, 'random').mockReturnValue(0);
    proxy.seen.length = 0;
    proxy.plan.push(THROTTLE, THROTTLE);
    const t2 = performance.now();
    await client({ maxAttempts: 3, retryBaseMs: 1000, retryCapMs: 10_000 }).describeKey({ KeyId: keyId });
    expect(performance.now() - t2).toBeLessThan(800);
    expect(proxy.seen).toHaveLength(3);
  });
});
