/**
 * `npm run bench` (node --import tsx bench/run.ts): runs the benchmark sections side by side in
 * one process tree and writes bench/results.md (also printed to stdout).
 *   1. HTTP throughput with wrk: edge-kms Node server vs moto_server vs a no-op Hono app, and with
 *      SigV4 verification on (http.ts)
 *   2. In-process core Encrypt vs bare WebCrypto AES-256-GCM (inprocess.ts)
 *   3. Rotation: Decrypt across 1,000 versions, RotateKeyOnDemand latency (rotation.ts)
 *   4. The Worker in workerd vs the Node server, with wrk (edge.ts)
 *   5. Chromium: core with the IndexedDB store vs the memory store, opening a large database (browser.ts)
 *   6. Envelope encryption: MB/s vs bare AES-GCM and the AWS Encryption SDK, streaming memory,
 *      browser bundle size, namespace key change rate (envelope.ts)
 *   7. Decrypt failure timing: a ciphertext naming an unknown key against a forged one of a key
 *      that exists, in process and over HTTP (oracle.ts)
 *   8. Multi-Region keys: a rotation current in every replica when it returns (one deployment),
 *      the time a rotation takes to reach a replica in a peer deployment (two servers on loopback),
 *      Encrypt in a replica's Region vs the primary's (multiregion.ts)
 *   9. Signing and MACs: in-process Sign and Verify (ECDSA P-256, Ed25519, RSA-2048 once it
 *      exists) and GenerateMac vs bare WebCrypto on the same key, and HTTP Sign and GenerateMac
 *      vs moto_server with wrk (signing.ts)
 *  10. Importing key material: GetParametersForImport with a warm and a cold wrapping key pool,
 *      bursts, ImportKeyMaterial latency, the pool's memory (import.ts)
 * Installs wrk with apt-get if it is missing, needs moto_server on PATH, and waits (up to a minute)
 * for other processes to leave the CPU mostly idle. `npm run bench -- --only=inprocess,rotation`
 * runs some sections and prints them without touching results.md (for working on the bench).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runHttpBench } from './http.js';
import { runInProcessBench } from './inprocess.js';
import { log, pct, sleep, table, yesNo, type Goal } from './lib.js';
import { unreapedTicks } from './proc.js';
import { runRotationBench } from './rotation.js';
import { runEdgeBench } from './edge.js';
import { runBrowserBench } from './browser.js';
import { runEnvelopeBench } from './envelope.js';
import { runOracleBench } from './oracle.js';
import { runMultiRegionBench } from './multiregion.js';
import { runSigningBench } from './signing.js';
import { runImportBench } from './import.js';

const RESULTS = fileURLToPath(new URL('./results.md', import.meta.url));

function has(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error;
}

/** Makes sure wrk is on PATH; returns a note when this run had to install it. */
function ensureWrk(): string | undefined {
  if (has('wrk', ['--version'])) return undefined;
  log('wrk is missing: apt-get install -y wrk');
  const install = () =>
    spawnSync('apt-get', ['install', '-y', 'wrk'], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
      .status === 0;
  if (!install()) {
    log('apt-get install failed: apt-get update, then again');
    spawnSync('apt-get', ['update'], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (!install()) throw new Error('could not install wrk with apt-get');
  }
  if (!has('wrk', ['--version'])) throw new Error('wrk is still not on PATH after apt-get install');
  return 'wrk was not installed; this run installed it with `apt-get install -y wrk`.';
}

/** Share of all CPU time spent busy over `ms` (Linux /proc/stat); undefined elsewhere. */
async function cpuBusy(ms: number): Promise<number | undefined> {
  if (!existsSync('/proc/stat')) return undefined;
  const sample = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { idle: f[3]! + (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) };
  };
  const a = sample();
  await sleep(ms);
  const b = sample();
  return b.total === a.total ? 0 : 1 - (b.idle - a.idle) / (b.total - a.total);
}

/**
 * CPU clock ticks so far: the machine's busy and total ticks (/proc/stat) and this process's own
 * plus its waited-for children's (/proc/self/stat: the servers and wrk runs). Linux only.
 */
function cpuTicks(): { busy: number; total: number; ours: number } | undefined {
  if (!existsSync('/proc/stat')) return undefined;
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const self = readFileSync('/proc/self/stat', 'utf8');
  const g = self
    .slice(self.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number); // from field 3 (state) on
  return { busy: total - f[3]! - (f[4] ?? 0), total, ours: g[11]! + g[12]! + g[13]! + g[14]! };
}

/** Busier than this (all cores together) counts as a machine in use by something else. */
const QUIET_CPU = 0.15;

/**
 * Other work on the machine skews every number here (wrk and the server need both cores). Waits
 * up to `maxWaitMs` for the CPU to be mostly idle and says how busy it was when the bench started.
 */
async function waitForQuiet(maxWaitMs: number): Promise<string> {
  const end = Date.now() + maxWaitMs;
  let busy = await cpuBusy(2000);
  if (busy === undefined) return 'unknown';
  while (busy > QUIET_CPU && Date.now() < end) {
    log(`other processes keep the CPU ${pct(busy)} busy; waiting for a quieter moment`);
    busy = (await cpuBusy(5000))!;
  }
  return `${pct(busy)} busy just before the start${busy > QUIET_CPU ? ` (still above ${pct(QUIET_CPU)} after waiting ${maxWaitMs / 1000} s: expect lower, noisier numbers)` : ''}`;
}

function firstLine(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0]!.trim();
}

