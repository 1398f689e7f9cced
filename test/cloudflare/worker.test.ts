/**
 * The edge-kms Worker in real workerd (Miniflare), driven with @aws-sdk/client-kms over HTTP:
 * the symmetric and rotation flows, the cron trigger rotating due keys, history surviving a
 * restart of the runtime with persisted state, SigV4 verification with identities from the
 * secret, refusal to run without a root key or identities, and a dump of the persisted state that
 * holds no key material, data key or root key in the clear.
 * Run: npx vitest run test/cloudflare/worker.test.ts
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ListKeyRotationsCommand,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
} from '@aws-sdk/client-kms';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../../packages/cloudflare/scripts/miniflare.js';
import { ROOT_KEY, tempDir, worker } from './harness.js';

const running: RunningWorker[] = [];
afterAll(async () => {
  for (const w of running.splice(0)) await w.dispose().catch(() => undefined);
});

async function start(options: Parameters<typeof worker>[0] = {}): Promise<RunningWorker> {
  const w = await worker(options);
  running.push(w);
  return w;
}

function client(url: string, credentials = { accessKeyId: 'test', secretAccessKey: 'test' }): KMSClient {
  return new KMSClient({ endpoint: url, region: 'us-east-1', credentials, maxAttempts: 1 });
}

const text = (s: string) => new TextEncoder().encode(s);
const str = (b?: Uint8Array) => new TextDecoder().decode(b);
const post = (url: string, path: string, body: unknown) =>
  fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe.each(['durable-object', 'kv'])('Worker with the %s store', (storeKind) => {
  it('serves the symmetric and rotation flows, rotates due keys on cron, and keeps history across a runtime restart', async () => {
    const persistDir = tempDir('edge-kms-wk-');
    const bindings = { KMS_STORE: storeKind };
    let w = await start({ persistDir, bindings });
    let kms = client(w.url);
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: `worker ${storeKind}` }));
    const KeyId = KeyMetadata!.KeyId!;
    const v1 = await kms.send(new EncryptCommand({ KeyId, Plaintext: text('one'), EncryptionContext: { app: 'test' } }));
    await kms.send(new RotateKeyOnDemandCommand({ KeyId }));
    const v2 = await kms.send(new EncryptCommand({ KeyId, Plaintext: text('two') }));
    const dk = await kms.send(new GenerateDataKeyCommand({ KeyId, KeySpec: 'AES_256' }));
    const old = await kms.send(new DecryptCommand({ CiphertextBlob: v1.CiphertextBlob, EncryptionContext: { app: 'test' } }));
    expect(str(old.Plaintext)).toBe('one');
    expect(old.KeyMaterialId).not.toBe((await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.CurrentKeyMaterialId);
    const moved = await kms.send(
      new ReEncryptCommand({ CiphertextBlob: v1.CiphertextBlob, SourceEncryptionContext: { app: 'test' }, DestinationKeyId: KeyId }),
    );
    expect(moved.SourceKeyMaterialId).not.toBe(moved.DestinationKeyMaterialId);

    // Automatic rotation through the cron trigger.
    await kms.send(new EnableKeyRotationCommand({ KeyId, RotationPeriodInDays: 90 }));
    const before = await kms.send(new GetKeyRotationStatusCommand({ KeyId }));
    expect(before.RotationPeriodInDays).toBe(90);
    await post(w.url, '/_edge-kms/clock', { advanceDays: 91 });
    await w.scheduled();
    const rotations = await kms.send(new ListKeyRotationsCommand({ KeyId }));
    expect(rotations.Rotations!.map((r) => r.RotationType)).toEqual(['ON_DEMAND', 'AUTOMATIC']);

    // Restart workerd on the same persisted state.
    await w.dispose();
    running.splice(running.indexOf(w), 1);
    w = await start({ persistDir, bindings });
    kms = client(w.url);
    const again = await kms.send(new ListKeyRotationsCommand({ KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    expect(again.Rotations).toHaveLength(3);
    expect(str((await kms.send(new DecryptCommand({ CiphertextBlob: v1.CiphertextBlob, EncryptionContext: { app: 'test' } }))).Plaintext)).toBe('one');
    expect(str((await kms.send(new DecryptCommand({ CiphertextBlob: v2.CiphertextBlob }))).Plaintext)).toBe('two');
    expect((await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }))).Plaintext).toEqual(dk.Plaintext);
    expect(str((await kms.send(new DecryptCommand({ CiphertextBlob: moved.CiphertextBlob }))).Plaintext)).toBe('one');

    // The persisted state holds no secret in the clear: a seeded key's material, data keys, the root key.
    const material = crypto.getRandomValues(new Uint8Array(32));
    const seeded = await post(w.url, '/_edge-kms/seed', { KeyMaterial: Buffer.from(material).toString('base64') });
    expect(seeded.KeyMetadata.KeyId).toMatch(/^[0-9a-f-]{36}$/);
    const dk2 = await kms.send(new GenerateDataKeyCommand({ KeyId: seeded.KeyMetadata.KeyId, KeySpec: 'AES_256' }));
    await w.dispose();
    running.splice(running.indexOf(w), 1);
    const secrets = [Buffer.from(material), Buffer.from(dk.Plaintext!), Buffer.from(dk2.Plaintext!), Buffer.from(ROOT_KEY, 'base64')];
    const dump = files(persistDir).filter((f) => !f.endsWith('worker.js'));
    expect(dump.length).toBeGreaterThan(0);
    let bytes = 0;
    for (const f of dump) {
      const data = readFileSync(f);
      bytes += data.length;
      for (const s of secrets) {
        expect(data.includes(s), `${f} holds a secret in the clear`).toBe(false);
        expect(data.includes(Buffer.from(s.toString('base64'))), `${f} holds a secret in base64`).toBe(false);
        expect(data.includes(Buffer.from(s.toString('hex'))), `${f} holds a secret in hex`).toBe(false);
      }
    }
    // The scan looked at real data: the key id is in there.
    expect(dump.some((f) => readFileSync(f).includes(Buffer.from(KeyId)))).toBe(true);
    expect(bytes).toBeGreaterThan(1000);
  });
});

describe('Worker configuration', () => {
  it('verifies SigV4 against identities from the secret', async () => {
    const identities = [{ accessKeyId: 'AKIDWORKER', secretAccessKey: 'worker-secret', accountId: '111122223333', arn: 'arn:aws:iam::111122223333:user/edge' }];
    const w = await start({ bindings: { KMS_IDENTITIES: JSON.stringify(identities), KMS_ALLOW_OPEN: '' } });
    const good = client(w.url, { accessKeyId: 'AKIDWORKER', secretAccessKey: 'worker-secret' });
    expect((await good.send(new CreateKeyCommand({}))).KeyMetadata?.KeyState).toBe('Enabled');
    await expect(client(w.url, { accessKeyId: 'AKIDWORKER', secretAccessKey: 'wrong' }).send(new CreateKeyCommand({}))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
    });
    await expect(client(w.url, { accessKeyId: 'AKIDOTHER', secretAccessKey: 'x' }).send(new CreateKeyCommand({}))).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
    });
  });

  it('refuses to serve without a root key, or without identities unless open mode is asked for', async () => {
    const noRoot = await start({ bindings: { KMS_ROOT_KEY: '' } });
    await expect(client(noRoot.url).send(new CreateKeyCommand({}))).rejects.toMatchObject({ name: 'KMSInternalException' });
    const noIds = await start({ bindings: { KMS_ALLOW_OPEN: '' } });
    await expect(client(noIds.url).send(new CreateKeyCommand({}))).rejects.toMatchObject({ name: 'KMSInternalException' });
  });
});
