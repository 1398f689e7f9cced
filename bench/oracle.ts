/**
 * Section 7 of `npm run bench` (node --import tsx bench/run.ts; alone: `npm run bench --
 * --only=oracle`): is the time Decrypt takes to reject a ciphertext an oracle for whether the key
 * it names exists? Two ciphertexts of the same length are rejected side by side:
 *   - forged: made under a key that exists, one tag byte flipped (AES-GCM authentication fails);
 *   - unknown: the same bytes with the key id in the header replaced by a random one (no such key).
 * Both answer the same InvalidCiphertextException; the goal is that neither takes measurably
 * longer. Measured
 *   - in process, through the protocol function (`kms.handleMessage`, open mode, a SigV4-signed
 *     message, so authentication and the key policy run as over the wire), on the node:crypto
 *     provider the server uses and on the WebCrypto-only core (browsers, Workers);
 *   - over HTTP: the real Node server (`node --import tsx packages/node/src/cli.ts`, LMDB store),
 *     one keep-alive connection, one request at a time, each request timed by the client.
 * The cases alternate in short blocks and the ratio is the median of the per-block ratios.
 */
import { request as httpRequest, Agent } from 'node:http';
import { createKms, toBase64, type Kms, type ProtocolMessage } from '@edge-kms/core';
import { createNodeCryptoProvider } from '@edge-kms/node/crypto';
import { startEdgeKms } from './http.js';
import { fmt, log, median, pct, table, type Goal } from './lib.js';
import { signedHeaders } from './sigv4.js';

export interface OracleOptions {
  /** Blocks per case; each block is `blockCalls` calls. */
  blocks: number;
  blockCalls: number;
  httpBlocks: number;
  httpBlockCalls: number;
}

export const DEFAULT_ORACLE_OPTIONS: OracleOptions = { blocks: 60, blockCalls: 300, httpBlocks: 36, httpBlockCalls: 100 };

/** How far apart the two may be and still count as the same (the machine's noise is about this). */
const TOLERANCE = 0.05;

type Which = 'forged' | 'unknown' | 'version';
const CASES: Which[] = ['forged', 'unknown', 'version'];
type Pair = Record<Which, Uint8Array>;

/**
 * A forged ciphertext of a real key, the same bytes naming a key that does not exist, and the same
 * bytes naming a version the real key does not have.
 */
function pairFrom(blob: Uint8Array): Pair {
  const forged = blob.slice();
  forged[forged.length - 1]! ^= 0x01;
  const unknown = forged.slice();
  unknown.set(crypto.getRandomValues(new Uint8Array(16)), 4); // bytes 4..20: the key id
  const version = forged.slice();
  version[23] = 0x63; // bytes 20..24: the version, big-endian (99 here; the key has 1)
  return { forged, unknown, version };
}

async function makePair(encrypt: (plaintext: Uint8Array) => Promise<Uint8Array>): Promise<Pair> {
  return pairFrom(await encrypt(crypto.getRandomValues(new Uint8Array(64))));
}

function decryptBody(blob: Uint8Array): string {
  return JSON.stringify({ CiphertextBlob: toBase64(blob) });
}

/** Median µs per call of each case, and the medians over blocks of unknown / forged and version / forged. */
interface Timing {
  forgedUs: number;
  unknownUs: number;
  versionUs: number;
  ratio: number;
  versionRatio: number;
}

async function alternate(call: (which: Which) => Promise<void>, blocks: number, blockCalls: number): Promise<Timing> {
  const per: Record<Which, number[]> = { forged: [], unknown: [], version: [] };
  const ratios: number[] = [];
  const versionRatios: number[] = [];
  for (let warm = 0; warm < blockCalls * 6; warm++) await call(CASES[warm % 3]!);
  for (let b = 0; b < blocks; b++) {
    // Every order of the three in turn, so that no case always follows the same one.
    const order = [...CASES.slice(b % 3), ...CASES.slice(0, b % 3)];
    if (Math.floor(b / 3) % 2) order.reverse();
    const block: Partial<Record<Which, number>> = {};
    for (const which of order) {
      const t = performance.now();
      for (let i = 0; i < blockCalls; i++) await call(which);
      block[which] = ((performance.now() - t) * 1000) / blockCalls;
      per[which].push(block[which]!);
    }
    ratios.push(block.unknown! / block.forged!);
    versionRatios.push(block.version! / block.forged!);
  }
  return {
    forgedUs: median(per.forged),
    unknownUs: median(per.unknown),
    versionUs: median(per.version),
    ratio: median(ratios),
    versionRatio: median(versionRatios),
  };
}