const SECTIONS = ['http', 'inprocess', 'rotation', 'edge', 'browser', 'envelope', 'oracle', 'multiregion', 'signing', 'import'] as const;
type Section = (typeof SECTIONS)[number];

const onlyArg = process.argv.find((a) => a.startsWith('--only='));
const only = onlyArg ? (onlyArg.slice('--only='.length).split(',') as Section[]) : [...SECTIONS];
for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s}; expected ${SECTIONS.join(', ')}`);

const notes: string[] = [];
if (only.includes('http') || only.includes('edge') || only.includes('multiregion') || only.includes('signing')) {
  const wrkNote = ensureWrk();
  if (wrkNote) notes.push(wrkNote);
}
if (only.includes('http') || only.includes('signing')) {
  if (!has('moto_server', ['--help'])) throw new Error('moto_server is not on PATH (pip install "moto[server]")');
}
const quiet = await waitForQuiet(60_000);
const started = new Date();
const ticksBefore = cpuTicks();

const parts: string[] = [];
const goals: Goal[] = [];
if (only.includes('http')) {
  log('section 1: HTTP throughput');
  const r = await runHttpBench();
  parts.push('## 1. HTTP throughput', '', r.markdown, '');
  goals.push(...r.goals);
}
if (only.includes('inprocess')) {
  log('section 2: in-process Encrypt');
  const r = await runInProcessBench();
  parts.push('## 2. In-process Encrypt: core vs bare WebCrypto', '', r.markdown, '');
  goals.push(...r.goals);
}
if (only.includes('rotation')) {
  log('section 3: rotation');
  const r = await runRotationBench();
  parts.push('## 3. Rotation', '', r.markdown, '');
  goals.push(...r.goals);
}
if (only.includes('edge')) {
  log('section 4: the Worker in workerd');
  const r = await runEdgeBench();
  parts.push('## 4. The Worker in workerd vs the Node server', '', r.markdown, '');
  goals.push(...r.goals);
}
if (only.includes('browser')) {
  log('section 5: Chromium, IndexedDB');
  const r = await runBrowserBench();
  parts.push('## 5. In the browser: IndexedDB store vs memory store, opening a large database', '', r.markdown, '');
  goals.push(...r.goals);
}
if (only.includes('envelope')) {
  log('section 6: envelope encryption and namespaces');
  const r = await runEnvelopeBench();
  parts.push('## 6. Envelope encryption and namespaces', '', r.markdown, '');
  goals.push(...r.goals);
}
if (only.includes('oracle')) {
  log('section 7: Decrypt failure timing');
  const r = await runOracleBench();
  parts.push('## 7. Decrypt failure timing: unknown key vs forged ciphertext', '', r.markdown, '');
  goals.push(...r.goals);
}
if (only.includes('multiregion')) {
  log('section 8: multi-Region keys');
  const r = await runMultiRegionBench();
  parts.push('## 8. Multi-Region keys', '', r.markdown, '');
  goals.push(...r.goals);
}
if (only.includes('signing')) {
  log('section 9: signing and MACs');
  const r = await runSigningBench();
  parts.push('## 9. Signing and MACs', '', r.markdown, '');
  goals.push(...r.goals);
}
if (only.includes('import')) {
  log('section 10: importing key material');
  const r = await runImportBench();
  parts.push('## 10. Importing key material', '', r.markdown, '');
  goals.push(...r.goals);
}
const seconds = (Date.now() - started.getTime()) / 1000;

const ticksAfter = cpuTicks();
const othersShare =
  ticksBefore && ticksAfter
    ? Math.max(0, ticksAfter.busy - ticksBefore.busy - (ticksAfter.ours - ticksBefore.ours) - unreapedTicks.value) / (ticksAfter.total - ticksBefore.total)
    : undefined;
const commit = firstLine('git', ['rev-parse', '--short', 'HEAD']);
const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'packages'], { encoding: 'utf8' }).stdout?.trim();
const moto = spawnSync('python3', ['-c', 'import moto; print(moto.__version__)'], { encoding: 'utf8' }).stdout?.trim() || 'unknown';
const machine = `nproc ${availableParallelism()} (${cpus()[0]?.model ?? 'unknown CPU'})`;
const markdown = [
  `# edge-kms benchmark results: \`npm run bench${onlyArg ? ` -- ${onlyArg}` : ''}\``,
  '',
  `Command: \`npm run bench${onlyArg ? ` -- ${onlyArg}` : ''}\` (node --import tsx bench/run.ts)  `,
  `Date: ${started.toISOString()}  `,
  `Node: ${process.version}  `,
  `Machine: ${machine}  `,
  `Other load: CPU ${quiet}; other processes used ${othersShare === undefined ? 'an unknown share' : pct(othersShare)} of the machine's CPU time during the run  `,
  `Code: commit ${commit}${dirty ? ' with uncommitted changes under packages/' : ''}  `,
  `Tools: ${firstLine('wrk', ['--version']).split(' Copyright')[0]}, moto ${moto}  `,
  `Took: ${Math.round(seconds)} s`,
  ...notes.map((n) => `\nNote: ${n}`),
  '',
  '## Goals',
  '',
  table(
    ['goal', 'measured', 'met'],
    goals.map((g) => [g.goal, g.measured, yesNo(g.met)]),
  ),
  '',
  ...parts,
].join('\n');

process.stdout.write(markdown);
if (!onlyArg) {
  writeFileSync(RESULTS, markdown);
  log(`wrote ${RESULTS}`);
}
// Child servers are stopped by now; lmdb or undici keep-alive sockets must not hold the process.
process.exit(0);
