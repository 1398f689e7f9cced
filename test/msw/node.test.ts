/**
 * @edge-kms/msw in Node (setupServer from msw/node): the AWS SDK for JavaScript v3 and
 * @edge-kms/client talk to https://kms.<region>.amazonaws.com as usual and get a real, stateful
 * edge-kms. Rotation and envelope flows, automatic rotation on the mock's clock, one KMS behind
 * every region (each region its own keyspace), the regions served, FIPS and custom endpoints,
 * seeded keys, reset(), fault injection, and pass-through of everything that is not KMS.
 * Run: npx vitest run test/msw/node.test.ts
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateRandomCommand,
  KMSClient,
  ListAliasesCommand,
  ListKeyRotationsCommand,
  ListKeysCommand,
  RotateKeyOnDemandCommand,
  type KMSClientConfig,
} from '@aws-sdk/client-kms';
import { createKmsClient } from '@edge-kms/client';
import { createMemoryStore } from '@edge-kms/core';
import { kmsHandlers, type KmsMock } from '@edge-kms/msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { automaticRotationFlow, CREDENTIALS, edgeClientFlow, envelopeFlow, rotationFlow } from './flows.js';

const server = setupServer();
const seen: { url: string; target: string | null }[] = [];
server.events.on('request:start', ({ request }) => void seen.push({ url: request.url, target: request.headers.get('x-amz-target') }));

beforeAll(() => server.listen({ onUnhandledRequest: 'bypass' }));
beforeEach(() => void (seen.length = 0));
afterAll(() => server.close());

const clients: KMSClient[] = [];
function sdk(config: KMSClientConfig = {}): KMSClient {
  const c = new KMSClient({ region: 'us-east-1', credentials: CREDENTIALS, ...config });
  clients.push(c);
  return c;
}
afterAll(() => {
  for (const c of clients) c.destroy();
});

/** Serves `mock` from now on (setupServer keeps one list of handlers; each describe brings its own mock). */
function use(mock: KmsMock): void {
  server.resetHandlers(...mock);
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

describe('AWS SDK v3', () => {
  const mock = kmsHandlers();
  beforeAll(() => use(mock));
  afterEach(() => mock.reset());

  it('rotation: the old ciphertext decrypts under its own KeyMaterialId', async () => {
    const { keyId } = await rotationFlow(sdk());
    // The flow really went over the (intercepted) network to the AWS endpoint.
    expect(seen.every((r) => r.url === 'https://kms.us-east-1.amazonaws.com/')).toBe(true);
    expect(seen.map((r) => r.target)).toContain('TrentService.RotateKeyOnDemand');
    // And the KMS behind the mock holds the key.
    const kms = await mock.kms;
    expect((await kms.execute('DescribeKey', { KeyId: keyId })).KeyMetadata).toMatchObject({ KeyId: keyId, Arn: expect.stringContaining(':us-east-1:') });
  });

  it('envelope: GenerateDataKey, then Decrypt the wrapped data key', async () => {
    await envelopeFlow(sdk());
  });

  it('EnableKeyRotation + advanceDays(365): an AUTOMATIC rotation appears', async () => {
    await automaticRotationFlow(sdk(), mock);
  });
});

describe('@edge-kms/client at the default AWS endpoint', () => {
  const mock = kmsHandlers();
  beforeAll(() => use(mock));

  it('rotation and envelope encryption (createKmsClient({ region, credentials }))', async () => {
    await edgeClientFlow(createKmsClient({ region: 'ap-southeast-2', credentials: CREDENTIALS }), 'ap-southeast-2');
    expect(new Set(seen.map((r) => r.url))).toEqual(new Set(['https://kms.ap-southeast-2.amazonaws.com/']));
    expect((await (await mock.kmsFor('ap-southeast-2')).execute('ListKeys', {})).Keys).toHaveLength(1);
  });
});

describe('regions and endpoints', () => {
  const mock = kmsHandlers({ endpoints: ['https://kms.internal.example/', 'http://localhost:4566'] });
  beforeAll(() => use(mock));

  it('each region is its own keyspace: a key made via eu-west-1 is NotFound via us-east-1', async () => {
    const eu = sdk({ region: 'eu-west-1' });
    const us = sdk({ region: 'us-east-1' });
    const { KeyMetadata } = await eu.send(new CreateKeyCommand({}));
    expect(KeyMetadata!.Arn).toMatch(/^arn:aws:kms:eu-west-1:111122223333:key\//);
    await eu.send(new CreateAliasCommand({ AliasName: 'alias/eu-only', TargetKeyId: KeyMetadata!.KeyId }));
    const blob = (await eu.send(new EncryptCommand({ KeyId: 'alias/eu-only', Plaintext: utf8('eu') }))).CiphertextBlob;

    for (const KeyId of [KeyMetadata!.KeyId, KeyMetadata!.Arn, 'alias/eu-only']) {
      await expect(us.send(new DescribeKeyCommand({ KeyId }))).rejects.toMatchObject({ name: 'NotFoundException' });
    }
    await expect(us.send(new DecryptCommand({ CiphertextBlob: blob }))).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
    expect(text((await eu.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext)).toBe('eu');

    expect((await (await mock.kmsFor('eu-west-1')).execute('ListKeys', {})).Keys).toHaveLength(1);
    expect((await (await mock.kmsFor('us-east-1')).execute('ListKeys', {})).Keys).toHaveLength(0);
  });

  it('the FIPS endpoint serves the same region', async () => {
    const fips = sdk({ region: 'us-west-2', useFipsEndpoint: true });
    const { KeyMetadata } = await fips.send(new CreateKeyCommand({}));
    expect(seen[0]!.url).toBe('https://kms-fips.us-west-2.amazonaws.com/');
    expect(KeyMetadata!.Arn).toContain(':us-west-2:');
    const plain = sdk({ region: 'us-west-2' });
    expect((await plain.send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId }))).KeyMetadata!.KeyId).toBe(KeyMetadata!.KeyId);
    expect(seen.at(-1)!.url).toBe('https://kms.us-west-2.amazonaws.com/');
  });

  it('GovCloud and China endpoints are intercepted too', async () => {
    for (const region of ['us-gov-west-1', 'cn-north-1']) {
      const { KeyMetadata } = await sdk({ region }).send(new CreateKeyCommand({}));
      expect(KeyMetadata!.Arn).toContain(`:${region}:`);
    }
    expect(seen.map((r) => r.url)).toEqual(['https://kms.us-gov-west-1.amazonaws.com/', 'https://kms.cn-north-1.amazonaws.com.cn/']);
  });

  it('a custom endpoint URL given in `endpoints` is served (as us-east-1)', async () => {
    const custom = sdk({ endpoint: 'https://kms.internal.example', region: 'us-east-1' });
    const { KeyMetadata } = await custom.send(new CreateKeyCommand({ Description: 'custom endpoint' }));
    expect(seen[0]!.url).toBe('https://kms.internal.example/');
    const local = sdk({ endpoint: 'http://localhost:4566', region: 'us-east-1' });
    expect((await local.send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId }))).KeyMetadata!.Description).toBe('custom endpoint');
    // @edge-kms/client with its `endpoint` option reaches the same KMS.
    const client = createKmsClient({ endpoint: 'https://kms.internal.example/', region: 'us-east-1', credentials: CREDENTIALS });
    expect((await client.describeKey({ KeyId: KeyMetadata!.KeyId! })).KeyMetadata.Description).toBe('custom endpoint');
    expect((await sdk().send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId }))).KeyMetadata!.Arn).toContain(':us-east-1:');
  });

  it('`region` is the default region (`mock.kms`, a request naming none); every AWS endpoint still acts in its own', async () => {
    const one = kmsHandlers({ region: 'eu-central-1', endpoints: ['http://localhost:4566'] });
    use(one);
    try {
      const kms = await one.kms;
      expect(kms.region).toBe('eu-central-1');
      const central = ((await kms.execute('CreateKey', {})).KeyMetadata as { KeyId: string; Arn: string }).KeyId;
      // An unsigned request to a custom endpoint names no region: it acts in the default one.
      const res = await fetch('http://localhost:4566/', {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.DescribeKey' },
        body: JSON.stringify({ KeyId: central }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { KeyMetadata: { Arn: string } }).KeyMetadata.Arn).toBe(`arn:aws:kms:eu-central-1:111122223333:key/${central}`);
      // An AWS endpoint acts in its own region, not in the default one.
      const { KeyMetadata } = await sdk({ region: 'ap-south-1' }).send(new CreateKeyCommand({}));
      expect(KeyMetadata!.Arn).toContain(':ap-south-1:');
      await expect(sdk({ region: 'sa-east-1' }).send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId }))).rejects.toMatchObject({
        name: 'NotFoundException',
      });
      await expect(sdk({ region: 'ap-south-1' }).send(new DescribeKeyCommand({ KeyId: central }))).rejects.toMatchObject({ name: 'NotFoundException' });
    } finally {
      use(mock);
    }
  });

  it('`regions` restricts the regions served: an endpoint of another is refused as AWS refuses it', async () => {
    const some = kmsHandlers({ regions: ['us-east-1', 'eu-west-1'] });
    use(some);
    try {
      expect((await sdk({ region: 'eu-west-1' }).send(new CreateKeyCommand({}))).KeyMetadata!.Arn).toContain(':eu-west-1:');
      await expect(sdk({ region: 'ap-south-1', maxAttempts: 1 }).send(new CreateKeyCommand({}))).rejects.toMatchObject({
        name: 'InvalidSignatureException',
        message: "Credential should be scoped to a valid region, not 'ap-south-1'.",
      });
      // Nothing was made anywhere by the refused request.
      expect((await (await some.kmsFor('us-east-1')).execute('ListKeys', {})).Keys).toHaveLength(0);
      expect((await (await some.kmsFor('eu-west-1')).execute('ListKeys', {})).Keys).toHaveLength(1);
    } finally {
      use(mock);
    }
  });
});

