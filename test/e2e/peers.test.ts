/**
 * Issue 16, across deployments: two real servers (`npm start`'s cli, each its own LMDB store and
 * root key) on loopback, one serving us-east-1 and holding the primary, the other serving
 * eu-west-1 and holding the replica, configured as each other's peers (KMS_PEERS, one link
 * secret). Clients are the real AWS SDK v3, each in its own Region and talking to its own server.
 */
import { randomBytes } from 'node:crypto';
import { KMS } from '@aws-sdk/client-kms';
import { AwsClient } from 'aws4fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DUMMY_CREDENTIALS, KmsServer, failure, freePort, text, utf8 } from '../helpers/server.js';

const secret = randomBytes(32).toString('base64');
let primary: KmsServer;
let replica: KmsServer;
let us: KMS;
let eu: KMS;

beforeAll(async () => {
  const [pa, pb] = [await freePort(), await freePort()];
  const peer = (name: string, port: number, region: string) => JSON.stringify([{ name, url: `http://127.0.0.1:${port}`, regions: [region], secret }]);
  primary = KmsServer.create({ env: { PORT: String(pa), KMS_REGION: 'us-east-1', KMS_PEERS: peer('eu', pb, 'eu-west-1') } });
  replica = KmsServer.create({ env: { PORT: String(pb), KMS_REGION: 'eu-west-1', KMS_PEERS: peer('us', pa, 'us-east-1') } });
  await Promise.all([primary.start(), replica.start()]);
  us = new KMS({ endpoint: async () => ({ url: new URL(primary.url) }), region: 'us-east-1', credentials: DUMMY_CREDENTIALS, maxAttempts: 1 });
  eu = new KMS({ endpoint: async () => ({ url: new URL(replica.url) }), region: 'eu-west-1', credentials: DUMMY_CREDENTIALS, maxAttempts: 1 });
}, 60_000);

afterAll(async () => {
  us?.destroy();
  eu?.destroy();
  await Promise.all([primary?.dispose(), replica?.dispose()]);
});

/** Polls until `check` holds (deliveries run in the background after each commit). */
async function eventually(check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('did not converge');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const currentIn = async (c: KMS, id: string) => (await c.describeKey({ KeyId: id })).KeyMetadata!.CurrentKeyMaterialId;
const rotationsIn = async (c: KMS, id: string) => (await c.listKeyRotations({ KeyId: id })).Rotations!.map((r) => r.KeyMaterialId);

describe('a multi-Region key with its replica in another deployment', () => {
  it('replicates, rotates, survives the replica going down, and converges when it returns', async () => {
    const id = (await us.createKey({ MultiRegion: true })).KeyMetadata!.KeyId!;
    const blobs: Uint8Array[] = [(await us.encrypt({ KeyId: id, Plaintext: utf8('v1') })).CiphertextBlob!];
    const made = await us.replicateKey({ KeyId: id, ReplicaRegion: 'eu-west-1' });
    expect(made.ReplicaKeyMetadata!.Arn).toBe(`arn:aws:kms:eu-west-1:111122223333:key/${id}`);
    const there = (await eu.describeKey({ KeyId: id })).KeyMetadata!;
    expect(there.MultiRegionConfiguration!.MultiRegionKeyType).toBe('REPLICA');
    expect(text((await eu.decrypt({ CiphertextBlob: blobs[0] })).Plaintext)).toBe('v1');
    // The primary's deployment does not serve the replica's Region, nor the other way round.
    const refused = await failure(new KMS({ endpoint: primary.url, region: 'eu-west-1', credentials: DUMMY_CREDENTIALS, maxAttempts: 1 }).listKeys({}));
    expect(refused.name).toBe('InvalidSignatureException');

    await us.rotateKeyOnDemand({ KeyId: id });
    await eventually(async () => (await currentIn(eu, id)) === (await currentIn(us, id)) && (await rotationsIn(eu, id)).length === 1);
    blobs.push((await eu.encrypt({ KeyId: id, Plaintext: utf8('v2') })).CiphertextBlob!);

    // The replica's deployment stops; a rotation on the primary stays pending.
    await replica.stop('SIGKILL');
    const lastShared = await currentIn(us, id);
    await us.rotateKeyOnDemand({ KeyId: id });
    const status = await us.getKeyRotationStatus({ KeyId: id });
    expect(status.OnDemandRotationStartDate).toBeInstanceOf(Date);
    expect(await currentIn(us, id)).toBe(lastShared);
    const during = await us.encrypt({ KeyId: id, Plaintext: utf8('during') });
    blobs.push(during.CiphertextBlob!);
    expect((await us.decrypt({ CiphertextBlob: during.CiphertextBlob })).KeyMaterialId).toBe(lastShared);
    expect((await failure(us.rotateKeyOnDemand({ KeyId: id }))).name).toBe('ConflictException');
    await primary.maintenance(); // the replica is still down

    // The replica returns (same data, same port): the next maintenance run delivers.
    await replica.start();
    await primary.maintenance();
    await eventually(async () => (await currentIn(us, id)) !== lastShared && (await currentIn(eu, id)) === (await currentIn(us, id)));
    expect(await rotationsIn(eu, id)).toEqual(await rotationsIn(us, id));
    expect(await rotationsIn(us, id)).toHaveLength(2);
    expect((await us.getKeyRotationStatus({ KeyId: id })).OnDemandRotationStartDate).toBeUndefined();
    blobs.push(
      (await eu.encrypt({ KeyId: id, Plaintext: utf8('after') })).CiphertextBlob!,
      (await us.encrypt({ KeyId: id, Plaintext: utf8('after') })).CiphertextBlob!,
    );
    for (const blob of blobs) {
      expect(text((await us.decrypt({ CiphertextBlob: blob })).Plaintext)).toBe(text((await eu.decrypt({ CiphertextBlob: blob })).Plaintext));
    }
  });

  it('the peer endpoint refuses a caller without the link secret', async () => {
    const outsider = new AwsClient({
      accessKeyId: 'EKPEERDEADBEEF000000',
      secretAccessKey: randomBytes(32).toString('base64'),
      service: 'edge-kms-peer',
      region: 'us-east-1',
    });
    const res = await outsider.fetch(`${replica.url}/_edge-kms-peer/v1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-amz-target': 'EdgeKmsPeer.deliver' },
      body: JSON.stringify({ v: 1, type: 'deliver' }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { __type: string }).__type).toBe('UnrecognizedClientException');
  });
});
