/**
 * @edge-kms/msw with the IndexedDB store, as an app under test sees it: a page (test/msw/page/,
 * served by a Vite dev server with MSW's service worker at /mockServiceWorker.js) starts
 * setupWorker(...kmsHandlers({ store: createIdbStore({ name }) })) and calls KMS with the AWS SDK
 * v3. Keys, their rotation history, aliases and seeded keys survive a page reload, and a
 * ciphertext made before the reload decrypts after it. Real Chromium, driven by playwright-core.
 * Run: npx vitest run test/msw/idb-reload.test.ts
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS } from '../../vite.config.js';

let server: ViteDevServer;
let browser: Browser;
let origin: string;

beforeAll(async () => {
  server = await createServer({
    root: new URL('./page/', import.meta.url).pathname,
    publicDir: new URL('./public/', import.meta.url).pathname,
    cacheDir: new URL('../../node_modules/.vite-msw-page/', import.meta.url).pathname,
    configFile: false,
    logLevel: 'silent',
    server: { port: 0, host: '127.0.0.1' },
  });
  await server.listen();
  const address = server.httpServer!.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

type Result = { ok?: Record<string, any>; error?: string; message?: string; attempts?: number };

const send = (page: Page, operation: string, input: unknown = {}) =>
  page.evaluate(([o, i]) => (window as any).page.send(o, i), [operation, input] as const) as Promise<Result>;

async function ready(page: Page): Promise<void> {
  await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 30_000 });
}

const b64 = (s: string) => ({ $b64: Buffer.from(s).toString('base64') });
const text = (v: { $b64: string }) => Buffer.from(v.$b64, 'base64').toString();

describe('IndexedDB store behind the service worker', () => {
  it('a key, its history and its ciphertexts survive a page reload', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${origin}/?db=msw-reload-${Date.now()}`);
    await ready(page);

    const created = await send(page, 'CreateKey', { Description: 'survives reloads' });
    expect(created.error).toBeUndefined();
    const { KeyId: keyId, Arn: arn } = created.ok!.KeyMetadata;
    expect(arn).toMatch(/^arn:aws:kms:eu-west-1:111122223333:key\//);
    await send(page, 'CreateAlias', { AliasName: 'alias/app', TargetKeyId: keyId });
    const before = (await send(page, 'Encrypt', { KeyId: 'alias/app', Plaintext: b64('encrypted before the reload'), EncryptionContext: { tab: '1' } })).ok!;
    const beforeMaterial = (await send(page, 'Decrypt', { CiphertextBlob: before.CiphertextBlob, EncryptionContext: { tab: '1' } })).ok!.KeyMaterialId;
    expect((await send(page, 'RotateKeyOnDemand', { KeyId: keyId })).ok!.KeyId).toBe(arn); // the key ARN, as AWS answers
    const seeded = (await send(page, 'Encrypt', { KeyId: 'alias/seeded', Plaintext: b64('seeded') })).ok!;
    const noId = (await send(page, 'DescribeKey', { KeyId: 'alias/seeded-without-id' })).ok!.KeyMetadata.KeyId;
    const history = (await send(page, 'ListKeyRotations', { KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' })).ok!.Rotations;
    expect(history).toHaveLength(2);

    await page.reload();
    await ready(page);
    // MSW's worker unregisters itself when its last page goes away; start() registered it again.
    expect(await page.evaluate(() => (window as any).page.controller())).toBe(`${origin}/mockServiceWorker.js`);

    const described = await send(page, 'DescribeKey', { KeyId: 'alias/app' });
    expect(described.ok!.KeyMetadata).toMatchObject({ KeyId: keyId, Arn: arn, Description: 'survives reloads', KeyState: 'Enabled' });
    expect((await send(page, 'ListKeyRotations', { KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' })).ok!.Rotations).toEqual(history);

    const after = await send(page, 'Decrypt', { CiphertextBlob: before.CiphertextBlob, EncryptionContext: { tab: '1' } });
    expect(text(after.ok!.Plaintext)).toBe('encrypted before the reload');
    expect(after.ok!.KeyMaterialId).toBe(beforeMaterial);
    expect(after.ok!.KeyId).toBe(arn);
    // New encryption uses the rotated material.
    const fresh = (await send(page, 'Encrypt', { KeyId: keyId, Plaintext: b64('after') })).ok!;
    expect((await send(page, 'Decrypt', { CiphertextBlob: fresh.CiphertextBlob })).ok!.KeyMaterialId).toBe(history[1].KeyMaterialId);

    // Seeded keys were not made again: the same keys, and three keys in all.
    expect(text((await send(page, 'Decrypt', { CiphertextBlob: seeded.CiphertextBlob })).ok!.Plaintext)).toBe('seeded');
    expect((await send(page, 'DescribeKey', { KeyId: 'alias/seeded-without-id' })).ok!.KeyMetadata.KeyId).toBe(noId);
    expect((await send(page, 'ListKeys')).ok!.Keys).toHaveLength(3);
    await context.close();
  });

  it('a second tab of the same origin shares the keys; mock controls stay per page', async () => {
    const context = await browser.newContext();
    const db = `msw-tabs-${Date.now()}`;
    const [a, b] = [await context.newPage(), await context.newPage()];
    await a.goto(`${origin}/?db=${db}`);
    await ready(a);
    await b.goto(`${origin}/?db=${db}`);
    await ready(b);
    // Both tabs seed the same database at once (their first requests): one seeded key each.
    const [sa, sb] = await Promise.all([a, b].map((p) => send(p, 'DescribeKey', { KeyId: 'alias/seeded-without-id' })));
    expect(sa!.ok!.KeyMetadata.KeyId).toBe(sb!.ok!.KeyMetadata.KeyId);
    expect((await send(b, 'ListKeys')).ok!.Keys).toHaveLength(2);

    const keyId = (await send(a, 'CreateKey')).ok!.KeyMetadata.KeyId;
    const blob = (await send(a, 'Encrypt', { KeyId: keyId, Plaintext: b64('from tab a') })).ok!.CiphertextBlob;
    expect(text((await send(b, 'Decrypt', { CiphertextBlob: blob })).ok!.Plaintext)).toBe('from tab a');

    // A fault injected in tab a does not affect tab b (each page runs its own handlers).
    await a.evaluate(() => (window as any).page.injectFault({ operation: 'DescribeKey', error: 'KMSInternalException' }));
    expect((await send(a, 'DescribeKey', { KeyId: keyId })).error).toBe('KMSInternalException');
    expect((await send(b, 'DescribeKey', { KeyId: keyId })).ok!.KeyMetadata.KeyId).toBe(keyId);
    await context.close();
  });
});
