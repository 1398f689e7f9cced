/**
 * Request-rate quotas: AWS's defaults and shared cryptographic quota, one bucket per identity (or
 * per account), refilled by the clock; a throttled call is AWS's ThrottlingException, changes
 * nothing, and the AWS SDK treats it as throttling (it retries and then succeeds).
 * Run: npx vitest run packages/core/src/quotas.test.ts
 */
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { createTestClock } from './clock.js';
import { KmsError } from './errors.js';
import { createKms } from './kms.js';
import { awsCryptographicRate, createRequestQuotas, THROTTLING_MESSAGE } from './quotas.js';

const alice = { accountId: '111122223333', arn: 'arn:aws:iam::111122223333:user/alice' };
const bob = { accountId: '111122223333', arn: 'arn:aws:iam::111122223333:user/bob' };

function throttled(f: () => void): boolean {
  try {
    f();
    return false;
  } catch (e) {
    expect(e).toBeInstanceOf(KmsError);
    expect((e as KmsError).code).toBe('ThrottlingException');
    expect((e as KmsError).message).toBe(THROTTLING_MESSAGE);
    return true;
  }
}

/** How many calls in a row pass before the first is throttled (stops at `max`). */
function burst(take: () => void, max = 100_000): number {
  let n = 0;
  while (n < max && !throttled(take)) n++;
  return n;
}

