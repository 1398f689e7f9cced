/**
 * A namespace key change killed with SIGKILL halfway, in Node: a child process (namespace-child.ts)
 * with the LMDB record store and a KMS over HTTP (the real server) puts 300 records and starts
 * changeKey; we kill -9 it once some records have moved. Then every record reads and is wrapped
 * under the old or the new key, the store holds the pending change, writes are refused, and
 * opening the namespace finishes the change with every body byte-for-byte as before; the old key
 * can then be disabled with every record still readable.
 * Run: npx vitest run test/client/namespace-crash.test.ts
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKmsClient, NamespaceLockedError, openNamespace, type NamespaceRecord } from '@edge-kms/client';
import { createLmdbRecordStore } from '@edge-kms/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DUMMY_CREDENTIALS, REGION, spawnKmsServer, type KmsServer } from '../helpers/server.js';
import { recordId, recordText } from './records.js';

const CHILD = new URL('./namespace-child.ts', import.meta.url).pathname;
const COUNT = 300;
const KILL_AFTER = 100;

let server: KmsServer;
let dir: string;
beforeAll(async () => {
  server = await spawnKmsServer();
  dir = mkdtempSync(join(tmpdir(), 'edge-kms-ns-crash-'));
});
afterAll(async () => {
  await server?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('namespace key change killed with SIGKILL', () => {
  it('resumes on open: nothing lost, bodies untouched, old key then disposable', async () => {
    const kms = createKmsClient({ endpoint: server.url, region: REGION, credentials: DUMMY_CREDENTIALS });
    const oldKey = (await kms.createKey({ Description: 'old' })).KeyMetadata;
    const newKey = (await kms.createKey({ Description: 'new' })).KeyMetadata;
    const path = join(dir, 'records.lmdb');

    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, path, server.url, oldKey.KeyId, newKey.KeyId, String(COUNT)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
    const lines: string[] = [];
    const waiters: { test: (l: string) => boolean; resolve: () => void }[] = [];
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      buf += d;
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const l of parts) {
        lines.push(l);
        for (const w of waiters.splice(0)) w.test(l) ? w.resolve() : waiters.push(w);
      }
    });
    const until = (test: (l: string) => boolean) =>
      new Promise<void>((resolve, reject) => {
        if (lines.some(test)) return resolve();
        waiters.push({ test, resolve });
        void exited.then(({ code, signal }) =>
          reject(new Error(`child exited (${code ?? signal}) before the expected line; got:\n${lines.slice(-5).join('\n')}`)),
        );
      });

    try {
      await until((l) => l === `stored ${COUNT}`);

      // Snapshot what the child stored, through our own handle on the same LMDB file.
      const store = createLmdbRecordStore({ path });
      const before = new Map<string, NamespaceRecord>();
      for (const id of await store.listIds('crash', { limit: 10_000 })) before.set(id, (await store.getRecord('crash', id))!);
      expect(before.size).toBe(COUNT);
      for (const r of before.values()) expect(r.keyId).toBe(oldKey.Arn);

      child.stdin!.write('go\n');
      await until((l) => l.startsWith('moving ') && Number(l.split(' ')[2]) >= KILL_AFTER);
      child.kill('SIGKILL');
      expect((await exited).signal).toBe('SIGKILL');
      expect(lines).not.toContain('done');
      expect(lines.some((l) => l.startsWith('progress 64/'))).toBe(true);

      // The interrupted state, seen without resuming.
      const paused = await openNamespace({ name: 'crash', kms, store, resume: false });
      const change = await paused.pendingChange();
      expect(change).toMatchObject({ from: oldKey.Arn, to: newKey.Arn });
      expect((await store.getMeta('crash'))!.change).toEqual(change);
      expect(await paused.keyId()).toBe(oldKey.Arn);
      const under = { old: 0, new: 0 };
      for (let i = 0; i < COUNT; i++) {
        const id = recordId(i);
        const r = (await store.getRecord('crash', id))!;
        expect([oldKey.Arn, newKey.Arn], id).toContain(r.keyId);
        under[r.keyId === oldKey.Arn ? 'old' : 'new']++;
        expect(hex(r.body), `${id} body`).toBe(hex(before.get(id)!.body));
        expect(await paused.getText(id), id).toBe(recordText(i)); // unwraps under the key the record names
      }
      expect(under.new).toBeGreaterThanOrEqual(KILL_AFTER - 8); // moved before the kill (4 in flight)
      expect(under.old).toBeGreaterThan(0); // and some had not
      console.log(`killed with ${under.new} records under the new key, ${under.old} under the old`);
      await expect(paused.put('new-record', 'x')).rejects.toBeInstanceOf(NamespaceLockedError);
      await expect(paused.put(recordId(0), 'overwrite')).rejects.toBeInstanceOf(NamespaceLockedError);
      await expect(paused.delete(recordId(1))).rejects.toBeInstanceOf(NamespaceLockedError);
      await expect(paused.changeKey(oldKey.KeyId)).rejects.toBeInstanceOf(NamespaceLockedError);
      expect(await store.count('crash')).toBe(COUNT);

      // Opening the namespace finishes the change.
      const progress: number[] = [];
      const ns = await openNamespace({ name: 'crash', kms, store, onProgress: (p) => progress.push(p.done) });
      expect(progress.at(-1)).toBe(COUNT);
      expect(await ns.pendingChange()).toBeUndefined();
      expect(await ns.keyId()).toBe(newKey.Arn);
      for (let i = 0; i < COUNT; i++) {
        const id = recordId(i);
        const r = (await store.getRecord('crash', id))!;
        expect(r.keyId, id).toBe(newKey.Arn);
        expect(hex(r.body), `${id} body`).toBe(hex(before.get(id)!.body));
        expect(hex(r.wrappedKey)).not.toBe(hex(before.get(id)!.wrappedKey));
      }

      // The old key can go: every record still reads.
      await kms.disableKey({ KeyId: oldKey.KeyId });
      for (let i = 0; i < COUNT; i++) expect(await ns.getText(recordId(i))).toBe(recordText(i));
      await ns.put('after', 'writable again');
      expect(await ns.getText('after')).toBe('writable again');
      expect((await store.getRecord('crash', 'after'))!.keyId).toBe(newKey.Arn);
      await store.close();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
