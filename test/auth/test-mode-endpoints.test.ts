/**
 * The test-mode endpoints (/_edge-kms/reset, /clock, /seed, /maintenance) against the web pages a
 * developer has open: a cross-site "simple request" (text/plain, foreign Origin) must not wipe the
 * KMS or move its clock; JSON from the same origin (or from no browser at all) works; with
 * identities configured, only a SigV4 signature of an identity of the KMS's account opens them.
 * In process through the Hono app (app.request, no port) and over HTTP on the real Node server.
 * Run: npx vitest run --project e2e test/auth/test-mode-endpoints.test.ts
 */
import { createKms, createTestClock } from '@edge-kms/core';
import { createKmsApp } from '@edge-kms/hono';
import { AwsV4Signer } from 'aws4fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnKmsServer, type KmsServer } from '../helpers/server.js';
import { ALICE, CAROL, identitiesEnv } from './support.js';

const T0 = Date.UTC(2030, 0, 1);

function app(verify = false) {
  const clock = createTestClock(T0);
  const kms = createKms({
    clock,
    authentication: verify ? { mode: 'verify', identities: [ALICE, CAROL] } : { mode: 'open' },
  });
  return { kms, clock, app: createKmsApp({ kms, testMode: true, testClock: clock, corsOrigins: '*' }) };
}

async function errorOf(r: Response): Promise<string> {
  expect(r.headers.get('content-type')).toBe('application/x-amz-json-1.1');
  const body = (await r.json()) as { __type: string; message: string };
  expect(typeof body.message).toBe('string');
  return body.__type;
}

describe('test-mode endpoints, in process', () => {
  it('refuse a cross-site simple request and a foreign Origin, and change nothing', async () => {
    const { kms, clock, app: a } = app();
    await kms.execute('CreateKey', {});
    const attempts: RequestInit[] = [
      { method: 'POST', headers: { 'content-type': 'text/plain', origin: 'https://evil.example' }, body: '{"advanceDays":3650}' },
      { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"advanceDays":3650}' },
      { method: 'POST', body: '{"advanceDays":3650}' }, // no Content-Type at all
      { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'advanceDays=3650' },
      { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=x' }, body: '--x--' },
      // A CORS origin ('*' here) may call the KMS API, not the test-mode endpoints.
      { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://evil.example' }, body: '{"advanceDays":3650}' },
      { method: 'POST', headers: { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' }, body: '{"advanceDays":3650}' },
      { method: 'POST', headers: { 'content-type': 'application/json', origin: 'null' }, body: '{"advanceDays":3650}' },
    ];
    for (const init of attempts) {
      for (const path of ['/_edge-kms/clock', '/_edge-kms/reset', '/_edge-kms/maintenance', '/_edge-kms/seed']) {
        const r = await a.request(`http://localhost:4599${path}`, init);
        expect(r.status, `${path} ${JSON.stringify(init.headers)}`).toBe(400);
        expect(await errorOf(r)).toBe('AccessDeniedException');
      }
    }
    expect(clock.now()).toBe(T0);
    expect(((await kms.execute('ListKeys', {})) as { Keys: unknown[] }).Keys).toHaveLength(1);
  });

  it('answer JSON from the same origin or from no browser', async () => {
    const { clock, app: a } = app();
    const same = await a.request('http://localhost:4599/_edge-kms/clock', {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', origin: 'http://localhost:4599', 'sec-fetch-site': 'same-origin' },
      body: '{"advanceDays":1}',
    });
    expect(same.status).toBe(200);
    const plain = await a.request('http://localhost:4599/_edge-kms/clock', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"advanceDays":1}',
    });
    expect(plain.status).toBe(200);
    expect(clock.now()).toBe(T0 + 2 * 86_400_000);
    expect((await a.request('http://localhost:4599/_edge-kms/clock')).status).toBe(200);
  });

  it('with identities, need a signature of the KMS account', async () => {
    const { clock, app: a } = app(true);
    const url = 'http://localhost:4599/_edge-kms/clock';
    const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"advanceDays":1}' };
    expect(await errorOf(await a.request(url, init))).toBe('MissingAuthenticationTokenException');
    const sign = (id: typeof ALICE, secret = id.secretAccessKey) =>
      new AwsV4Signer({
        url,
        method: 'POST',
        headers: init.headers,
        body: init.body,
        accessKeyId: id.accessKeyId,
        secretAccessKey: secret,
        region: 'us-east-1',
        service: 'kms',
      }).sign();
    const wrong = await sign(ALICE, 'not-the-secret');
    expect(await errorOf(await a.request(url, { method: 'POST', headers: wrong.headers, body: init.body }))).toBe('InvalidSignatureException');
    const carol = await sign(CAROL);
    const r = await a.request(url, { method: 'POST', headers: carol.headers, body: init.body });
    expect(await errorOf(r)).toBe('AccessDeniedException');
    expect(clock.now()).toBe(T0);
    const alice = await sign(ALICE);
    const ok = await a.request(url, { method: 'POST', headers: alice.headers, body: init.body });
    expect(ok.status).toBe(200);
    expect(clock.now()).toBe(T0 + 86_400_000);
    // A signature for /_edge-kms/clock cannot be re-aimed at /_edge-kms/reset: the path is signed.
    const reaimed = await a.request('http://localhost:4599/_edge-kms/reset', { method: 'POST', headers: alice.headers, body: init.body });
    expect(await errorOf(reaimed)).toBe('InvalidSignatureException');
  });
});

describe('test-mode endpoints on the Node server', () => {
  let server: KmsServer;
  beforeAll(async () => {
    server = await spawnKmsServer();
  });
  afterAll(() => server?.dispose());

  it('a page on another site cannot reset the KMS or move its clock', async () => {
    const kms = server.client();
    const { KeyMetadata } = await kms.createKey({});
    const before = await server.now();
    for (const path of ['reset', 'clock']) {
      const r = await fetch(`${server.url}/_edge-kms/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'https://attacker.example', 'sec-fetch-site': 'cross-site' },
        body: JSON.stringify({ advanceDays: 3650 }),
      });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { __type: string }).__type).toBe('AccessDeniedException');
    }
    expect((await kms.describeKey({ KeyId: KeyMetadata!.KeyId })).KeyMetadata?.Enabled).toBe(true);
    expect(Math.abs((await server.now()) - before)).toBeLessThan(60_000);
    await server.reset(); // the test helper's own JSON request still works
    expect((await kms.listKeys({})).Keys).toHaveLength(0);
  });

  it('with identities configured, the endpoints need a signature', async () => {
    const verifying = await spawnKmsServer({ env: { KMS_IDENTITIES: identitiesEnv() } });
    try {
      const r = await fetch(`${verifying.url}/_edge-kms/reset`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(((await r.json()) as { __type: string }).__type).toBe('MissingAuthenticationTokenException');
      const url = `${verifying.url}/_edge-kms/clock`;
      const signed = await new AwsV4Signer({
        url,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"advanceDays":2}',
        accessKeyId: ALICE.accessKeyId,
        secretAccessKey: ALICE.secretAccessKey,
        region: 'us-east-1',
        service: 'kms',
      }).sign();
      const ok = await fetch(signed.url, { method: 'POST', headers: signed.headers, body: '{"advanceDays":2}' });
      expect(ok.status).toBe(200);
    } finally {
      await verifying.dispose();
    }
  });
});
