/**
 * @edge-kms/msw in real Chromium (Vitest browser mode) with setupWorker from msw/browser and the
 * real service worker (test/msw/public/mockServiceWorker.js, served at /mockServiceWorker.js by
 * the browser project's publicDir): the AWS SDK for JavaScript v3 and @edge-kms/client fetch
 * https://kms.<region>.amazonaws.com from the page and get a real, stateful edge-kms; a fetch
 * that is not KMS goes to the network untouched.
 * Run: npx vitest run --project browser packages/msw
 */
import { CreateKeyCommand, DescribeKeyCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { createKmsClient } from '@edge-kms/client';
import { setupWorker } from 'msw/browser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { automaticRotationFlow, CREDENTIALS, edgeClientFlow, envelopeFlow, rotationFlow } from '../../../test/msw/flows.js';
import { kmsHandlers } from './handlers.js';

const mock = kmsHandlers();
const worker = setupWorker(...mock);
// request:start is emitted before a request is handled, so by the end of a test every request
// of that test is in `started`. Response events may come later (MSW emits them once the response
// is in), even after the next test began: they are checked by URL, with polling.
const started: string[] = [];
const responses: { type: 'mocked' | 'bypass'; url: string }[] = [];
worker.events.on('request:start', ({ request }) => void started.push(request.url));
worker.events.on('response:mocked', ({ request }) => void responses.push({ type: 'mocked', url: request.url }));
worker.events.on('response:bypass', ({ request }) => void responses.push({ type: 'bypass', url: request.url }));

beforeAll(async () => {
  await worker.start({ onUnhandledRequest: 'bypass', quiet: true });
});
afterAll(() => worker.stop());
beforeEach(async () => {
  started.length = 0;
  await mock.reset();
});

const sdk = (region = 'us-east-1') => new KMSClient({ region, credentials: CREDENTIALS });

describe('through the service worker', () => {
  it('the page is controlled by the MSW service worker', () => {
    expect(navigator.serviceWorker.controller?.scriptURL).toBe(new URL('/mockServiceWorker.js', location.origin).href);
  });

  it('AWS SDK v3: rotation, the old ciphertext decrypts under its KeyMaterialId', async () => {
    await rotationFlow(sdk());
    expect(started.length).toBeGreaterThan(5);
    expect(new Set(started)).toEqual(new Set(['https://kms.us-east-1.amazonaws.com/']));
    await expect.poll(() => responses.filter((r) => r.type === 'mocked').length).toBeGreaterThanOrEqual(started.length);
  });

  it('AWS SDK v3: envelope encryption with GenerateDataKey', async () => {
    await envelopeFlow(sdk('eu-west-1'));
    expect(new Set(started)).toEqual(new Set(['https://kms.eu-west-1.amazonaws.com/']));
  });

  it('AWS SDK v3: EnableKeyRotation + advanceDays(365) gives an AUTOMATIC rotation', async () => {
    await automaticRotationFlow(sdk(), mock);
  });

  it('@edge-kms/client at the default endpoint: rotation and envelope encrypt/decrypt', async () => {
    await edgeClientFlow(createKmsClient({ region: 'eu-central-1', credentials: CREDENTIALS }), 'eu-central-1');
    expect(new Set(started)).toEqual(new Set(['https://kms.eu-central-1.amazonaws.com/']));
  });

  it('regions are separate; faults reach the SDK as AWS errors', async () => {
    const { KeyMetadata } = await sdk('eu-west-1').send(new CreateKeyCommand({}));
    await expect(sdk('us-east-1').send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId }))).rejects.toMatchObject({ name: 'NotFoundException' });
    mock.injectFault({ operation: 'Encrypt', error: 'ThrottlingException', times: 2 });
    const out = await sdk('eu-west-1').send(new EncryptCommand({ KeyId: KeyMetadata!.KeyId, Plaintext: new Uint8Array([1]) }));
    expect(out.$metadata.attempts).toBe(3);
    mock.injectFault({ operation: 'Encrypt', error: 'KMSInternalException' });
    await expect(
      new KMSClient({ region: 'eu-west-1', credentials: CREDENTIALS, maxAttempts: 1 }).send(
        new EncryptCommand({ KeyId: KeyMetadata!.KeyId, Plaintext: new Uint8Array([1]) }),
      ),
    ).rejects.toMatchObject({ name: 'KMSInternalException', $metadata: { httpStatusCode: 500 } });
  });

  it('an unrelated fetch passes through to the network untouched', async () => {
    mock.injectFault({ error: 'KMSInternalException' }); // applies to KMS requests only
    const res = await fetch('/mockServiceWorker.js', { cache: 'no-store' });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Mock Service Worker');
    // A POST that looks like a KMS call, to a URL that is not a KMS endpoint.
    const notKms = `${location.origin}/not-kms?${Date.now()}`;
    const post = await fetch(notKms, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.CreateKey' },
      body: '{}',
    });
    expect(post.headers.get('x-amzn-requestid')).toBeNull(); // not answered by the KMS
    expect(started).toEqual([`${location.origin}/mockServiceWorker.js`, notKms]);
    await expect
      .poll(() => responses.filter((r) => r.url === notKms || r.url.endsWith('/mockServiceWorker.js')).map((r) => r.type))
      .toEqual(['bypass', 'bypass']);
    mock.clearFaults();
  });
});
