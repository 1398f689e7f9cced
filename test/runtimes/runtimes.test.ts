/**
 * The core in every runtime it claims: smoke.ts is bundled once by esbuild (platform neutral,
 * ES2022, one self-contained ESM file) and that same bundle runs in Node, Chromium, workerd,
 * Deno, Bun and the Vercel edge runtime; each must report every smoke step as passed. A runtime
 * whose binary is missing fails here, it is never skipped. Versions are pinned in package.json
 * (README.md, "Supported runtimes").
 * Run: npx vitest run test/runtimes
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { EdgeRuntime } from 'edge-runtime';
import { Miniflare } from 'miniflare';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS } from '../../vite.config.js';
import { SMOKE_STEPS } from './smoke.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../..');
const require = createRequire(import.meta.url);
const versionOf = (pkg: string): string => require(`${pkg}/package.json`).version;

/** What every runner reports: the runtime's own name and version, and the steps that passed. */
interface Report {
  runtime: string;
  passed?: string[];
  error?: string;
}

let dir: string;
let bundle: string;
let bundleInputs: string[];
let bundleImports: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edge-kms-runtimes-'));
  const result = await build({
    absWorkingDir: repo,
    entryPoints: [join(here, 'smoke.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  bundle = result.outputFiles[0]!.text;
  bundleInputs = Object.keys(result.metafile.inputs);
  bundleImports = Object.values(result.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
  writeFileSync(join(dir, 'smoke.bundle.mjs'), bundle);
  copyFileSync(join(here, 'runner.mjs'), join(dir, 'runner.mjs'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function expectAllPassed(report: Report): void {
  if (report.error !== undefined) throw new Error(`${report.runtime}: ${report.error}`);
  expect(report.passed).toEqual([...SMOKE_STEPS]);
}

/** A clean environment: no NODE_OPTIONS or loaders from the test process, no update checks. */
function childEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NO_COLOR: '1',
    DO_NOT_TRACK: '1',
    DENO_NO_UPDATE_CHECK: '1',
    DENO_DIR: join(dir, 'deno-dir'),
  };
}

/** Runs a runner process in the bundle's folder and parses the JSON line it prints last. */
function runProcess(file: string, args: string[]): Promise<Report> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: dir, env: childEnv(), timeout: 30_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      let report: Report | undefined;
      try {
        report = JSON.parse(last) as Report;
      } catch {
        /* reported below */
      }
      if (report && (report.error !== undefined || !error)) resolve(report);
      else reject(new Error(`${file} ${args.join(' ')} failed (${error?.message ?? 'no JSON report'})\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
  });
}

/** The first candidate that is a real executable (not an npm placeholder left by a skipped install script). */
function findBinary(name: string, candidates: (() => string)[]): string {
  const tried: string[] = [];
  for (const candidate of candidates) {
    let path: string;
    try {
      path = candidate();
    } catch (e) {
      tried.push(`(${(e as Error).message.split('\n')[0]})`);
      continue;
    }
    tried.push(path);
    if (existsSync(path) && statSync(path).size > 1 << 20 && (statSync(path).mode & 0o111) !== 0) return path;
  }
  throw new Error(`${name} binary not found; tried: ${tried.join(', ')}. Run npm ci (package.json pins ${name} as a devDependency).`);
}

const packageDir = (pkg: string) => dirname(require.resolve(`${pkg}/package.json`));
const linuxLibc = () => (process.platform === 'linux' ? ((process.report?.getReport() as any)?.header?.glibcVersionRuntime ? 'glibc' : 'musl') : '');

function denoBinary(): string {
  const exe = process.platform === 'win32' ? 'deno.exe' : 'deno';
  const platform = process.platform === 'linux' ? `linux-${process.arch}-${linuxLibc()}` : `${process.platform}-${process.arch}`;
  // deno's postinstall links the platform binary into the deno package; without it, the binary
  // is still in its platform package.
  return findBinary('deno', [() => join(packageDir('deno'), exe), () => join(packageDir(`@deno/${platform}`), exe)]);
}

function bunBinary(): string {
  const arch = process.arch === 'arm64' ? 'aarch64' : process.arch;
  const musl = process.platform === 'linux' && linuxLibc() === 'musl' ? '-musl' : '';
  const base = `@oven/bun-${process.platform}-${arch}`;
  // bun's postinstall moves the platform binary over the bun package's placeholder bin/bun.exe.
  return findBinary('bun', [
    () => join(packageDir(`${base}${musl}`), 'bin', 'bun'),
    () => join(packageDir(`${base}${musl}-baseline`), 'bin', 'bun'),
    () => join(packageDir('bun'), 'bin', 'bun.exe'),
  ]);
}

/** Where the bundle's closing `export { a, b };` starts, and the names it exports (esbuild's ESM output ends so). */
function closingExports(code: string): { start: number; names: string[] } {
  // esbuild puts the bundled packages' license comments (@noble's MIT notices) after the list.
  const m = /\nexport\s*\{([^}]*)\};\s*(?:\/\*[\s\S]*\*\/\s*)?$/.exec(code);
  if (!m) throw new Error('the bundle does not end with an export list');
  const names = m[1]!
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  for (const n of names) if (!/^[A-Za-z_$][\w$]*$/.test(n)) throw new Error(`unexpected export ${n}`);
  return { start: m.index, names };
}

describe('the bundle', () => {
  it('is one self-contained ESM file of Web-API code (esbuild --platform=neutral, no Node built-ins)', () => {
    expect(bundleImports).toEqual([]);
    // The core's own code and its one declared dependency family, @noble (curves, hashes, post-quantum).
    const outside = bundleInputs.filter((p) => !p.startsWith('packages/core/src/') && !p.startsWith('test/runtimes/') && !p.startsWith('node_modules/@noble/'));
    expect(outside).toEqual([]);
    // index.ts re-exports every module of the core, so the whole core went through this check.
    expect(bundleInputs).toContain('packages/core/src/index.ts');
    for (const re of [/\brequire\s*\(/, /\bprocess\.\w/, /\bBuffer\b/, /\b__dirname\b/, /\bsetImmediate\b/, /["']node:/]) {
      expect(bundle, `the bundle matches ${re}`).not.toMatch(re);
    }
    expect(closingExports(bundle).names).toContain('runSmoke');
  });
});

describe('the smoke suite runs unchanged in', () => {
  it('Node', async () => {
    const report = await runProcess(process.execPath, ['runner.mjs']);
    expect(report.runtime).toBe(`node ${process.versions.node}`);
    expectAllPassed(report);
  });

  it('Chromium (playwright-core, Debian chromium)', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/smoke.mjs') {
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(bundle);
      } else if (req.url === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><meta charset="utf-8"><title>edge-kms smoke</title>');
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(String(e)));
      await page.goto(`http://127.0.0.1:${port}/`);
      // A string, not a function: nothing of the test's own transform reaches the page.
      const json = (await page.evaluate(`import('/smoke.mjs')
        .then((m) => m.runSmoke())
        .then((r) => ({ passed: r.passed }), (e) => ({ error: String((e && e.message) || e) }))
        .then((r) => JSON.stringify({ runtime: 'chromium ' + navigator.userAgent, ...r }))`)) as string;
      const report = JSON.parse(json) as Report;
      expect(report.runtime).toMatch(/Chrome\/\d+/);
      expectAllPassed(report);
      expect(pageErrors).toEqual([]);
    } finally {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('workerd (Miniflare, no nodejs_compat)', async () => {
    const worker = `import { runSmoke } from './smoke.bundle.mjs';
export default {
  async fetch() {
    try {
      const { passed } = await runSmoke();
      return Response.json({ passed });
    } catch (e) {
      return Response.json({ error: String((e && e.message) || e) });
    }
  },
};
`;
    const mf = new Miniflare({
      modulesRoot: dir,
      modules: [
        { type: 'ESModule', path: join(dir, 'worker.mjs'), contents: worker },
        { type: 'ESModule', path: join(dir, 'smoke.bundle.mjs'), contents: bundle },
      ],
      // Within what this workerd supports; no compatibility flags, so no Node APIs.
      compatibilityDate: '2026-04-01',
    });
    try {
      const res = await mf.dispatchFetch('http://localhost/');
      const body = await res.text();
      expect(res.status, body).toBe(200);
      expectAllPassed({ runtime: `workerd ${versionOf('workerd')}`, ...(JSON.parse(body) as Omit<Report, 'runtime'>) });
    } finally {
      await mf.dispose();
    }
  });

  it('Deno (deno run, no permissions)', async () => {
    const report = await runProcess(denoBinary(), ['run', '--no-config', '--no-lock', '--no-remote', '--no-prompt', 'runner.mjs']);
    expect(report.runtime).toBe(`deno ${versionOf('deno')}`);
    expectAllPassed(report);
  });

  it('Bun (bun run)', async () => {
    const report = await runProcess(bunBinary(), ['run', 'runner.mjs']);
    expect(report.runtime).toBe(`bun ${versionOf('bun')}`);
    expectAllPassed(report);
  });

  it('Vercel edge runtime (edge-runtime)', async () => {
    // EdgeRuntime evaluates scripts, not modules: the bundle's one closing `export { … };` list
    // becomes a global object, in strict mode as a module runs; every other byte is the bundle's.
    const { start, names } = closingExports(bundle);
    const runtime = new EdgeRuntime({ initialCode: `"use strict";\n${bundle.slice(0, start)}\nglobalThis.__edgeKmsSmoke = { ${names.join(', ')} };\n` });
    const json = (await runtime.evaluate(`__edgeKmsSmoke.runSmoke().then(
      (r) => JSON.stringify({ passed: r.passed }),
      (e) => JSON.stringify({ error: String((e && e.message) || e) }),
    )`)) as string;
    expect(runtime.evaluate('typeof EdgeRuntime')).toBe('string');
    expectAllPassed({ runtime: `edge-runtime ${versionOf('edge-runtime')}`, ...(JSON.parse(json) as Omit<Report, 'runtime'>) });
  });
});
