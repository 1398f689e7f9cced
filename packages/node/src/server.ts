/**
 * The Node server: an edge-kms with the LMDB store and root-key wrapping, behind the Hono app,
 * on @hono/node-server, with a maintenance timer that rotates due keys and deletes due keys.
 */
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import {
  createKms,
  createRootKeyProtector,
  createTestClock,
  systemClock,
  type Kms,
  type RotationPolicyName,
  type TestClock,
} from '@edge-kms/core';
import { createKmsApp } from '@edge-kms/hono';
import { getRequestListener } from '@hono/node-server';
import { createServer as createHttpServer } from 'node:http';
import { createKmsListener } from './fast-path.js';
import { getConnInfo } from '@hono/node-server/conninfo';
import { readIncoming } from './read-message.js';
import { createNodeCryptoProvider } from './node-crypto.js';
import type { Identity } from '@edge-kms/core';
import { createLmdbStore } from './lmdb-store.js';
import { loadRootKey } from './root-key.js';

export interface ServerOptions {
  port?: number;
  hostname?: string;
  dataDir?: string;
  accountId?: string;
  region?: string;
  rootKey?: string;
  testMode?: boolean;
  rotationPolicy?: RotationPolicyName;
  onDemandRotationLimit?: number;
  /** How often due rotations and deletions are applied; 0 turns the timer off. */
  maintenanceIntervalMs?: number;
  /** Access keys allowed to call. With none, the server runs in open development mode. */
  identities?: Identity[];
  /** Let open mode (no identities) listen on a non-loopback interface. Dangerous. */
  allowOpenNetwork?: boolean;
  /** Browser origins allowed by CORS. */
  corsOrigins?: string[] | '*';
  /**
   * Serves the playground at /playground/ from the directory this resolves to (its Vite build).
   * Called on the first request for the page, so a build can wait until someone asks for it.
   */
  playgroundDir?: () => Promise<string>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export class OpenModeRefused extends Error {}

export interface RunningServer {
  url: string;
  /** 'open': no identities, any well-formed signature accepted. 'verify': SigV4 verified. */
  authMode: 'open' | 'verify';
  port: number;
  kms: Kms;
  testClock?: TestClock;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const hostname = options.hostname ?? '127.0.0.1';
  const open = !options.identities || options.identities.length === 0;
  if (open && !isLoopback(hostname) && !options.allowOpenNetwork) {
    throw new OpenModeRefused(
      `Refusing to serve on ${hostname} in open mode (no identities configured: any signature is accepted). ` +
        'Configure identities (KMS_IDENTITIES_FILE or KMS_IDENTITIES), bind to 127.0.0.1, or force it with KMS_ALLOW_OPEN_NETWORK=1.',
    );
  }
  const dataDir = resolve(options.dataDir ?? '.kms-data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const rootKey = loadRootKey(dataDir, options.rootKey);
  const protector = await createRootKeyProtector(rootKey);
  rootKey.fill(0);
  const store = createLmdbStore({ path: resolve(dataDir, 'kms.lmdb') });
  const testClock = options.testMode ? createTestClock(Date.now()) : undefined;
  const kms = createKms({
    store,
    protector,
    accountId: options.accountId,
    region: options.region,
    clock: testClock ?? systemClock,
    rotationPolicy: options.rotationPolicy,
    onDemandRotationLimit: options.onDemandRotationLimit,
    authentication: open ? { mode: 'open' } : { mode: 'verify', identities: options.identities! },
    crypto: createNodeCryptoProvider(),
  });
  const app = createKmsApp({
    kms,
    testMode: options.testMode,
    testClock,
    corsOrigins: options.corsOrigins,
    sourceIp: (c) => getConnInfo(c).remote.address,
    readMessage: readIncoming,
    playground: options.playgroundDir && staticFiles(options.playgroundDir),
  });
  // KMS calls take the fast path; everything else goes through Hono (see fast-path.ts).
  const server = createHttpServer(createKmsListener(kms, getRequestListener(app.fetch)));
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port ?? 4599, hostname, () => resolveListen());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 4599);

  const interval = options.maintenanceIntervalMs ?? 60_000;
  let timer: ReturnType<typeof setInterval> | undefined;
  if (interval > 0) {
    await kms.runMaintenance();
    timer = setInterval(() => void kms.runMaintenance().catch((e) => console.error('maintenance failed:', e)), interval);
    timer.unref();
  }

  return {
    url: `http://${hostname === '0.0.0.0' ? '127.0.0.1' : hostname}:${port}`,
    authMode: open ? 'open' : 'verify',
    port,
    kms,
    testClock,
    async close() {
      if (timer) clearInterval(timer);
      await new Promise<void>((r) => server.close(() => r()));
      await store.close?.();
    },
  };
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Answers GET /playground/<path> with the file at <path> in the directory (index.html for ''). */
function staticFiles(dir: () => Promise<string>): (path: string) => Promise<Response> {
  return async (path) => {
    let root: string;
    try {
      root = await dir();
    } catch (e) {
      return new Response(`The playground could not be built: ${(e as Error).message}`, { status: 503 });
    }
    let file: string;
    try {
      file = resolve(root, decodeURIComponent(path) || 'index.html');
    } catch {
      return new Response('Bad path', { status: 400 });
    }
    if (!file.startsWith(root + sep)) return new Response('Not found', { status: 404 });
    try {
      return new Response(await readFile(file), {
        headers: { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' },
      });
    } catch {
      return new Response('Not found', { status: 404 });
    }
  };
}
