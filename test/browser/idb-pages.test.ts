/**
 * IndexedDB persistence as a user sees it, in real Chromium driven by playwright-core: keys and
 * their whole history survive a page reload, and two pages (two tabs of one origin) rotating one
 * key at once lose no version and respect the on-demand limit together.
 * Run: npx vitest run test/browser/idb-pages.test.ts
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS } from '../../vite.config.js';

let server: ViteDevServer;
let browser: Browser;
let url: string;

beforeAll(async () => {
  server = await createServer({
    root: new URL('./idb-page/', import.meta.url).pathname,
    configFile: false,
    logLevel: 'silent',
    server: { port: 0, host: '127.0.0.1' },
  });
  await server.listen();
  const address = server.httpServer!.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

type Result = { ok?: Record<string, any>; error?: string };

async function open(page: Page): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => document.title === 'ready');
}

const call = (page: Page, op: string, input: unknown) => page.evaluate(([o, i]) => (window as any).edgeKms.call(o, i), [op, input] as const) as Promise<Result>;

describe('IndexedDB store in the page', () => {
  it('keeps keys and history across a reload', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await open(page);
    const created = await call(page, 'CreateKey', { Description: 'reload' });
    const keyId = created.ok!.KeyMetadata.KeyId as string;
    const cts: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      cts.push((await call(page, 'Encrypt', { KeyId: keyId, Plaintext: { $b64: btoa(`v${i + 1}`) } })).ok!.CiphertextBlob);
      await call(page, 'RotateKeyOnDemand', { KeyId: keyId });
    }
    await call(page, 'CreateAlias', { AliasName: 'alias/reload', TargetKeyId: keyId });
    await page.reload();
    await page.waitForFunction(() => document.title === 'ready');
    const described = await call(page, 'DescribeKey', { KeyId: 'alias/reload' });
    expect(described.ok!.KeyMetadata.Description).toBe('reload');
    const rotations = await call(page, 'ListKeyRotations', { KeyId: keyId });
    expect(rotations.ok!.Rotations).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      const out = await call(page, 'Decrypt', { CiphertextBlob: cts[i] });
      expect(atob(out.ok!.Plaintext.$b64)).toBe(`v${i + 1}`);
    }
    await context.close();
  });

  it('two pages rotating one key at once: exactly 10 on-demand rotations, no version lost', async () => {
    const context = await browser.newContext();
    const [a, b] = [await context.newPage(), await context.newPage()];
    await Promise.all([open(a), open(b)]);
    const keyId = (await call(a, 'CreateKey', {})).ok!.KeyMetadata.KeyId as string;
    const race = (p: Page) => p.evaluate(([k]) => (window as any).edgeKms.race('RotateKeyOnDemand', { KeyId: k }, 25), [keyId] as const) as Promise<string[]>;
    const [ra, rb] = await Promise.all([race(a), race(b)]);
    const all = [...ra, ...rb];
    expect(all.filter((r) => r === 'ok')).toHaveLength(10);
    expect(all.filter((r) => r === 'LimitExceededException')).toHaveLength(40);
    const rotations = await call(b, 'ListKeyRotations', { KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' });
    expect(rotations.ok!.Rotations).toHaveLength(11);
    await context.close();
  });
});
