/**
 * createMrkAwareKms against one in-process edge-kms seen through Regional views (kms.inRegion),
 * each call recorded: which Regions ReEncrypt, bare `mrk-` ids, aliases, Decrypt without KeyId,
 * another partition's client and conflicting Regions go to; other operations routed by their ARN's
 * Region; a namespace whose key changes between two multi-Region keys; the fallback rule as a
 * table; a custom rule; a data key answered after timeoutMs is wiped; the guards on the options.
 * The same over real HTTP with endpoints going down: test/client/mrk-aware.test.ts.
 * Run: npx vitest run packages/client/src/mrk-aware.test.ts
 */
import { createKms, type Kms } from '@edge-kms/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createKmsClient, type KmsClient } from './client.js';
import { decryptBytes, encryptBytes } from './envelope.js';
import { kmsClientError } from './errors.js';
import { AllRegionsFailedError, createMrkAwareKms, isRegionalFailure, type FallbackEvent } from './mrk-aware.js';
import { openNamespace } from './namespace.js';
import { createMemoryRecordStore } from './record-store.js';

const US = 'us-east-1';
const EU = 'eu-west-1';
const CN = 'cn-north-1';
let kms: Kms;
const calls: { region: string; operation: string; input: Record<string, unknown> }[] = [];
/** A client of the in-process KMS acting in `region`, recording every call. */
const regional = (region: string): KmsClient =>
  createKmsClient({
    kms: {
      execute: (operation, input) => {
        calls.push({ region, operation, input: input as Record<string, unknown> });
        return kms.inRegion(region).execute(operation, input);
      },
    },
  });
let us: KmsClient;
let eu: KmsClient;
let mrk: string;
let mrk2: string;
let single: string;
const arnIn = (arn: string, region: string) => arn.replace(`:${US}:`, `:${region}:`);
const since = (n: number) => calls.slice(n).map((c) => `${c.operation} ${c.region}`);

async function createMrk(): Promise<string> {
  const arn = ((await kms.execute('CreateKey', { MultiRegion: true })) as { KeyMetadata: { Arn: string } }).KeyMetadata.Arn;
  await kms.execute('ReplicateKey', { KeyId: arn, ReplicaRegion: EU });
  return arn;
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a failure');
}

beforeAll(async () => {
  kms = createKms();
  us = regional(US);
  eu = regional(EU);
  mrk = await createMrk();
  mrk2 = await createMrk();
  single = ((await kms.execute('CreateKey', {})) as { KeyMetadata: { Arn: string } }).KeyMetadata.Arn;
  await kms.execute('CreateAlias', { AliasName: 'alias/app', TargetKeyId: single });
});

const pair = (o = {}) =>
  createMrkAwareKms(
    [
      { region: EU, client: eu },
      { region: US, client: us },
    ],
    o,
  );

