/**
 * `npm run dev:worker`: the edge-kms Worker locally in workerd (Miniflare) on
 * http://127.0.0.1:8787, Durable Object and KV state persisted in .kms-data/worker/ (env
 * KMS_WORKER_DATA_DIR). The root key comes from env KMS_ROOT_KEY or .kms-data/worker/root.key
 * (created with mode 0600). Without KMS_IDENTITIES it runs in open development mode.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startWorker } from './miniflare.js';

const dir = resolve(process.env.KMS_WORKER_DATA_DIR ?? '.kms-data/worker');
mkdirSync(dir, { recursive: true, mode: 0o700 });
const keyFile = join(dir, 'root.key');
if (!process.env.KMS_ROOT_KEY && !existsSync(keyFile)) writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
const rootKey = process.env.KMS_ROOT_KEY ?? readFileSync(keyFile, 'utf8').trim();

const passthrough = [
  'KMS_IDENTITIES',
  'KMS_ACCOUNT_ID',
  'KMS_REGION',
  'KMS_STORE',
  'KMS_ROTATION_POLICY',
  'KMS_ON_DEMAND_ROTATION_LIMIT',
  'KMS_CORS_ORIGINS',
  'KMS_TEST_MODE',
];
const bindings: Record<string, string> = { KMS_ROOT_KEY: rootKey };
for (const name of passthrough) if (process.env[name]) bindings[name] = process.env[name]!;
if (!bindings.KMS_IDENTITIES) bindings.KMS_ALLOW_OPEN = '1';

const worker = await startWorker({ persistDir: dir, outfile: join(dir, 'worker.js'), port: Number(process.env.PORT ?? 8787), bindings });
console.log(`edge-kms Worker (workerd) listening on ${worker.url}  state: ${dir}`);
if (bindings.KMS_ALLOW_OPEN) console.warn('  OPEN MODE: no KMS_IDENTITIES; any well-formed signature is accepted. Local development only.');
console.log(`  try: aws kms --endpoint-url ${worker.url} create-key`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void worker.dispose().then(() => process.exit(0)));
