/**
 * The LMDB store across processes: kill -9 in the middle of a stream of commits loses nothing
 * that was committed and leaves no half-written state; two processes rotating one key at once
 * respect the on-demand limit together. Run: npx vitest run test/stores/lmdb-crash.test.ts
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKms, createRootKeyProtector, fromBase64, fromUtf8, scopeStore } from '@edge-kms/core';
import { createLmdbStore } from '@edge-kms/node';
import { afterEach, describe, expect, it } from 'vitest';

const child = new URL('./lmdb-child.ts', import.meta.url).pathname;
/** The KMS's default Region: its records are stored under `~us-east-1/<id>`, read through its scoped view. */
const REGION = 'us-east-1';
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'edge-kms-crash-'));
  dirs.push(dir);
  const path = join(dir, 'kms.lmdb');
  const root = crypto.getRandomValues(new Uint8Array(32));
  const rootB64 = Buffer.from(root).toString('base64');
  const store = createLmdbStore({ path });
  const kms = createKms({ store, protector: await createRootKeyProtector(root) });
  const { KeyMetadata } = (await kms.execute('CreateKey', {})) as { KeyMetadata: { KeyId: string } };
  await store.close?.();
  return { path, root, rootB64, keyId: KeyMetadata.KeyId };
}

function run(args: string[]) {
  return spawn(process.execPath, ['--import', 'tsx', child, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
}

describe('LMDB store across processes', () => {
  it('kill -9 during commits: everything committed survives and every ciphertext decrypts', async () => {
    const { path, root, rootB64, keyId } = await setup();
    const p = run([path, 'churn', keyId, rootB64]);
    const lines: { i: number; ct: string }[] = [];
    let buf = '';
    await new Promise<void>((resolve) => {
      p.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const parts = buf.split('\n');
        buf = parts.pop()!;
        for (const l of parts) lines.push(JSON.parse(l));
        if (lines.length >= 40) {
          p.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((r) => p.on('exit', r));
    const store = createLmdbStore({ path });
    const kms = createKms({ store, protector: await createRootKeyProtector(root) });
    const regional = scopeStore(store, REGION);
    const key = (await regional.getKey(keyId))!;
    // Consistent: every version up to the current one exists, none beyond it is current.
    const versions = await regional.listVersions(keyId, { after: 0, limit: 100_000 });
    expect(versions.map((v) => v.Version).slice(0, key.CurrentVersion)).toEqual(Array.from({ length: key.CurrentVersion }, (_, i) => i + 1));
    expect(key.CurrentVersion).toBeGreaterThanOrEqual(41);
    for (const { i, ct } of lines) {
      const out = await kms.execute('Decrypt', { CiphertextBlob: fromBase64(ct) });
      expect(fromUtf8(out.Plaintext as Uint8Array)).toBe(`message ${i}`);
    }
    await store.close?.();
  });

  it('two processes rotating one key at once: exactly 10 on-demand rotations in all', async () => {
    const { path, rootB64, keyId } = await setup();
    const outputs = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<{ ok: number; limited: number }>((resolve, reject) => {
            const p = run([path, 'rotate', keyId, rootB64, '25']);
            let out = '';
            p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
            p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${code}`))));
          }),
      ),
    );
    expect(outputs[0]!.ok + outputs[1]!.ok).toBe(10);
    expect(outputs[0]!.limited + outputs[1]!.limited).toBe(40);
    const store = createLmdbStore({ path });
    const regional = scopeStore(store, REGION);
    const key = (await regional.getKey(keyId))!;
    expect(key.CurrentVersion).toBe(11);
    expect(key.OnDemandRotationCount).toBe(10);
    expect(await regional.listVersions(keyId, { after: 0, limit: 100 })).toHaveLength(11);
    await store.close?.();
  });
});
