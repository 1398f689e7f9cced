#!/usr/bin/env node
/**
 * `npm start`: the edge-kms server on http://localhost:4599 with key history in .kms-data.
 * Environment:
 *   PORT (4599; 0 picks a free port), HOST (127.0.0.1), KMS_ACCOUNT_ID,
 *   KMS_REGION (us-east-1: the default Region, for requests that name none; every AWS Region is
 *     served, each its own keyspace, the Region taken from the SigV4 credential scope),
 *   KMS_REGIONS (comma-separated: serve only these Regions, KMS_REGION among them),
 *   KMS_PEERS (JSON list of {"url", "regions", "secret", "name"?}: other deployments that hold
 *     replicas of this one's multi-Region keys or their primaries; "secret" is base64 of a 32-byte
 *     link secret configured on both sides; the peers' Regions are not served here),
 *   KMS_DATA_DIR (.kms-data: kms.lmdb and kms.lmdb-lock, mode 0600, in a directory made 0700),
 *   KMS_ROOT_KEY (base64 of the 32-byte root key), or KMS_ROOT_KEY_FILE (a file holding that
 *     base64, outside the data directory; it must exist, the server never creates it; mode 0600
 *     recommended). With neither, root.key is created in the data directory (0600) and the
 *     server warns at start that the key lies beside the data it protects. Not both.
 *   KMS_TEST_MODE=1 (or --test-mode), KMS_ROTATION_POLICY (aws | rotate-by-default),
 *   KMS_ON_DEMAND_ROTATION_LIMIT, KMS_MAINTENANCE_INTERVAL_MS, KMS_IDENTITIES_FILE or
 *   KMS_IDENTITIES (JSON list of {accessKeyId, secretAccessKey, accountId, arn}),
 *   KMS_ALLOW_OPEN_NETWORK=1 (or --allow-open-network), KMS_CORS_ORIGINS (comma-separated, or *),
 *   KMS_PLAYGROUND=0 (do not serve the playground at /playground/),
 *   KMS_ALLOWED_HOSTS (comma-separated host names, `name` or `name:port`, answered besides
 *     localhost, 127.x.x.x, [::1] and HOST when it names one interface; in open mode every other
 *     Host header is refused (403 AccessDeniedException) against DNS rebinding; in verify mode the
 *     Host header is restricted only when this is set),
 *   KMS_MAX_CONNECTIONS (1024; 0: no limit), KMS_MAX_CONNECTIONS_PER_IP (half of
 *     KMS_MAX_CONNECTIONS; IPv6 counts per /64; 0: no limit),
 *   KMS_HEADERS_TIMEOUT_MS (10000: a request's headers, and a new connection's first byte; 0: none),
 *   KMS_REQUEST_TIMEOUT_MS (30000: a whole request; 0: no limit),
 *   KMS_KEEP_ALIVE_TIMEOUT_MS (5000: an idle keep-alive connection),
 *   KMS_REQUEST_QUOTAS (off: no limit; aws: AWS's published request quotas per identity and
 *     operation, ThrottlingException over them; or JSON such as {"scale":0.1} or
 *     {"rates":{"CreateKey":1,"cryptographic":500},"per":"account"}).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Identity, RotationPolicyName } from '@edge-kms/core';
import { ServerConfigError, startServer } from './server.js';
import { parseIdentities, parsePeers, parseRequestQuotas, type PeerOptions, type RequestQuotaOptions } from '@edge-kms/core';

function intEnv(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`${name} must be a non-negative integer, got ${v}`);
    process.exit(2);
  }
  return n;
}

const args = new Set(process.argv.slice(2));
const testMode = args.has('--test-mode') || process.env.KMS_TEST_MODE === '1' || process.env.KMS_TEST_MODE === 'true';

let identities: Identity[] = [];
try {
  if (process.env.KMS_IDENTITIES_FILE) identities = parseIdentities(readFileSync(process.env.KMS_IDENTITIES_FILE, 'utf8'));
  else if (process.env.KMS_IDENTITIES) identities = parseIdentities(process.env.KMS_IDENTITIES);
} catch (e) {
  console.error(`Cannot read identities: ${(e as Error).message}`);
  process.exit(2);
}
let requestQuotas: false | RequestQuotaOptions = false;
try {
  requestQuotas = parseRequestQuotas(process.env.KMS_REQUEST_QUOTAS);
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}
function peers(): PeerOptions[] {
  try {
    return parsePeers(process.env.KMS_PEERS);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
}
const cors = process.env.KMS_CORS_ORIGINS;
const list = (v: string | undefined) =>
  v
    ? v
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean)
    : undefined;

// The playground (playground/ in this repository) at /playground/: built with Vite into a temporary
// directory once, on the first request for it, or right away when a person watches the terminal.
const playground = process.env.KMS_PLAYGROUND !== '0';
let playgroundBuild: Promise<string> | undefined;
const playgroundDir = () => (playgroundBuild ??= import('../../../playground/build.js').then((m) => m.buildPlaygroundToTemp()));

const server = await startServer({
  port: intEnv('PORT') ?? 4599,
  hostname: process.env.HOST ?? '127.0.0.1',
  dataDir: process.env.KMS_DATA_DIR ?? '.kms-data',
  accountId: process.env.KMS_ACCOUNT_ID ?? '111122223333',
  region: process.env.KMS_REGION ?? 'us-east-1',
  regions: list(process.env.KMS_REGIONS),
  peers: peers(),
  rootKey: process.env.KMS_ROOT_KEY || undefined,
  rootKeyFile: process.env.KMS_ROOT_KEY_FILE || undefined,
  testMode,
  rotationPolicy: (process.env.KMS_ROTATION_POLICY as RotationPolicyName | undefined) ?? 'aws',
  onDemandRotationLimit: intEnv('KMS_ON_DEMAND_ROTATION_LIMIT'),
  maintenanceIntervalMs: intEnv('KMS_MAINTENANCE_INTERVAL_MS'),
  identities,
  allowOpenNetwork: args.has('--allow-open-network') || process.env.KMS_ALLOW_OPEN_NETWORK === '1',
  corsOrigins: cors === '*' ? '*' : list(cors),
  playgroundDir: playground ? playgroundDir : undefined,
  allowedHosts: list(process.env.KMS_ALLOWED_HOSTS),
  maxConnections: intEnv('KMS_MAX_CONNECTIONS'),
  maxConnectionsPerIp: intEnv('KMS_MAX_CONNECTIONS_PER_IP'),
  headersTimeoutMs: intEnv('KMS_HEADERS_TIMEOUT_MS'),
  requestTimeoutMs: intEnv('KMS_REQUEST_TIMEOUT_MS'),
  keepAliveTimeoutMs: intEnv('KMS_KEEP_ALIVE_TIMEOUT_MS'),
  requestQuotas,
}).catch((e) => {
  // A configuration the server refuses (open mode off loopback, a missing root key file, …):
  // one line, no stack trace.
  if (e instanceof ServerConfigError) {
    console.error(e.message);
    process.exit(2);
  }
  throw e;
});

if (server.rootKeySource === 'data-dir') {
  console.warn(
    `  warning: the root key ${server.rootKeyPath} lies beside the data it protects. For production, move it out of the data directory ` +
      'and set KMS_ROOT_KEY_FILE to its new path (or pass it base64 in KMS_ROOT_KEY).',
  );
} else if (server.rootKeySource === 'file') {
  const stray = join(resolve(process.env.KMS_DATA_DIR ?? '.kms-data'), 'root.key');
  if (existsSync(stray))
    console.warn(`  warning: ${stray} is not used (the root key is read from KMS_ROOT_KEY_FILE): delete it once the key is safe elsewhere.`);
}

if (server.authMode === 'open') {
  console.warn('');
  console.warn('  !!! OPEN MODE: no identities are configured. Any well-formed SigV4 signature is accepted');
  console.warn('  !!! and every request acts as the account root. For local development only.');
  console.warn('  !!! Configure KMS_IDENTITIES_FILE to require real credentials.');
  console.warn('');
} else {
  console.log(`  SigV4 verification on: ${identities.length} identit${identities.length === 1 ? 'y' : 'ies'} configured`);
}

console.log(`edge-kms listening on ${server.url} (account ${server.kms.accountId}, region ${server.kms.region})`);
console.log(`  data: ${process.env.KMS_DATA_DIR ?? '.kms-data'}${testMode ? '  [TEST MODE: /_edge-kms/reset, /_edge-kms/clock enabled]' : ''}`);
console.log(`  try: aws kms --endpoint-url ${server.url} create-key`);
if (playground) {
  console.log(`  playground: ${server.url}/playground/  (KMS in the browser; ${server.url}/playground/?endpoint=/ uses this server)`);
  if (process.stdout.isTTY) playgroundDir().catch((e) => console.warn(`  playground not available: ${(e as Error).message}`));
}

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    void server.close().then(() => process.exit(0));
  });
}