async function inProcess(kms: Kms, o: OracleOptions): Promise<Timing> {
  const { KeyMetadata } = (await kms.execute('CreateKey', {})) as { KeyMetadata: { KeyId: string } };
  const pair = await makePair(
    async (p) => ((await kms.execute('Encrypt', { KeyId: KeyMetadata.KeyId, Plaintext: p })) as { CiphertextBlob: Uint8Array }).CiphertextBlob,
  );
  const url = 'http://127.0.0.1:4599/';
  const message = (blob: Uint8Array): ProtocolMessage => {
    const body = decryptBody(blob);
    const headers = signedHeaders(url, 'TrentService.Decrypt', body);
    return { method: 'POST', url, headers: { get: (n: string) => headers[n.toLowerCase()] ?? null }, body: new TextEncoder().encode(body) };
  };
  const messages = { forged: message(pair.forged), unknown: message(pair.unknown), version: message(pair.version) };
  return alternate(
    async (which) => {
      const r = await kms.handleMessage(messages[which]);
      if (r.status !== 400 || !r.body.includes('InvalidCiphertextException')) throw new Error(`unexpected answer ${r.status} ${r.body}`);
    },
    o.blocks,
    o.blockCalls,
  );
}

async function overHttp(o: OracleOptions): Promise<Timing> {
  const server = await startEdgeKms(false);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const post = (target: string, body: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const headers = signedHeaders(server.url, target, body);
      const req = httpRequest(server.url, { method: 'POST', agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end(body);
    });
  try {
    const created = JSON.parse((await post('TrentService.CreateKey', '{}')).text) as { KeyMetadata: { KeyId: string } };
    const pair = await makePair(async (p) => {
      const r = JSON.parse((await post('TrentService.Encrypt', JSON.stringify({ KeyId: created.KeyMetadata.KeyId, Plaintext: toBase64(p) }))).text) as {
        CiphertextBlob: string;
      };
      return new Uint8Array(Buffer.from(r.CiphertextBlob, 'base64'));
    });
    const bodies = { forged: decryptBody(pair.forged), unknown: decryptBody(pair.unknown), version: decryptBody(pair.version) };
    return await alternate(
      async (which) => {
        const r = await post('TrentService.Decrypt', bodies[which]);
        if (r.status !== 400 || !r.text.includes('InvalidCiphertextException')) throw new Error(`unexpected answer ${r.status} ${r.text}`);
      },
      o.httpBlocks,
      o.httpBlockCalls,
    );
  } finally {
    agent.destroy();
    await server.stop();
  }
}

export async function runOracleBench(o: OracleOptions = DEFAULT_ORACLE_OPTIONS): Promise<{ markdown: string; goals: Goal[] }> {
  const rows: string[][] = [];
  const goals: Goal[] = [];
  const cases: [string, () => Promise<Timing>][] = [
    ['in process, node:crypto provider', () => inProcess(createKms({ authentication: { mode: 'open' }, crypto: createNodeCryptoProvider() }), o)],
    ['in process, WebCrypto-only core', () => inProcess(createKms({ authentication: { mode: 'open' } }), o)],
    ['HTTP, Node server (LMDB)', () => overHttp(o)],
  ];
  for (const [name, run] of cases) {
    log(`oracle: ${name}`);
    const t = await run();
    log(
      `oracle: ${name}: forged ${fmt(t.forgedUs, 1)} µs, unknown key ${fmt(t.unknownUs, 1)} µs (${pct(t.ratio)}), unknown version ${fmt(t.versionUs, 1)} µs (${pct(t.versionRatio)})`,
    );
    rows.push([name, fmt(t.forgedUs, 1), fmt(t.unknownUs, 1), pct(t.ratio), fmt(t.versionUs, 1), pct(t.versionRatio)]);
    goals.push({
      goal: `Decrypt rejects a ciphertext naming an unknown key (or version) in the time it rejects a forged one (${name}): within ±${TOLERANCE * 100}%`,
      measured: `key ${pct(t.ratio)}, version ${pct(t.versionRatio)}`,
      met: Math.abs(t.ratio - 1) <= TOLERANCE && Math.abs(t.versionRatio - 1) <= TOLERANCE,
    });
  }
  const markdown = [
    `Per-call time of Decrypt rejecting two 64-byte-plaintext ciphertexts of the same length: **forged** names a key that exists and has one tag byte flipped; **unknown** is the same bytes naming a random key id; **version** the same bytes naming version 99 of the real key, which has one. Both are answered \`InvalidCiphertextException\` with the same message. The three run in blocks whose order rotates (and reverses) from block to block. In process: ${o.blocks} blocks of ${o.blockCalls} calls per case through \`kms.handleMessage\` (open mode, SigV4-signed); HTTP: ${o.httpBlocks} blocks of ${o.httpBlockCalls} requests, one keep-alive connection, one request at a time. µs are medians over blocks; the ratios are medians of the per-block ratios to forged.`,
    '',
    table(['where', 'forged µs/call', 'unknown key µs/call', 'unknown / forged', 'unknown version µs/call', 'version / forged'], rows),
    '',
    'A ciphertext that names no key (or a version its key does not have) takes the steps of a forged one on a decoy key the engine makes once: authorization and state checks (answers ignored) and an AES-GCM open that fails (packages/core/src/symmetric.ts, `decryptBlob`).',
  ].join('\n');
  return { markdown, goals };
}
