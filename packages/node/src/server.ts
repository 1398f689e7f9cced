/**
 * The Node server: an edge-kms with the LMDB store and root-key wrapping, behind the Hono app,
 * on @hono/node-server, with a maintenance timer that rotates due keys and deletes due keys.
 * node:http is configured so that no client can hold it: connection limits with per-address
 * fairness (connection-limit.ts), header, request and keep-alive timeouts, and AWS-shaped
 * answers for everything it refuses or cannot parse (http-guard.ts).
 */
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import {
  createKms,
  createRootKeyProtector,
  createTestClock,
  errorResponse,
  INTERNAL_MESSAGE,
  KmsError,
  MAX_BODY_BYTES,
  systemClock,
  type Kms,
  type KmsOptions,
  type RotationPolicyName,
  type TestClock,
} from '@edge-kms/core';
import { createKmsApp, createPeerSigner } from '@edge-kms/hono';
import { getRequestListener, type HttpBindings } from '@hono/node-server';
import { createServer as createHttpServer } from 'node:http';
import { createKmsListener } from './fast-path.js';
import { getConnInfo } from '@hono/node-server/conninfo';
import { readIncoming } from './read-message.js';
import { createNodeCryptoProvider } from './node-crypto.js';
import type { Identity, PeerOptions } from '@edge-kms/core';
import { createLmdbStore } from './lmdb-store.js';
import { resolveRootKey, type RootKeySource } from './root-key.js';
import { limitConnections } from './connection-limit.js';
import { createClientErrorListener, normalizeAllowedHosts, rawAwsError, refusal, refuse } from './http-guard.js';

export interface ServerOptions {
  port?: number;
  hostname?: string;
  dataDir?: string;
  accountId?: string;
  /** The default Region (requests that name none act in it). */
  region?: string;
  /** Serve only these Regions (every AWS Region when absent). */
  regions?: string[];
  /** Peer deployments for multi-Region keys (KMS_PEERS). */
  peers?: PeerOptions[];
  /** Base64 of the 32-byte root key (KMS_ROOT_KEY). */
  rootKey?: string;
  /** A file holding the base64 root key, outside the data directory (KMS_ROOT_KEY_FILE); must exist. */
  rootKeyFile?: string;
  testMode?: boolean;
  rotationPolicy?: RotationPolicyName;
  onDemandRotationLimit?: number;
  /** Request-rate quotas per identity (see @edge-kms/core quotas.ts); off by default. */
  requestQuotas?: KmsOptions['requestQuotas'];
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
  /**
   * Host names (`name`, or `name:port`) answered besides loopback. In open mode only loopback
   * names and these are answered (against DNS rebinding); in verify mode the Host header is only
   * restricted when this list is given.
   */
  allowedHosts?: string[];
  /** Open connections at most (default 1024; 0: no limit). */
  maxConnections?: number;
  /** Open connections per client address (IPv6: per /64) at most (default half of maxConnections; 0: no limit). */
  maxConnectionsPerIp?: number;
  /** A request's headers must arrive within this after its first byte, and a new connection must send something within it (default 10 s). */
  headersTimeoutMs?: number;
  /** A whole request (headers and body) must arrive within this (default 30 s; 0: no limit). */
  requestTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this (default 5 s). */
  keepAliveTimeoutMs?: number;
}

export const DEFAULT_MAX_CONNECTIONS = 1024;
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 5_000;

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** A configuration the server refuses to start with (cli.ts prints its message alone). */
export class ServerConfigError extends Error {}

export class OpenModeRefused extends ServerConfigError {}

function configured<T>(make: () => T): T {
  try {
    return make();
  } catch (e) {
    throw new ServerConfigError((e as Error).message);
  }
}

