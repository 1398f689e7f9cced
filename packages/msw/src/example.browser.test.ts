// example.browser.test.ts: Vitest browser mode; mockServiceWorker.js is served from the public dir
import { CreateKeyCommand, DecryptCommand, EnableKeyRotationCommand, EncryptCommand, KMSClient, ListKeyRotationsCommand } from '@aws-sdk/client-kms';
import { createIdbStore } from '@edge-kms/idb';
import { kmsHandlers } from '@edge-kms/msw';
import { setupWorker } from 'msw/browser';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';

// A real, stateful KMS behind https://kms.<region>.amazonaws.com, inside the page.
const mock = kmsHandlers({
  region: 'eu-west-1', // the default Region (custom endpoints, mock.kms); each AWS endpoint acts in its own
  store: createIdbStore({ name: 'kms-mock' }), // IndexedDB: keys survive page reloads (default: memory)
  seed: [{ KeyId: '6f6f4b1e-0c4d-4f7a-9d3e-2b1c0a9f8e7d', AliasName: 'alias/app', KeyMaterial: new Uint8Array(32).fill(7) }],
});
const worker = setupWorker(...mock);

beforeAll(() => worker.start({ onUnhandledRequest: 'bypass', quiet: true }));
afterEach(() => mock.reset()); // back to the seeded keys only; faults cleared
afterAll(() => worker.stop());

// The code under test uses the AWS SDK as in production: no endpoint override.
const kms = new KMSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

it('encrypts and decrypts with the seeded key', async () => {
  const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: 'alias/app', Plaintext: new TextEncoder().encode('hi') }));
  const { Plaintext, KeyId } = await kms.send(new DecryptCommand({ CiphertextBlob }));
  expect(new TextDecoder().decode(Plaintext)).toBe('hi');
  expect(KeyId).toBe('arn:aws:kms:eu-west-1:111122223333:key/6f6f4b1e-0c4d-4f7a-9d3e-2b1c0a9f8e7d');
});

it('rotates automatically a year later', async () => {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
  await kms.send(new EnableKeyRotationCommand({ KeyId: KeyMetadata!.KeyId, RotationPeriodInDays: 365 }));
  await mock.advanceDays(365); // moves mock.clock and runs the rotations that became due
  const { Rotations } = await kms.send(new ListKeyRotationsCommand({ KeyId: KeyMetadata!.KeyId }));
  expect(Rotations!.map((r) => r.RotationType)).toEqual(['AUTOMATIC']);
});

it('retries when KMS throttles', async () => {
  mock.injectFault({ operation: 'Encrypt', error: 'ThrottlingException', times: 2 });
  const out = await kms.send(new EncryptCommand({ KeyId: 'alias/app', Plaintext: new Uint8Array([1]) }));
  expect(out.$metadata.attempts).toBe(3); // two throttled attempts, then success
});
