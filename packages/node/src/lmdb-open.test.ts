/**
 * LMDB files are private to their owner: a database path with an extension makes `<path>` and
 * `<path>-lock`, one without makes a directory with data.mdb and lock.mdb; files are 0600 and a
 * directory LMDB needs is made 0700, for the KMS store and the namespace record store alike.
 * Run: npx vitest run --project unit packages/node/src/lmdb-open.test.ts
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLmdbRecordStore } from './lmdb-record-store.js';
import { createLmdbStore } from './lmdb-store.js';
import { openPrivate } from './lmdb-open.js';

const root = mkdtempSync(join(tmpdir(), 'edge-kms-lmdb-modes-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
const modes = (dir: string) => Object.fromEntries([['.', mode(dir)], ...readdirSync(dir).map((f) => [f, mode(join(dir, f))])]);

describe('openPrivate', () => {
  it('a file path: <path> and <path>-lock, 0600, in a new directory made 0700', async () => {
    const store = createLmdbStore({ path: join(root, 'a', 'b', 'kms.lmdb') });
    await store.close?.();
    expect(modes(join(root, 'a', 'b'))).toEqual({ '.': '700', 'kms.lmdb': '600', 'kms.lmdb-lock': '600' });
    expect(mode(join(root, 'a'))).toBe('700');
  });

  it('a directory path: data.mdb and lock.mdb, 0600, in a directory made 0700', async () => {
    const records = createLmdbRecordStore({ path: join(root, 'records') });
    await records.close();
    expect(modes(join(root, 'records'))).toEqual({ '.': '700', 'data.mdb': '600', 'lock.mdb': '600' });
  });

  it('narrows files an earlier version made wider', async () => {
    const path = join(root, 'old', 'kms.lmdb');
    await openPrivate(path).close();
    chmodSync(path, 0o644);
    chmodSync(`${path}-lock`, 0o664);
    await openPrivate(path).close();
    expect(modes(join(root, 'old'))).toEqual({ '.': '700', 'kms.lmdb': '600', 'kms.lmdb-lock': '600' });
  });
});