describe('request quotas', () => {
  it("AWS's defaults: CreateKey 5/s, DescribeKey 2000/s, the shared cryptographic quota by Region", () => {
    const clock = createTestClock(0);
    const q = createRequestQuotas('eu-north-1', { clock });
    expect(burst(() => q.take('CreateKey', alice))).toBe(5);
    expect(burst(() => q.take('DescribeKey', alice))).toBe(2000);
    // Encrypt, Decrypt, GenerateDataKey… share one bucket.
    let n = 0;
    const ops = ['Encrypt', 'Decrypt', 'GenerateDataKey', 'ReEncrypt', 'GenerateRandom'];
    while (!throttled(() => q.take(ops[n % ops.length]!, alice))) n++;
    expect(n).toBe(10_000);
    expect(awsCryptographicRate('us-east-1')).toBe(100_000);
    expect(awsCryptographicRate('eu-west-2')).toBe(20_000);
    expect(awsCryptographicRate('sa-east-1')).toBe(10_000);
  });

  it('refill at the rate, never above one second of requests', () => {
    const clock = createTestClock(0);
    const q = createRequestQuotas('us-east-1', { clock });
    expect(burst(() => q.take('CreateKey', alice))).toBe(5);
    clock.advance(200); // one CreateKey's worth
    expect(burst(() => q.take('CreateKey', alice))).toBe(1);
    clock.advance(60_000);
    expect(burst(() => q.take('CreateKey', alice))).toBe(5);
    // GetParametersForImport at 1/s scaled to 0.1/s: one call, then one every 10 s.
    const slow = createRequestQuotas('us-east-1', { clock, scale: 0.1 });
    expect(burst(() => slow.take('GetParametersForImport', alice))).toBe(1);
    clock.advance(9_000);
    expect(burst(() => slow.take('GetParametersForImport', alice))).toBe(0);
    clock.advance(1_000);
    expect(burst(() => slow.take('GetParametersForImport', alice))).toBe(1);
  });

  it('per identity by default, per account when asked; rates and scale override the defaults', () => {
    const clock = createTestClock(0);
    const q = createRequestQuotas('us-east-1', { clock, rates: { CreateKey: 2, cryptographic: 3 } });
    expect(burst(() => q.take('CreateKey', alice))).toBe(2);
    expect(burst(() => q.take('CreateKey', bob))).toBe(2);
    expect(burst(() => q.take('Encrypt', alice))).toBe(3);
    const account = createRequestQuotas('us-east-1', { clock, per: 'account', scale: 0.5 });
    expect(burst(() => account.take('TagResource', alice))).toBe(5);
    expect(burst(() => account.take('TagResource', bob))).toBe(0);
    const none = createRequestQuotas('us-east-1', { clock, rates: { ListKeys: 0 } });
    expect(burst(() => none.take('ListKeys', alice))).toBe(0);
    expect(() => createRequestQuotas('us-east-1', { rates: { ListKeys: -1 } })).toThrow(TypeError);
  });

  it('in the KMS: over-the-wire calls are counted, trusted in-process calls are not, a throttled call changes nothing', async () => {
    const clock = createTestClock(Date.UTC(2030, 0, 1));
    const kms = createKms({ requestQuotas: { clock, rates: { CreateKey: 1 } } });
    for (let i = 0; i < 3; i++) await kms.execute('CreateKey', {}); // no caller: trusted, not counted
    await kms.execute('CreateKey', {}, { caller: kms.rootCaller });
    await expect(kms.execute('CreateKey', {}, { caller: kms.rootCaller })).rejects.toThrow(THROTTLING_MESSAGE);
    expect(((await kms.execute('ListKeys', {})) as { Keys: unknown[] }).Keys).toHaveLength(4);

    const r = await kms.handle(
      new Request('http://localhost/', {
        method: 'POST',
        headers: { 'x-amz-target': 'TrentService.CreateKey', 'content-type': 'application/x-amz-json-1.1' },
        body: '{}',
      }),
    );
    expect(r.status).toBe(400);
    expect(r.headers.get('x-amzn-errortype')).toBe('ThrottlingException:');
    expect(await r.json()).toEqual({ __type: 'ThrottlingException', message: THROTTLING_MESSAGE });
    expect(((await kms.execute('ListKeys', {})) as { Keys: unknown[] }).Keys).toHaveLength(4);
  });

  it('the AWS SDK v3 retries a throttled call with backoff and then succeeds', async () => {
    const kms = createKms({ requestQuotas: { rates: { CreateKey: 4 } } });
    const client = new KMSClient({
      region: 'us-east-1',
      endpoint: 'http://kms.test',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 10,
      requestHandler: {
        handle: async (req: { method: string; headers: Record<string, string>; body?: string }) => {
          const res = await kms.handle(new Request('http://kms.test/', { method: req.method, headers: req.headers, body: req.body }));
          return { response: { statusCode: res.status, headers: Object.fromEntries(res.headers), body: new Uint8Array(await res.arrayBuffer()) } };
        },
      } as never,
    });
    let attempts = 0;
    for (let i = 0; i < 6; i++) attempts += (await client.send(new CreateKeyCommand({}))).$metadata.attempts ?? 1;
    client.destroy();
    expect(attempts).toBeGreaterThan(6); // some calls were throttled first, and all succeeded
    expect(((await kms.execute('ListKeys', {})) as { Keys: unknown[] }).Keys).toHaveLength(6);
  });
});

describe('parseRequestQuotas (KMS_REQUEST_QUOTAS)', () => {
  it('reads off, aws and JSON, and refuses anything else', async () => {
    const { parseRequestQuotas } = await import('./quotas.js');
    for (const off of [undefined, '', '0', 'off', 'false']) expect(parseRequestQuotas(off)).toBe(false);
    for (const on of ['aws', '1', 'on', 'true']) expect(parseRequestQuotas(on)).toEqual({});
    expect(parseRequestQuotas('{"scale":0.1,"per":"account","rates":{"cryptographic":500}}')).toEqual({
      scale: 0.1,
      per: 'account',
      rates: { cryptographic: 500 },
    });
    for (const bad of ['yes', '[]', '{"scale":"x"}', '{"per":"ip"}', '{"rates":{"Encrypt":-1}}', '{"burst":3}', '{"rates":[1]}']) {
      expect(() => parseRequestQuotas(bad), bad).toThrow(TypeError);
    }
  });
});
