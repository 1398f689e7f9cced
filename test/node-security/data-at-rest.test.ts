/**
 * Issue 14, item 9: key material at rest. A fresh data directory is 0700 and every file in it
 * (kms.lmdb, kms.lmdb-lock, root.key) is 0600; files an older version left wider are narrowed.
 * With KMS_ROOT_KEY_FILE the root key is read from outside the data directory (the file must
 * exist) and no root.key is made beside the data; `npm start` warns exactly once when the root
 * key lies beside the data, and not with KMS_ROOT_KEY_FILE.
 * Run: npx vitest run --project e2e test/node-security/data-at-rest.test.ts
 */
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, spawnKmsServer, type KmsServer } from '../helpers/server.js';
import { exchange, expectNoStackTrace, signedRaw } from './support.js';

const WARNING = /warning: the root key \S*root\.key lies beside the data it protects/g;
const servers: KmsServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.dispose()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'edge-kms-at-rest-'));
  dirs.push(d);
  return d;
}

function modes(dir: string): Record<string, string> {
  const out: Record<string, string> = { '.': (statSync(dir).mode & 0o777).toString(8) };
  for (const f of readdirSync(dir)) out[f] = (statSync(join(dir, f)).mode & 0o777).toString(8);
  return out;
}

async function encryptDecrypt(server: KmsServer, before?: string): Promise<string> {
  const host = `127.0.0.1:${server.port}`;
  if (before) {
    const dec = await exchange(server.port, await signedRaw(host, 'Decrypt', { CiphertextBlob: before }));
    expect(dec.status, dec.body).toBe(200);
    expect(Buffer.from((dec.json as { Plaintext: string }).Plaintext, 'base64').toString()).toBe('at rest');
    return before;
  }
  const created = await exchange(server.port, await signedRaw(host, 'CreateKey', {}));
  const keyId = (created.json as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
  const enc = await exchange(server.port, await signedRaw(host, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('at rest').toString('base64') }));
  expect(enc.status, enc.body).toBe(200);
  return (enc.json as { CiphertextBlob: string }).CiphertextBlob;
}

/** Runs the CLI until it exits (it is expected not to start). */
function runCliToExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(childEnv)) if (k.startsWith('KMS_')) delete childEnv[k];
  Object.assign(childEnv, { PORT: '0', KMS_MAINTENANCE_INTERVAL_MS: '0', KMS_PLAYGROUND: '0', ...env });
  const proc = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'packages/node/src/cli.ts')], {
    cwd: REPO_ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('the data directory', () => {
  it('fresh: the directory is 0700, every file in it 0600 (kms.lmdb, kms.lmdb-lock, root.key); the warning appears once', async () => {
    const server = await spawnKmsServer({ testMode: false, env: { KMS_ROOT_KEY: undefined, KMS_ROOT_KEY_FILE: undefined } });
    servers.push(server);
    await encryptDecrypt(server);
    expect(modes(server.dataDir)).toEqual({ '.': '700', 'kms.lmdb': '600', 'kms.lmdb-lock': '600', 'root.key': '600' });
    expect(server.output.match(WARNING)).toHaveLength(1);
    expect(server.output).toContain('KMS_ROOT_KEY_FILE');
    expectNoStackTrace(server.output);
  });

  it('files an older version made 0644 are narrowed to 0600 at start', async () => {
    const server = await spawnKmsServer({ testMode: false, env: { KMS_ROOT_KEY: undefined, KMS_ROOT_KEY_FILE: undefined } });
    servers.push(server);
    const blob = await encryptDecrypt(server);
    await server.stop();
    for (const f of ['kms.lmdb', 'kms.lmdb-lock', 'root.key']) chmodSync(join(server.dataDir, f), 0o644);
    await server.start();
    await encryptDecrypt(server, blob);
    expect(modes(server.dataDir)).toEqual({ '.': '700', 'kms.lmdb': '600', 'kms.lmdb-lock': '600', 'root.key': '600' });
  });
});

describe('KMS_ROOT_KEY_FILE', () => {
  it('reads the root key from outside the data directory: no root.key beside the data, no warning, and it survives a restart', async () => {
    const secrets = tempDir();
    const keyFile = join(secrets, 'root.key');
    writeFileSync(keyFile, `${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}\n`, { mode: 0o600 });
    const server = await spawnKmsServer({ testMode: false, env: { KMS_ROOT_KEY: undefined, KMS_ROOT_KEY_FILE: keyFile } });
    servers.push(server);
    const blob = await encryptDecrypt(server);
    expect(existsSync(join(server.dataDir, 'root.key'))).toBe(false);
    expect(modes(server.dataDir)).toEqual({ '.': '700', 'kms.lmdb': '600', 'kms.lmdb-lock': '600' });
    expect(server.output).not.toMatch(/warning/i);
    await server.restart();
    await encryptDecrypt(server, blob);
    expect(server.output).not.toMatch(/warning/i);
    expect(existsSync(join(server.dataDir, 'root.key'))).toBe(false);
  });

  it('moving root.key out of the data directory keeps every key: start with KMS_ROOT_KEY_FILE at its new place', async () => {
    const server = await spawnKmsServer({ testMode: false, env: { KMS_ROOT_KEY: undefined, KMS_ROOT_KEY_FILE: undefined } });
    servers.push(server);
    const blob = await encryptDecrypt(server);
    await server.stop();
    const moved = join(tempDir(), 'root.key');
    renameSync(join(server.dataDir, 'root.key'), moved);
    await server.start({ KMS_ROOT_KEY_FILE: moved });
    await encryptDecrypt(server, blob);
    expect(server.output).not.toMatch(WARNING);
    expect(server.output).not.toMatch(/warning/i);
    expect(existsSync(join(server.dataDir, 'root.key'))).toBe(false);
    // Copied rather than moved: the copy left beside the data is pointed out.
    await server.stop();
    copyFileSync(moved, join(server.dataDir, 'root.key'));
    await server.start({ KMS_ROOT_KEY_FILE: moved });
    expect(server.output.match(/warning: \S*root\.key is not used \(the root key is read from KMS_ROOT_KEY_FILE\)/g)).toHaveLength(1);
    expect(server.output).not.toMatch(WARNING);
  });

  it('a missing file, a file without a 32-byte base64 key, or both KMS_ROOT_KEY and the file: the CLI exits 2 with one clear line', async () => {
    const dir = tempDir();
    const data = join(dir, 'data');
    mkdirSync(data);
    const missing = await runCliToExit({ KMS_DATA_DIR: data, KMS_ROOT_KEY_FILE: join(dir, 'nope.key') });
    expect(missing.code).toBe(2);
    expect(missing.output).toContain(`KMS_ROOT_KEY_FILE ${join(dir, 'nope.key')} does not exist`);
    expect(existsSync(join(dir, 'nope.key'))).toBe(false);
    expect(existsSync(join(data, 'root.key'))).toBe(false);
    const short = join(dir, 'short.key');
    writeFileSync(short, 'c2hvcnQ=', { mode: 0o600 });
    const bad = await runCliToExit({ KMS_DATA_DIR: data, KMS_ROOT_KEY_FILE: short });
    expect(bad.code).toBe(2);
    expect(bad.output).toContain('must hold a 32-byte root key');
    const both = await runCliToExit({ KMS_DATA_DIR: data, KMS_ROOT_KEY_FILE: short, KMS_ROOT_KEY: Buffer.alloc(32, 1).toString('base64') });
    expect(both.code).toBe(2);
    expect(both.output).toContain('not both');
    for (const r of [missing, bad, both]) expectNoStackTrace(r.output);
  });
});
