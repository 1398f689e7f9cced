/**
 * Request-rate quotas: AWS's defaults and the shared cryptographic quotas (symmetric and HMAC,
 * RSA, ECC, ML-DSA keys; data key pairs by KeyPairSpec), one bucket per identity (or per account),
 * refilled by the clock; a throttled call is AWS's ThrottlingException, changes
 * nothing, and the AWS SDK treats it as throttling (it retries and then succeeds).
 * Run: npx vitest run packages/core/src/quotas.test.ts
 */
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { createTestClock } from './clock.js';
import { KmsError } from './errors.js';
import { createKms } from './kms.js';
import { awsCryptographicRate, countRequest, createRequestQuotas, keyResolved, quotaOf, THROTTLING_MESSAGE } from './quotas.js';

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

  it('asymmetric keys: RSA, ECC and ML-DSA quotas shared by the operations on keys of that type, apart from the symmetric one', () => {
    const clock = createTestClock(0);
    const q = createRequestQuotas('eu-north-1', { clock });
    // AWS's 1,000 RSA requests a second, Sign, Verify, Decrypt, Encrypt and ReEncrypt together.
    const rsa = ['Sign', 'Decrypt', 'Verify', 'Encrypt', 'ReEncrypt'];
    let n = 0;
    while (!throttled(() => q.take(rsa[n % rsa.length]!, alice, n % 2 ? 'RSA_2048' : 'RSA_4096'))) n++;
    expect(n).toBe(1000);
    // Neither ECC nor ML-DSA nor symmetric (nor HMAC) requests drew on the RSA bucket, nor on each other.
    expect(burst(() => q.take('Sign', alice, 'ECC_NIST_P256'))).toBe(1000);
    expect(burst(() => q.take('Verify', alice, 'ECC_NIST_EDWARDS25519'))).toBe(0); // the same ECC bucket
    expect(burst(() => q.take('DeriveSharedSecret', alice))).toBe(0); // ECC keys only: the ECC bucket
    expect(burst(() => q.take('Sign', alice, 'ML_DSA_65'))).toBe(1000);
    expect(burst(() => q.take('Encrypt', alice, 'SYMMETRIC_DEFAULT'), 20_000)).toBe(10_000);
    expect(burst(() => q.take('GenerateMac', alice))).toBe(0); // HMAC keys: the symmetric quota
    expect(burst(() => q.take('Sign', bob, 'RSA_3072'))).toBe(1000); // bob has his own buckets
    expect(quotaOf('Sign', 'RSA_2048')).toBe('cryptographic-rsa');
    expect(quotaOf('Verify', 'ECC_SECG_P256K1')).toBe('cryptographic-ecc');
    expect(quotaOf('Decrypt', 'SM2')).toBe('cryptographic-ecc');
    expect(quotaOf('Sign', 'ML_DSA_44')).toBe('cryptographic-ml-dsa');
    expect(quotaOf('VerifyMac', 'HMAC_512')).toBe('cryptographic');
    expect(quotaOf('Decrypt')).toBe('cryptographic');
    expect(quotaOf('GetPublicKey', 'RSA_2048')).toBe('GetPublicKey');
  });

  it('GenerateDataKeyPair: a quota per KeyPairSpec, shared with GenerateDataKeyPairWithoutPlaintext', () => {
    const clock = createTestClock(0);
    const q = createRequestQuotas('us-east-1', { clock });
    const pair =
      (spec: string, withPlaintext = true) =>
      () =>
        q.take(withPlaintext ? 'GenerateDataKeyPair' : 'GenerateDataKeyPairWithoutPlaintext', alice, spec);
    expect(burst(pair('RSA_4096'))).toBe(1); // 0.1/s: one in each 10 seconds
    expect(burst(pair('RSA_4096', false))).toBe(0);
    expect(burst(pair('RSA_3072'))).toBe(1); // 0.5/s
    expect(burst(pair('RSA_2048'))).toBe(1);
    expect(burst(pair('ECC_NIST_P256'))).toBe(25); // untouched by the RSA pairs
    expect(burst(pair('ECC_NIST_P384', false))).toBe(10);
    expect(burst(pair('ECC_NIST_P521'))).toBe(5);
    expect(burst(pair('ECC_SECG_P256K1'))).toBe(25);
    expect(burst(() => q.take('GenerateDataKey', alice))).toBe(100_000); // not the symmetric quota
    clock.advance(2_000);
    expect(burst(pair('RSA_3072'))).toBe(1);
    expect(burst(pair('RSA_4096'))).toBe(0);
    clock.advance(8_000);
    expect(burst(pair('RSA_4096', false))).toBe(1);
  });

  it('rates by quota name and scale apply to the asymmetric and key pair quotas', () => {
    const clock = createTestClock(0);
    const q = createRequestQuotas('us-east-1', {
      clock,
      scale: 0.01,
      rates: { 'cryptographic-rsa': 3, 'GenerateDataKeyPair:RSA_4096': 2, 'GenerateDataKeyPair:ECC_NIST_EDWARDS25519': 1 },
    });
    expect(burst(() => q.take('Sign', alice, 'RSA_2048'))).toBe(3); // rates: not scaled
    expect(burst(() => q.take('Sign', alice, 'ECC_NIST_P256'))).toBe(10); // 1,000 × 0.01
    expect(burst(() => q.take('Verify', alice, 'ML_DSA_87'))).toBe(10);
    expect(burst(() => q.take('GenerateDataKeyPair', alice, 'RSA_4096'))).toBe(2);
    expect(burst(() => q.take('GenerateDataKeyPair', alice, 'ECC_NIST_P256'))).toBe(1); // 0.25/s: one, then one every 4 s
    expect(burst(() => q.take('GenerateDataKeyPair', alice, 'ECC_NIST_EDWARDS25519'))).toBe(1); // named, so limited
    expect(burst(() => q.take('GenerateDataKeyPair', alice, 'SM2'), 50)).toBe(50); // AWS's number not known: unlimited
    expect(burst(() => q.take('Encrypt', alice), 2000)).toBe(1000); // 100,000 × 0.01
  });

  it('countRequest: once a request, by the key engine.resolve reports; symmetric requests counted once', () => {
    const clock = createTestClock(0);
    const q = createRequestQuotas('us-east-1', { clock, rates: { cryptographic: 3, 'cryptographic-rsa': 2, CreateKey: 1 } });
    // Operations whose quota does not depend on the key are counted at once; the caller is theirs.
    expect(countRequest(q, 'CreateKey', alice, {})).toBe(alice);
    expect(throttled(() => countRequest(q, 'CreateKey', alice, {}))).toBe(true);
    // Sign: nothing taken until the key is known, then its type's quota, once.
    const sign = countRequest(q, 'Sign', alice, { KeyId: 'k' });
    expect(sign).not.toBe(alice);
    expect(sign).toEqual(alice);
    keyResolved(sign, 'RSA_2048');
    keyResolved(sign, 'RSA_2048'); // the same request again: not counted twice
    keyResolved(alice, 'RSA_2048'); // not a waiting request: nothing
    keyResolved(undefined, 'RSA_2048');
    expect(burst(() => q.take('Verify', alice, 'RSA_2048'))).toBe(1);
    // ReEncrypt between two symmetric keys: one symmetric request; from a ciphertext without a
    // SourceKeyId: counted at once (symmetric), and not again for a symmetric destination.
    keyResolved(countRequest(q, 'ReEncrypt', alice, { SourceKeyId: 'a', DestinationKeyId: 'b' }), 'SYMMETRIC_DEFAULT');
    const re = countRequest(q, 'ReEncrypt', alice, { DestinationKeyId: 'b' });
    keyResolved(re, 'SYMMETRIC_DEFAULT');
    // Decrypt without a KeyId: symmetric, counted at once, nothing left waiting.
    expect(countRequest(q, 'Decrypt', alice, { CiphertextBlob: new Uint8Array(1) })).toBe(alice);
    expect(burst(() => q.take('Encrypt', alice))).toBe(0);
    // A request over quota throws as its key is reported, before the operation goes on.
    expect(throttled(() => keyResolved(countRequest(q, 'Encrypt', alice, { KeyId: 'k' }), 'SYMMETRIC_DEFAULT'))).toBe(true);
    expect(throttled(() => countRequest(q, 'GenerateDataKeyPair', alice, { KeyPairSpec: 'RSA_4096' }))).toBe(false);
    expect(throttled(() => countRequest(q, 'GenerateDataKeyPairWithoutPlaintext', alice, { KeyPairSpec: 'RSA_4096' }))).toBe(true);
  });

  it('in the KMS: RSA, ECC, symmetric and HMAC requests each on their own quota, key pairs by spec; throttled calls change nothing', async () => {
    const clock = createTestClock(Date.UTC(2030, 0, 1));
    const kms = createKms({
      clock,
      requestQuotas: {
        clock,
        rates: { 'cryptographic-rsa': 3, 'cryptographic-ecc': 2, cryptographic: 5, 'GenerateDataKeyPair:RSA_2048': 1 },
      },
    });
    const caller = { caller: kms.rootCaller };
    const create = async (input: Record<string, unknown>) => ((await kms.execute('CreateKey', input)) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    const rsa = await create({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
    const ecc = await create({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    const hmac = await create({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    const aes = await create({});
    const message = new TextEncoder().encode('quota');
    const sign = (KeyId: string, SigningAlgorithm: string) => kms.execute('Sign', { KeyId, Message: message, SigningAlgorithm }, caller);
    const isThrottled = (p: Promise<unknown>) => expect(p).rejects.toMatchObject({ code: 'ThrottlingException', message: THROTTLING_MESSAGE });

    // RSA: Sign and Verify share the RSA bucket (3).
    const { Signature } = (await sign(rsa, 'RSASSA_PSS_SHA_256')) as { Signature: Uint8Array };
    await sign(rsa, 'RSASSA_PKCS1_V1_5_SHA_256');
    await kms.execute('Verify', { KeyId: rsa, Message: message, Signature, SigningAlgorithm: 'RSASSA_PSS_SHA_256' }, caller);
    await isThrottled(sign(rsa, 'RSASSA_PSS_SHA_256'));
    await isThrottled(kms.execute('Verify', { KeyId: rsa, Message: message, Signature, SigningAlgorithm: 'RSASSA_PSS_SHA_256' }, caller));
    // ECC signing is not drained by RSA use, and has its own bucket (2).
    await sign(ecc, 'ECDSA_SHA_256');
    await expect(sign('alias/none-such', 'ECDSA_SHA_256')).rejects.toMatchObject({ code: 'NotFoundException' }); // no key: not counted
    await sign(ecc, 'ECDSA_SHA_256');
    await isThrottled(sign(ecc, 'ECDSA_SHA_256'));
    // Symmetric (and HMAC) requests are unaffected by the asymmetric ones (5), each counted once.
    const { CiphertextBlob } = (await kms.execute('Encrypt', { KeyId: aes, Plaintext: message }, caller)) as { CiphertextBlob: Uint8Array };
    await kms.execute('Decrypt', { CiphertextBlob }, caller);
    await kms.execute('ReEncrypt', { CiphertextBlob, SourceKeyId: aes, DestinationKeyId: aes }, caller);
    await kms.execute('GenerateMac', { KeyId: hmac, Message: message, MacAlgorithm: 'HMAC_SHA_256' }, caller);
    await kms.execute('Decrypt', { CiphertextBlob, KeyId: aes }, caller);
    // Over quota: refused before anything changes (no AWS managed key made for alias/aws/s3).
    const keys = async () => ((await kms.execute('ListKeys', {})) as { Keys: unknown[] }).Keys.length;
    const before = await keys();
    await isThrottled(kms.execute('Encrypt', { KeyId: 'alias/aws/s3', Plaintext: message }, caller));
    await isThrottled(kms.execute('GenerateMac', { KeyId: hmac, Message: message, MacAlgorithm: 'HMAC_SHA_256' }, caller));
    expect(await keys()).toBe(before);
    // Trusted in-process calls are never counted.
    await expect(kms.execute('Sign', { KeyId: rsa, Message: message, SigningAlgorithm: 'RSASSA_PSS_SHA_256' })).resolves.toBeDefined();
    await kms.execute('Encrypt', { KeyId: 'alias/aws/s3', Plaintext: message });
    expect(await keys()).toBe(before + 1);
    // Data key pairs by KeyPairSpec: RSA_2048 (1) apart from ECC_NIST_P256 (AWS's 25), neither the symmetric quota.
    const pair = (KeyPairSpec: string) => kms.execute('GenerateDataKeyPairWithoutPlaintext', { KeyId: aes, KeyPairSpec }, caller);
    await pair('RSA_2048');
    await isThrottled(kms.execute('GenerateDataKeyPair', { KeyId: aes, KeyPairSpec: 'RSA_2048' }, caller));
    for (let i = 0; i < 25; i++) await pair('ECC_NIST_P256');
    await isThrottled(pair('ECC_NIST_P256'));
    // A second later every bucket has refilled.
    clock.advance(1_000);
    await sign(rsa, 'RSASSA_PSS_SHA_256');
    await sign(ecc, 'ECDSA_SHA_256');
    await kms.execute('Encrypt', { KeyId: 'alias/aws/s3', Plaintext: message }, caller);
    await pair('RSA_2048');
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
