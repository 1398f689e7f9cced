/**
 * The store conformance suite: every KmsStore passes the same cases. It checks atomic commits,
 * each precondition rule of a commit (a commit that breaks one is refused with StoreConflictError
 * and writes nothing), immutable versions (but for replaceVersion: imported material deleted and
 * imported again), ordered paging, copy semantics and interleaved concurrent writers, and runs
 * the engine's on-demand rotation limit on top of the store from one and from two engines (two
 * engines over one store stand for two processes: in-process locks cannot help them, only the
 * store's preconditions). Where each store runs it:
 *   memory, LMDB                  test/stores/memory-store.test.ts, lmdb-store.test.ts
 *                                 (npx vitest run --project e2e test/stores)
 *   Durable Objects, Workers KV   test/cloudflare/store-conformance.test.ts, in workerd
 *                                 (npx vitest run --project e2e test/cloudflare/store-conformance.test.ts)
 *   IndexedDB                     packages/idb/src/idb-store.browser.test.ts, in Chromium
 *                                 (npx vitest run --project browser packages/idb)
 */
import {
  createKms,
  Engine,
  InputReader,
  OPERATIONS,
  regionsIn,
  StoreConflictError,
  type KeyRecord,
  type KmsStore,
  type MaterialProtector,
  type MaterialVersion,
  type StoredMaterial,
  type StoreWrite,
} from '@edge-kms/core';
import { describe, expect, it, beforeEach, afterEach } from 'vitest';

export interface StoreFixture {
  store: KmsStore;
  /** Opens a second handle on the same data (another process/tab), if the store can. */
  reopen?: () => Promise<KmsStore>;
  /** How this store keeps material (wrapped bytes or CryptoKeys). */
  protector: MaterialProtector;
  cleanup(): Promise<void>;
}

let uuidCounter = 0;
function uuid(): string {
  uuidCounter++;
  const hex = uuidCounter.toString(16).padStart(12, '0');
  return `00000000-0000-4000-8000-${hex}`;
}

function keyRecord(keyId: string, revision = 1, patch: Partial<KeyRecord> = {}): KeyRecord {
  return {
    KeyId: keyId,
    AccountId: '111122223333',
    Region: 'us-east-1',
    CreationDate: 1_700_000_000_000,
    Description: 'conformance',
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeySpec: 'SYMMETRIC_DEFAULT',
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    KeyState: 'Enabled',
    MultiRegion: false,
    CurrentVersion: 1,
    CurrentKeyMaterialId: 'a'.repeat(64),
    Rotation: { Enabled: false },
    OnDemandRotationCount: 0,
    Tags: [{ TagKey: 'k', TagValue: 'v' }],
    Policy: '{}',
    Revision: revision,
    ...patch,
  };
}

async function material(protector: MaterialProtector, keyId: string, version: number, fill: number): Promise<StoredMaterial> {
  return protector.seal(new Uint8Array(32).fill(fill), { keyId, version, keyMaterialId: fill.toString(16).padStart(64, '0') });
}

async function versionRecord(protector: MaterialProtector, keyId: string, version: number): Promise<MaterialVersion> {
  return {
    KeyId: keyId,
    Version: version,
    KeyMaterialId: version.toString(16).padStart(64, '0'),
    CreationDate: 1_700_000_000_000 + version,
    Origin: version === 1 ? 'CREATE' : 'ON_DEMAND',
    Material: await material(protector, keyId, version, version & 0xff),
  };
}

