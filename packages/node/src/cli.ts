#!/usr/bin/env node
/**
 * `npm start`: the edge-kms server on http://localhost:4599 with key history in .kms-data.
 * Environment: PORT, HOST, KMS_ACCOUNT_ID, KMS_REGION, KMS_DATA_DIR, KMS_ROOT_KEY,
 * KMS_TEST_MODE=1 (or --test-mode), KMS_ROTATION_POLICY (aws | rotate-by-default),
 * KMS_ON_DEMAND_ROTATION_LIMIT, KMS_MAINTENANCE_INTERVAL_MS, KMS_IDENTITIES_FILE or
 * KMS_IDENTITIES (JSON list of {accessKeyId, secretAccessKey, accountId, arn}),
 * KMS_ALLOW_OPEN_NETWORK=1 (or --allow-open-network), KMS_CORS_ORIGINS (comma-separated, or *),
 * KMS_PLAYGROUND=0 (do not serve the playground at /playground/).
 */
import { readFileSync } from 'node:fs';
import type { Identity, RotationPolicyName } from '@edge-kms/core';
import { OpenModeRefused, startServer } from './server.js';
import { parseIdentities } from '@edge-kms/core';

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
const cors = process.env.KMS_CORS_ORIGINS;

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
  rootKey: process.env.KMS_ROOT_KEY,
  testMode,
  rotationPolicy: (process.env.KMS_ROTATION_POLICY as RotationPolicyName | undefined) ?? 'aws',
  onDemandRotationLimit: intEnv('KMS_ON_DEMAND_ROTATION_LIMIT'),
  maintenanceIntervalMs: intEnv('KMS_MAINTENANCE_INTERVAL_MS'),
  identities,
  allowOpenNetwork: args.has('--allow-open-network') || process.env.KMS_ALLOW_OPEN_NETWORK === '1',
  corsOrigins: cors === '*' ? '*' : cors ? cors.split(',').map((o) => o.trim()).filter(Boolean) : undefined,
  playgroundDir: playground ? playgroundDir : undefined,
}).catch((e) => {
  if (e instanceof OpenModeRefused) {
    console.error(e.message);
    process.exit(2);
  }
  throw e;
});

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
