/**
 * Issue 4, CORS in a real browser: Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
 * loads a page from a second local origin that signs KMS requests with aws4fetch. With that origin
 * in KMS_CORS_ORIGINS, the preflight allows every header the AWS SDKs send from a browser and the
 * page can read x-amzn-requestid; a page from an origin not in the list is blocked, and its
 * request never reaches the server.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnKmsServer, type KmsServer } from '../helpers/server.js';
import { ALICE, clientAs, identitiesEnv } from '../auth/support.js';
import { startPageServer, type PageServer } from './page-server.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
/** The headers the AWS SDK for JavaScript v3 (and aws4fetch) send from a browser. */
const SDK_HEADERS = [
  'authorization',
  'content-type',
  'x-amz-date',
  'x-amz-target',
  'x-amz-user-agent',
  'x-amz-security-token',
  'amz-sdk-invocation-id',
  'amz-sdk-request',
];
const CREDENTIALS = { accessKeyId: ALICE.accessKeyId, secretAccessKey: ALICE.secretAccessKey };

interface CallResult {
  ok: boolean;
  error?: string;
  status?: number;
  body?: Record<string, unknown> | null;
  requestId?: string | null;
  errorType?: string | null;
  contentType?: string | null;
}

let allowed: PageServer;
let other: PageServer;
let server: KmsServer;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  [allowed, other] = await Promise.all([startPageServer(), startPageServer()]);
  [server, browser] = await Promise.all([
    spawnKmsServer({ testMode: false, env: { KMS_IDENTITIES: identitiesEnv([ALICE]), KMS_CORS_ORIGINS: allowed.origin } }),
    chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true }),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
  await allowed?.close();
  await other?.close();
});

async function openPage(origin: string): Promise<{ page: Page; console: string[] }> {
  const page = await browser.newPage();
  const messages: string[] = [];
  page.on('console', (m) => messages.push(m.text()));
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
  return { page, console: messages };
}

function call(
  page: Page,
  args: { operation: string; input?: unknown; headers?: Record<string, string>; sign?: boolean; sessionToken?: string },
): Promise<CallResult> {
  return page.evaluate((a) => (window as unknown as { kmsCall: (x: unknown) => Promise<CallResult> }).kmsCall(a), {
    endpoint: server.url,
    operation: args.operation,
    input: args.input,
    headers: args.headers,
    sign: args.sign,
    credentials: { ...CREDENTIALS, sessionToken: args.sessionToken },
  });
}

describe('CORS from the allowed origin', () => {
  let page: Page;

  beforeAll(async () => {
    ({ page } = await openPage(allowed.origin));
  });

  it('a signed call from the page succeeds and the page reads x-amzn-requestid', async () => {
    const r = await call(page, { operation: 'CreateKey', input: { Description: 'made in a browser' } });
    expect(r.ok, r.error).toBe(true);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect((r.body as { KeyMetadata: { Description: string } }).KeyMetadata.Description).toBe('made in a browser');
    expect(r.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('the preflight allows every header the SDKs send (all signed, in one request)', async () => {
    const r = await call(page, {
      operation: 'ListKeys',
      input: {},
      sessionToken: 'browser-session-token',
      headers: {
        'x-amz-user-agent': 'aws-sdk-js/3.0.0 ua/2.1 os/other lang/js md/browser',
        'amz-sdk-invocation-id': crypto.randomUUID(),
        'amz-sdk-request': 'attempt=1; max=1',
      },
    });
    expect(r.ok, r.error).toBe(true);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(Array.isArray((r.body as { Keys: unknown[] }).Keys)).toBe(true);
    expect(r.requestId).toBeTruthy();
  });

  for (const header of SDK_HEADERS) {
    it(`the preflight allows ${header} on its own`, async () => {
      // Unsigned, so the answer is MissingAuthenticationTokenException (or, with an Authorization
      // header of our own, IncompleteSignatureException): what matters is that the browser let the
      // page send the header and read the answer.
      const headers: Record<string, string> = { [header]: header === 'content-type' ? 'application/x-amz-json-1.1' : 'x' };
      const r = await call(page, { operation: 'ListKeys', input: {}, headers, sign: false });
      expect(r.ok, r.error).toBe(true);
      expect([400, 403]).toContain(r.status);
      expect(r.body).toEqual({
        __type: expect.stringMatching(/^(MissingAuthenticationToken|IncompleteSignature|InvalidSignature)Exception$/),
        message: expect.any(String),
      });
      expect(r.requestId).toBeTruthy();
      expect(r.errorType).toBe(`${r.body!.__type}:`);
    });
  }

  it('control: a header outside the allowed list fails the preflight, so the checks above are real', async () => {
    const r = await call(page, { operation: 'ListKeys', input: {}, headers: { 'x-not-an-sdk-header': '1' }, sign: false });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/TypeError/);
  });

  it('an error answer is readable too (wrong secret: InvalidSignatureException)', async () => {
    const r = await page.evaluate((a) => (window as unknown as { kmsCall: (x: unknown) => Promise<CallResult> }).kmsCall(a), {
      endpoint: server.url,
      operation: 'ListKeys',
      input: {},
      credentials: { accessKeyId: ALICE.accessKeyId, secretAccessKey: 'wrong' },
    });
    expect(r.ok, r.error).toBe(true);
    expect(r.status).toBe(400);
    expect(r.body!.__type).toBe('InvalidSignatureException');
    expect(r.errorType).toBe('InvalidSignatureException:');
  });

  it('the preflight response itself names the origin and every SDK header', async () => {
    const res = await fetch(server.url, {
      method: 'OPTIONS',
      headers: {
        origin: allowed.origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': SDK_HEADERS.join(','),
      },
    });
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get('access-control-allow-origin')).toBe(allowed.origin);
    expect(res.headers.get('access-control-allow-methods')?.toUpperCase()).toContain('POST');
    const allowedHeaders = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
    for (const h of SDK_HEADERS) expect(allowedHeaders).toContain(h);
  });
});

describe('CORS from an origin that is not allowed', () => {
  it('the browser blocks the call, and it never reaches the server', async () => {
    const kms = clientAs(server.url, ALICE);
    try {
      const before = (await kms.listKeys({})).Keys!.length;
      const { page, console: messages } = await openPage(other.origin);
      const r = await call(page, { operation: 'CreateKey', input: { Description: 'must not be created' } });
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/TypeError/);
      expect(messages.join('\n')).toMatch(/blocked by CORS policy/);
      expect((await kms.listKeys({})).Keys!.length).toBe(before);
      // The same page can still talk to its own origin: only the cross-origin call is blocked.
      expect(await page.evaluate(async () => (await fetch('/')).status)).toBe(200);
    } finally {
      kms.destroy();
    }
  });

  it('the preflight response for that origin carries no Access-Control-Allow-Origin', async () => {
    const res = await fetch(server.url, {
      method: 'OPTIONS',
      headers: { origin: other.origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-amz-target' },
    });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});
