/**
 * End-to-end helpers: the real edge-kms server (packages/node/src/cli.ts) as a child process on a
 * random port with a temporary data directory, and a real AWS SDK v3 KMS client pointed at it.
 *
 *   const server = await spawnKmsServer({ env: { KMS_ROTATION_POLICY: 'rotate-by-default' } });
 *   const kms = kmsClient(server.url);
 *   ...
 *   await server.restart('SIGKILL'); // same data dir, new process, new port
 *   await server.dispose();          // stop and remove the temporary directory
 *
 * or, for one server a test file (hooks included): `const { server, kms } = useKmsServer();`.
 *
 * The server is run with `node --import tsx` rather than `npx tsx`, so that the signals we send
 * reach the server process itself and not an npx/tsx wrapper (SIGKILL is not forwarded).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { KMS } from '@aws-sdk/client-kms';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll } from 'vitest';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(REPO_ROOT, 'packages/node/src/cli.ts');

/** A TCP port free on 127.0.0.1 now: for servers that must know each other's URL before they start (peers). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export const ACCOUNT_ID = '111122223333';
export const REGION = 'us-east-1';
export const DAY_MS = 86_400_000;

export function keyArn(keyId: string): string {
  return `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/${keyId}`;
}

export function aliasArn(aliasName: string): string {
  return `arn:aws:kms:${REGION}:${ACCOUNT_ID}:${aliasName}`;
}

/**
 * A KMS client (the aggregated `KMS` class, which extends `KMSClient`) for an edge-kms endpoint.
 * One attempt per call: the tests see exactly what the server answered, without SDK retries.
 */
export const DUMMY_CREDENTIALS = { accessKeyId: 'AKIAEDGEKMSE2ETEST00', secretAccessKey: 'edge-kms-e2e-dummy-secret' };

export function kmsClient(url: string): KMS {
  return new KMS({
    endpoint: url,
    region: REGION,
    credentials: DUMMY_CREDENTIALS,
    maxAttempts: 1,
  });
}

export interface SpawnOptions {
  /** Data directory to use; default: a fresh `data` directory inside a new temporary directory. */
  dataDir?: string;
  /** Extra environment (KMS_ROTATION_POLICY, KMS_ON_DEMAND_ROTATION_LIMIT, …); undefined removes a variable. */
  env?: Record<string, string | undefined>;
  /** KMS_TEST_MODE=1 unless false. */
  testMode?: boolean;
  /** How long to wait for the "listening" line. */
  startTimeoutMs?: number;
}

export interface StopResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export class KmsServer {
  url = '';
  port = 0;
  /** Everything the current process wrote to stdout and stderr. */
  output = '';
  private proc: ChildProcess | undefined;
  private exited: Promise<StopResult> | undefined;

  private constructor(
    readonly dataDir: string,
    /** The temporary directory to remove on dispose (undefined when the caller gave dataDir). */
    private readonly ownedDir: string | undefined,
    readonly env: Record<string, string | undefined>,
    readonly testMode: boolean,
    private readonly startTimeoutMs: number,
  ) {}

  static async spawn(options: SpawnOptions = {}): Promise<KmsServer> {
    const server = KmsServer.create(options);
    await server.start();
    return server;
  }

  /** A server not started yet (`start()` starts it): its data directory exists, its URL does not. */
  static create(options: SpawnOptions = {}): KmsServer {
    let ownedDir: string | undefined;
    let dataDir = options.dataDir;
    if (!dataDir) {
      ownedDir = mkdtempSync(join(tmpdir(), 'edge-kms-e2e-'));
      dataDir = join(ownedDir, 'data');
    }
    return new KmsServer(dataDir, ownedDir, options.env ?? {}, options.testMode ?? true, options.startTimeoutMs ?? 30_000);
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return this.proc !== undefined;
  }

