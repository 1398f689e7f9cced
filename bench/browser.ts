/**
 * Issue 5, the browser (part of `npm run bench`, i.e. node --import tsx bench/run.ts;
 * `npm run bench -- --only=browser` runs it alone). Debian's Chromium (vite.config.ts CHROMIUM,
 * CHROMIUM_ARGS; never downloaded) driven by playwright-core loads bench/fixtures/browser-page.ts,
 * bundled here with esbuild (platform browser) and served from 127.0.0.1 by a tiny HTTP server:
 *   - core Encrypt and Decrypt ops/s (64-byte plaintext) with the IndexedDB store
 *     (createKms({ store: await createIdbStore() })) beside the memory store in the same page, in
 *     interleaved rounds, 1 and 16 calls in flight;
 *   - opening the KMS (createIdbStore + createKms + the first DescribeKey and Decrypt) on a
 *     database of 1,000 keys / 10,000 versions vs one of 10 keys / 100 versions, each sample in a
 *     freshly loaded page, the two databases taking turns; filling the databases is timed apart.
 */
import { createServer, type Server } from 'node:http';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../vite.config.js';
import { fmt, log, median, pct, table, type Goal } from './lib.js';
import { descendantTicks, reapedChildTicks, unreapedTicks } from './proc.js';

export interface BrowserOptions {
  warmupMs: number;
  rounds: number;
  roundMs: number;
  concurrencies: number[];
  /** The large database: keys and versions per key. */
  keys: number;
  versionsPerKey: number;
  /** The small database. */
  smallKeys: number;
  /** Open samples per database. */
  openSamples: number;
}

export const DEFAULT_BROWSER_OPTIONS: BrowserOptions = {
  warmupMs: 300,
  rounds: 12,
  roundMs: 100,
  concurrencies: [1, 16],
  keys: 1000,
  versionsPerKey: 10,
  smallKeys: 10,
  openSamples: 15,
};

/** Open on the large database may take this many times the small one's and count as "about equal". */
const OPEN_TOLERANCE = 1.25;

interface Filled {
  keyId: string;
  blob: string;
  keys: number;
  versions: number;
  createMs: number;
  rotateMs: number;
}

interface Opened {
  totalMs: number;
  openDbMs: number;
  describeMs: number;
  decryptMs: number;
  reads: Record<string, number>;
}

async function bundlePage(): Promise<string> {
  const out = await build({
    entryPoints: [new URL('./fixtures/browser-page.ts', import.meta.url).pathname],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['browser'],
    logLevel: 'error',
  });
  return out.outputFiles[0]!.text;
}

async function serve(js: string): Promise<{ url: string; close: () => Promise<void> }> {
  const html =
    '<!doctype html><html><head><meta charset="utf-8"><title>loading</title></head><body><script type="module" src="/page.js"></script></body></html>';
  const server: Server = createServer((req, res) => {
    // Cross-origin isolated, so performance.now() has 5 µs resolution instead of 100 µs.
    const isolated = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
    if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...isolated }).end(html);
    else if (req.url === '/page.js') res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', ...isolated }).end(js);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

async function load(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => document.title === 'ready' || document.title.startsWith('error'));
}

// The page's functions, called by name (the bundle defines window.bench).
function call<T>(page: Page, fn: string, arg: unknown): Promise<T> {
  return page.evaluate(([f, a]) => (window as unknown as { bench: Record<string, (x: unknown) => Promise<unknown>> }).bench[f as string]!(a), [
    fn,
    arg,
  ] as const) as Promise<T>;
}

