/**
 * Issue 16, across deployments at the edge: two Workers in workerd (Miniflare), each with its own
 * Durable Object store and root key, one serving us-east-1 and one eu-west-1, each the other's
 * peer (KMS_PEERS). A multi-Region key made in one is replicated to the other; rotations reach
 * it, also after the replica's Worker was down.
 */
import { randomBytes } from 'node:crypto';
import { KMS } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../../packages/cloudflare/scripts/miniflare.js';
import { freePort } from '../helpers/server.js';
import { tempDir, worker } from './harness.js';

const secret = randomBytes(32).toString('base64');
const credentials = { accessKeyId: 'AKIDPEERS', secretAccessKey: 'x' };
let a: RunningWorker;
let b: RunningWorker | undefined;
let portA = 0;
let portB = 0;
const dirB = tempDir('edge-kms-peer-b-');

const peers = (name: string, port: number, region: string) => JSON.stringify([{ name, url: `http://127.0.0.1:${port}`, regions: [region], secret }]);
const randomRoot = randomBytes(32).toString('base64');
const startB = () =>
  worker({
    persistDir: dirB,
    port: portB,
    bindings: { KMS_REGION: 'eu-west-1', KMS_PEERS: peers('us', portA, 'us-east-1'), KMS_ROOT_KEY: randomRoot },
  });

beforeAll(async () => {
  [portA, portB] = [await freePort(), await freePort()];
  a = await worker({ port: portA, bindings: { KMS_REGION: 'us-east-1', KMS_PEERS: peers('eu', portB, 'eu-west-1') } });
  b = await startB();
}, 120_000);

afterAll(async () => {
  await a?.dispose();
  await b?.dispose();
});

const client = (url: () => string, region: string) => new KMS({ endpoint: async () => ({ url: new URL(url()) }), region, credentials, maxAttempts: 1 });

async function eventually(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('did not converge');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Workers as peers', () => {
  it('replicates a multi-Region key to another Worker and converges after it was down', async () => {
    const us = client(() => a.url, 'us-east-1');
    const eu = client(() => b!.url, 'eu-west-1');
    const current = async (c: KMS, id: string) => (await c.describeKey({ KeyId: id })).KeyMetadata!.CurrentKeyMaterialId;
    const id = (await us.createKey({ MultiRegion: true })).KeyMetadata!.KeyId!;
    const v1 = (await us.encrypt({ KeyId: id, Plaintext: new Uint8Array([1]) })).CiphertextBlob!;
    await us.replicateKey({ KeyId: id, ReplicaRegion: 'eu-west-1' });
    expect((await eu.decrypt({ CiphertextBlob: v1 })).Plaintext).toEqual(new Uint8Array([1]));
    await us.rotateKeyOnDemand({ KeyId: id });
    await eventually(async () => (await current(eu, id)) === (await current(us, id)) && (await eu.listKeyRotations({ KeyId: id })).Rotations!.length === 1);

    await b!.dispose();
    b = undefined;
    const before = await current(us, id);
    await us.rotateKeyOnDemand({ KeyId: id });
    expect((await us.getKeyRotationStatus({ KeyId: id })).OnDemandRotationStartDate).toBeInstanceOf(Date);
    expect(await current(us, id)).toBe(before);

    b = await startB();
    await fetch(`${a.url}/_edge-kms/maintenance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await eventually(async () => (await current(us, id)) !== before && (await current(eu, id)) === (await current(us, id)));
    const v3 = (await eu.encrypt({ KeyId: id, Plaintext: new Uint8Array([3]) })).CiphertextBlob!;
    expect((await us.decrypt({ CiphertextBlob: v3 })).Plaintext).toEqual(new Uint8Array([3]));
    expect((await eu.decrypt({ CiphertextBlob: v1 })).Plaintext).toEqual(new Uint8Array([1]));
    us.destroy();
    eu.destroy();
  });
});
