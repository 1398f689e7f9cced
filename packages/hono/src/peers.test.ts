/**
 * Multi-Region keys across two deployments, in process: two KMSs with their own root keys and
 * stores, each the other's peer, the peer channel a fetch that calls the other's peer endpoint
 * (SigV4-signed by aws4fetch, verified by the receiver), and a switch that takes one down.
 */
import { describe, expect, it } from 'vitest';
import { createKms, createRootKeyProtector, createTestClock, randomBytes, toBase64, type Kms } from '@edge-kms/core';
// The shells' signer: aws4fetch.
import { createPeerSigner } from './peer-signer.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

async function pair() {
  const secret = toBase64(randomBytes(32));
  const up = { a: true, b: true };
  const calls = { a: 0, b: 0 };
  const byHost: Record<string, () => Kms> = {};
  const peerFetch = (async (input: RequestInfo | URL) => {
    const request = input as Request;
    const host = new URL(request.url).host;
    const side = host === 'a.test' ? 'a' : 'b';
    if (!up[side]) throw new TypeError('fetch failed');
    calls[side]++;
    return byHost[host]!().handlePeer!(request);
  }) as typeof fetch;
  const clock = createTestClock(Date.UTC(2026, 0, 1));
  const a = createKms({
    region: 'us-east-1',
    protector: await createRootKeyProtector(randomBytes(32)),
    clock,
    peers: [{ name: 'b', url: 'http://b.test', regions: ['eu-west-1'], secret }],
    peerFetch,
    peerSigner: createPeerSigner(),
  });
  const b = createKms({
    region: 'eu-west-1',
    protector: await createRootKeyProtector(randomBytes(32)),
    clock,
    peers: [{ name: 'a', url: 'http://a.test', regions: ['us-east-1'], secret }],
    peerFetch,
    peerSigner: createPeerSigner(),
  });
  byHost['a.test'] = () => a;
  byHost['b.test'] = () => b;
  return { a, b, up, calls, secret, clock, peerFetch };
}

const current = async (k: Kms, id: string) =>
  ((await k.execute('DescribeKey', { KeyId: id })) as { KeyMetadata: { CurrentKeyMaterialId: string } }).KeyMetadata.CurrentKeyMaterialId;
const rotations = async (k: Kms, id: string) =>
  ((await k.execute('ListKeyRotations', { KeyId: id })) as { Rotations: { KeyMaterialId: string }[] }).Rotations.map((r) => r.KeyMaterialId);
const encrypt = async (k: Kms, id: string, text: string) =>
  ((await k.execute('Encrypt', { KeyId: id, Plaintext: enc.encode(text) })) as { CiphertextBlob: Uint8Array }).CiphertextBlob;
const decrypt = async (k: Kms, blob: Uint8Array) => {
  const out = (await k.execute('Decrypt', { CiphertextBlob: blob })) as { Plaintext: Uint8Array; KeyMaterialId: string; KeyId: string };
  return { text: dec.decode(out.Plaintext), material: out.KeyMaterialId, keyId: out.KeyId };
};