const SEEDED_ID = '0b3d8c5e-6f4a-4a2b-9c1d-2e3f4a5b6c7d';
const SEED = { KeyId: SEEDED_ID, AliasName: 'alias/seeded', Description: 'fixture', KeyMaterial: new Uint8Array(32).map((_, i) => i + 1) };

describe('seeded keys', () => {
  it('fixed key material: a ciphertext from one mock decrypts in a fresh mock seeded the same', async () => {
    const first = kmsHandlers({ seed: [SEED] });
    use(first);
    const kms = sdk();
    const enc = await kms.send(new EncryptCommand({ KeyId: 'alias/seeded', Plaintext: utf8('fixture data'), EncryptionContext: { v: '1' } }));
    expect(enc.KeyId).toBe(`arn:aws:kms:us-east-1:111122223333:key/${SEEDED_ID}`);
    const materialId = (await kms.send(new DescribeKeyCommand({ KeyId: 'alias/seeded' }))).KeyMetadata!.CurrentKeyMaterialId;

    const fresh = kmsHandlers({ seed: [SEED] });
    use(fresh);
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { v: '1' } }));
    expect(text(dec.Plaintext)).toBe('fixture data');
    expect(dec.KeyId).toBe(enc.KeyId);
    // The same seed gives the same KeyMaterialId (reproducible fixtures).
    expect(dec.KeyMaterialId).toBe(materialId);
    expect((await kms.send(new DescribeKeyCommand({ KeyId: 'alias/seeded' }))).KeyMetadata).toMatchObject({ KeyId: SEEDED_ID, Description: 'fixture' });

    // A mock with other material for the same KeyId cannot decrypt it.
    use(kmsHandlers({ seed: [{ ...SEED, KeyMaterial: new Uint8Array(32) }] }));
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { v: '1' } }))).rejects.toMatchObject({
      name: 'InvalidCiphertextException',
    });
  });

  it('a seeded key is made in every region the test calls', async () => {
    use(kmsHandlers({ seed: [SEED] }));
    for (const region of ['us-east-1', 'eu-west-1']) {
      const { KeyMetadata } = await sdk({ region }).send(new DescribeKeyCommand({ KeyId: 'alias/seeded' }));
      expect(KeyMetadata!.Arn).toBe(`arn:aws:kms:${region}:111122223333:key/${SEEDED_ID}`);
    }
  });

  it('seeded with an alias and no KeyId: one key, made again by reset()', async () => {
    const mock = kmsHandlers({ seed: [{ AliasName: 'alias/no-id', KeyMaterial: new Uint8Array(32).fill(9) }] });
    use(mock);
    const kms = sdk();
    const a = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/no-id' }));
    await mock.reset();
    const b = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/no-id' }));
    expect(b.KeyMetadata!.KeyId).not.toBe(a.KeyMetadata!.KeyId); // reset made it again (a new id)
    expect((await kms.send(new ListKeysCommand({}))).Keys).toHaveLength(1);
  });
});