export interface RunningServer {
  url: string;
  /** 'open': no identities, any well-formed signature accepted. 'verify': SigV4 verified. */
  authMode: 'open' | 'verify';
  port: number;
  kms: Kms;
  testClock?: TestClock;
  /** Where the root key came from; 'data-dir': `root.key` beside the data it protects. */
  rootKeySource: RootKeySource;
  /** The root key file read (data-dir or file source). */
  rootKeyPath?: string;
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
  const limits = configured(() => httpLimits(options));
  const allowedHosts = options.allowedHosts && options.allowedHosts.length > 0 ? options.allowedHosts : undefined;
  if (allowedHosts) configured(() => normalizeAllowedHosts(allowedHosts)); // an entry that is not a host name
  // The name this server was bound to is answered too (unless it is a wildcard address).
  const hosts = [...(allowedHosts ?? []), ...bindName(hostname)];
  const dataDir = resolve(options.dataDir ?? '.kms-data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const root = configured(() => resolveRootKey({ dataDir, key: options.rootKey, file: options.rootKeyFile }));
  const protector = await createRootKeyProtector(root.key);
  root.key.fill(0);
  const store = createLmdbStore({ path: resolve(dataDir, 'kms.lmdb') });
  const testClock = options.testMode ? createTestClock(Date.now()) : undefined;
  const kms = configured(() =>
    createKms({
      store,
      protector,
      accountId: options.accountId,
      region: options.region,
      regions: options.regions,
      peers: options.peers,
      peerSigner: options.peers?.length ? createPeerSigner() : undefined,
      clock: testClock ?? systemClock,
      rotationPolicy: options.rotationPolicy,
      onDemandRotationLimit: options.onDemandRotationLimit,
      requestQuotas: options.requestQuotas,
      authentication: open ? { mode: 'open' } : { mode: 'verify', identities: options.identities! },
      crypto: createNodeCryptoProvider(),
    }),
  );
  const app = createKmsApp<HttpBindings>({
    kms,
    testMode: options.testMode,
    testClock,
    corsOrigins: options.corsOrigins,
    sourceIp: (c) => getConnInfo(c).remote.address,
    readMessage: readIncoming,
    playground: options.playgroundDir && staticFiles(options.playgroundDir),
  });
  // A request @hono/node-server cannot turn into a fetch Request (a backslash in the path, …)
  // is the client's error: answer it in AWS's shape, never as a bare 400 or 500.
  const honoListener = getRequestListener(app.fetch, {
    errorHandler: (e) => {
      if (e instanceof Error && e.name === 'RequestError') return errorResponse(new KmsError('SerializationException', 'The request URL is not valid.'));
      kms.onInternalError(e);
      return errorResponse(new KmsError('KMSInternalException', INTERNAL_MESSAGE));
    },
  });
  // KMS calls take the fast path; everything else goes through Hono (see fast-path.ts). Both
  // behind the same checks: the Host header (open mode: loopback and allowedHosts only), the
  // declared body length, the request target.
  const listener = createKmsListener(kms, honoListener, { restrictHosts: open || allowedHosts !== undefined, allowedHosts: hosts });
  const server = createHttpServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // How often node checks the two timeouts above (its default is every 30 s).
      connectionsCheckingInterval: checkingInterval(limits),
      // A request without Host is refused by the listener, in AWS's shape.
      requireHostHeader: false,
    },
    listener,
  );
  server.on('clientError', createClientErrorListener(limits));
  // `Expect: 100-continue`: a body over the limit is refused before the client sends it.
  server.on('checkContinue', (req, res) => {
    const length = Number(req.headers['content-length'] ?? 0);
    if (!(length > MAX_BODY_BYTES)) res.writeContinue();
    listener(req, res);
  });
  server.on('checkExpectation', (_req, res) =>
    refuse(res, refusal(new KmsError('ValidationException', 'The Expect header is not supported (only 100-continue).', 417))),
  );
  // CONNECT (proxy tunnels) is not served: node would drop the connection without an answer.
  server.on('connect', (_req, socket) => {
    socket.on('error', () => undefined);
    socket.end(rawAwsError(405, 'UnsupportedOperationException', 'CONNECT is not supported.'), () => socket.destroy());
  });
  if (limits.maxConnections > 0 || limits.maxConnectionsPerIp > 0 || limits.headersTimeoutMs > 0)
    limitConnections(server, {
      maxConnections: limits.maxConnections,
      maxConnectionsPerIp: limits.maxConnectionsPerIp,
      silentTimeoutMs: limits.headersTimeoutMs,
    });
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
    rootKeySource: root.source,
    rootKeyPath: root.path,
    async close() {
      if (timer) clearInterval(timer);
      await new Promise<void>((r) => server.close(() => r()));
      await store.close?.();
    },
  };
}

function intOption(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
  return v;
}

interface HttpLimits {
  maxConnections: number;
  maxConnectionsPerIp: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

function httpLimits(o: ServerOptions): HttpLimits {
  const maxConnections = intOption('maxConnections', o.maxConnections, DEFAULT_MAX_CONNECTIONS);
  const limits = {
    maxConnections,
    maxConnectionsPerIp: intOption('maxConnectionsPerIp', o.maxConnectionsPerIp, Math.ceil(maxConnections / 2)),
    headersTimeoutMs: intOption('headersTimeoutMs', o.headersTimeoutMs, DEFAULT_HEADERS_TIMEOUT_MS),
    requestTimeoutMs: intOption('requestTimeoutMs', o.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS),
    keepAliveTimeoutMs: intOption('keepAliveTimeoutMs', o.keepAliveTimeoutMs, DEFAULT_KEEP_ALIVE_TIMEOUT_MS),
  };
  if (limits.requestTimeoutMs > 0 && limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new RangeError(`headersTimeoutMs (${limits.headersTimeoutMs}) must not exceed requestTimeoutMs (${limits.requestTimeoutMs})`);
  }
  return limits;
}

/** A quarter of the shorter timeout, between 50 ms and 1 s: a slow client is cut off at most that late. */
function checkingInterval(l: HttpLimits): number {
  const shortest = Math.min(l.headersTimeoutMs || Infinity, l.requestTimeoutMs || Infinity);
  return Math.max(50, Math.min(1000, Math.floor(shortest / 4)));
}

/** The bind address as an allowed host name, unless it is a wildcard or not a host name. */
function bindName(hostname: string): string[] {
  if (hostname === '0.0.0.0' || hostname === '::' || hostname === '') return [];
  const name = hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname;
  try {
    normalizeAllowedHosts([name]);
    return [name];
  } catch {
    return [];
  }
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
      return errorResponse(new KmsError('ServiceUnavailableException', `The playground could not be built: ${(e as Error).message}`));
    }
    let file: string;
    try {
      file = resolve(root, decodeURIComponent(path) || 'index.html');
    } catch {
      return errorResponse(new KmsError('ValidationException', 'The path is not valid percent-encoding.'));
    }
    if (!file.startsWith(root + sep)) return errorResponse(new KmsError('NotFoundException', 'Not found.', 404));
    try {
      return new Response(await readFile(file), {
        headers: { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' },
      });
    } catch {
      return errorResponse(new KmsError('NotFoundException', 'Not found.', 404));
    }
  };
}
