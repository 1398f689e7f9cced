/**
 * A namespace key change interrupted by a page reload, in real Chromium (playwright-core, a vite
 * dev server serving test/client/ns-page): the page runs an in-process edge-kms with its keys in
 * IndexedDB and the namespace's records in IndexedDB, puts 300 records, starts changeKey and is
 * reloaded once some records have moved. After the reload every record reads and is wrapped
 * under the old or the new key, the pending change is recorded and writes are refused; opening the
 * namespace finishes the change with every body byte-for-byte as before, and the old key can then
 * be disabled with every record still readable.
 * Run: npx vitest run test/client/namespace-reload.test.ts
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS } from '../../vite.config.js';

const COUNT = 300;
const RELOAD_AFTER = 100;

let server: ViteDevServer;
let browser: Browser;
let url: string;

beforeAll(async () => {
  server = await createServer({
    root: new URL('./ns-page/', import.meta.url).pathname,
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

type Rec = Record<string, { keyId: string; body: string; wrappedKey: string; readable?: boolean }>;

const ready = (page: Page) => page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 30_000 });
const call = <T>(page: Page, fn: string, ...args: unknown[]) =>
  page.evaluate(([f, a]) => (window as any).nsPage[f as string](...(a as unknown[])), [fn, args] as const) as Promise<T>;

describe('namespace key change interrupted by a page reload', () => {
  it('resumes on open after the reload: nothing lost, bodies untouched, old key then disposable', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('pageerror', (e) => console.error('page error:', e));
    await page.goto(url);
    await ready(page);

    const setup = await call<{ oldKey: { id: string; arn: string }; newKey: { id: string; arn: string }; records: Rec }>(page, 'setup', COUNT);
    const before = setup.records;
    expect(Object.keys(before)).toHaveLength(COUNT);
    for (const r of Object.values(before)) expect(r.keyId).toBe(setup.oldKey.arn);

    await call(page, 'startChange', setup.newKey.id);
    await page.waitForFunction((n) => (window as any).nsPage.moving() >= n, RELOAD_AFTER, { polling: 1, timeout: 30_000 });
    await page.reload();
    await ready(page);

    // After the reload, before anything resumes it.
    const seen = await call<{
      pendingChange: { from: string; to: string } | null;
      keyId: string;
      count: number;
      records: Rec;
      putNew: string;
      overwrite: string;
      remove: string;
    }>(page, 'inspect', COUNT);
    expect(seen.pendingChange).toMatchObject({ from: setup.oldKey.arn, to: setup.newKey.arn });
    expect(seen.keyId).toBe(setup.oldKey.arn);
    expect(seen.count).toBe(COUNT);
    const under = { old: 0, new: 0 };
    for (const [id, r] of Object.entries(seen.records)) {
      expect([setup.oldKey.arn, setup.newKey.arn], id).toContain(r.keyId);
      under[r.keyId === setup.oldKey.arn ? 'old' : 'new']++;
      expect(r.body, `${id} body`).toBe(before[id]!.body);
      expect(r.readable, `${id} readable`).toBe(true);
    }
    expect(Object.keys(seen.records)).toHaveLength(COUNT);
    expect(under.new).toBeGreaterThanOrEqual(RELOAD_AFTER - 8);
    expect(under.old).toBeGreaterThan(0);
    console.log(`reloaded with ${under.new} records under the new key, ${under.old} under the old`);
    expect([seen.putNew, seen.overwrite, seen.remove]).toEqual(['NamespaceLockedError', 'NamespaceLockedError', 'NamespaceLockedError']);

    // Opening the namespace finishes the change.
    const resumed = await call<{ progress: number[]; pendingChange: unknown; keyId: string; records: Rec }>(page, 'resume', COUNT);
    expect(resumed.pendingChange).toBeNull();
    expect(resumed.keyId).toBe(setup.newKey.arn);
    expect(resumed.progress.at(-1)).toBe(COUNT);
    expect(Object.keys(resumed.records)).toHaveLength(COUNT);
    for (const [id, r] of Object.entries(resumed.records)) {
      expect(r.keyId, id).toBe(setup.newKey.arn);
      expect(r.body, `${id} body`).toBe(before[id]!.body);
      expect(r.wrappedKey).not.toBe(before[id]!.wrappedKey);
      expect(r.readable, `${id} readable`).toBe(true);
    }

    // Another reload, then the old key goes: every record still reads.
    await page.reload();
    await ready(page);
    const last = await call<{ records: Rec; after: string; oldKeyState: string }>(page, 'disableOldAndRead', setup.oldKey.id, COUNT);
    expect(last.oldKeyState).toBe('Disabled');
    expect(Object.values(last.records).every((r) => r.readable && r.keyId === setup.newKey.arn)).toBe(true);
    expect(Object.keys(last.records)).toHaveLength(COUNT);
    expect(last.after).toBe('writable again');
    await context.close();
  });
});