describe('createMrkAwareKms: where each call goes', () => {
  it('ReEncrypt between two multi-Region keys is done in the nearest Region, both ARNs rewritten', async () => {
    const ct = await us.encrypt({ KeyId: mrk, Plaintext: new Uint8Array([1, 2, 3]) });
    const n = calls.length;
    const out = await pair().reEncrypt({ CiphertextBlob: ct.CiphertextBlob, SourceKeyId: mrk, DestinationKeyId: mrk2 });
    expect(calls.slice(n).map((c) => [c.region, c.input.SourceKeyId, c.input.DestinationKeyId])).toEqual([[EU, arnIn(mrk, EU), arnIn(mrk2, EU)]]);
    expect(out.KeyId).toBe(arnIn(mrk2, EU));
    expect((await us.decrypt({ CiphertextBlob: out.CiphertextBlob })).Plaintext).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('a ReEncrypt into a single-Region key is done in that key’s Region; one naming two Regions’ single-Region keys is refused unasked', async () => {
    const ct = await eu.encrypt({ KeyId: arnIn(mrk, EU), Plaintext: new Uint8Array([4]) });
    let n = calls.length;
    await pair().reEncrypt({ CiphertextBlob: ct.CiphertextBlob, SourceKeyId: arnIn(mrk, EU), DestinationKeyId: single });
    expect(calls.slice(n).map((c) => [c.region, c.input.SourceKeyId, c.input.DestinationKeyId])).toEqual([[US, mrk, single]]);
    n = calls.length;
    const e = await failure(pair().reEncrypt({ CiphertextBlob: ct.CiphertextBlob, SourceKeyId: arnIn(single, EU), DestinationKeyId: single }));
    expect(e).toBeInstanceOf(AllRegionsFailedError);
    expect((e as AllRegionsFailedError).failures).toEqual([]);
    expect((e as Error).message).toContain('single-Region keys of two Regions (eu-west-1, us-east-1)');
    expect(calls.length).toBe(n);
  });

  it('a bare mrk- id is used as is in each Region; an alias, a bare UUID and a Decrypt without KeyId stay in the nearest Region', async () => {
    const id = mrk.slice(mrk.indexOf('key/') + 4);
    const ct = await us.encrypt({ KeyId: single, Plaintext: new Uint8Array([5]) });
    const n = calls.length;
    const down = createMrkAwareKms([
      { region: EU, client: createKmsClient({ endpoint: 'http://127.0.0.1:9/', region: EU, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }) },
      { region: US, client: us },
    ]);
    expect((await down.generateDataKey({ KeyId: id, KeySpec: 'AES_256' })).KeyId).toBe(mrk);
    expect(calls.slice(n).map((c) => [c.region, c.input.KeyId])).toEqual([[US, id]]);
    for (const call of [
      () => down.generateDataKey({ KeyId: 'alias/app', KeySpec: 'AES_256' }),
      () => down.encrypt({ KeyId: single.slice(single.indexOf('key/') + 4), Plaintext: new Uint8Array(1) }),
      () => down.decrypt({ CiphertextBlob: ct.CiphertextBlob }),
    ]) {
      const e = (await failure(call())) as AllRegionsFailedError;
      expect(e).toBeInstanceOf(AllRegionsFailedError);
      expect(e.failures.map((f) => f.region)).toEqual([EU]);
      expect(e.message).toContain('only the nearest Region, eu-west-1, is used');
    }
    expect(calls.length).toBe(n + 1);
  });

  it('clients of another partition are skipped for a multi-Region key; a Region no client is for is refused unasked', async () => {
    const cn = createKmsClient({
      kms: {
        execute: (op, input) => (calls.push({ region: CN, operation: op, input: input as Record<string, unknown> }), kms.inRegion(CN).execute(op, input)),
      },
    });
    const n = calls.length;
    const withCn = createMrkAwareKms([
      { region: CN, client: cn },
      { region: US, client: us },
    ]);
    await withCn.generateDataKey({ KeyId: mrk, KeySpec: 'AES_256' });
    expect(since(n)).toEqual([`GenerateDataKey ${US}`]);
    const e = (await failure(withCn.encrypt({ KeyId: arnIn(single, 'ap-south-1'), Plaintext: new Uint8Array(1) }))) as AllRegionsFailedError;
    expect(e).toBeInstanceOf(AllRegionsFailedError);
    expect(e.message).toContain('no client is for ap-south-1 (clients: cn-north-1, us-east-1)');
    expect(calls.length).toBe(n + 1);
  });

  it('other operations go to the client of their ARN’s Region, else the nearest, unrewritten', async () => {
    const n = calls.length;
    const m = pair();
    expect((await m.describeKey({ KeyId: mrk })).KeyMetadata.MultiRegionConfiguration?.MultiRegionKeyType).toBe('PRIMARY');
    expect((await m.describeKey({ KeyId: arnIn(mrk, EU) })).KeyMetadata.MultiRegionConfiguration?.MultiRegionKeyType).toBe('REPLICA');
    await m.listKeys({});
    expect(since(n)).toEqual([`DescribeKey ${US}`, `DescribeKey ${EU}`, `ListKeys ${EU}`]);
    expect(m.regions).toEqual([EU, US]);
    expect(typeof m.replicateKey).toBe('function');
  });

  it('a namespace under a multi-Region key writes in the nearest Region and changes key to another multi-Region key', async () => {
    const ns = await openNamespace({ name: `mrk-${Date.now()}`, kms: pair(), store: createMemoryRecordStore(), keyId: mrk });
    await ns.put('a', 'alpha');
    await ns.changeKey(mrk2);
    expect(await ns.getText('a')).toBe('alpha');
    expect(await ns.keyId()).toBe(mrk2);
  });
});

describe('createMrkAwareKms: when to fall back', () => {
  it('isRegionalFailure: no answer, 5xx and throttling always; replica state for multi-Region keys only; never the request’s own errors', () => {
    const table: [unknown, boolean, boolean][] = [
      [new TypeError('fetch failed'), true, true],
      [new DOMException('late', 'TimeoutError'), true, true],
      [kmsClientError('KMSInternalException', '', 500), true, true],
      [kmsClientError('Http503', '', 503), true, true],
      [kmsClientError('ThrottlingException', '', 400), true, true],
      [kmsClientError('NotFoundException', '', 400), true, false],
      [kmsClientError('DisabledException', '', 400), true, false],
      [kmsClientError('KMSInvalidStateException', '', 400), true, false],
      [kmsClientError('InvalidCiphertextException', '', 400), false, false],
      [kmsClientError('IncorrectKeyException', '', 400), false, false],
      [kmsClientError('AccessDeniedException', '', 400), false, false],
      [kmsClientError('ValidationException', '', 400), false, false],
      [kmsClientError('InvalidSignatureException', '', 400), false, false],
    ];
    for (const [e, mrkKey, singleKey] of table) {
      expect([isRegionalFailure(e, true), isRegionalFailure(e, false)], String(e)).toEqual([mrkKey, singleKey]);
    }
  });

  it('a custom rule decides instead: never fall back, or fall back on chosen errors only', async () => {
    await kms.inRegion(EU).execute('DisableKey', { KeyId: arnIn(mrk, EU) });
    try {
      const message = await encryptBytes(us, new Uint8Array([9]), { keyId: mrk });
      const events: FallbackEvent[] = [];
      const strict = pair({ fallBackOn: () => false, onFallback: (ev: FallbackEvent) => events.push(ev) });
      expect((await failure(decryptBytes(strict, message))) as Error).toHaveProperty('name', 'DisabledException');
      const n = calls.length;
      const out = await decryptBytes(pair({ fallBackOn: (e: unknown) => (e as Error).name === 'DisabledException' }), message);
      expect(out.plaintext).toEqual(new Uint8Array([9]));
      expect(since(n)).toEqual([`Decrypt ${EU}`, `Decrypt ${US}`]);
      expect(events).toEqual([]);
    } finally {
      await kms.inRegion(EU).execute('EnableKey', { KeyId: arnIn(mrk, EU) });
    }
  });

  it('a data key answered after timeoutMs is wiped, and the next Region’s is used', async () => {
    let late: Uint8Array | undefined;
    const slow: KmsClient = {
      ...eu,
      send: async (operation, input) => {
        await new Promise((r) => setTimeout(r, 150));
        const out = await eu.send(operation, input);
        late = (out as { Plaintext?: Uint8Array }).Plaintext;
        return out;
      },
    };
    const m = createMrkAwareKms(
      [
        { region: EU, client: slow },
        { region: US, client: us },
      ],
      { timeoutMs: 30 },
    );
    const message = await encryptBytes(us, new Uint8Array(100).fill(7), { keyId: mrk });
    expect((await decryptBytes(m, message)).plaintext).toEqual(new Uint8Array(100).fill(7));
    await new Promise((r) => setTimeout(r, 250));
    expect(late).toBeDefined();
    expect(late!.length).toBe(32);
    expect(late!.every((b) => b === 0)).toBe(true);
  });

  it('guards its options', () => {
    expect(() => createMrkAwareKms([])).toThrow('"clients" expected at least one { region, client }, got 0');
    expect(() => createMrkAwareKms([{ region: 'Europe', client: eu }])).toThrow('"clients[0].region" expected an AWS Region name, got Europe');
    expect(() => createMrkAwareKms([{ region: EU, client: {} as KmsClient }])).toThrow('"clients[0].client" expected a KmsClient');
    expect(() => createMrkAwareKms([{ region: EU, client: eu }], { timeoutMs: 0 })).toThrow('"timeoutMs" expected a positive number of ms, got 0');
  });
});
