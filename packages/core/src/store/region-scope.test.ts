/**
 * Moving a one-Region store's records into Regions (migrateLegacyRecords): after a crash at any
 * step a second run finishes the move, every key keeps its versions, and a key goes to the Region
 * its record names.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../engine.js';
import { createKms } from '../kms.js';
import { OPERATIONS } from '../operations/index.js';
import { InputReader } from '../validate.js';
import { createMemoryStore } from './memory-store.js';
import { migrateLegacyRecords, regionPrefix, scopeStore } from './region-scope.js';
import { isRegionName } from '../regions.js';
import type { KmsStore } from './types.js';

const enc = new TextEncoder();

/** A key (rotated once) and an alias written the way the one-Region version wrote them. */
async function legacyKey(store: KmsStore, region: string, alias?: string) {
  const legacy = new Engine({ store, region });
  const id = ((await OPERATIONS.CreateKey(legacy, InputReader.from({}), {})) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
  const blob = ((await OPERATIONS.Encrypt(legacy, InputReader.from({ KeyId: id, Plaintext: enc.encode('v1') }), {})) as { CiphertextBlob: Uint8Array })
    .CiphertextBlob;
  await OPERATIONS.RotateKeyOnDemand(legacy, InputReader.from({ KeyId: id }), {});
  if (alias) await OPERATIONS.CreateAlias(legacy, InputReader.from({ AliasName: alias, TargetKeyId: id }), {});
  return { id, blob, engine: legacy };
}

describe('migrateLegacyRecords', () => {
  it('finishes a move interrupted after the versions were copied, or after the key record was', async () => {
    const store = createMemoryStore();
    const a = await legacyKey(store, 'us-east-1', 'alias/a');
    const b = await legacyKey(store, 'us-east-1');
    const to = scopeStore(store, 'us-east-1');
    // a: its versions copied, then the crash. b: versions and key record copied, then the crash.
    for (const v of await store.listVersions(a.id, { after: 0, limit: 10 })) await to.commit([{ type: 'putVersion', version: v }]);
    for (const v of await store.listVersions(b.id, { after: 0, limit: 10 })) await to.commit([{ type: 'putVersion', version: v }]);
    await to.commit([{ type: 'putKey', key: { ...(await store.getKey(b.id))!, Revision: 1 }, expectRevision: 0 }]);

    const kms = createKms({ store, protector: a.engine.protector });
    for (const k of [a, b]) {
      const out = (await kms.execute('Decrypt', { CiphertextBlob: k.blob })) as { Plaintext: Uint8Array };
      expect(new TextDecoder().decode(out.Plaintext)).toBe('v1');
      expect(((await kms.execute('ListKeyRotations', { KeyId: k.id })) as { Rotations: unknown[] }).Rotations).toHaveLength(1);
      expect(await store.getKey(k.id)).toBeUndefined();
    }
    expect(((await kms.execute('DescribeKey', { KeyId: 'alias/a' })) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId).toBe(a.id);
  });

  it('moves each key into the Region its record names, and its aliases with it', async () => {
    const store = createMemoryStore();
    const eu = await legacyKey(store, 'eu-west-1', 'alias/eu');
    const us = await legacyKey(store, 'us-east-1', 'alias/us');
    expect(await migrateLegacyRecords(store, 'us-east-1', isRegionName)).toBe(4);
    expect(await scopeStore(store, 'eu-west-1').getKey(eu.id)).toBeDefined();
    expect(await scopeStore(store, 'us-east-1').getKey(us.id)).toBeDefined();
    expect((await scopeStore(store, 'eu-west-1').getAlias('alias/eu'))?.TargetKeyId).toBe(eu.id);
    expect((await scopeStore(store, 'us-east-1').getAlias('alias/us'))?.TargetKeyId).toBe(us.id);
    expect(
      (await store.listKeys({ limit: 10 })).items.every((k) => k.KeyId.startsWith(regionPrefix('eu-west-1')) || k.KeyId.startsWith(regionPrefix('us-east-1'))),
    ).toBe(true);
    // A second run has nothing left to do.
    expect(await migrateLegacyRecords(store, 'us-east-1', isRegionName)).toBe(0);
  });

  it('pages through more legacy keys than one listing holds', async () => {
    const store = createMemoryStore();
    const engine = new Engine({ store });
    for (let i = 0; i < 120; i++) await OPERATIONS.CreateKey(engine, InputReader.from({}), {});
    expect(await migrateLegacyRecords(store, 'us-east-1')).toBe(120);
    expect((await scopeStore(store, 'us-east-1').listKeys({ limit: 1000 })).items).toHaveLength(120);
  });
});