describe('a persistent store (`store`), as after a page reload', () => {
  it('seeding again on the same store neither duplicates nor fails, with or without a KeyId', async () => {
    const store = createMemoryStore();
    const seed = [SEED, { AliasName: 'alias/seeded-no-id', KeyMaterial: new Uint8Array(32).fill(3) }];
    use(kmsHandlers({ store, seed }));
    const kms = sdk();
    const blob = (await kms.send(new EncryptCommand({ KeyId: 'alias/seeded-no-id', Plaintext: utf8('kept') }))).CiphertextBlob;
    const before = (await kms.send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyId).sort();
    expect(before).toHaveLength(2);

    use(kmsHandlers({ store, seed })); // "reload": a new mock on the same store
    expect((await kms.send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyId).sort()).toEqual(before);
    expect(text((await kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext)).toBe('kept');
  });

  it('each endpoint acts in its own region of the store; a reload keeps every ARN', async () => {
    const store = createMemoryStore();
    use(kmsHandlers({ store }));
    const eu = sdk({ region: 'eu-west-1' });
    const { KeyMetadata } = await eu.send(new CreateKeyCommand({}));
    expect(KeyMetadata!.Arn).toBe(`arn:aws:kms:eu-west-1:111122223333:key/${KeyMetadata!.KeyId}`);
    await expect(sdk().send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId }))).rejects.toMatchObject({ name: 'NotFoundException' });
    // "Reload" with another default region: the key is where it was, under the same ARN.
    const mock = kmsHandlers({ store, region: 'ap-south-1' });
    use(mock);
    expect((await mock.kms).region).toBe('ap-south-1');
    expect((await eu.send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId }))).KeyMetadata!.Arn).toBe(KeyMetadata!.Arn);
    await expect(sdk({ region: 'ap-south-1' }).send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId }))).rejects.toMatchObject({
      name: 'NotFoundException',
    });
    expect((await sdk({ region: 'sa-east-1' }).send(new CreateKeyCommand({}))).KeyMetadata!.Arn).toContain(':sa-east-1:');
  });
});

