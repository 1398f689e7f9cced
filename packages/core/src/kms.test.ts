/**
 * The engine in process: validation messages in AWS's form, the protocol's error shape, automatic
 * rotation with an injected clock (missed periods rotate once), due deletion, and that a refused
 * request changes nothing. Run: npx vitest run packages/core/src/kms.test.ts
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createTestClock, DAY_MS } from './clock.js';
import { createKms } from './kms.js';
import { KmsError } from './errors.js';

type Out = Record<string, any>;

async function setup(options: Parameters<typeof createKms>[0] = {}) {
  const clock = createTestClock(Date.UTC(2026, 0, 1));
  const kms = createKms({ clock, ...options });
  const { KeyMetadata } = (await kms.execute('CreateKey', { Description: 't' })) as Out;
  return { kms, clock, keyId: KeyMetadata.KeyId as string };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(KmsError);
    return (e as KmsError).code;
  }
}

describe('validation', () => {
  it('reports AWS-form messages, several at once', async () => {
    const { kms, keyId } = await setup();
    await expect(kms.execute('Encrypt', { KeyId: keyId, Plaintext: new Uint8Array(4097) })).rejects.toThrow(
      "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
    );
    await expect(kms.execute('EnableKeyRotation', { KeyId: keyId, RotationPeriodInDays: 89 })).rejects.toThrow(
      "1 validation error detected: Value '89' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value greater than or equal to 90",
    );
    await expect(kms.execute('GenerateDataKey', { KeySpec: 'AES_512' })).rejects.toThrow(
      "2 validation errors detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null; Value 'AES_512' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]",
    );
  });
  it('wrong JSON types are SerializationException', async () => {
    const { kms, keyId } = await setup();
    expect(await code(kms.execute('GenerateDataKey', { KeyId: keyId, NumberOfBytes: '32' }))).toBe('SerializationException');
    expect(await code(kms.execute('Encrypt', { KeyId: keyId, Plaintext: 'not base64!' }))).toBe('SerializationException');
    expect(await code(kms.execute('Encrypt', { KeyId: keyId, Plaintext: 'aGk=', EncryptionContext: { a: 1 } }))).toBe('SerializationException');
  });
  it('never crashes on arbitrary input, and arbitrary input changes nothing', async () => {
    const { kms, keyId } = await setup();
    const before = JSON.stringify(await kms.engine.store.getKey(keyId));
    const ops = [
      'Encrypt',
      'Decrypt',
      'ReEncrypt',
      'GenerateDataKey',
      'CreateAlias',
      'TagResource',
      'EnableKeyRotation',
      'ListKeyRotations',
      'ScheduleKeyDeletion',
      'UpdateKeyDescription',
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ops), fc.object({ maxDepth: 2 }), async (op, input) => {
        const c = await code(kms.execute(op, { ...input, KeyId: (input as Out).KeyId ?? 'alias/does-not-exist' }));
        expect(c).not.toBe('KMSInternalException');
      }),
      { numRuns: 300 },
    );
    expect(JSON.stringify(await kms.engine.store.getKey(keyId))).toBe(before);
  });
});

describe('protocol', () => {
  const post = (kms: ReturnType<typeof createKms>, target: string | null, body: string) =>
    kms.handle(
      new Request('http://kms.local/', {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', ...(target ? { 'x-amz-target': target } : {}) },
        body,
      }),
    );
  it('answers in AWS JSON 1.1 with AWS error shapes', async () => {
    const { kms, keyId } = await setup();
    const ok = await post(kms, 'TrentService.Encrypt', JSON.stringify({ KeyId: keyId, Plaintext: 'aGVsbG8=' }));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(ok.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    const body = (await ok.json()) as Out;
    expect(typeof body.CiphertextBlob).toBe('string');
    for (const [target, payload, type] of [
      ['TrentService.Encrypt', '{not json', 'SerializationException'],
      ['TrentService.Nope', '{}', 'UnknownOperationException'],
      [null, '{}', 'UnknownOperationException'],
      ['TrentService.DescribeKey', JSON.stringify({ KeyId: 'alias/missing' }), 'NotFoundException'],
      ['TrentService.Encrypt', '[]', 'SerializationException'],
    ] as const) {
      const r = await post(kms, target, payload);
      expect(r.status).toBe(400);
      const e = (await r.json()) as Out;
      expect(e.__type).toBe(type);
      expect(typeof e.message).toBe('string');
    }
  });
  it('timestamps are epoch seconds', async () => {
    const { kms, keyId, clock } = await setup();
    const r = (await (await post(kms, 'TrentService.DescribeKey', JSON.stringify({ KeyId: keyId }))).json()) as Out;
    expect(r.KeyMetadata.CreationDate).toBe(clock.now() / 1000);
  });
  it('an unexpected failure is a KMSInternalException with a fixed message, logged not sent', async () => {
    const logged: unknown[] = [];
    const { kms, keyId } = await setup({ onInternalError: (e) => logged.push(e) });
    const fire = () => {
      throw new Error('disk on fire: /secret/path');
    };
    kms.engine.store.getKey = async () => fire();
    kms.engine.store.getKeyNow = fire; // the synchronous read the hot path uses
    const r = await post(kms, 'TrentService.DescribeKey', JSON.stringify({ KeyId: keyId }));
    expect(r.status).toBe(500);
    const text = await r.text();
    expect(text).not.toContain('disk on fire');
    expect(JSON.parse(text).__type).toBe('KMSInternalException');
    expect(logged).toHaveLength(1);
  });
});

describe('automatic rotation with an injected clock', () => {
  it('rotates when due, once for several missed periods, and counts the next date from then', async () => {
    const { kms, clock, keyId } = await setup();
    await kms.execute('EnableKeyRotation', { KeyId: keyId, RotationPeriodInDays: 90 });
    const status = (await kms.execute('GetKeyRotationStatus', { KeyId: keyId })) as Out;
    expect((status.NextRotationDate as Date).getTime()).toBe(clock.now() + 90 * DAY_MS);
    clock.advanceDays(89);
    expect((await kms.runMaintenance()).rotated).toEqual([]);
    clock.advanceDays(1);
    expect((await kms.runMaintenance()).rotated).toEqual([keyId]);
    // Down for three periods: one rotation on the next touch, not three.
    clock.advanceDays(3 * 90 + 5);
    const touched = clock.now();
    await kms.execute('Encrypt', { KeyId: keyId, Plaintext: new Uint8Array([1]) });
    const rotations = (await kms.execute('ListKeyRotations', { KeyId: keyId })) as Out;
    expect(rotations.Rotations.map((r: Out) => r.RotationType)).toEqual(['AUTOMATIC', 'AUTOMATIC']);
    const after = (await kms.execute('GetKeyRotationStatus', { KeyId: keyId })) as Out;
    expect((after.NextRotationDate as Date).getTime()).toBe(touched + 90 * DAY_MS);
    expect((await kms.runMaintenance()).rotated).toEqual([]);
  });
  it('does not rotate a disabled key, and rotates it on the first use after re-enabling', async () => {
    const { kms, clock, keyId } = await setup();
    await kms.execute('EnableKeyRotation', { KeyId: keyId });
    await kms.execute('DisableKey', { KeyId: keyId });
    clock.advanceDays(400);
    expect((await kms.runMaintenance()).rotated).toEqual([]);
    await kms.execute('EnableKey', { KeyId: keyId });
    const d = (await kms.execute('DescribeKey', { KeyId: keyId })) as Out;
    const rotations = (await kms.execute('ListKeyRotations', { KeyId: keyId })) as Out;
    expect(rotations.Rotations).toHaveLength(1);
    expect(rotations.Rotations[0].KeyMaterialId).toBe(d.KeyMetadata.CurrentKeyMaterialId);
  });
  it('deletes a key once its waiting period is over, with its aliases', async () => {
    const { kms, clock, keyId } = await setup();
    await kms.execute('CreateAlias', { AliasName: 'alias/doomed', TargetKeyId: keyId });
    await kms.execute('ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 });
    clock.advanceDays(7);
    expect((await kms.runMaintenance()).deleted).toEqual([keyId]);
    expect(await code(kms.execute('DescribeKey', { KeyId: keyId }))).toBe('NotFoundException');
    expect(((await kms.execute('ListAliases', {})) as Out).Aliases).toEqual([]);
  });
});

describe('a refused request changes nothing', () => {
  it('on-demand rotation past the limit leaves the key as it was', async () => {
    const { kms, keyId } = await setup({ onDemandRotationLimit: 2 });
    await kms.execute('RotateKeyOnDemand', { KeyId: keyId });
    await kms.execute('RotateKeyOnDemand', { KeyId: keyId });
    const before = JSON.stringify(await kms.engine.store.getKey(keyId));
    expect(await code(kms.execute('RotateKeyOnDemand', { KeyId: keyId }))).toBe('LimitExceededException');
    expect(JSON.stringify(await kms.engine.store.getKey(keyId))).toBe(before);
    expect(await kms.engine.store.getVersion(keyId, 4)).toBeUndefined();
  });
});
