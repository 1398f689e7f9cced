/**
 * The Durable Object store and the KV store, inside real workerd, against the store conformance
 * suite; and two KV writers racing without a version lost.
 * Run: npx vitest run test/cloudflare/store-conformance.test.ts
 */
import { createRootKeyProtector, StoreConflictError, type KeyRecord, type KmsStore } from '@edge-kms/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../../packages/cloudflare/scripts/miniflare.js';
import { runStoreConformance } from '../conformance/store-conformance.js';
import { worker } from './harness.js';
import { createProxyStore } from './proxy-store.js';

let doWorker: RunningWorker;
let kvWorker: RunningWorker;
const protector = createRootKeyProtector(crypto.getRandomValues(new Uint8Array(32)));

beforeAll(async () => {
  [doWorker, kvWorker] = await Promise.all([worker(), worker({ bindings: { KMS_STORE: 'kv' } })]);
}, 60_000);
afterAll(async () => {
  await doWorker?.dispose();
  await kvWorker?.dispose();
});

runStoreConformance('durable object (workerd)', async () => {
  const store = createProxyStore(doWorker.url, 0, false);
  await store.clear();
  return {
    store,
    reopen: async () => createProxyStore(doWorker.url, 0, false),
    protector: await protector,
    cleanup: async () => undefined,
  };
});

// One KV store instance is one writer: the store promises conformance to a single writer.
runStoreConformance('workers kv (workerd)', async () => {
  const store = createProxyStore(kvWorker.url);
  await store.clear();
  return { store, protector: await protector, cleanup: async () => undefined };
});

describe('workers kv: racing writers', () => {
  it('two writers rotating one key at once lose no key material version', async () => {
    const p = await protector;
    const a = createProxyStore(kvWorker.url, 1);
    const b = createProxyStore(kvWorker.url, 2);
    await a.clear();
    const keyId = '00000000-0000-4000-8000-00000000abcd';
    const material = (version: number, tag: number) =>
      p.seal(new Uint8Array(32).fill(tag), { keyId, version, keyMaterialId: tag.toString(16).padStart(64, '0') });
    const key: KeyRecord = {
      KeyId: keyId,
      AccountId: '111122223333',
      Region: 'us-east-1',
      CreationDate: 0,
      Description: '',
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeySpec: 'SYMMETRIC_DEFAULT',
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      KeyState: 'Enabled',
      MultiRegion: false,
      CurrentVersion: 1,
      CurrentKeyMaterialId: '1'.padStart(64, '0'),
      Rotation: { Enabled: false },
      OnDemandRotationCount: 0,
      Tags: [],
      Policy: '{}',
      Revision: 1,
    };
    await a.commit([
      { type: 'putKey', key, expectRevision: 0 },
      {
        type: 'putVersion',
        version: { KeyId: keyId, Version: 1, KeyMaterialId: '1'.padStart(64, '0'), CreationDate: 0, Origin: 'CREATE', Material: await material(1, 1) },
      },
    ]);
    // Each writer reads the key, then both commit a rotation computed from what they read.
    let tag = 2;
    const written: string[] = [];
    const rotate = async (s: KmsStore) => {
      const cur = (await s.getKey(keyId))!;
      const n = cur.CurrentVersion + 1;
      const id = (tag++).toString(16).padStart(64, '0');
      written.push(id);
      try {
        await s.commit([
          {
            type: 'putVersion',
            version: { KeyId: keyId, Version: n, KeyMaterialId: id, CreationDate: 0, Origin: 'ON_DEMAND', Material: await material(n, parseInt(id, 16)) },
          },
          { type: 'putKey', key: { ...cur, CurrentVersion: n, CurrentKeyMaterialId: id, Revision: cur.Revision + 1 }, expectRevision: cur.Revision },
        ]);
      } catch (e) {
        // A writer that sees the other's commit in time backs off; nothing of its own was written.
        if (!(e instanceof StoreConflictError)) throw e;
        written.pop();
      }
    };
    for (let round = 0; round < 8; round++) await Promise.all([rotate(a), rotate(b)]);
    const final = (await a.getKey(keyId))!;
    const all: string[] = [];
    for (let v = 1; v <= final.CurrentVersion; v++) for (const c of await a.getVersionCandidates!(keyId, v)) all.push(c.KeyMaterialId);
    // Every material any writer committed is still there, whichever pointer won.
    for (const id of written) expect(all).toContain(id);
    expect(all).toContain(final.CurrentKeyMaterialId);
    // At least one rotation a round landed; how many rounds raced (both landing) depends on timing.
    expect(written.length).toBeGreaterThanOrEqual(8);
  });
});
