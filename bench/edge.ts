/**
 * Issue 5, the Worker (part of `npm run bench`, i.e. node --import tsx bench/run.ts;
 * `npm run bench -- --only=edge` runs it alone): requests per second of Encrypt (64-byte
 * plaintext) and GenerateDataKey (AES_256) served by
 *   - worker: the edge-kms Worker in workerd through Miniflare (startWorker from
 *     packages/cloudflare/scripts/miniflare.ts), bindings KMS_ROOT_KEY (32 random bytes) and
 *     KMS_ALLOW_OPEN=1, state in memory; the Worker forwards every request to the account's
 *     Durable Object (SQLite-backed storage), which runs the KMS;
 *   - node: the edge-kms Node server as `npm start` runs it (LMDB store, open mode), as in http.ts;
 *   - two ceilings in the same workerd: a no-op Worker, and a no-op Worker forwarding to a no-op
 *     Durable Object (the edge-kms Worker's shape without the KMS), Encrypt requests only;
 * with the same wrk (-t1 -c32, bench/post.lua) and the same kind of SigV4-signed requests
 * (bench/http.ts: prepareRequests, wrk). One server at a time, each started fresh per round, the
 * round order reversed in the second round; req/s is the median over rounds, worker / node the
 * median of the per-round ratios.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { startWorker } from '../packages/cloudflare/scripts/miniflare.js';
import { prepareRequests, startEdgeKms, wrk, type BenchRequest, type Child, type Op, type WrkResult } from './http.js';
import { signedHeaders } from './sigv4.js';
import { fmt, log, median, pct, table, type Goal } from './lib.js';

export interface EdgeOptions {
  seconds: number;
  warmupSeconds: number;
  connections: number;
  rounds: number;
}

export const DEFAULT_EDGE_OPTIONS: EdgeOptions = { seconds: 4, warmupSeconds: 1, connections: 32, rounds: 2 };

const OPS = ['Encrypt', 'GenerateDataKey'] as const satisfies readonly Op[];
const require = createRequire(import.meta.url);
const MINIFLARE_VERSION = (require('miniflare/package.json') as { version: string }).version;
const WORKERD_VERSION = (createRequire(require.resolve('miniflare'))('workerd/package.json') as { version: string }).version;
type Server = 'worker' | 'node' | 'noop' | 'noop-do';

async function startWorkerd(): Promise<Child> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-kms-bench-worker-'));
  const worker = await startWorker({
    outfile: join(dir, 'worker.js'),
    bindings: { KMS_ROOT_KEY: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64'), KMS_ALLOW_OPEN: '1' },
  });
  return {
    url: worker.url,
    stop: async () => {
      await worker.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const NOOP_RESPONSE = `new Response('{"ok":true}', { headers: { 'content-type': 'application/x-amz-json-1.1' } })`;

/**
 * Ceilings in the same workerd: "noop", a Worker that reads the request and answers a fixed small
 * JSON body; "noop-do", a Worker that forwards the request to a Durable Object that does the same
 * (the edge-kms Worker's shape, with no KMS behind it). Reading the body matters: workerd closes
 * the connection after a response to an unread request, and wrk would measure reconnects.
 */
async function startWorkerdNoop(viaDurableObject: boolean): Promise<Child> {
  const script = viaDurableObject
    ? `import { DurableObject } from 'cloudflare:workers';
       export class Noop extends DurableObject { async fetch(request) { await request.arrayBuffer(); return ${NOOP_RESPONSE}; } }
       export default { fetch(request, env) { return env.NOOP.get(env.NOOP.idFromName('111122223333:us-east-1')).fetch(request); } };`
    : `export default { async fetch(request) { await request.arrayBuffer(); return ${NOOP_RESPONSE}; } };`;
  const mf = new Miniflare({
    modules: true,
    script,
    compatibilityDate: '2025-04-01',
    ...(viaDurableObject ? { durableObjects: { NOOP: { className: 'Noop', useSQLite: true } } } : {}),
    host: '127.0.0.1',
    port: 0,
  });
  const url = (await mf.ready).toString().replace(/\/$/, '');
  return { url, stop: () => mf.dispose() };
}

const START: Record<Server, () => Promise<Child>> = {
  worker: startWorkerd,
  node: () => startEdgeKms(false),
  noop: () => startWorkerdNoop(false),
  'noop-do': () => startWorkerdNoop(true),
};