describe('reset() between tests restores only the seeded keys', () => {
  const mock = kmsHandlers({ seed: [SEED] });
  const kms = sdk();
  let blob: Uint8Array;
  let euKeyId: string;
  beforeAll(() => use(mock));
  afterEach(() => mock.reset());

  it('a test makes keys, aliases and rotations, and injects a fault', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/temporary', TargetKeyId: KeyMetadata!.KeyId }));
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: SEEDED_ID }));
    blob = (await kms.send(new EncryptCommand({ KeyId: SEEDED_ID, Plaintext: utf8('v1') }))).CiphertextBlob!;
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: SEEDED_ID }));
    euKeyId = ((await (await mock.kmsFor('eu-west-1')).execute('CreateKey', {})).KeyMetadata as { KeyId: string }).KeyId;
    mock.injectFault({ operation: 'ListKeys', error: 'KMSInternalException' });
    expect((await kms.send(new ListAliasesCommand({}))).Aliases!.map((a) => a.AliasName).sort()).toEqual(['alias/seeded', 'alias/temporary']);
  });

  it('the next test sees the seeded key alone, with no rotations, no faults; what another region held is gone', async () => {
    const keys = await kms.send(new ListKeysCommand({}));
    expect(keys.Keys!.map((k) => k.KeyId)).toEqual([SEEDED_ID]);
    expect((await kms.send(new ListAliasesCommand({}))).Aliases!.map((a) => a.AliasName)).toEqual(['alias/seeded']);
    expect((await kms.send(new ListKeyRotationsCommand({ KeyId: SEEDED_ID }))).Rotations).toEqual([]);
    // A ciphertext of the removed version 2 is gone with it.
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: blob }))).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
    // The key the last test made in eu-west-1 is gone too.
    const eu = await mock.kmsFor('eu-west-1');
    await expect(eu.execute('DescribeKey', { KeyId: euKeyId })).rejects.toMatchObject({ code: 'NotFoundException' });
    expect(((await eu.execute('ListKeys', {})).Keys as { KeyId: string }[]).map((k) => k.KeyId)).not.toContain(euKeyId);
  });

  it('and the seeded key alone in another region too', async () => {
    expect((await (await mock.kmsFor('eu-west-1')).execute('ListKeys', {})).Keys).toEqual([
      { KeyId: SEEDED_ID, KeyArn: expect.stringContaining(':eu-west-1:') },
    ]);
  });
});

