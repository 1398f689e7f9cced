/**
 * The flows the MSW mock is tested with, written once and run both in Node (setupServer,
 * test/msw/node.test.ts) and in Chromium (setupWorker and the real service worker,
 * packages/msw/src/mock.browser.test.ts): rotation and envelope encryption through the AWS SDK
 * for JavaScript v3, automatic rotation on the mock's clock, and the same through
 * @edge-kms/client. Web APIs only, so the file runs in both.
 */
import {
  CreateKeyCommand,
  DecryptCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyRotationStatusCommand,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { decrypt, encrypt, type KmsClient } from '@edge-kms/client';
import type { KmsMock } from '@edge-kms/msw';
import { expect } from 'vitest';

export const CREDENTIALS = { accessKeyId: 'AKIAMSWMOCKTEST00000', secretAccessKey: 'msw-mock-test-secret' };
export const DAY_MS = 86_400_000;

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

/**
 * Create a key, encrypt, rotate on demand, encrypt again; both ciphertexts decrypt, each under the
 * key material that made it (Decrypt's KeyMaterialId), and ListKeyRotations shows the history.
 */
export async function rotationFlow(kms: KMSClient): Promise<{ keyId: string }> {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'msw rotation flow' }));
  const keyId = KeyMetadata!.KeyId!;
  expect(KeyMetadata!.KeyState).toBe('Enabled');

  const first = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: utf8('before rotation'), EncryptionContext: { app: 'msw' } }));
  const firstMaterial = (await kms.send(new DecryptCommand({ CiphertextBlob: first.CiphertextBlob, EncryptionContext: { app: 'msw' } }))).KeyMaterialId!;
  expect(firstMaterial).toMatch(/^[0-9a-f]{64}$/);

  const rotated = await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
  // The key ARN, as AWS answers RotateKeyOnDemand.
  expect(rotated.KeyId).toBe(KeyMetadata!.Arn);

  const second = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: utf8('after rotation') }));
  const d2 = await kms.send(new DecryptCommand({ CiphertextBlob: second.CiphertextBlob }));
  expect(text(d2.Plaintext)).toBe('after rotation');
  expect(d2.KeyMaterialId).not.toBe(firstMaterial);

  // The old ciphertext still decrypts, under its old key material.
  const d1 = await kms.send(new DecryptCommand({ CiphertextBlob: first.CiphertextBlob, EncryptionContext: { app: 'msw' } }));
  expect(text(d1.Plaintext)).toBe('before rotation');
  expect(d1.KeyMaterialId).toBe(firstMaterial);
  expect(d1.KeyId).toBe(KeyMetadata!.Arn);

  const history = await kms.send(new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
  expect(history.Rotations!.map((r) => [r.KeyMaterialId, r.RotationType, r.KeyMaterialState])).toEqual([
    [firstMaterial, undefined, 'NON_CURRENT'],
    [d2.KeyMaterialId, 'ON_DEMAND', 'CURRENT'],
  ]);
  return { keyId };
}

/** GenerateDataKey, encrypt data locally with the plaintext data key, Decrypt the wrapped key, decrypt the data. */
export async function envelopeFlow(kms: KMSClient): Promise<void> {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
  const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: KeyMetadata!.KeyId, KeySpec: 'AES_256', EncryptionContext: { file: 'a.txt' } }));
  expect(dk.Plaintext).toHaveLength(32);
  expect(dk.KeyId).toBe(KeyMetadata!.Arn);

  const iv = crypto.getRandomValues(new Uint8Array(12));
  const seal = await crypto.subtle.importKey('raw', dk.Plaintext! as Uint8Array<ArrayBuffer>, 'AES-GCM', false, ['encrypt']);
  const body = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, seal, utf8('a large document')));
  dk.Plaintext!.fill(0);

  // Later: only the wrapped data key, the IV and the body are kept.
  const unwrapped = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: { file: 'a.txt' } }));
  expect(unwrapped.KeyId).toBe(KeyMetadata!.Arn);
  const open = await crypto.subtle.importKey('raw', unwrapped.Plaintext! as Uint8Array<ArrayBuffer>, 'AES-GCM', false, ['decrypt']);
  expect(text(new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, open, body)))).toBe('a large document');

  // The wrong encryption context does not unwrap it.
  await expect(kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: { file: 'b.txt' } }))).rejects.toMatchObject({
    name: 'InvalidCiphertextException',
  });
}

