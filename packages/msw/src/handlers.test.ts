/**
 * kmsHandlers() without a network: the endpoint pattern, one KMS behind every Region (each Region
 * its own keyspace), the Regions served, the clock, and seeding
 * (idempotent on a persistent store, also when two mocks seed one store at once, as two tabs on
 * one IndexedDB database do). The mock over HTTP is tested in test/msw/ and in Chromium in
 * mock.browser.test.ts.
 */
import { createMemoryStore, DAY_MS, scopeStore, type Kms } from '@edge-kms/core';
import { describe, expect, it } from 'vitest';
import { AWS_KMS_ENDPOINT, kmsHandlers } from './handlers.js';

describe('AWS_KMS_ENDPOINT', () => {
  it.each([
    'https://kms.us-east-1.amazonaws.com/',
    'https://kms.eu-west-1.amazonaws.com',
    'https://kms-fips.us-west-2.amazonaws.com/',
    'https://kms.us-gov-west-1.amazonaws.com/',
    'https://kms-fips.us-gov-east-1.amazonaws.com/',
    'https://kms.cn-north-1.amazonaws.com.cn/',
    'https://kms.ap-southeast-4.amazonaws.com/',
  ])('matches %s', (url) => expect(AWS_KMS_ENDPOINT.test(url)).toBe(true));

  it.each([
    'http://kms.us-east-1.amazonaws.com/',
    'https://kms.us-east-1.amazonaws.com/other',
    'https://kms.us-east-1.amazonaws.com.evil.example/',
    'https://s3.us-east-1.amazonaws.com/',
    'https://kms.localhost/',
    'http://localhost:4599/',
  ])('does not match %s', (url) => expect(AWS_KMS_ENDPOINT.test(url)).toBe(false));
});

/** The KeyId of the key an alias or id names, in process. */
const keyIdOf = async (kms: Kms, KeyId: string) => ((await kms.execute('DescribeKey', { KeyId })).KeyMetadata as { KeyId: string }).KeyId;

