/**
 * Issue 16: every Region from one endpoint, and multi-Region keys, through the real AWS SDK v3
 * against the real server (LMDB store, open mode). Each client is configured for its own Region,
 * as an application deployed in several Regions would be; they all talk to one server.
 */
import { KMS } from '@aws-sdk/client-kms';
import { afterAll, describe, expect, it } from 'vitest';
import { ACCOUNT_ID, DUMMY_CREDENTIALS, failure, spawnKmsServer, text, useKmsServer, utf8 } from '../helpers/server.js';

const { server } = useKmsServer();
const clients = new Map<string, KMS>();
/** A client in `region`, following the server across restarts. */
function kmsIn(region: string): KMS {
  let c = clients.get(region);
  if (!c) {
    c = new KMS({ endpoint: async () => ({ url: new URL(server.url) }), region, credentials: DUMMY_CREDENTIALS, maxAttempts: 1 });
    clients.set(region, c);
  }
  return c;
}
afterAll(() => {
  for (const c of clients.values()) c.destroy();
});

const arnIn = (region: string, keyId: string) => `arn:aws:kms:${region}:${ACCOUNT_ID}:key/${keyId}`;
const US = 'us-east-1';
const EU = 'eu-west-1';
const AP = 'ap-southeast-2';

describe('every Region from one endpoint', () => {
  it('each Region is its own keyspace; ARNs carry the request Region', async () => {
    const eu = (await kmsIn(EU).createKey({ Description: 'eu only' })).KeyMetadata!;
    expect(eu.Arn).toBe(arnIn(EU, eu.KeyId!));
    expect(eu.AWSAccountId).toBe(ACCOUNT_ID);
    const err = await failure(kmsIn(US).describeKey({ KeyId: eu.KeyId }));
    expect(err.name).toBe('NotFoundException');
    expect(err.message).toBe(`Key '${arnIn(US, eu.KeyId!)}' does not exist`);
    // The key's ARN names eu-west-1: from us-east-1 it is another Region's key, not found.
    expect((await failure(kmsIn(US).encrypt({ KeyId: eu.Arn, Plaintext: utf8('x') }))).name).toBe('NotFoundException');
    const euKeys = (await kmsIn(EU).listKeys({})).Keys!.map((k) => k.KeyId);
    const usKeys = (await kmsIn(US).listKeys({})).Keys!.map((k) => k.KeyId);
    expect(euKeys).toContain(eu.KeyId);
    expect(usKeys).not.toContain(eu.KeyId);
    expect((await kmsIn(EU).listKeys({})).Keys!.find((k) => k.KeyId === eu.KeyId)!.KeyArn).toBe(eu.Arn);
  });

  it('the same alias name in two Regions names two keys', async () => {
    const us = (await kmsIn(US).createKey({})).KeyMetadata!;
    const ap = (await kmsIn(AP).createKey({})).KeyMetadata!;
    await kmsIn(US).createAlias({ AliasName: 'alias/app', TargetKeyId: us.KeyId });
    await kmsIn(AP).createAlias({ AliasName: 'alias/app', TargetKeyId: ap.KeyId });
    expect((await kmsIn(US).describeKey({ KeyId: 'alias/app' })).KeyMetadata!.KeyId).toBe(us.KeyId);
    expect((await kmsIn(AP).describeKey({ KeyId: 'alias/app' })).KeyMetadata!.KeyId).toBe(ap.KeyId);
    const apAliases = (await kmsIn(AP).listAliases({})).Aliases!.filter((a) => a.AliasName === 'alias/app');
    expect(apAliases).toEqual([expect.objectContaining({ AliasArn: `arn:aws:kms:${AP}:${ACCOUNT_ID}:alias/app`, TargetKeyId: ap.KeyId })]);
    // A ciphertext of one Region's key does not decrypt in another (no such key there).
    const blob = (await kmsIn(US).encrypt({ KeyId: 'alias/app', Plaintext: utf8('us') })).CiphertextBlob!;
    expect((await failure(kmsIn(AP).decrypt({ CiphertextBlob: blob }))).name).toBe('InvalidCiphertextException');
  });
});