/**
 * EnableKeyRotation, then advanceDays(365) on the mock: an AUTOMATIC rotation appears in
 * ListKeyRotations, and what was encrypted before still decrypts under the old material.
 */
export async function automaticRotationFlow(kms: KMSClient, mock: KmsMock): Promise<void> {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
  const keyId = KeyMetadata!.KeyId!;
  await kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 365 }));
  const enabledAt = mock.clock.now();
  const status = await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
  // The bare key id, as AWS answers GetKeyRotationStatus.
  expect(status.KeyId).toBe(keyId);
  expect(status.KeyRotationEnabled).toBe(true);
  expect(status.NextRotationDate!.getTime()).toBe(enabledAt + 365 * DAY_MS);
  const old = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: utf8('last year') }));
  const oldMaterial = (await kms.send(new DecryptCommand({ CiphertextBlob: old.CiphertextBlob }))).KeyMaterialId;

  await mock.advanceDays(364);
  expect((await kms.send(new ListKeyRotationsCommand({ KeyId: keyId }))).Rotations).toEqual([]);

  await mock.advanceDays(1);
  const { Rotations } = await kms.send(new ListKeyRotationsCommand({ KeyId: keyId }));
  expect(Rotations).toHaveLength(1);
  expect(Rotations![0]!.RotationType).toBe('AUTOMATIC');
  expect(Rotations![0]!.KeyMaterialState).toBe('CURRENT');
  expect(Rotations![0]!.RotationDate!.getTime()).toBe(mock.clock.now());
  expect(Rotations![0]!.KeyMaterialId).not.toBe(oldMaterial);

  const d = await kms.send(new DecryptCommand({ CiphertextBlob: old.CiphertextBlob }));
  expect(text(d.Plaintext)).toBe('last year');
  expect(d.KeyMaterialId).toBe(oldMaterial);
  const next = await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
  expect(next.NextRotationDate!.getTime()).toBe(mock.clock.now() + 365 * DAY_MS);
}

/**
 * The same through @edge-kms/client (SigV4 over fetch to https://kms.<region>.amazonaws.com/):
 * rotation, then envelope encryption of a message whose data key is wrapped by the key; after a
 * second rotation both the plain Encrypt ciphertext and the envelope still decrypt.
 */
export async function edgeClientFlow(client: KmsClient, region: string): Promise<void> {
  const { KeyMetadata } = await client.createKey({ Description: 'msw @edge-kms/client flow' });
  expect(KeyMetadata.Arn).toContain(`:${region}:`);
  const keyId = KeyMetadata.KeyId;

  const c1 = await client.encrypt({ KeyId: keyId, Plaintext: utf8('one') });
  const m1 = (await client.decrypt({ CiphertextBlob: c1.CiphertextBlob })).KeyMaterialId;
  await client.rotateKeyOnDemand({ KeyId: keyId });

  const message = await encrypt(client, utf8('envelope body'), { keyId, encryptionContext: { purpose: 'msw' } });
  const m2 = (await decrypt(client, message)).keyMaterialId;
  expect(m2).not.toBe(m1);
  await client.rotateKeyOnDemand({ KeyId: keyId });

  const old = await client.decrypt({ CiphertextBlob: c1.CiphertextBlob });
  expect(text(old.Plaintext)).toBe('one');
  expect(old.KeyMaterialId).toBe(m1);
  const opened = await decrypt(client, message);
  expect(text(opened.plaintext)).toBe('envelope body');
  expect(opened.encryptionContext).toEqual({ purpose: 'msw' });
  expect(opened.keyId).toBe(KeyMetadata.Arn);
  expect(opened.keyMaterialId).toBe(m2);

  const { Rotations } = await client.listKeyRotations({ KeyId: keyId });
  expect(Rotations!.map((r) => r.RotationType)).toEqual(['ON_DEMAND', 'ON_DEMAND']);
}