describe('fault injection', () => {
  const mock = kmsHandlers();
  let keyId: string;
  beforeAll(async () => {
    use(mock);
    keyId = (await sdk().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  });
  beforeEach(() => mock.clearFaults());
  const attempts = (op: string) => seen.filter((r) => r.target === `TrentService.${op}`).length;

  it('ThrottlingException twice, then success: the AWS SDK retries', async () => {
    mock.injectFault({ operation: 'Encrypt', error: 'ThrottlingException', times: 2 });
    const out = await sdk().send(new EncryptCommand({ KeyId: keyId, Plaintext: utf8('retried') }));
    expect(attempts('Encrypt')).toBe(3);
    expect(out.$metadata.attempts).toBe(3);
    expect(out.$metadata.totalRetryDelay).toBeGreaterThan(0);
    expect(text((await sdk().send(new DecryptCommand({ CiphertextBlob: out.CiphertextBlob }))).Plaintext)).toBe('retried');
    // The fault is used up.
    await sdk().send(new EncryptCommand({ KeyId: keyId, Plaintext: utf8('x') }));
    expect(attempts('Encrypt')).toBe(4);
  });

  it('ThrottlingException more times than the SDK tries: the error reaches the caller', async () => {
    mock.injectFault({ operation: 'Encrypt', error: 'ThrottlingException', message: 'Slow down', times: 5 });
    const err = await sdk({ maxAttempts: 2 })
      .send(new EncryptCommand({ KeyId: keyId, Plaintext: utf8('x') }))
      .catch((e) => e);
    expect(err).toMatchObject({ name: 'ThrottlingException', message: 'Slow down', $metadata: { httpStatusCode: 400, attempts: 2 } });
    expect(attempts('Encrypt')).toBe(2);
  });

  it('DependencyTimeoutException (503) on one operation only', async () => {
    mock.injectFault({ operation: 'GenerateDataKey', error: 'DependencyTimeoutException' });
    const kms = sdk({ maxAttempts: 1 });
    const err = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' })).catch((e) => e);
    expect(err).toMatchObject({
      name: 'DependencyTimeoutException',
      message: 'The system timed out while trying to fulfill the request.',
      $fault: 'server',
      $metadata: { httpStatusCode: 503 },
    });
    // Other operations are served.
    await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: utf8('x') }));
    mock.clearFaults();
    expect((await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }))).Plaintext).toHaveLength(32);
  });

  it('KMSInternalException (500) on every operation until cleared; the SDK retries it as a server error', async () => {
    mock.injectFault({ error: 'KMSInternalException' });
    const err = await sdk()
      .send(new DescribeKeyCommand({ KeyId: keyId }))
      .catch((e) => e);
    expect(err).toMatchObject({ name: 'KMSInternalException', $metadata: { httpStatusCode: 500, attempts: 3 } });
    await expect(sdk({ maxAttempts: 1 }).send(new ListKeysCommand({}))).rejects.toMatchObject({ name: 'KMSInternalException' });
    expect(attempts('DescribeKey')).toBe(3);
    mock.clearFaults();
    expect((await sdk().send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyId).toBe(keyId);
  });

  it('@edge-kms/client retries an injected throttle too', async () => {
    mock.injectFault({ operation: 'Decrypt', error: 'ThrottlingException', times: 2 });
    const client = createKmsClient({ credentials: CREDENTIALS, retryBaseMs: 1 });
    const blob = (await client.encrypt({ KeyId: keyId, Plaintext: utf8('edge') })).CiphertextBlob;
    expect(text((await client.decrypt({ CiphertextBlob: blob })).Plaintext)).toBe('edge');
    expect(attempts('Decrypt')).toBe(3);
  });

  it('`times` counts matching requests only; `times: 0` applies to none', async () => {
    mock.injectFault({ operation: 'GenerateRandom', error: 'DependencyTimeoutException', times: 0 });
    mock.injectFault({ operation: 'DescribeKey', error: 'DependencyTimeoutException', times: 1 });
    const kms = sdk({ maxAttempts: 1 });
    expect((await kms.send(new GenerateRandomCommand({ NumberOfBytes: 8 }))).Plaintext).toHaveLength(8);
    await kms.send(new ListKeysCommand({}));
    await expect(kms.send(new DescribeKeyCommand({ KeyId: keyId }))).rejects.toMatchObject({ name: 'DependencyTimeoutException' });
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyId).toBe(keyId);
  });

  it('a delay slows a request down and then serves it', async () => {
    mock.injectFault({ operation: 'DescribeKey', delayMs: 400, times: 1 });
    const kms = sdk();
    let t = performance.now();
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyId).toBe(keyId);
    expect(performance.now() - t).toBeGreaterThanOrEqual(390);
    t = performance.now();
    await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    expect(performance.now() - t).toBeLessThan(390); // the fault was used up
  });

  it('a delay longer than the client will wait: the request times out', async () => {
    mock.injectFault({ operation: 'DescribeKey', delayMs: 1_000, times: 1 });
    const signal = AbortSignal.timeout(200);
    await expect(sdk().send(new DescribeKeyCommand({ KeyId: keyId }), { abortSignal: signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('requests that are not KMS', () => {
  let local: Server;
  let origin: string;
  const received: { method?: string; url?: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const mock = kmsHandlers();

  beforeAll(async () => {
    use(mock);
    local = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-from': 'local-server' });
        res.end(JSON.stringify({ KeyMetadata: { KeyId: 'from-the-real-server', KeyState: 'Enabled' } }));
      });
    });
    local.listen(0, '127.0.0.1');
    await once(local, 'listening');
    const address = local.address();
    origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    local.closeAllConnections();
    await new Promise((r) => local.close(r));
  });

  it('pass through untouched, even when they look like KMS requests and a fault is set', async () => {
    mock.injectFault({ error: 'KMSInternalException' });
    const res = await fetch(`${origin}/some/path?q=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.CreateKey' },
      body: '{"Description":"not for the mock"}',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-from')).toBe('local-server');
    expect(await res.json()).toEqual({ KeyMetadata: { KeyId: 'from-the-real-server', KeyState: 'Enabled' } });
    expect(received.at(-1)).toMatchObject({ method: 'POST', url: '/some/path?q=1', body: '{"Description":"not for the mock"}' });
    expect(received.at(-1)!.headers['x-amz-target']).toBe('TrentService.CreateKey');

    // The AWS SDK pointed at an endpoint that was not given to kmsHandlers reaches that server.
    const out = await sdk({ endpoint: origin }).send(new DescribeKeyCommand({ KeyId: 'anything' }));
    expect(out.KeyMetadata!.KeyId).toBe('from-the-real-server');
    expect(received.at(-1)).toMatchObject({ method: 'POST', url: '/', body: '{"KeyId":"anything"}' });
    expect(received.at(-1)!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAMSWMOCKTEST00000\//);
    expect(received).toHaveLength(2);
    mock.clearFaults();
  });
});