describe('multi-Region keys', () => {
  it('CreateKey MultiRegion: an mrk- id and a primary with no replicas; other keys are not multi-Region', async () => {
    const md = (await kmsIn(US).createKey({ MultiRegion: true })).KeyMetadata!;
    expect(md.KeyId).toMatch(/^mrk-[0-9a-f]{32}$/);
    expect(md.MultiRegion).toBe(true);
    expect(md.MultiRegionConfiguration).toEqual({
      MultiRegionKeyType: 'PRIMARY',
      PrimaryKey: { Arn: arnIn(US, md.KeyId!), Region: US },
      ReplicaKeys: [],
    });
    const plain = (await kmsIn(US).createKey({})).KeyMetadata!;
    expect(plain.MultiRegion).toBe(false);
    expect(plain.MultiRegionConfiguration).toBeUndefined();
    // A bare mrk- id is a key reference like a UUID.
    expect((await kmsIn(US).describeKey({ KeyId: md.KeyId })).KeyMetadata!.Arn).toBe(md.Arn);
  });

  it('ReplicateKey: same id, whole history, ciphertexts interchangeable, rotation propagates', async () => {
    const us = kmsIn(US);
    const eu = kmsIn(EU);
    const primary = (await us.createKey({ MultiRegion: true, Description: 'primary' })).KeyMetadata!;
    const id = primary.KeyId!;
    const v1 = (await us.encrypt({ KeyId: id, Plaintext: utf8('v1'), EncryptionContext: { app: 'mr' } })).CiphertextBlob!;
    await us.rotateKeyOnDemand({ KeyId: id });

    const replicated = await us.replicateKey({ KeyId: id, ReplicaRegion: EU, Description: 'replica', Tags: [{ TagKey: 'site', TagValue: 'eu' }] });
    expect(replicated.ReplicaKeyMetadata).toMatchObject({
      KeyId: id,
      Arn: arnIn(EU, id),
      KeyState: 'Creating',
      Enabled: false,
      Description: 'replica',
      MultiRegion: true,
      MultiRegionConfiguration: {
        MultiRegionKeyType: 'REPLICA',
        PrimaryKey: { Arn: arnIn(US, id), Region: US },
        ReplicaKeys: [{ Arn: arnIn(EU, id), Region: EU }],
      },
    });
    expect(replicated.ReplicaTags).toEqual([{ TagKey: 'site', TagValue: 'eu' }]);
    expect(JSON.parse(replicated.ReplicaPolicy!).Statement[0].Principal.AWS).toBe(`arn:aws:iam::${ACCOUNT_ID}:root`);

    const replica = (await eu.describeKey({ KeyId: id })).KeyMetadata!;
    expect(replica.KeyState).toBe('Enabled');
    expect(replica.CurrentKeyMaterialId).toBe((await us.describeKey({ KeyId: id })).KeyMetadata!.CurrentKeyMaterialId);
    expect((await us.describeKey({ KeyId: id })).KeyMetadata!.MultiRegionConfiguration!.ReplicaKeys).toEqual([{ Arn: arnIn(EU, id), Region: EU }]);
    // Shared history: the version-1 ciphertext made before the replica existed decrypts there.
    const d1 = await eu.decrypt({ CiphertextBlob: v1, EncryptionContext: { app: 'mr' } });
    expect(text(d1.Plaintext)).toBe('v1');
    expect(d1.KeyId).toBe(arnIn(EU, id));
    // Encrypt in the replica, decrypt in the primary.
    const fromEu = (await eu.encrypt({ KeyId: id, Plaintext: utf8('from eu') })).CiphertextBlob!;
    expect(text((await us.decrypt({ CiphertextBlob: fromEu })).Plaintext)).toBe('from eu');

    // Rotation of the primary reaches the replica in the same commit.
    const rotated = await us.rotateKeyOnDemand({ KeyId: id });
    expect(rotated.KeyId).toBe(arnIn(US, id));
    const [usRot, euRot] = await Promise.all([us.listKeyRotations({ KeyId: id }), eu.listKeyRotations({ KeyId: id })]);
    expect(euRot.Rotations!.map((r) => r.KeyMaterialId)).toEqual(usRot.Rotations!.map((r) => r.KeyMaterialId));
    expect(usRot.Rotations).toHaveLength(2);
    const [usMd, euMd] = await Promise.all([us.describeKey({ KeyId: id }), eu.describeKey({ KeyId: id })]);
    expect(euMd.KeyMetadata!.CurrentKeyMaterialId).toBe(usMd.KeyMetadata!.CurrentKeyMaterialId);
    const v3 = await eu.encrypt({ KeyId: id, Plaintext: utf8('v3') });
    const d3 = await us.decrypt({ CiphertextBlob: v3.CiphertextBlob });
    expect(text(d3.Plaintext)).toBe('v3');
    // The replica encrypted under the version the rotation made current everywhere.
    expect(d3.KeyMaterialId).toBe(usMd.KeyMetadata!.CurrentKeyMaterialId);

    // Automatic rotation settings are shared and set on the primary only.
    await us.enableKeyRotation({ KeyId: id, RotationPeriodInDays: 180 });
    const euStatus = await eu.getKeyRotationStatus({ KeyId: id });
    expect(euStatus).toMatchObject({ KeyId: id, KeyRotationEnabled: true, RotationPeriodInDays: 180 });
    expect(euStatus.NextRotationDate).toEqual((await us.getKeyRotationStatus({ KeyId: id })).NextRotationDate);
    for (const call of [() => eu.enableKeyRotation({ KeyId: id }), () => eu.disableKeyRotation({ KeyId: id }), () => eu.rotateKeyOnDemand({ KeyId: id })]) {
      const err = await failure(call());
      expect(err.name).toBe('UnsupportedOperationException');
      expect(err.message).toContain(`${arnIn(EU, id)} is a multi-Region replica key.`);
    }

    // Independent per Region: enabled state, description, tags.
    await eu.disableKey({ KeyId: id });
    expect((await us.describeKey({ KeyId: id })).KeyMetadata!.KeyState).toBe('Enabled');
    expect((await us.describeKey({ KeyId: id })).KeyMetadata!.Description).toBe('primary');
    expect((await us.listResourceTags({ KeyId: id })).Tags).toEqual([]);
    expect((await failure(eu.encrypt({ KeyId: id, Plaintext: utf8('x') }))).name).toBe('DisabledException');
    await eu.enableKey({ KeyId: id });

    // A replica made later receives every version.
    const ap = kmsIn(AP);
    await us.replicateKey({ KeyId: id, ReplicaRegion: AP });
    expect((await ap.listKeyRotations({ KeyId: id })).Rotations!.map((r) => r.KeyMaterialId)).toEqual(usRot.Rotations!.map((r) => r.KeyMaterialId));
    expect(text((await ap.decrypt({ CiphertextBlob: v1, EncryptionContext: { app: 'mr' } })).Plaintext)).toBe('v1');
    expect(text((await ap.decrypt({ CiphertextBlob: fromEu })).Plaintext)).toBe('from eu');
    expect((await eu.describeKey({ KeyId: id })).KeyMetadata!.MultiRegionConfiguration!.ReplicaKeys!.map((k) => k.Region)).toEqual([EU, AP]);

    // The set survives a restart of the server (kill -9).
    await server.restart('SIGKILL');
    expect(text((await ap.decrypt({ CiphertextBlob: v3.CiphertextBlob })).Plaintext)).toBe('v3');
    expect((await eu.describeKey({ KeyId: id })).KeyMetadata!.MultiRegionConfiguration!.PrimaryKey!.Region).toBe(US);
  });

  it("ReplicateKey's errors", async () => {
    const us = kmsIn(US);
    const id = (await us.createKey({ MultiRegion: true })).KeyMetadata!.KeyId!;
    await us.replicateKey({ KeyId: id, ReplicaRegion: EU });
    const again = await failure(us.replicateKey({ KeyId: id, ReplicaRegion: EU }));
    expect(again.name).toBe('AlreadyExistsException');
    expect((await failure(us.replicateKey({ KeyId: id, ReplicaRegion: US }))).name).toBe('AlreadyExistsException');
    const fromReplica = await failure(kmsIn(EU).replicateKey({ KeyId: id, ReplicaRegion: AP }));
    expect(fromReplica.name).toBe('UnsupportedOperationException');
    expect(fromReplica.message).toBe(`${arnIn(EU, id)} is not a multi-region primary key.`);
    const single = (await us.createKey({})).KeyMetadata!;
    const notMr = await failure(us.replicateKey({ KeyId: single.KeyId, ReplicaRegion: EU }));
    expect(notMr.name).toBe('UnsupportedOperationException');
    expect(notMr.message).toBe(`${single.Arn} is not a multi-region primary key.`);
    expect((await failure(us.replicateKey({ KeyId: id, ReplicaRegion: 'Mars' }))).name).toBe('ValidationException');
    expect((await failure(us.replicateKey({ KeyId: id, ReplicaRegion: 'cn-north-1' }))).name).toBe('ValidationException');
    // Nothing changed by the refusals: the set is still the primary and the one replica.
    expect((await us.describeKey({ KeyId: id })).KeyMetadata!.MultiRegionConfiguration!.ReplicaKeys!.map((k) => k.Region)).toEqual([EU]);
    expect((await failure(kmsIn(AP).describeKey({ KeyId: id }))).name).toBe('NotFoundException');
  });

  it('UpdatePrimaryRegion swaps the roles; rotation then belongs to the new primary', async () => {
    const us = kmsIn(US);
    const eu = kmsIn(EU);
    const id = (await us.createKey({ MultiRegion: true })).KeyMetadata!.KeyId!;
    await us.replicateKey({ KeyId: id, ReplicaRegion: EU });
    await us.replicateKey({ KeyId: id, ReplicaRegion: AP });
    const blob = (await us.encrypt({ KeyId: id, Plaintext: utf8('before') })).CiphertextBlob!;
    expect((await failure(us.updatePrimaryRegion({ KeyId: id, PrimaryRegion: 'eu-central-1' }))).name).toBe('NotFoundException');
    await eu.disableKey({ KeyId: id });
    expect((await failure(us.updatePrimaryRegion({ KeyId: id, PrimaryRegion: EU }))).name).toBe('DisabledException');
    await eu.enableKey({ KeyId: id });

    await us.updatePrimaryRegion({ KeyId: id, PrimaryRegion: EU });
    const [usMd, euMd, apMd] = await Promise.all([us, eu, kmsIn(AP)].map((c) => c.describeKey({ KeyId: id })));
    expect(euMd!.KeyMetadata!.MultiRegionConfiguration).toEqual({
      MultiRegionKeyType: 'PRIMARY',
      PrimaryKey: { Arn: arnIn(EU, id), Region: EU },
      ReplicaKeys: [
        { Arn: arnIn(AP, id), Region: AP },
        { Arn: arnIn(US, id), Region: US },
      ],
    });
    expect(usMd!.KeyMetadata!.MultiRegionConfiguration!.MultiRegionKeyType).toBe('REPLICA');
    expect(apMd!.KeyMetadata!.MultiRegionConfiguration!.PrimaryKey!.Region).toBe(EU);
    expect(usMd!.KeyMetadata!.KeyState).toBe('Enabled');
    expect((await failure(us.rotateKeyOnDemand({ KeyId: id }))).name).toBe('UnsupportedOperationException');
    expect((await failure(us.updatePrimaryRegion({ KeyId: id, PrimaryRegion: AP }))).name).toBe('UnsupportedOperationException');
    await eu.rotateKeyOnDemand({ KeyId: id });
    const ids = (await eu.listKeyRotations({ KeyId: id })).Rotations!.map((r) => r.KeyMaterialId);
    expect((await us.listKeyRotations({ KeyId: id })).Rotations!.map((r) => r.KeyMaterialId)).toEqual(ids);
    expect(text((await kmsIn(AP).decrypt({ CiphertextBlob: blob })).Plaintext)).toBe('before');
  });

  it('deleting a primary with replicas waits for them (PendingReplicaDeletion), then its own window', async () => {
    const us = kmsIn(US);
    const eu = kmsIn(EU);
    const id = (await us.createKey({ MultiRegion: true })).KeyMetadata!.KeyId!;
    await us.replicateKey({ KeyId: id, ReplicaRegion: EU });
    const scheduled = await us.scheduleKeyDeletion({ KeyId: id, PendingWindowInDays: 10 });
    expect(scheduled).toMatchObject({ KeyId: arnIn(US, id), KeyState: 'PendingReplicaDeletion', PendingWindowInDays: 10 });
    expect(scheduled.DeletionDate).toBeUndefined();
    const pending = (await us.describeKey({ KeyId: id })).KeyMetadata!;
    expect(pending).toMatchObject({ KeyState: 'PendingReplicaDeletion', PendingDeletionWindowInDays: 10, Enabled: false });
    expect(pending.DeletionDate).toBeUndefined();
    // The replica is unaffected by its primary's deletion.
    expect((await eu.describeKey({ KeyId: id })).KeyMetadata!.KeyState).toBe('Enabled');
    expect(text((await eu.decrypt({ CiphertextBlob: (await eu.encrypt({ KeyId: id, Plaintext: utf8('still') })).CiphertextBlob })).Plaintext)).toBe('still');
    expect((await failure(us.encrypt({ KeyId: id, Plaintext: utf8('x') }))).name).toBe('KMSInvalidStateException');

    await eu.scheduleKeyDeletion({ KeyId: id, PendingWindowInDays: 7 });
    await server.advanceDays(8);
    await server.maintenance();
    expect((await failure(eu.describeKey({ KeyId: id }))).name).toBe('NotFoundException');
    const waiting = (await us.describeKey({ KeyId: id })).KeyMetadata!;
    expect(waiting.KeyState).toBe('PendingDeletion');
    expect(waiting.MultiRegionConfiguration!.ReplicaKeys).toEqual([]);
    const now = await server.now();
    expect(Math.abs(waiting.DeletionDate!.getTime() - (now + 10 * 86_400_000))).toBeLessThan(60_000);
    await server.advanceDays(11);
    await server.maintenance();
    expect((await failure(us.describeKey({ KeyId: id }))).name).toBe('NotFoundException');
  });

  it('CancelKeyDeletion takes a primary out of PendingReplicaDeletion', async () => {
    const us = kmsIn(US);
    const id = (await us.createKey({ MultiRegion: true })).KeyMetadata!.KeyId!;
    await us.replicateKey({ KeyId: id, ReplicaRegion: AP });
    await us.scheduleKeyDeletion({ KeyId: id });
    await us.cancelKeyDeletion({ KeyId: id });
    const md = (await us.describeKey({ KeyId: id })).KeyMetadata!;
    expect(md.KeyState).toBe('Disabled');
    expect(md.PendingDeletionWindowInDays).toBeUndefined();
  });
});

describe('KMS_REGIONS restricts the Regions served', () => {
  it('a Region outside the set is refused with AWS error; ReplicateKey cannot reach it', async () => {
    const restricted = await spawnKmsServer({ env: { KMS_REGIONS: 'us-east-1,eu-west-1' } });
    const client = (region: string) => new KMS({ endpoint: restricted.url, region, credentials: DUMMY_CREDENTIALS, maxAttempts: 1 });
    try {
      const us = client(US);
      const ap = client(AP);
      const err = await failure(ap.listKeys({}));
      expect(err.name).toBe('InvalidSignatureException');
      expect(err.message).toBe(`Credential should be scoped to a valid region, not '${AP}'.`);
      const id = (await us.createKey({ MultiRegion: true })).KeyMetadata!.KeyId!;
      const refused = await failure(us.replicateKey({ KeyId: id, ReplicaRegion: AP }));
      expect(refused.name).toBe('UnsupportedOperationException');
      await us.replicateKey({ KeyId: id, ReplicaRegion: EU });
      expect((await client(EU).describeKey({ KeyId: id })).KeyMetadata!.Arn).toBe(arnIn(EU, id));
      us.destroy();
      ap.destroy();
    } finally {
      await restricted.dispose();
    }
  });
});