export async function runBrowserBench(o: BrowserOptions = DEFAULT_BROWSER_OPTIONS): Promise<{ markdown: string; goals: Goal[] }> {
  const js = await bundlePage();
  const site = await serve(js);
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await load(page, site.url);
    if (errors.length) throw new Error(`bench page failed: ${errors.join('; ')}`);
    const version = browser.version();

    // Throughput: IndexedDB vs memory store, same page, interleaved.
    const opsRows: string[][] = [];
    for (const concurrency of o.concurrencies) {
      log(`browser: Encrypt/Decrypt, memory vs IndexedDB, ${concurrency} in flight`);
      const r = await call<Record<string, number[]>>(page, 'throughput', { warmupMs: o.warmupMs, rounds: o.rounds, roundMs: o.roundMs, concurrency, size: 64 });
      for (const op of ['Encrypt', 'Decrypt']) {
        const mem = r[`memory/${op}`]!;
        const idb = r[`idb/${op}`]!;
        const ratio = median(idb.map((x, i) => x / mem[i]!));
        opsRows.push([`${op}, ${concurrency} in flight`, fmt(median(idb)), fmt(median(mem)), pct(ratio), fmt(median(r['idb/getKey']!))]);
      }
    }

    // Fill both databases (timed apart), then open each in fresh pages, taking turns.
    log(`browser: filling ${o.keys} keys / ${o.keys * o.versionsPerKey} versions`);
    const large = await call<Filled>(page, 'fill', { name: 'bench-large', keys: o.keys, versionsPerKey: o.versionsPerKey, batch: 50 });
    const small = await call<Filled>(page, 'fill', { name: 'bench-small', keys: o.smallKeys, versionsPerKey: o.versionsPerKey, batch: 50 });
    log(`browser: filled in ${fmt((large.createMs + large.rotateMs) / 1000, 1)} s; opening`);
    const opens: Record<'small' | 'large', Opened[]> = { small: [], large: [] };
    for (let i = 0; i < o.openSamples; i++) {
      for (const which of i % 2 ? (['large', 'small'] as const) : (['small', 'large'] as const)) {
        const db = which === 'small' ? { name: 'bench-small', ...small } : { name: 'bench-large', ...large };
        await load(page, site.url);
        opens[which].push(await call<Opened>(page, 'open', { name: db.name, keyId: db.keyId, blob: db.blob }));
      }
    }
    await call(page, 'deleteIdbStore', 'bench-large');
    await call(page, 'deleteIdbStore', 'bench-small');
    await context.close();

    const m = (which: 'small' | 'large', f: keyof Omit<Opened, 'reads'>) => median(opens[which].map((x) => x[f]));
    const openRatio = m('large', 'totalMs') / m('small', 'totalMs');
    const readsOf = (which: 'small' | 'large') => {
      const all = new Map<string, number>();
      for (const x of opens[which]) for (const [k, v] of Object.entries(x.reads)) all.set(k, Math.max(all.get(k) ?? 0, v));
      return [...all]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
    };
    const openRows = (['small', 'large'] as const).map((which) => {
      const f = which === 'small' ? small : large;
      return [
        `${fmt(f.keys, 0)} keys / ${fmt(f.versions, 0)} versions`,
        fmt(m(which, 'totalMs'), 2),
        fmt(m(which, 'openDbMs'), 2),
        fmt(m(which, 'describeMs'), 2),
        fmt(m(which, 'decryptMs'), 2),
        readsOf(which),
        `${fmt(f.createMs / 1000, 2)} s + ${fmt(f.rotateMs / 1000, 2)} s`,
      ];
    });

    const goals: Goal[] = [
      {
        goal: `Browser: opening the KMS on 1,000 keys / 10,000 versions takes about as long as on 10 keys (<= ${OPEN_TOLERANCE}x; no eager loading)`,
        measured: `${fmt(m('large', 'totalMs'), 2)} vs ${fmt(m('small', 'totalMs'), 2)} ms (${fmt(openRatio, 2)}x)`,
        met: openRatio <= OPEN_TOLERANCE,
      },
      {
        goal: 'Browser: opening the KMS reads the same from the store on 1,000 keys / 10,000 versions as on 10 keys (no key material loaded eagerly)',
        measured: `${readsOf('large')} vs ${readsOf('small')}`,
        met: readsOf('large') === readsOf('small'),
      },
    ];
    const markdown = [
      `Chromium ${version} (headless, Debian build) via playwright-core; the page is bench/fixtures/browser-page.ts bundled with esbuild and served from 127.0.0.1. Everything is timed inside the page.`,
      '',
      `Core \`kms.execute\` with a 64-byte plaintext: ${o.rounds} interleaved rounds of ${o.roundMs} ms per case after ${o.warmupMs} ms warm-up, the IndexedDB store (\`createKms({ store: await createIdbStore() })\`) and the memory store (\`createKms()\`) in the same page; ops/s are medians over rounds, the ratio is the median of per-round ratios. Every call reads the key record from the store (an IndexedDB readonly transaction); opened key material is cached by the engine.`,
      '',
      table(['call', 'IndexedDB store ops/s', 'memory store ops/s', 'IndexedDB / memory', 'bare IndexedDB store.getKey ops/s (same rounds)'], opsRows),
      '',
      `Opening the KMS on an existing database: \`createIdbStore\` (IndexedDB open) + \`createKms\` + the first \`DescribeKey\` + the first \`Decrypt\` (of a ciphertext made under version 1 of a key in the middle of the database, which has ${o.versionsPerKey} versions), each sample in a freshly loaded page, the two databases taking turns; ${o.openSamples} samples each, medians. "Store calls" counts every call the KMS made on the store during the open (the most in any sample). Fill: CreateKey for every key through the KMS, then ${o.versionsPerKey - 1} more versions per key made as RotateKeyOnDemand makes them but committed 50 keys per readwrite transaction.`,
      '',
      table(
        [
          'database',
          'open total ms',
          'IndexedDB open ms',
          'first DescribeKey ms',
          'first Decrypt ms',
          'store calls during open',
          'fill time (CreateKey + versions)',
        ],
        openRows,
      ),
      '',
      `Large / small open time: ${fmt(openRatio, 2)}x (ratio of the medians).`,
    ].join('\n');
    return { markdown, goals };
  } finally {
    if (browser) {
      // Chromium's zygote, not this process, reaps the renderers: count their CPU time as ours.
      const chromium = descendantTicks(/^chrom/);
      const reaped = reapedChildTicks();
      await browser.close();
      unreapedTicks.value += Math.max(0, chromium - (reapedChildTicks() - reaped));
    }
    await site.close();
  }
}