const SEED = { KeyId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', AliasName: 'alias/unit', KeyMaterial: new Uint8Array(32).fill(5) };

describe('kmsHandlers', () => {
  it('is an array of MSW handlers with the mock controls', () => {
    const mock = kmsHandlers();
    expect(mock).toHaveLength(1);
    expect(typeof mock.reset).toBe('function');
    expect(typeof mock.injectFault).toBe('function');
  });

  it('one KMS behind every Region, each Region its own keyspace; `kms` acts in us-east-1, seeded', async () => {
    const mock = kmsHandlers({ seed: [SEED] });
    const [us, eu] = [await mock.kms, await mock.kmsFor('eu-west-1')];
    expect([us.region, eu.region]).toEqual(['us-east-1', 'eu-west-1']);
    expect(await mock.kmsFor('eu-west-1')).toBe(eu);
    expect(await mock.kmsFor('us-east-1')).toBe(us);
    // One KMS, one store: the Regions are keyspaces of it.
    expect(eu.store).toBe(us.store);
    expect((await us.execute('DescribeKey', { KeyId: 'alias/unit' })).KeyMetadata).toMatchObject({ KeyId: SEED.KeyId });
    const made = ((await eu.execute('CreateKey', {})).KeyMetadata as { KeyId: string; Arn: string }).KeyId;
    expect((await eu.execute('DescribeKey', { KeyId: made })).KeyMetadata).toMatchObject({ Arn: `arn:aws:kms:eu-west-1:111122223333:key/${made}` });
    await expect(us.execute('DescribeKey', { KeyId: made })).rejects.toMatchObject({ code: 'NotFoundException' });
  });

  it('a seed is made in every Region asked for, not only the default one', async () => {
    const mock = kmsHandlers({ seed: [SEED] });
    const eu = await mock.kmsFor('eu-west-1');
    expect((await eu.execute('DescribeKey', { KeyId: 'alias/unit' })).KeyMetadata).toMatchObject({
      KeyId: SEED.KeyId,
      Arn: `arn:aws:kms:eu-west-1:111122223333:key/${SEED.KeyId}`,
    });
  });

  it('`regions` restricts the Regions served; another is refused as AWS refuses it', async () => {
    const mock = kmsHandlers({ regions: ['us-east-1', 'eu-west-1'] });
    expect((await mock.kmsFor('eu-west-1')).region).toBe('eu-west-1');
    await expect(mock.kmsFor('ap-south-1')).rejects.toMatchObject({
      code: 'InvalidSignatureException',
      message: "Credential should be scoped to a valid region, not 'ap-south-1'.",
    });
  });

  it('with `store`, every Region still its own keyspace of that store; `region` (default us-east-1) is the default', async () => {
    const store = createMemoryStore();
    const mock = kmsHandlers({ store });
    const south = await mock.kmsFor('ap-south-1');
    expect(south.region).toBe('ap-south-1');
    expect((await mock.kms).region).toBe('us-east-1');
    const keyId = ((await south.execute('CreateKey', {})).KeyMetadata as { KeyId: string }).KeyId;
    expect(await scopeStore(store, 'ap-south-1').getKey(keyId)).toMatchObject({ KeyId: keyId });
    expect(await scopeStore(store, 'us-east-1').getKey(keyId)).toBeUndefined();
    // A new mock on the same store (a reload) finds the key in its Region, under the same ARN.
    const again = await kmsHandlers({ store }).kmsFor('ap-south-1');
    expect((await again.execute('DescribeKey', { KeyId: keyId })).KeyMetadata).toMatchObject({ Arn: `arn:aws:kms:ap-south-1:111122223333:key/${keyId}` });
    expect((await kmsHandlers({ store: createMemoryStore(), region: 'eu-north-1' }).kms).region).toBe('eu-north-1');
  });

  it('advanceDays moves the clock and runs due rotations in every region', async () => {
    const mock = kmsHandlers();
    const eu = await mock.kmsFor('eu-west-1');
    const keyId = ((await eu.execute('CreateKey', {})).KeyMetadata as { KeyId: string }).KeyId;
    await eu.execute('EnableKeyRotation', { KeyId: keyId, RotationPeriodInDays: 90 });
    const t = mock.clock.now();
    await mock.advanceDays(90);
    expect(mock.clock.now()).toBe(t + 90 * DAY_MS);
    const { Rotations } = await eu.execute('ListKeyRotations', { KeyId: keyId });
    expect(Rotations).toMatchObject([{ RotationType: 'AUTOMATIC' }]);
  });

  it('seeding a persistent store again is a no-op, also for two mocks at once', async () => {
    const store = createMemoryStore();
    const seed = [SEED, { AliasName: 'alias/unit-no-id', KeyMaterial: new Uint8Array(32).fill(6) }];
    const [a, b] = await Promise.all([kmsHandlers({ store, seed }).kms, kmsHandlers({ store, seed }).kms]);
    expect((await a.execute('ListKeys', {})).Keys).toHaveLength(2);
    const again = await kmsHandlers({ store, seed }).kms;
    expect((await again.execute('ListKeys', {})).Keys).toHaveLength(2);
    expect(await keyIdOf(b, 'alias/unit-no-id')).toBe(await keyIdOf(again, 'alias/unit-no-id'));
  });

  it('a seeding that failed (a storage error) is tried again by the next request', async () => {
    const store = createMemoryStore();
    const commit = store.commit.bind(store);
    let failures = 1;
    store.commit = async (writes) => {
      if (failures-- > 0) throw new Error('storage hiccup');
      return commit(writes);
    };
    const mock = kmsHandlers({ store, seed: [SEED] });
    await expect(mock.kms).rejects.toThrow('storage hiccup');
    expect(await keyIdOf(await mock.kms, 'alias/unit')).toBe(SEED.KeyId);
  });

  it('reset() removes everything but the seeded keys and clears faults', async () => {
    const mock = kmsHandlers({ seed: [SEED] });
    const kms = await mock.kms;
    await kms.execute('CreateKey', {});
    mock.injectFault({ error: 'ThrottlingException' });
    await mock.reset();
    expect((await kms.execute('ListKeys', {})).Keys).toEqual([{ KeyId: SEED.KeyId, KeyArn: `arn:aws:kms:us-east-1:111122223333:key/${SEED.KeyId}` }]);
  });
});
