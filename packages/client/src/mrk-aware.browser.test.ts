/**
 * createMrkAwareKms in real Chromium (Vitest browser mode): the nearest Region's client talks to
 * an address that refuses (fetch rejects), the next one is an in-process edge-kms acting in
 * eu-west-1; a multi-Region key's envelope message is decrypted there with the KeyId rewritten,
 * a single-Region key's is not tried there, and AllRegionsFailedError (an AggregateError) names
 * the failure. The same over real HTTP in Node: test/client/mrk-aware.test.ts.
 * Run: npx vitest run --project browser packages/client/src/mrk-aware.browser.test.ts
 */
import { createKms } from '@edge-kms/core';
import { expect, it } from 'vitest';
import { createKmsClient } from './client.js';
import { decryptBytes, encryptBytes } from './envelope.js';
import { AllRegionsFailedError, createMrkAwareKms, type FallbackEvent } from './mrk-aware.js';

it('decrypts through eu-west-1 when us-east-1 does not answer, and names the failure for a single-Region key', async () => {
  const kms = createKms();
  const mrk = ((await kms.execute('CreateKey', { MultiRegion: true })) as { KeyMetadata: { Arn: string } }).KeyMetadata.Arn;
  await kms.execute('ReplicateKey', { KeyId: mrk, ReplicaRegion: 'eu-west-1' });
  const single = ((await kms.execute('CreateKey', {})) as { KeyMetadata: { Arn: string } }).KeyMetadata.Arn;
  const inUs = createKmsClient({ kms });
  const asked: string[] = [];
  const eu = createKmsClient({
    kms: { execute: (op, input) => (asked.push((input as { KeyId?: string }).KeyId ?? ''), kms.inRegion('eu-west-1').execute(op, input)) },
  });
  // Port 9 (discard): refused, and on Chromium's blocked-port list, so fetch rejects at once.
  const down = createKmsClient({ endpoint: 'http://127.0.0.1:9/', region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const events: FallbackEvent[] = [];
  const mrkAware = createMrkAwareKms(
    [
      { region: 'us-east-1', client: down },
      { region: 'eu-west-1', client: eu },
    ],
    { onFallback: (e) => events.push(e) },
  );
  const data = new TextEncoder().encode('near, then far');
  const out = await decryptBytes(mrkAware, await encryptBytes(inUs, data, { keyId: mrk }));
  expect(out.plaintext).toEqual(data);
  expect(out.keyId).toBe(mrk.replace(':us-east-1:', ':eu-west-1:'));
  expect(asked).toEqual([out.keyId]);
  expect(events.map((e) => [e.region, e.next, (e.error as Error).name])).toEqual([['us-east-1', 'eu-west-1', 'TypeError']]);

  const e = await decryptBytes(mrkAware, await encryptBytes(inUs, data, { keyId: single })).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(AllRegionsFailedError);
  expect(e).toBeInstanceOf(AggregateError);
  expect((e as AllRegionsFailedError).failures.map((f) => f.region)).toEqual(['us-east-1']);
  expect((e as Error).message).toContain('us-east-1: TypeError: Failed to fetch');
  expect(asked).toHaveLength(1);
});
