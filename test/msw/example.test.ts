// example.test.ts: Node (Vitest here; Jest or node:test the same way)
import { CreateKeyCommand, DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { kmsHandlers } from '@edge-kms/msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';

const mock = kmsHandlers(); // every Region, each its own keyspace; keys in memory
const server = setupServer(...mock);

beforeAll(() => server.listen({ onUnhandledRequest: 'bypass' }));
afterEach(() => mock.reset());
afterAll(() => server.close());

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

it('keeps regions apart, as AWS does', async () => {
  const eu = new KMSClient({ region: 'eu-west-1', credentials });
  const us = new KMSClient({ region: 'us-east-1', credentials });
  const { KeyMetadata } = await eu.send(new CreateKeyCommand({}));
  await expect(us.send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId }))).rejects.toMatchObject({ name: 'NotFoundException' });
  const inProcess = await mock.kmsFor('eu-west-1'); // the edge-kms behind eu-west-1
  expect((await inProcess.execute('ListKeys', {})).Keys).toHaveLength(1);
});

it('fails the way AWS fails', async () => {
  mock.injectFault({ operation: 'DescribeKey', error: 'KMSInternalException' }); // until clearFaults() or reset()
  const kms = new KMSClient({ region: 'us-east-1', credentials, maxAttempts: 1 });
  await expect(kms.send(new DescribeKeyCommand({ KeyId: 'alias/any' }))).rejects.toMatchObject({ name: 'KMSInternalException' });
});