  /** Starts a server process on this data directory (and a new random port). */
  async start(extraEnv: Record<string, string | undefined> = {}): Promise<void> {
    if (this.proc) throw new Error('server already running');
    const env: Record<string, string | undefined> = {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      KMS_DATA_DIR: this.dataDir,
      // Deterministic by default: rotations and deletions happen on request or through
      // /_edge-kms/maintenance, not on a timer. A test may turn the timer on through env.
      KMS_MAINTENANCE_INTERVAL_MS: '0',
      KMS_TEST_MODE: this.testMode ? '1' : '0',
      ...this.env,
      ...extraEnv,
    };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const proc = spawn(process.execPath, ['--import', 'tsx', CLI], {
      cwd: REPO_ROOT,
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(proc);
    this.proc = proc;
    this.output = '';
    this.exited = new Promise((res) => {
      proc.once('exit', (code, signal) => {
        live.delete(proc);
        res({ code, signal });
      });
    });
    const exited = this.exited;
    proc.stdout!.setEncoding('utf8');
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (d: string) => (this.output += d));
    this.url = await new Promise<string>((res, rej) => {
      let buffered = '';
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        rej(new Error(`edge-kms did not start within ${this.startTimeoutMs} ms:\n${this.output}`));
      }, this.startTimeoutMs);
      proc.stdout!.on('data', (d: string) => {
        this.output += d;
        buffered += d;
        const m = /edge-kms listening on (http:\/\/[^\s]+)/.exec(buffered);
        if (m) {
          clearTimeout(timer);
          res(m[1]!);
        }
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        rej(new Error(`edge-kms exited before listening (code ${code}, signal ${signal}):\n${this.output}`));
      });
    }).catch(async (e) => {
      this.proc = undefined;
      await exited;
      throw e;
    });
    this.port = Number(new URL(this.url).port);
  }

  /**
   * Stops the process: SIGTERM (a clean shutdown; SIGKILL after `timeoutMs` if it hangs) or
   * SIGKILL (no shutdown at all, as after a crash).
   */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM', timeoutMs = 10_000): Promise<StopResult> {
    const proc = this.proc;
    if (!proc) throw new Error('server not running');
    proc.kill(signal);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const result = await Promise.race([this.exited!, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)))]);
    clearTimeout(timer);
    if (result === 'timeout') {
      proc.kill('SIGKILL');
      await this.exited;
      this.proc = undefined;
      throw new Error(`edge-kms did not exit within ${timeoutMs} ms of ${signal}`);
    }
    this.proc = undefined;
    return result;
  }

  /** Stops with `signal` and starts again on the same data directory (the URL changes). */
  async restart(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM', extraEnv: Record<string, string | undefined> = {}): Promise<StopResult> {
    const result = await this.stop(signal);
    await this.start(extraEnv);
    return result;
  }

  /** Stops the process (if running) and removes the temporary directory this helper made. */
  async dispose(): Promise<void> {
    if (this.proc) await this.stop('SIGTERM').catch(() => undefined);
    if (this.ownedDir) rmSync(this.ownedDir, { recursive: true, force: true });
  }

  client(): KMS {
    return kmsClient(this.url);
  }

  private async testEndpoint(method: 'GET' | 'POST', path: string, body?: unknown): Promise<any> {
    // The test-mode endpoints take JSON only (a browser page cannot send it without a preflight).
    const res = await fetch(`${this.url}/_edge-kms/${path}`, {
      method,
      headers: method === 'POST' ? { 'content-type': 'application/json' } : {},
      body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} /_edge-kms/${path}: HTTP ${res.status} ${text}`);
    return JSON.parse(text);
  }

  /** POST /_edge-kms/reset: removes every key, version and alias. */
  async reset(): Promise<void> {
    await this.testEndpoint('POST', 'reset');
  }

  /** POST /_edge-kms/clock {advanceDays}: moves the server's test clock; returns its new time (epoch ms). */
  async advanceDays(days: number): Promise<number> {
    return (await this.testEndpoint('POST', 'clock', { advanceDays: days })).now as number;
  }

  /** GET /_edge-kms/clock: the server's current time (epoch ms). */
  async now(): Promise<number> {
    return (await this.testEndpoint('GET', 'clock')).now as number;
  }

  /** POST /_edge-kms/maintenance: applies due rotations and deletions. */
  async maintenance(): Promise<{ rotated: string[]; deleted: string[] }> {
    return this.testEndpoint('POST', 'maintenance');
  }
}

export function spawnKmsServer(options: SpawnOptions = {}): Promise<KmsServer> {
  return KmsServer.spawn(options);
}

export interface KmsServerForTests {
  /** Started before the first test of the file (or describe block), disposed of after the last. */
  readonly server: KmsServer;
  /**
   * An SDK client for `server` that follows it across restarts: its endpoint is the server's
   * current URL, read at each call (a restart picks a new port). Destroyed after the last test.
   */
  readonly kms: KMS;
}

/**
 * The setup most suites share: one server per test file (or per describe block, when called in
 * one) and a client for it, with the hooks that start and stop them.
 *
 *   const { server, kms } = useKmsServer({ env: { KMS_ON_DEMAND_ROTATION_LIMIT: '100' } });
 *   it('…', async () => { await kms.createKey({}); await server.restart('SIGKILL'); await kms.listKeys({}); });
 */
export function useKmsServer(options: SpawnOptions = {}): KmsServerForTests {
  const server = KmsServer.create(options);
  const kms = followingClient(server);
  beforeAll(() => server.start());
  afterAll(async () => {
    kms.destroy();
    await server.dispose();
  });
  return { server, kms };
}

/** A client whose endpoint is the server's URL at each call (one attempt per call, as kmsClient). */
function followingClient(server: KmsServer): KMS {
  return new KMS({
    endpoint: async () => {
      if (!server.running) throw new Error('the edge-kms server is not running');
      return { url: new URL(server.url) };
    },
    region: REGION,
    credentials: DUMMY_CREDENTIALS,
    maxAttempts: 1,
  });
}

/** The error a call fails with; fails the test if the call succeeds. */
export async function failure(call: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await call;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** SHA-256 / HMAC-SHA-256 in the shape @smithy/signature-v4 wants. */
type SourceData = string | ArrayBuffer | ArrayBufferView;
function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data);
  if (data instanceof ArrayBuffer) return Buffer.from(new Uint8Array(data));
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

class NodeSha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: SourceData): void {
    this.h.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}

const signer = new SignatureV4({ credentials: DUMMY_CREDENTIALS, region: REGION, service: 'kms', sha256: NodeSha256 });

/**
 * A raw TrentService request over fetch, SigV4-signed like the SDK signs (for what the SDK cannot
 * send: malformed bodies, unknown targets). `sign: false` sends it unsigned.
 */
export async function rawCall(
  url: string,
  target: string,
  body: string,
  options: { headers?: Record<string, string>; sign?: boolean; signingDate?: Date } = {},
): Promise<Response> {
  const u = new URL(url);
  const headers: Record<string, string> = {
    host: u.host,
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': target,
    ...options.headers,
  };
  if (options.sign !== false) {
    const signed = await signer.sign(
      { method: 'POST', protocol: u.protocol, hostname: u.hostname, port: Number(u.port), path: '/', headers, body, query: {} },
      { signingDate: options.signingDate },
    );
    Object.assign(headers, signed.headers);
  }
  delete headers.host;
  return fetch(url, { method: 'POST', headers, body });
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);