describe('multi-Region keys across deployments', () => {
  it('replicates to a peer, rotations converge, a replica that was down catches up in order', async () => {
    const { a, b, up } = await pair();
    const id = ((await a.execute('CreateKey', { MultiRegion: true })) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    const v1 = await encrypt(a, id, 'one');
    const answer = (await a.execute('ReplicateKey', { KeyId: id, ReplicaRegion: 'eu-west-1', Description: 'far' })) as {
      ReplicaKeyMetadata: Record<string, unknown>;
    };
    expect(answer.ReplicaKeyMetadata).toMatchObject({ Arn: `arn:aws:kms:eu-west-1:111122223333:key/${id}`, KeyState: 'Creating', Description: 'far' });
    await a.replication!.idle();
    const md = (await b.execute('DescribeKey', { KeyId: id })) as { KeyMetadata: Record<string, any> };
    expect(md.KeyMetadata).toMatchObject({ KeyState: 'Enabled', Description: 'far', MultiRegion: true });
    expect(md.KeyMetadata.MultiRegionConfiguration).toEqual({
      MultiRegionKeyType: 'REPLICA',
      PrimaryKey: { Arn: `arn:aws:kms:us-east-1:111122223333:key/${id}`, Region: 'us-east-1' },
      ReplicaKeys: [{ Arn: `arn:aws:kms:eu-west-1:111122223333:key/${id}`, Region: 'eu-west-1' }],
    });
    expect(await decrypt(b, v1)).toMatchObject({ text: 'one', keyId: `arn:aws:kms:eu-west-1:111122223333:key/${id}` });

    // A rotation reaches the replica, then becomes current in both.
    await a.execute('RotateKeyOnDemand', { KeyId: id });
    await a.replication!.idle();
    expect(await current(b, id)).toBe(await current(a, id));
    expect(await rotations(b, id)).toEqual(await rotations(a, id));
    const v2 = await encrypt(b, id, 'two');
    expect((await decrypt(a, v2)).text).toBe('two');

    // The replica's deployment is down: the primary keeps encrypting with the last version the
    // replica has, and shows the rotation in progress.
    up.b = false;
    const before = await current(a, id);
    await a.execute('RotateKeyOnDemand', { KeyId: id });
    await a.replication!.idle();
    expect(await current(a, id)).toBe(before);
    const status = (await a.execute('GetKeyRotationStatus', { KeyId: id })) as { OnDemandRotationStartDate?: Date };
    expect(status.OnDemandRotationStartDate).toBeInstanceOf(Date);
    await expect(a.execute('RotateKeyOnDemand', { KeyId: id })).rejects.toMatchObject({ code: 'ConflictException' });
    const v2b = await encrypt(a, id, 'still two');
    expect((await decrypt(a, v2b)).material).toBe(before);
    expect((await decrypt(b, v2b)).text).toBe('still two');
    await a.runMaintenance(); // the peer is still down: nothing changes, nothing throws
    expect(await current(a, id)).toBe(before);

    // Back up: the next maintenance delivers, the version becomes current in both.
    up.b = true;
    await a.runMaintenance();
    await a.replication!.idle();
    expect(await current(a, id)).not.toBe(before);
    expect(await current(b, id)).toBe(await current(a, id));
    expect(await rotations(b, id)).toEqual(await rotations(a, id));
    expect(await rotations(a, id)).toHaveLength(2);
    expect(((await a.execute('GetKeyRotationStatus', { KeyId: id })) as { OnDemandRotationStartDate?: Date }).OnDemandRotationStartDate).toBeUndefined();
    for (const blob of [v1, v2, v2b, await encrypt(a, id, 'three'), await encrypt(b, id, 'three')]) {
      expect((await decrypt(a, blob)).text).toBe((await decrypt(b, blob)).text);
    }
    // Rotation settings are shared too, and refused on the replica.
    await a.execute('EnableKeyRotation', { KeyId: id, RotationPeriodInDays: 90 });
    await a.replication!.idle();
    expect(await b.execute('GetKeyRotationStatus', { KeyId: id })).toMatchObject({ KeyRotationEnabled: true, RotationPeriodInDays: 90 });
    await expect(b.execute('RotateKeyOnDemand', { KeyId: id })).rejects.toMatchObject({ code: 'UnsupportedOperationException' });
  });

  it('refuses unsigned, wrongly signed and foreign-Region peer messages, and changes nothing', async () => {
    const { b } = await pair();
    const unsigned = await b.handlePeer!(new Request('http://b.test/_edge-kms-peer/v1', { method: 'POST', body: '{}' }));
    expect(unsigned.status).toBe(403);
    expect(((await unsigned.json()) as { __type: string }).__type).toBe('MissingAuthenticationTokenException');
    const { AwsClient } = await import('aws4fetch');
    const wrong = new AwsClient({ accessKeyId: 'EKPEER00000000000000', secretAccessKey: 'x', service: 'edge-kms-peer', region: 'us-east-1' });
    const forged = await b.handlePeer!(
      await wrong.sign('http://b.test/_edge-kms-peer/v1', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-amz-target': 'EdgeKmsPeer.deliver' },
        body: '{}',
      }),
    );
    expect(((await forged.json()) as { __type: string }).__type).toBe('UnrecognizedClientException');
    expect(((await b.execute('ListKeys', {})) as { Keys: unknown[] }).Keys).toEqual([]);
    // The peer's Regions are not served here.
    await expect(b.inRegion('eu-west-1').execute('ListKeys', {})).resolves.toBeDefined();
    expect(() => b.inRegion('us-east-1')).toThrow(/Credential should be scoped to a valid region/);
  });

  it('refuses a signed message with malformed shared properties and changes nothing', async () => {
    const { a, b, secret } = await pair();
    const id = ((await a.execute('CreateKey', { MultiRegion: true })) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    await a.execute('ReplicateKey', { KeyId: id, ReplicaRegion: 'eu-west-1' });
    await a.replication!.idle();
    const before = JSON.stringify(await b.inRegion('eu-west-1').engine.store.getKey(id));
    const { AwsClient } = await import('aws4fetch');
    // The link's own credentials, derived as the peers derive them (a peer gone wrong).
    const raw = Uint8Array.from(atob(secret), (c) => c.charCodeAt(0));
    const base = await crypto.subtle.importKey('raw', raw, 'HKDF', false, ['deriveBits']);
    const bits = async (info: string) =>
      new Uint8Array(
        await crypto.subtle.deriveBits(
          { name: 'HKDF', hash: 'SHA-256', salt: new TextEncoder().encode('edge-kms peer link v1'), info: new TextEncoder().encode(info) },
          base,
          256,
        ),
      );
    const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
    const signer = new AwsClient({
      accessKeyId: `EKPEER${hex((await bits('access key id')).subarray(0, 7)).toUpperCase()}`,
      secretAccessKey: toBase64(await bits('sigv4 secret')),
      service: 'edge-kms-peer',
      region: 'us-east-1',
    });
    const md = (await a.execute('DescribeKey', { KeyId: id })) as { KeyMetadata: { CurrentKeyMaterialId: string } };
    const good = {
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CurrentVersion: 1,
      CurrentKeyMaterialId: md.KeyMetadata.CurrentKeyMaterialId,
      Rotation: { Enabled: false },
      OnDemandRotationCount: 0,
      PrimaryRegion: 'us-east-1',
      ReplicaRegions: ['eu-west-1'],
    };
    const send = async (key: object, seq = 1000) => {
      const body = JSON.stringify({
        v: 1,
        type: 'deliver',
        account: '111122223333',
        keyId: id,
        primaryRegion: 'us-east-1',
        replicaRegion: 'eu-west-1',
        seq,
        key,
        versions: [],
      });
      const r = await b.handlePeer!(
        await signer.sign('http://b.test/_edge-kms-peer/v1', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-amz-target': 'EdgeKmsPeer.deliver' },
          body,
        }),
      );
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    for (const bad of [
      { ...good, Rotation: null },
      { ...good, KeyUsage: 'SIGN_VERIFY' },
      { ...good, PrimaryRegion: 'ap-south-1' },
      { ...good, ReplicaRegions: ['ap-south-1'] },
      { ...good, CurrentVersion: 0 },
      { ...good, OnDemandRotationCount: -1 },
      { ...good, PendingRotation: { Version: 7, KeyMaterialId: 'a'.repeat(64), Type: 'ON_DEMAND', StartDate: 0 } },
    ]) {
      expect(await send(bad)).toMatchObject({ status: 400, body: { __type: 'ValidationException' } });
    }
    // Well-formed, but naming material the replica does not hold: not applied.
    const applied = JSON.parse(before).MultiRegionConfiguration.SharedSeq as number;
    expect((await send({ ...good, CurrentKeyMaterialId: 'f'.repeat(64) })).body).toMatchObject({ ok: true, seq: applied });
    expect(JSON.stringify(await b.inRegion('eu-west-1').engine.store.getKey(id))).toBe(before);
    // The real primary's next change still reaches the replica.
    await a.execute('EnableKeyRotation', { KeyId: id });
    await a.replication!.idle();
    expect(await b.execute('GetKeyRotationStatus', { KeyId: id })).toMatchObject({ KeyRotationEnabled: true });
  });

  it('a replica deleted in its own deployment can be made again; the peer Region stays unserved here', async () => {
    const { a, b } = await pair();
    const id = ((await a.execute('CreateKey', { MultiRegion: true })) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    await a.execute('ReplicateKey', { KeyId: id, ReplicaRegion: 'eu-west-1' });
    expect(() => a.inRegion('eu-west-1')).toThrow(/Credential should be scoped to a valid region/);
    await expect(a.execute('ReplicateKey', { KeyId: id, ReplicaRegion: 'eu-west-1' })).rejects.toMatchObject({ code: 'AlreadyExistsException' });
    await b.execute('ScheduleKeyDeletion', { KeyId: id, PendingWindowInDays: 7 });
    (b.engine.clock as ReturnType<typeof createTestClock>).advanceDays(8);
    await b.runMaintenance();
    await expect(b.execute('DescribeKey', { KeyId: id })).rejects.toMatchObject({ code: 'NotFoundException' });
    const again = (await a.execute('ReplicateKey', { KeyId: id, ReplicaRegion: 'eu-west-1' })) as { ReplicaKeyMetadata: { Arn: string } };
    expect(again.ReplicaKeyMetadata.Arn).toBe(`arn:aws:kms:eu-west-1:111122223333:key/${id}`);
    await a.replication!.idle();
    expect(((await b.execute('DescribeKey', { KeyId: id })) as { KeyMetadata: { KeyState: string } }).KeyMetadata.KeyState).toBe('Enabled');
  });

  it('with KMS_PEERS emptied, a pending rotation completes and the remote replicas leave the set', async () => {
    const { a, up } = await pair();
    const id = ((await a.execute('CreateKey', { MultiRegion: true })) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    await a.execute('ReplicateKey', { KeyId: id, ReplicaRegion: 'eu-west-1' });
    await a.replication!.idle();
    up.b = false;
    await a.execute('RotateKeyOnDemand', { KeyId: id });
    await a.replication!.idle();
    const alone = createKms({ store: a.store, protector: a.engine.protector, clock: a.engine.clock, onInternalError: () => undefined });
    await alone.runMaintenance();
    const md = (await alone.execute('DescribeKey', { KeyId: id })) as { KeyMetadata: { MultiRegionConfiguration: { ReplicaKeys: unknown[] } } };
    expect(md.KeyMetadata.MultiRegionConfiguration.ReplicaKeys).toEqual([]);
    expect(((await alone.execute('ListKeyRotations', { KeyId: id })) as { Rotations: unknown[] }).Rotations).toHaveLength(1);
  });
});
