/**
 * The MSW mock with AWS-like request quotas: the AWS SDK v3 sees ThrottlingException from the
 * mocked endpoint (maxAttempts 1), and with retries it backs off and succeeds.
 * Run: npx vitest run --project e2e test/msw/quotas.test.ts
 */
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { kmsHandlers } from '@edge-kms/msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, expect, it } from 'vitest';

const mock = kmsHandlers({ requestQuotas: { rates: { CreateKey: 2 } } });
const server = setupServer(...mock);
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

it('throttles CreateKey at the configured rate, with AWS’s error', async () => {
  const once = new KMSClient({ region: 'eu-west-1', credentials, maxAttempts: 1 });
  const results = await Promise.allSettled(Array.from({ length: 4 }, () => once.send(new CreateKeyCommand({}))));
  const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
  expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
  expect(failed).toHaveLength(2);
  for (const f of failed) {
    expect(f.reason.name).toBe('ThrottlingException');
    expect(f.reason.message).toBe('You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.');
  }
  const retrying = new KMSClient({ region: 'eu-west-1', credentials, maxAttempts: 8 });
  const out = await retrying.send(new CreateKeyCommand({}));
  expect(out.KeyMetadata?.KeyId).toBeTruthy();
  once.destroy();
  retrying.destroy();
});
