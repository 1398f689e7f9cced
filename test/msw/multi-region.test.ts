/**
 * @edge-kms/msw, issue 16: one mock serves every Region (each `kms.<region>.amazonaws.com` its own
 * keyspace), and multi-Region keys replicate across them, through the real AWS SDK v3 clients of
 * each Region, exactly as an application deployed in several Regions calls AWS.
 */
import { KMS } from '@aws-sdk/client-kms';
import { kmsHandlers } from '@edge-kms/msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDENTIALS } from './flows.js';

const mock = kmsHandlers();
const server = setupServer(...mock);
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());

const kmsIn = (region: string) => new KMS({ region, credentials: CREDENTIALS, maxAttempts: 1 });

describe('multi-Region keys in the MSW mock', () => {
  it('replicates, rotates on the primary, and decrypts in every Region', async () => {
    const us = kmsIn('us-east-1');
    const eu = kmsIn('eu-west-1');
    const ap = kmsIn('ap-southeast-2');
    const id = (await us.createKey({ MultiRegion: true })).KeyMetadata!.KeyId!;
    expect(id).toMatch(/^mrk-/);
    const blob = (await us.encrypt({ KeyId: id, Plaintext: new TextEncoder().encode('hello') })).CiphertextBlob!;
    await us.replicateKey({ KeyId: id, ReplicaRegion: 'eu-west-1' });
    await us.rotateKeyOnDemand({ KeyId: id });
    await us.replicateKey({ KeyId: id, ReplicaRegion: 'ap-southeast-2' });
    const rotations = async (c: KMS) => (await c.listKeyRotations({ KeyId: id })).Rotations!.map((r) => r.KeyMaterialId);
    expect(await rotations(eu)).toEqual(await rotations(us));
    expect(await rotations(ap)).toEqual(await rotations(us));
    for (const c of [eu, ap]) expect(new TextDecoder().decode((await c.decrypt({ CiphertextBlob: blob })).Plaintext)).toBe('hello');
    const md = (await ap.describeKey({ KeyId: id })).KeyMetadata!;
    expect(md.Arn).toBe(`arn:aws:kms:ap-southeast-2:111122223333:key/${id}`);
    expect(md.MultiRegionConfiguration!.ReplicaKeys!.map((k) => k.Region)).toEqual(['eu-west-1', 'ap-southeast-2']);
    // The mock's in-process view of a Region sees the same keys.
    expect(((await (await mock.kmsFor('eu-west-1')).execute('DescribeKey', { KeyId: id })) as { KeyMetadata: { Arn: string } }).KeyMetadata.Arn).toBe(
      `arn:aws:kms:eu-west-1:111122223333:key/${id}`,
    );
    // A Region without the key does not find it.
    expect(
      (await kmsIn('sa-east-1')
        .describeKey({ KeyId: id })
        .catch((e: Error) => e)) as Error,
    ).toMatchObject({ name: 'NotFoundException' });
    for (const c of [us, eu, ap]) c.destroy();
  });
});