export function runStoreConformance(name: string, makeFixture: () => Promise<StoreFixture>): void {
  describe(`store conformance: ${name}`, () => {
    let fx: StoreFixture;
    let store: KmsStore;
    beforeEach(async () => {
      fx = await makeFixture();
      store = fx.store;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    it('starts empty', async () => {
      expect(await store.getKey(uuid())).toBeUndefined();
      expect((await store.listKeys({ limit: 10 })).items).toEqual([]);
      expect((await store.listAliases({ limit: 10 })).items).toEqual([]);
      expect(await store.getVersion(uuid(), 1)).toBeUndefined();
    });

    it('creates a key with its first version in one commit, and refuses a second create', async () => {
      const id = uuid();
      await store.commit([
        { type: 'putKey', key: keyRecord(id), expectRevision: 0 },
        { type: 'putVersion', version: await versionRecord(fx.protector, id, 1) },
      ]);
      expect((await store.getKey(id))?.Revision).toBe(1);
      expect((await store.getVersion(id, 1))?.KeyMaterialId).toBe('1'.padStart(64, '0'));
      await expect(store.commit([{ type: 'putKey', key: keyRecord(id), expectRevision: 0 }])).rejects.toBeInstanceOf(StoreConflictError);
    });

    it('getKeyNow, the synchronous read, sees exactly what getKey sees after every commit', async () => {
      // Only stores whose backend reads synchronously have it (memory, LMDB, Durable Object
      // storage); the others (Workers KV, and the test proxy into workerd) leave it out.
      const now = store.getKeyNow?.bind(store);
      if (!now) return;
      const id = uuid();
      expect(now(id)).toBeUndefined();
      await store.commit([
        { type: 'putKey', key: keyRecord(id), expectRevision: 0 },
        { type: 'putVersion', version: await versionRecord(fx.protector, id, 1) },
      ]);
      expect(now(id)).toEqual(await store.getKey(id));
      expect(now(id)?.Revision).toBe(1);
      await store.commit([{ type: 'putKey', key: keyRecord(id, 2, { Description: 'changed' }), expectRevision: 1 }]);
      expect(now(id)?.Description).toBe('changed');
      expect(now(id)).toEqual(await store.getKey(id));
      await expect(store.commit([{ type: 'putKey', key: keyRecord(id, 3), expectRevision: 1 }])).rejects.toBeInstanceOf(StoreConflictError);
      expect(now(id)?.Revision).toBe(2);
      await store.commit([{ type: 'deleteKey', keyId: id, expectRevision: 2 }]);
      expect(now(id)).toBeUndefined();
    });

    it('applies all of a commit or none of it', async () => {
      const id = uuid();
      await store.commit([
        { type: 'putKey', key: keyRecord(id), expectRevision: 0 },
        { type: 'putVersion', version: await versionRecord(fx.protector, id, 1) },
      ]);
      // A stale revision after a new version: the version must not be written either.
      const stale = [
        { type: 'putVersion' as const, version: await versionRecord(fx.protector, id, 2) },
        { type: 'putAlias' as const, alias: { AliasName: 'alias/atomic', TargetKeyId: id, CreationDate: 1, LastUpdatedDate: 1 }, expectTarget: null },
        { type: 'putKey' as const, key: keyRecord(id, 3, { CurrentVersion: 2 }), expectRevision: 2 },
      ];
      await expect(store.commit(stale)).rejects.toBeInstanceOf(StoreConflictError);
      expect(await store.getVersion(id, 2)).toBeUndefined();
      expect(await store.getAlias('alias/atomic')).toBeUndefined();
      expect((await store.getKey(id))?.CurrentVersion).toBe(1);
    });

    it('never overwrites a key material version', async () => {
      const id = uuid();
      const v1 = await versionRecord(fx.protector, id, 1);
      await store.commit([
        { type: 'putKey', key: keyRecord(id), expectRevision: 0 },
        { type: 'putVersion', version: v1 },
      ]);
      const impostor = { ...(await versionRecord(fx.protector, id, 1)), KeyMaterialId: 'f'.repeat(64) };
      await expect(store.commit([{ type: 'putVersion', version: impostor }])).rejects.toBeInstanceOf(StoreConflictError);
      // Two writes of the same version in one commit are refused too.
      const v2 = await versionRecord(fx.protector, id, 2);
      await expect(
        store.commit([
          { type: 'putVersion', version: v2 },
          { type: 'putVersion', version: v2 },
        ]),
      ).rejects.toBeInstanceOf(StoreConflictError);
      expect(await store.getVersion(id, 2)).toBeUndefined();
      expect((await store.getVersion(id, 1))?.KeyMaterialId).toBe(v1.KeyMaterialId);
    });

    // Each precondition rule (packages/core/src/store/preconditions.ts), broken once: the commit
    // is refused with StoreConflictError and writes nothing, neither the valid writes before the
    // broken one nor those after it.
    describe('a commit that breaks a precondition is refused and writes nothing', () => {
      const A = '00000000-0000-4000-8000-00000000a000';
      const missing = '00000000-0000-4000-8000-00000000dead';
      const alias = (AliasName: string, TargetKeyId: string) => ({ AliasName, TargetKeyId, CreationDate: 1, LastUpdatedDate: 1 });
      type W = StoreWrite;
      const rules: [string, () => Promise<W[]>][] = [
        ['putKey: creating a key that exists', async () => [{ type: 'putKey', key: keyRecord(A, 1), expectRevision: 0 }]],
        ['putKey: a stale revision', async () => [{ type: 'putKey', key: keyRecord(A, 3), expectRevision: 2 }]],
        ['putKey: a revision that does not advance by one', async () => [{ type: 'putKey', key: keyRecord(A, 3), expectRevision: 1 }]],
        ['putKey: a revision that stays', async () => [{ type: 'putKey', key: keyRecord(A, 1), expectRevision: 1 }]],
        ['putKey: a revision expected of a missing key', async () => [{ type: 'putKey', key: keyRecord(missing, 2), expectRevision: 1 }]],
        ['deleteKey: a stale revision', async () => [{ type: 'deleteKey', keyId: A, expectRevision: 2 }]],
        ['deleteKey: a missing key', async () => [{ type: 'deleteKey', keyId: missing, expectRevision: 0 }]],
        [
          'putVersion: a version that exists',
          async () => [{ type: 'putVersion', version: { ...(await versionRecord(fx.protector, A, 1)), KeyMaterialId: 'e'.repeat(64) } }],
        ],
        [
          'putVersion: one version twice in the commit',
          async () => {
            const v = await versionRecord(fx.protector, A, 2);
            return [
              { type: 'putVersion', version: v },
              { type: 'putVersion', version: { ...v, KeyMaterialId: 'e'.repeat(64) } },
            ];
          },
        ],
        [
          'replaceVersion: a version that does not exist',
          async () => [{ type: 'replaceVersion', version: { ...(await versionRecord(fx.protector, A, 9)), Material: { kind: 'deleted' } } }],
        ],
        [
          'replaceVersion: a version of a missing key',
          async () => [{ type: 'replaceVersion', version: { ...(await versionRecord(fx.protector, missing, 1)), Material: { kind: 'deleted' } } }],
        ],
        [
          'replaceVersion: another KeyMaterialId',
          async () => [
            { type: 'replaceVersion', version: { ...(await versionRecord(fx.protector, A, 1)), KeyMaterialId: 'e'.repeat(64), Material: { kind: 'deleted' } } },
          ],
        ],
        [
          'replaceVersion: one version replaced twice in the commit',
          async () => {
            const v: MaterialVersion = { ...(await versionRecord(fx.protector, A, 1)), Material: { kind: 'deleted' } };
            return [
              { type: 'replaceVersion', version: v },
              { type: 'replaceVersion', version: v },
            ];
          },
        ],
        // The commit puts A/3 before this: the replace does not see it.
        [
          'replaceVersion: a version put earlier in the same commit',
          async () => [{ type: 'replaceVersion', version: await versionRecord(fx.protector, A, 3) }],
        ],
        ['putAlias: creating an alias that exists', async () => [{ type: 'putAlias', alias: alias('alias/pre', missing), expectTarget: null }]],
        ['putAlias: another expected target', async () => [{ type: 'putAlias', alias: alias('alias/pre', missing), expectTarget: missing }]],
        ['putAlias: a target expected of a missing alias', async () => [{ type: 'putAlias', alias: alias('alias/none', A), expectTarget: A }]],
        ['deleteAlias: another expected target', async () => [{ type: 'deleteAlias', aliasName: 'alias/pre', expectTarget: missing }]],
        ['deleteAlias: a missing alias', async () => [{ type: 'deleteAlias', aliasName: 'alias/none', expectTarget: A }]],
        [
          'checked against the state before the commit: a key created and updated in one commit',
          async () => [
            { type: 'putKey', key: keyRecord(missing, 1), expectRevision: 0 },
            { type: 'putKey', key: keyRecord(missing, 2), expectRevision: 1 },
          ],
        ],
        [
          'checked against the state before the commit: an alias created and deleted in one commit',
          async () => [
            { type: 'putAlias', alias: alias('alias/none', A), expectTarget: null },
            { type: 'deleteAlias', aliasName: 'alias/none', expectTarget: A },
          ],
        ],
      ];

      const snapshot = async (ids: string[]) => ({
        keys: (await store.listKeys({ limit: 1000 })).items,
        aliases: (await store.listAliases({ limit: 1000 })).items,
        versions: await Promise.all(
          ids.map(async (id) => (await store.listVersions(id, { after: 0, limit: 1000 })).map((v) => [v.KeyId, v.Version, v.KeyMaterialId])),
        ),
      });

      for (const [rule, conflicting] of rules) {
        it(rule, async () => {
          await store.commit([
            { type: 'putKey', key: keyRecord(A), expectRevision: 0 },
            { type: 'putVersion', version: await versionRecord(fx.protector, A, 1) },
            { type: 'putAlias', alias: alias('alias/pre', A), expectTarget: null },
          ]);
          const bystander = uuid();
          const ids = [A, missing, bystander];
          const before = await snapshot(ids);
          // Every write here but the broken ones is valid against the state before the commit.
          const commit: W[] = [
            { type: 'putKey', key: keyRecord(bystander), expectRevision: 0 },
            { type: 'putVersion', version: await versionRecord(fx.protector, bystander, 1) },
            { type: 'putVersion', version: await versionRecord(fx.protector, A, 3) },
            ...(await conflicting()),
            { type: 'putAlias', alias: alias('alias/bystander', A), expectTarget: null },
            { type: 'putKey', key: keyRecord(A, 2, { Description: 'bystander' }), expectRevision: 1 },
          ];
          await expect(store.commit(commit)).rejects.toBeInstanceOf(StoreConflictError);
          expect(await snapshot(ids)).toEqual(before);
          expect(await store.getKey(bystander)).toBeUndefined();
          expect(await store.getVersion(A, 3)).toBeUndefined();
          expect(await store.getAlias('alias/bystander')).toBeUndefined();
        });
      }
    });

    describe('replaceVersion (imported key material deleted, and imported again)', () => {
      const deleted = (v: MaterialVersion): MaterialVersion => ({ ...v, Material: { kind: 'deleted' } });
      /** Version v's material sealed anew from bytes all `fill`, under v's own KeyMaterialId (imported again). */
      const reimported = async (v: MaterialVersion, fill: number): Promise<MaterialVersion> => ({
        ...v,
        CreationDate: v.CreationDate + 1000,
        Material: await fx.protector.seal(new Uint8Array(32).fill(fill), { keyId: v.KeyId, version: v.Version, keyMaterialId: v.KeyMaterialId }),
      });
      /** The stored material of v opens, through s, to bytes all `fill` (an AES-GCM probe says so). */
      const opensTo = async (s: KmsStore, v: MaterialVersion, fill: number) => {
        const back = (await s.getVersion(v.KeyId, v.Version))!;
        const key = await fx.protector.open(back.Material, { keyId: v.KeyId, version: v.Version, keyMaterialId: v.KeyMaterialId });
        const iv = new Uint8Array(12);
        const probe = new Uint8Array([1, 2, 3]);
        const got = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, probe));
        const raw = await crypto.subtle.importKey('raw', new Uint8Array(32).fill(fill), 'AES-GCM', false, ['encrypt']);
        expect(got).toEqual(new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, raw, probe)));
      };
      /** What every read answers for version v: getVersion, listVersions, and getVersionCandidates where the store has it. */
      const reads = async (s: KmsStore, v: MaterialVersion) => {
        const got = await s.getVersion(v.KeyId, v.Version);
        const listed = (await s.listVersions(v.KeyId, { after: 0, limit: 100 })).filter((x) => x.Version === v.Version);
        const candidates = s.getVersionCandidates ? await s.getVersionCandidates(v.KeyId, v.Version) : [got];
        return [got, ...listed, ...candidates].map((x) => x && { KeyMaterialId: x.KeyMaterialId, CreationDate: x.CreationDate, kind: x.Material.kind });
      };
      /** reads() when v is the one record of its version. */
      const answers = (v: MaterialVersion) =>
        Array.from({ length: 3 }, () => ({ KeyMaterialId: v.KeyMaterialId, CreationDate: v.CreationDate, kind: v.Material.kind }));

      it('replaces a version with the same KeyMaterialId: deleted, then imported again; every read answers the new record only', async () => {
        const id = uuid();
        const v1 = await versionRecord(fx.protector, id, 1);
        const v2 = await versionRecord(fx.protector, id, 2);
        await store.commit([
          { type: 'putKey', key: keyRecord(id, 1, { Origin: 'EXTERNAL' }), expectRevision: 0 },
          { type: 'putVersion', version: v1 },
          { type: 'putVersion', version: v2 },
        ]);
        // Deleted, with the key record in the same commit.
        await store.commit([
          { type: 'replaceVersion', version: deleted(v1) },
          { type: 'putKey', key: keyRecord(id, 2, { Origin: 'EXTERNAL', KeyState: 'PendingImport' }), expectRevision: 1 },
        ]);
        expect(await reads(store, v1)).toEqual(answers(deleted(v1)));
        const gone = await store.getVersion(id, 1);
        expect(gone).toMatchObject({ KeyId: id, Version: 1, KeyMaterialId: v1.KeyMaterialId, Origin: 'CREATE', Material: { kind: 'deleted' } });
        expect(Object.keys(gone!.Material)).toEqual(['kind']);
        expect((await store.getKey(id))?.KeyState).toBe('PendingImport');
        // The other version is untouched.
        expect(await reads(store, v2)).toEqual(answers(v2));
        expect((await store.listVersions(id, { after: 0, limit: 10 })).map((v) => [v.Version, v.Material.kind])).toEqual([
          [1, 'deleted'],
          [2, v2.Material.kind],
        ]);
        // Imported again (other bytes than before, so the new record is the one read).
        const again = await reimported(v1, 0x5a);
        await store.commit([
          { type: 'replaceVersion', version: again },
          { type: 'putKey', key: keyRecord(id, 3, { Origin: 'EXTERNAL' }), expectRevision: 2 },
        ]);
        expect(await reads(store, v1)).toEqual(answers(again));
        await opensTo(store, again, 0x5a);
        // Deleted again and imported once more: a version may be replaced any number of times.
        await store.commit([{ type: 'replaceVersion', version: deleted(again) }]);
        expect(await reads(store, v1)).toEqual(answers(deleted(again)));
        const third = await reimported(again, 0x77);
        await store.commit([{ type: 'replaceVersion', version: third }]);
        expect(await reads(store, v1)).toEqual(answers(third));
        await opensTo(store, third, 0x77);
        expect((await store.listVersions(id, { after: 0, limit: 10 })).map((v) => v.Version)).toEqual([1, 2]);
      });

      it('refuses a replace of a missing version or under another KeyMaterialId, and writes nothing of the commit', async () => {
        const id = uuid();
        const v1 = await versionRecord(fx.protector, id, 1);
        await store.commit([
          { type: 'putKey', key: keyRecord(id), expectRevision: 0 },
          { type: 'putVersion', version: v1 },
        ]);
        const bystander = uuid();
        for (const bad of [
          deleted(await versionRecord(fx.protector, id, 2)),
          { ...deleted(v1), KeyMaterialId: 'f'.repeat(64) },
          { ...(await reimported(v1, 9)), KeyMaterialId: 'f'.repeat(64) },
          deleted(await versionRecord(fx.protector, bystander, 1)),
        ]) {
          await expect(
            store.commit([
              { type: 'putKey', key: keyRecord(bystander), expectRevision: 0 },
              { type: 'replaceVersion', version: bad },
              { type: 'putKey', key: keyRecord(id, 2, { KeyState: 'PendingImport' }), expectRevision: 1 },
            ]),
          ).rejects.toBeInstanceOf(StoreConflictError);
          expect(await store.getKey(bystander)).toBeUndefined();
          expect((await store.getKey(id))?.Revision).toBe(1);
          expect(await store.getVersion(id, 2)).toBeUndefined();
          expect(await reads(store, v1)).toEqual(answers(v1));
        }
        // A stale key revision refuses the replace with it.
        await expect(
          store.commit([
            { type: 'replaceVersion', version: deleted(v1) },
            { type: 'putKey', key: keyRecord(id, 3), expectRevision: 2 },
          ]),
        ).rejects.toBeInstanceOf(StoreConflictError);
        expect(await reads(store, v1)).toEqual(answers(v1));
        await opensTo(store, v1, 1);
        // putVersion still refuses an existing version, a deleted one too.
        await store.commit([{ type: 'replaceVersion', version: deleted(v1) }]);
        await expect(store.commit([{ type: 'putVersion', version: await reimported(v1, 3) }])).rejects.toBeInstanceOf(StoreConflictError);
        expect(await reads(store, v1)).toEqual(answers(deleted(v1)));
      });

      it('deleting the key removes its replaced versions', async () => {
        const id = uuid();
        const v1 = await versionRecord(fx.protector, id, 1);
        const v2 = await versionRecord(fx.protector, id, 2);
        await store.commit([
          { type: 'putKey', key: keyRecord(id), expectRevision: 0 },
          { type: 'putVersion', version: v1 },
          { type: 'putVersion', version: v2 },
        ]);
        await store.commit([{ type: 'replaceVersion', version: deleted(v1) }]);
        await store.commit([{ type: 'replaceVersion', version: await reimported(v2, 4) }]);
        await store.commit([{ type: 'deleteKey', keyId: id, expectRevision: 1 }]);
        expect(await store.getVersion(id, 1)).toBeUndefined();
        expect(await store.getVersion(id, 2)).toBeUndefined();
        expect(await store.listVersions(id, { after: 0, limit: 10 })).toEqual([]);
        if (store.getVersionCandidates) expect(await store.getVersionCandidates(id, 1)).toEqual([]);
        // The version number can be made anew.
        await store.commit([
          { type: 'putKey', key: keyRecord(id), expectRevision: 0 },
          { type: 'putVersion', version: v1 },
        ]);
        expect(await reads(store, v1)).toEqual(answers(v1));
      });

      it('a deleted version, and the material imported again, are seen through another handle and after reopening', async () => {
        const other = fx.reopen ? await fx.reopen() : store;
        const id = uuid();
        const v1 = await versionRecord(fx.protector, id, 1);
        await store.commit([
          { type: 'putKey', key: keyRecord(id), expectRevision: 0 },
          { type: 'putVersion', version: v1 },
        ]);
        // Read first, so a handle that caches a snapshot has one to go stale.
        expect(await reads(other, v1)).toEqual(answers(v1));
        await store.commit([{ type: 'replaceVersion', version: deleted(v1) }]);
        expect(await reads(other, v1)).toEqual(answers(deleted(v1)));
        const again = await reimported(v1, 0x33);
        await other.commit([{ type: 'replaceVersion', version: again }]);
        expect(await reads(store, v1)).toEqual(answers(again));
        await opensTo(other, again, 0x33);
        await store.commit([{ type: 'replaceVersion', version: deleted(again) }]);
        expect(await reads(other, v1)).toEqual(answers(deleted(again)));
        if (other !== store) await other.close?.();
        // A handle opened after the writes reads the deleted version from what was persisted.
        if (fx.reopen) {
          const fresh = await fx.reopen();
          expect(await reads(fresh, v1)).toEqual(answers(deleted(again)));
          await fresh.close?.();
        }
      });
    });

    it('keeps wrapped material byte for byte and it still opens', async () => {
      const id = uuid();
      const v = await versionRecord(fx.protector, id, 7);
      await store.commit([{ type: 'putVersion', version: v }]);
      const back = await store.getVersion(id, 7);
      expect(back?.Material.kind).toBe(v.Material.kind);
      if (v.Material.kind === 'wrapped' && back?.Material.kind === 'wrapped') {
        expect(back.Material.data).toBeInstanceOf(Uint8Array);
        expect([...back.Material.data]).toEqual([...v.Material.data]);
      }
      const key = await fx.protector.open(back!.Material, { keyId: id, version: 7, keyMaterialId: v.KeyMaterialId });
      const iv = new Uint8Array(12);
      const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, new Uint8Array([1, 2, 3]));
      const expected = await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv },
        await crypto.subtle.importKey('raw', new Uint8Array(32).fill(7), 'AES-GCM', false, ['encrypt']),
        new Uint8Array([1, 2, 3]),
      );
      expect(new Uint8Array(ct)).toEqual(new Uint8Array(expected));
    });

    it('lists versions in order with after/limit paging', async () => {
      const id = uuid();
      const other = uuid();
      const writes = [];
      for (let n = 1; n <= 25; n++) writes.push({ type: 'putVersion' as const, version: await versionRecord(fx.protector, id, n) });
      writes.push({ type: 'putVersion' as const, version: await versionRecord(fx.protector, other, 1) });
      await store.commit(writes);
      expect((await store.listVersions(id, { after: 0, limit: 10 })).map((v) => v.Version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect((await store.listVersions(id, { after: 20, limit: 10 })).map((v) => v.Version)).toEqual([21, 22, 23, 24, 25]);
      expect(await store.listVersions(id, { after: 25, limit: 10 })).toEqual([]);
    });

    it('lists keys and aliases in ascending order with paging', async () => {
      const ids = Array.from({ length: 7 }, () => uuid()).reverse();
      for (const id of ids) await store.commit([{ type: 'putKey', key: keyRecord(id), expectRevision: 0 }]);
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.listKeys({ after, limit: 3 });
        seen.push(...page.items.map((k) => k.KeyId));
        if (!page.next) break;
        after = page.next;
      }
      expect(seen).toEqual([...ids].sort());
      for (const n of ['alias/c', 'alias/a', 'alias/b', 'alias/a/b']) {
        await store.commit([{ type: 'putAlias', alias: { AliasName: n, TargetKeyId: ids[0]!, CreationDate: 1, LastUpdatedDate: 1 }, expectTarget: null }]);
      }
      const p1 = await store.listAliases({ limit: 2 });
      expect(p1.items.map((a) => a.AliasName)).toEqual(['alias/a', 'alias/a/b']);
      const p2 = await store.listAliases({ after: p1.next, limit: 2 });
      expect(p2.items.map((a) => a.AliasName)).toEqual(['alias/b', 'alias/c']);
      expect(p2.next).toBeUndefined();
    });

    it('guards aliases by their expected target', async () => {
      const [a, b] = [uuid(), uuid()];
      const alias = { AliasName: 'alias/x', TargetKeyId: a, CreationDate: 1, LastUpdatedDate: 1 };
      await store.commit([{ type: 'putAlias', alias, expectTarget: null }]);
      await expect(store.commit([{ type: 'putAlias', alias, expectTarget: null }])).rejects.toBeInstanceOf(StoreConflictError);
      await expect(store.commit([{ type: 'putAlias', alias: { ...alias, TargetKeyId: b }, expectTarget: b }])).rejects.toBeInstanceOf(StoreConflictError);
      await store.commit([{ type: 'putAlias', alias: { ...alias, TargetKeyId: b }, expectTarget: a }]);
      expect((await store.getAlias('alias/x'))?.TargetKeyId).toBe(b);
      await expect(store.commit([{ type: 'deleteAlias', aliasName: 'alias/x', expectTarget: a }])).rejects.toBeInstanceOf(StoreConflictError);
      await store.commit([{ type: 'deleteAlias', aliasName: 'alias/x', expectTarget: b }]);
      expect(await store.getAlias('alias/x')).toBeUndefined();
    });

    it('deletes a key with all of its versions', async () => {
      const id = uuid();
      await store.commit([
        { type: 'putKey', key: keyRecord(id), expectRevision: 0 },
        { type: 'putVersion', version: await versionRecord(fx.protector, id, 1) },
        { type: 'putVersion', version: await versionRecord(fx.protector, id, 2) },
      ]);
      await expect(store.commit([{ type: 'deleteKey', keyId: id, expectRevision: 5 }])).rejects.toBeInstanceOf(StoreConflictError);
      await store.commit([{ type: 'deleteKey', keyId: id, expectRevision: 1 }]);
      expect(await store.getKey(id)).toBeUndefined();
      expect(await store.getVersion(id, 1)).toBeUndefined();
      expect(await store.listVersions(id, { after: 0, limit: 10 })).toEqual([]);
    });

    it('hands out copies or frozen records: changing a returned record changes nothing stored', async () => {
      const id = uuid();
      await store.commit([{ type: 'putKey', key: keyRecord(id), expectRevision: 0 }]);
      const k = (await store.getKey(id))!;
      // A store may copy (the change is lost) or freeze (the change throws); never share.
      try {
        k.Description = 'mutated';
      } catch {
        // frozen
      }
      try {
        k.Tags.push({ TagKey: 'x', TagValue: 'y' });
      } catch {
        // frozen
      }
      const again = (await store.getKey(id))!;
      expect(again.Description).toBe('conformance');
      expect(again.Tags).toHaveLength(1);
    });

    it('a commit through one handle is visible at once through another', async () => {
      const other = fx.reopen ? await fx.reopen() : store;
      for (let i = 0; i < 5; i++) {
        const id = uuid();
        // Read first, so a handle that caches a snapshot has one to go stale.
        expect(await other.getKey(id)).toBeUndefined();
        await store.commit([
          { type: 'putKey', key: keyRecord(id), expectRevision: 0 },
          { type: 'putVersion', version: await versionRecord(fx.protector, id, 1) },
        ]);
        expect((await other.getKey(id))?.KeyId).toBe(id);
        expect((await other.getVersion(id, 1))?.Version).toBe(1);
        await store.commit([{ type: 'putKey', key: keyRecord(id, 2, { KeyState: 'Disabled' }), expectRevision: 1 }]);
        expect((await other.getKey(id))?.KeyState).toBe('Disabled');
      }
      if (other !== store) await other.close?.();
    });

    it('clear() removes everything', async () => {
      const id = uuid();
      await store.commit([
        { type: 'putKey', key: keyRecord(id), expectRevision: 0 },
        { type: 'putVersion', version: await versionRecord(fx.protector, id, 1) },
      ]);
      await store.clear();
      expect(await store.getKey(id)).toBeUndefined();
      expect(await store.getVersion(id, 1)).toBeUndefined();
    });

    it('interleaved concurrent writers lose no update and no version', async () => {
      const id = uuid();
      await store.commit([
        { type: 'putKey', key: keyRecord(id), expectRevision: 0 },
        { type: 'putVersion', version: await versionRecord(fx.protector, id, 1) },
      ]);
      const second = fx.reopen ? await fx.reopen() : store;
      const writers = 12;
      const each = 4;
      let conflicts = 0;
      const writer = async (s: KmsStore, w: number) => {
        for (let i = 0; i < each; i++) {
          for (;;) {
            const cur = (await s.getKey(id))!;
            // Yield between the read and the write so that writers interleave.
            await new Promise((r) => setTimeout(r, (w * 7 + i) % 3));
            const n = cur.CurrentVersion + 1;
            try {
              await s.commit([
                { type: 'putVersion', version: await versionRecord(fx.protector, id, n) },
                {
                  type: 'putKey',
                  key: { ...cur, CurrentVersion: n, OnDemandRotationCount: cur.OnDemandRotationCount + 1, Revision: cur.Revision + 1 },
                  expectRevision: cur.Revision,
                },
              ]);
              break;
            } catch (e) {
              if (!(e instanceof StoreConflictError)) throw e;
              conflicts++;
            }
          }
        }
      };
      await Promise.all(Array.from({ length: writers }, (_, w) => writer(w % 2 ? second : store, w)));
      const final = (await store.getKey(id))!;
      expect(final.OnDemandRotationCount).toBe(writers * each);
      expect(final.CurrentVersion).toBe(writers * each + 1);
      const versions = await store.listVersions(id, { after: 0, limit: 1000 });
      expect(versions.map((v) => v.Version)).toEqual(Array.from({ length: writers * each + 1 }, (_, i) => i + 1));
      expect(conflicts).toBeGreaterThan(0);
      if (second !== store) await second.close?.();
    });

    it('50 concurrent RotateKeyOnDemand give exactly 10 successes, from one engine and from two', async () => {
      const clientStores = [store, fx.reopen ? await fx.reopen() : store];
      const engines = clientStores.map((s) => createKms({ store: s, protector: fx.protector, onInternalError: () => undefined }));
      for (const [label, pick] of [
        ['one engine', () => engines[0]!],
        ['two engines', (i: number) => engines[i % 2]!],
      ] as const) {
        const { KeyMetadata } = (await engines[0]!.execute('CreateKey', {})) as { KeyMetadata: { KeyId: string } };
        const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => pick(i).execute('RotateKeyOnDemand', { KeyId: KeyMetadata.KeyId })));
        const ok = results.filter((r) => r.status === 'fulfilled').length;
        const limited = results.filter((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'LimitExceededException').length;
        expect({ label, ok, limited }).toEqual({ label, ok: 10, limited: 40 });
        const list = (await engines[1]!.execute('ListKeyRotations', { KeyId: KeyMetadata.KeyId, Limit: 1000 })) as { Rotations: unknown[] };
        expect(list.Rotations).toHaveLength(10);
      }
      if (clientStores[1] !== store) await clientStores[1]!.close?.();
    });

    it('keeps Regions apart: keys, versions and aliases of one Region are not found in another', async () => {
      const kms = createKms({ store, protector: fx.protector, onInternalError: () => undefined });
      const eu = kms.inRegion('eu-west-1');
      const { KeyMetadata } = (await eu.execute('CreateKey', { Description: 'eu' })) as { KeyMetadata: { KeyId: string; Arn: string } };
      await eu.execute('CreateAlias', { AliasName: 'alias/conformance', TargetKeyId: KeyMetadata.KeyId });
      expect(KeyMetadata.Arn).toBe(`arn:aws:kms:eu-west-1:111122223333:key/${KeyMetadata.KeyId}`);
      await expect(kms.execute('DescribeKey', { KeyId: KeyMetadata.KeyId })).rejects.toMatchObject({ code: 'NotFoundException' });
      await expect(kms.execute('DescribeKey', { KeyId: 'alias/conformance' })).rejects.toMatchObject({ code: 'NotFoundException' });
      expect(((await kms.execute('ListKeys', {})) as { Keys: unknown[] }).Keys).toEqual([]);
      expect(
        ((await kms.execute('ListAliases', {})) as { Aliases: unknown[] }).Aliases.filter(
          (a) => !(a as { AliasName: string }).AliasName.startsWith('alias/aws/'),
        ),
      ).toEqual([]);
      expect(((await eu.execute('ListKeys', {})) as { Keys: { KeyId: string }[] }).Keys.map((k) => k.KeyId)).toEqual([KeyMetadata.KeyId]);
      expect((await eu.execute('DescribeKey', { KeyId: 'alias/conformance' })) as unknown).toMatchObject({ KeyMetadata: { KeyId: KeyMetadata.KeyId } });
      expect(await regionsIn(store)).toEqual(['eu-west-1']);
    });

    it('a multi-Region key and its replica: one commit rotates both', async () => {
      const kms = createKms({ store, protector: fx.protector, onInternalError: () => undefined });
      const { KeyMetadata } = (await kms.execute('CreateKey', { MultiRegion: true })) as { KeyMetadata: { KeyId: string } };
      const id = KeyMetadata.KeyId;
      await kms.execute('ReplicateKey', { KeyId: id, ReplicaRegion: 'ap-northeast-1' });
      await kms.execute('RotateKeyOnDemand', { KeyId: id });
      const ap = kms.inRegion('ap-northeast-1');
      const rotations = async (k: typeof kms) =>
        ((await k.execute('ListKeyRotations', { KeyId: id })) as { Rotations: { KeyMaterialId: string }[] }).Rotations.map((r) => r.KeyMaterialId);
      expect(await rotations(ap)).toEqual(await rotations(kms));
      expect(await rotations(ap)).toHaveLength(1);
      const blob = ((await ap.execute('Encrypt', { KeyId: id, Plaintext: new TextEncoder().encode('mrk') })) as { CiphertextBlob: Uint8Array }).CiphertextBlob;
      const out = (await kms.execute('Decrypt', { CiphertextBlob: blob })) as { Plaintext: Uint8Array };
      expect(new TextDecoder().decode(out.Plaintext)).toBe('mrk');
    });

    it('records written before Regions existed are read as the configured Region, with their history', async () => {
      // A lone engine over the store writes as the one-Region version did: no Region prefix.
      const legacy = new Engine({ store, protector: fx.protector, region: 'eu-central-1' });
      const created = (await OPERATIONS.CreateKey(legacy, InputReader.from({ Description: 'legacy' }), {})) as { KeyMetadata: { KeyId: string } };
      const id = created.KeyMetadata.KeyId;
      const v1 = (
        (await OPERATIONS.Encrypt(legacy, InputReader.from({ KeyId: id, Plaintext: new TextEncoder().encode('old') }), {})) as { CiphertextBlob: Uint8Array }
      ).CiphertextBlob;
      await OPERATIONS.RotateKeyOnDemand(legacy, InputReader.from({ KeyId: id }), {});
      await OPERATIONS.CreateAlias(legacy, InputReader.from({ AliasName: 'alias/legacy', TargetKeyId: id }), {});
      expect((await store.getKey(id))?.KeyId).toBe(id);

      const kms = createKms({ store, protector: fx.protector, region: 'eu-central-1', onInternalError: () => undefined });
      const md = (await kms.execute('DescribeKey', { KeyId: 'alias/legacy' })) as { KeyMetadata: { KeyId: string; Arn: string } };
      expect(md.KeyMetadata.Arn).toBe(`arn:aws:kms:eu-central-1:111122223333:key/${id}`);
      const out = (await kms.execute('Decrypt', { CiphertextBlob: v1 })) as { Plaintext: Uint8Array };
      expect(new TextDecoder().decode(out.Plaintext)).toBe('old');
      const rotations = (await kms.execute('ListKeyRotations', { KeyId: id })) as { Rotations: unknown[] };
      expect(rotations.Rotations).toHaveLength(1);
      // Moved, not copied: nothing is left under the old ids, and a second KMS finds nothing to move.
      expect(await store.getKey(id)).toBeUndefined();
      expect(await store.getAlias('alias/legacy')).toBeUndefined();
      const again = createKms({ store, protector: fx.protector, region: 'eu-central-1', onInternalError: () => undefined });
      expect(((await again.execute('ListKeys', {})) as { Keys: { KeyId: string }[] }).Keys.map((k) => k.KeyId)).toEqual([id]);
      // Other Regions do not see it.
      await expect(kms.inRegion('us-east-1').execute('DescribeKey', { KeyId: id })).rejects.toMatchObject({ code: 'NotFoundException' });
    });
  });
}
