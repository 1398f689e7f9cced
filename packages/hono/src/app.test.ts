/**
 * The Hono app through `app.request`, without a port: POST / answers as the protocol function
 * does, GET / describes the service, anything else is UnknownOperationException, unknown errors
 * are a bare KMSInternalException, CORS preflights allow what the AWS SDKs send, and the test-mode
 * endpoints exist only in test mode. Every error carries AWS's headers. (How the test-mode
 * endpoints refuse other sites and unsigned requests: test/auth/test-mode-endpoints.test.ts.)
 * Run: npx vitest run --project unit packages/hono
 */
import { createKms, createTestClock, INTERNAL_MESSAGE, type KmsOptions, type ProtocolMessage } from '@edge-kms/core';
import { describe, expect, it } from 'vitest';
import { CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS, createKmsApp, type KmsAppOptions } from './index.js';

const T0 = Date.UTC(2030, 0, 1);

function setup(options: Partial<KmsAppOptions> = {}, kmsOptions: KmsOptions = {}) {
  const clock = createTestClock(T0);
  const kms = createKms({ clock, ...kmsOptions });
  return { kms, clock, app: createKmsApp({ kms, ...options }) };
}

const call = (operation: string, body: unknown = {}, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${operation}`, ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

/** AWS's JSON 1.1 error: `{__type, message}` and its three headers; returns the message. */
async function expectError(r: Response, type: string, status: number): Promise<string> {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toBe('application/x-amz-json-1.1');
  expect(r.headers.get('x-amzn-errortype')).toBe(`${type}:`);
  expect(r.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
  const body = (await r.json()) as Record<string, unknown>;
  expect(body).toEqual({ __type: type, message: expect.any(String) });
  return body.message as string;
}

describe('POST /: the protocol', () => {
  it('answers an operation with its output, content-type and a request id', async () => {
    const { app } = setup();
    const r = await app.request('/', call('CreateKey', { Description: 'hono' }));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(r.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.headers.get('x-amzn-errortype')).toBeNull();
    const { KeyMetadata } = (await r.json()) as { KeyMetadata: { KeyId: string; Description: string; CreationDate: number } };
    expect(KeyMetadata).toMatchObject({ Description: 'hono', CreationDate: T0 / 1000 });
  });

  it('answers exactly as kms.handle (the protocol function) does', async () => {
    const { app, kms } = setup();
    const requests = [
      call('DescribeKey', { KeyId: '00000000-0000-4000-8000-000000000000' }),
      call('NoSuchOperation'),
      call('CreateKey', '{"Description": '),
      { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1' }, body: '{}' },
    ];
    for (const init of requests) {
      const [viaApp, direct] = [await app.request('http://localhost/', init), await kms.handle(new Request('http://localhost/', init))];
      expect(viaApp.status).toBe(direct.status);
      expect(await viaApp.json()).toEqual(await direct.json());
      for (const h of ['content-type', 'x-amzn-errortype']) expect(viaApp.headers.get(h)).toBe(direct.headers.get(h));
    }
    expect(await expectError(await app.request('/', call('DescribeKey', { KeyId: 'alias/none' })), 'NotFoundException', 400)).toContain('alias/none');
  });

  it('passes the source IP from the runtime, and answers when reading it fails', async () => {
    const { kms } = setup();
    const seen: (string | undefined)[] = [];
    const spy = { ...kms, handle: (request: Request, options?: { sourceIp?: string }) => (seen.push(options?.sourceIp), kms.handle(request, options)) };
    const app = createKmsApp({ kms: spy, sourceIp: (c) => c.req.header('x-test-ip') });
    expect((await app.request('/', call('ListKeys', {}, { 'x-test-ip': '192.0.2.7' }))).status).toBe(200);
    const throwing = createKmsApp({
      kms: spy,
      sourceIp: () => {
        throw new Error('no socket');
      },
    });
    expect((await throwing.request('/', call('ListKeys'))).status).toBe(200);
    expect(seen).toEqual(['192.0.2.7', undefined]);
  });

  it('with readMessage, reads the request from the typed bindings (as the Node server does)', async () => {
    const { kms } = setup();
    const app = createKmsApp<{ message?: ProtocolMessage }>({
      kms,
      readMessage: (c) => (c.env.message ? Promise.resolve(c.env.message) : Promise.reject(new Error('stream failed'))),
    });
    const message: ProtocolMessage = {
      method: 'POST',
      url: 'http://localhost/',
      headers: new Headers({ 'x-amz-target': 'TrentService.GenerateRandom' }),
      body: new TextEncoder().encode('{"NumberOfBytes": 16}'),
    };
    const ok = await app.request('/', { method: 'POST' }, { message });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(atob(((await ok.json()) as { Plaintext: string }).Plaintext)).toHaveLength(16);
    const failed = await app.request('/', { method: 'POST' }, {});
    expect(await expectError(failed, 'SerializationException', 400)).toBe('The request body could not be read.');
  });
});

describe('the rest of the app', () => {
  it('GET / names the service, its account and Region', async () => {
    const { app } = setup({}, { accountId: '444455556666', region: 'eu-west-1' });
    const r = await app.request('/');
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ service: 'edge-kms', protocol: 'TrentService (AWS JSON 1.1)', accountId: '444455556666', region: 'eu-west-1' });
  });

  it('anything else is UnknownOperationException "Not found."', async () => {
    const { app } = setup();
    for (const [path, method] of [
      ['/nope', 'GET'],
      ['/nope', 'POST'],
      ['/', 'PUT'],
      ['/_edge-kms/reset', 'POST'],
    ] as const) {
      expect(await expectError(await app.request(path, { method }), 'UnknownOperationException', 400)).toBe('Not found.');
    }
  });

  it('an unexpected error is KMSInternalException with the fixed message; the error is only logged', async () => {
    const logged: unknown[] = [];
    const { app } = setup(
      {
        playground: () => {
          throw new Error('secret internals at /srv/edge-kms');
        },
      },
      { onInternalError: (e) => logged.push(e) },
    );
    const r = await app.request('/playground/index.html');
    expect(await expectError(r, 'KMSInternalException', 500)).toBe(INTERNAL_MESSAGE);
    expect(logged).toEqual([expect.objectContaining({ message: 'secret internals at /srv/edge-kms' })]);
  });

  it('serves the playground under /playground/ when given one', async () => {
    const paths: string[] = [];
    const { app } = setup({ playground: (path) => (paths.push(path), new Response(`page ${path}`)) });
    const redirect = await app.request('/playground');
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/playground/');
    expect(await (await app.request('/playground/')).text()).toBe('page ');
    expect(await (await app.request('/playground/assets/app.js')).text()).toBe('page assets/app.js');
    expect(paths).toEqual(['', 'assets/app.js']);
    expect((await setup().app.request('/playground/')).status).toBe(400);
  });
});

describe('CORS', () => {
  const preflight = (origin: string): RequestInit => ({
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': CORS_ALLOW_HEADERS.join(',') },
  });

  it('a preflight from an allowed origin allows POST and every header the AWS SDKs send', async () => {
    const { app } = setup({ corsOrigins: ['https://app.example'] });
    const r = await app.request('/', preflight('https://app.example'));
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(r.headers.get('access-control-allow-methods')?.split(',')).toEqual(['POST', 'GET', 'OPTIONS']);
    expect(r.headers.get('access-control-allow-headers')?.split(',')).toEqual(CORS_ALLOW_HEADERS);
    expect(r.headers.get('access-control-max-age')).toBe('600');
    const answer = await app.request('/', call('ListKeys', {}, { origin: 'https://app.example' }));
    expect(answer.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(answer.headers.get('access-control-expose-headers')?.split(',')).toEqual(CORS_EXPOSE_HEADERS);
  });

  it('another origin is not allowed; without corsOrigins no CORS headers at all; "*" allows any', async () => {
    const listed = await setup({ corsOrigins: ['https://app.example'] }).app.request('/', preflight('https://evil.example'));
    expect(listed.headers.get('access-control-allow-origin')).toBeNull();
    const none = await setup().app.request('/', call('ListKeys', {}, { origin: 'https://app.example' }));
    expect(none.status).toBe(200);
    expect([...none.headers.keys()].filter((h) => h.startsWith('access-control-'))).toEqual([]);
    const any = await setup({ corsOrigins: '*' }).app.request('/', preflight('https://anywhere.example'));
    expect(any.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe('test-mode endpoints', () => {
  const json = (body: unknown = {}): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const PATHS = [
    ['POST', '/_edge-kms/reset'],
    ['POST', '/_edge-kms/seed'],
    ['POST', '/_edge-kms/maintenance'],
    ['GET', '/_edge-kms/clock'],
    ['POST', '/_edge-kms/clock'],
  ] as const;

  it('do not exist without test mode', async () => {
    const { app, kms } = setup();
    await kms.execute('CreateKey', {});
    for (const [method, path] of PATHS) {
      const r = await app.request(path, method === 'POST' ? json() : { method });
      expect(await expectError(r, 'UnknownOperationException', 400), `${method} ${path}`).toBe('Not found.');
    }
    expect((await kms.execute('ListKeys', {})).Keys).toHaveLength(1);
  });

  it('in test mode: the KMS clock, seeding, maintenance and reset', async () => {
    const { app, kms, clock } = setup();
    const test = createKmsApp({ kms, testMode: true, testClock: clock });
    expect(await (await test.request('/_edge-kms/clock')).json()).toEqual({ now: T0 });
    expect(await (await test.request('/_edge-kms/clock', json({ advanceDays: 2 }))).json()).toEqual({ now: T0 + 2 * 86_400_000 });
    expect(kms.now()).toBe(T0 + 2 * 86_400_000);

    const KeyId = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
    const seeded = await test.request('/_edge-kms/seed', json({ KeyId, AliasName: 'alias/seeded', KeyMaterial: btoa('k'.repeat(32)) }));
    expect(seeded.status).toBe(200);
    expect(await seeded.json()).toMatchObject({ KeyMetadata: { KeyId } });
    expect(await expectError(await test.request('/_edge-kms/seed', json({ KeyId })), 'ValidationException', 400)).toBe(
      '"KeyMaterial" expected base64 of 32 bytes',
    );
    expect(await expectError(await test.request('/_edge-kms/seed', { ...json(), body: '{' }), 'SerializationException', 400)).toBe(
      'The request body is not valid JSON.',
    );

    expect(await (await test.request('/_edge-kms/maintenance', json())).json()).toEqual({ rotated: [], deleted: [], expired: [] });
    expect(await (await test.request('/_edge-kms/reset', json())).json()).toEqual({ reset: true });
    expect((await kms.execute('ListKeys', {})).Keys).toEqual([]);
    // The app without test mode, on the same KMS, still has none of them.
    expect((await app.request('/_edge-kms/clock')).status).toBe(400);
  });

  it('in test mode without a test clock, the clock can be read but not moved', async () => {
    const { kms } = setup();
    const test = createKmsApp({ kms, testMode: true });
    expect(await (await test.request('/_edge-kms/clock')).json()).toEqual({ now: T0 });
    expect(await expectError(await test.request('/_edge-kms/clock', json({ advanceDays: 1 })), 'UnsupportedOperationException', 400)).toBe(
      'This server has no test clock.',
    );
    expect(await expectError(await test.request('/_edge-kms/clock', { ...json(), body: 'x' }), 'UnsupportedOperationException', 400)).toBe(
      'This server has no test clock.',
    );
  });
});