export async function runEdgeBench(o: EdgeOptions = DEFAULT_EDGE_OPTIONS): Promise<{ markdown: string; goals: Goal[] }> {
  const runs = new Map<string, WrkResult[]>();
  const order: Server[] = ['worker', 'noop-do', 'noop', 'node'];
  for (let round = 0; round < o.rounds; round++) {
    for (const name of round % 2 ? [...order].reverse() : order) {
      log(`edge: starting ${name}`);
      const server = await START[name]();
      try {
        // The no-op Workers answer the same whatever they are sent; they get an Encrypt request.
        const body = JSON.stringify({ KeyId: crypto.randomUUID(), Plaintext: Buffer.alloc(64).toString('base64') });
        const requests: Partial<Record<Op, BenchRequest>> =
          name === 'noop' || name === 'noop-do'
            ? { Encrypt: { body, headers: signedHeaders(server.url, 'TrentService.Encrypt', body) } }
            : await prepareRequests(server.url);
        const ops = OPS.filter((op) => requests[op] !== undefined);
        for (const op of ops) await wrk(server.url, op, requests[op]!, o.warmupSeconds, o.connections);
        for (const op of ops) {
          const r = await wrk(server.url, op, requests[op]!, o.seconds, o.connections);
          log(`edge: ${name} ${op}: ${fmt(r.rps)} req/s (p50 ${fmt(r.p50Ms)} ms)`);
          runs.set(`${name}/${op}`, [...(runs.get(`${name}/${op}`) ?? []), r]);
        }
      } finally {
        await server.stop();
      }
    }
  }
  const rps = (key: string) => median(runs.get(key)!.map((r) => r.rps));
  const p50 = (key: string) => fmt(median(runs.get(key)!.map((r) => r.p50Ms)));
  const p99 = (key: string) => fmt(median(runs.get(key)!.map((r) => r.p99Ms)));
  const ratio = (a: string, b: string) => median(runs.get(a)!.map((r, i) => r.rps / runs.get(b)![i]!.rps));
  const each = (key: string) =>
    runs
      .get(key)!
      .map((r) => fmt(r.rps))
      .join(' / ');
  const errors = [...runs.values()].flat().reduce((n, r) => n + r.errors, 0);
  const rows = OPS.map((op) => [
    op,
    fmt(rps(`worker/${op}`)),
    fmt(rps(`node/${op}`)),
    pct(ratio(`worker/${op}`, `node/${op}`)),
    pct(ratio(`worker/${op}`, 'noop-do/Encrypt')),
    pct(ratio(`worker/${op}`, 'noop/Encrypt')),
    `${p50(`worker/${op}`)} / ${p50(`node/${op}`)}`,
    `${p99(`worker/${op}`)} / ${p99(`node/${op}`)}`,
    `${each(`worker/${op}`)}`,
    `${each(`node/${op}`)}`,
  ]);
  const markdown = [
    `wrk -t1 -c${o.connections} -d${o.seconds}s (after ${o.warmupSeconds}s warm-up per call), ${o.rounds} rounds, each server started fresh per round and run alone; SigV4-signed requests as in section 1. "Worker" is the edge-kms Worker in workerd via Miniflare (Miniflare ${MINIFLARE_VERSION}, workerd ${WORKERD_VERSION}; \`startWorker\`, bindings KMS_ROOT_KEY and KMS_ALLOW_OPEN=1, in-memory state): each request goes to the Worker, which forwards it to the account's Durable Object (SQLite storage), which runs the KMS. "Node" is the Node server as \`npm start\` runs it (LMDB, open mode). Both run in open mode and wrap key material under a root key. A Durable Object is single-threaded, so one object (one account and region) is the unit of throughput on Cloudflare; locally workerd and wrk share the machine's ${availableParallelism()} cores the same way the Node server and wrk do.`,
    '',
    table(
      [
        'call',
        'Worker (workerd) req/s',
        'Node server req/s',
        'Worker / Node',
        'Worker / no-op Worker → DO',
        'Worker / no-op Worker',
        'p50 ms Worker / Node',
        'p99 ms Worker / Node',
        'Worker per round',
        'Node per round',
      ],
      rows,
    ),
    '',
    `Ceilings in the same workerd, per round (req/s): a no-op Worker that reads the request and answers a fixed JSON body: ${each('noop/Encrypt')}; a no-op Worker forwarding to a no-op Durable Object (the edge-kms Worker's shape without the KMS): ${each('noop-do/Encrypt')}. Socket errors or timeouts over all runs: ${errors}.`,
  ].join('\n');
  return { markdown, goals: [] };
}
