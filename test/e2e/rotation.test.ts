/**
 * Issue 3, key rotation through the AWS SDK against the real server (AWS rotation policy, the
 * original on-demand limit of 10): EnableKeyRotation / DisableKeyRotation / GetKeyRotationStatus,
 * RotateKeyOnDemand and its limit, ListKeyRotations, decryption across versions, ReEncrypt onto the
 * current version, the errors of every rotation operation, and AWS managed keys.
 */
import type { KeyMetadata } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { DAY_MS, failure, keyArn, text, useKmsServer, utf8 } from '../helpers/server.js';

const { server, kms } = useKmsServer();

async function newKey(): Promise<KeyMetadata> {
  return (await kms.createKey({ Description: 'rotation e2e' })).KeyMetadata!;
}

const limitMessage = (keyId: string) =>
  `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${keyArn(keyId)}`;

describe('EnableKeyRotation, GetKeyRotationStatus, DisableKeyRotation', () => {
  it('a new key has rotation disabled', async () => {
    const md = await newKey();
    const st = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    expect(st.KeyRotationEnabled).toBe(false);
    // GetKeyRotationStatus answers the bare key id, as AWS does.
    expect(st.KeyId).toBe(md.KeyId);
    expect(st.NextRotationDate).toBeUndefined();
  });

  it('defaults to 365 days; NextRotationDate is the enable date plus the period', async () => {
    const md = await newKey();
    const enabledAt = await server.now();
    await kms.enableKeyRotation({ KeyId: md.KeyId });
    const st = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    expect(st.KeyId).toBe(md.KeyId);
    expect(st.KeyRotationEnabled).toBe(true);
    expect(st.RotationPeriodInDays).toBe(365);
    expect(st.NextRotationDate).toBeInstanceOf(Date);
    expect(Math.abs(st.NextRotationDate!.getTime() - (enabledAt + 365 * DAY_MS))).toBeLessThan(3000);
    // The server was started moments ago and its test clock has not been moved yet: a year from
    // the real time, within a minute.
    expect(Math.abs(st.NextRotationDate!.getTime() - (Date.now() + 365 * DAY_MS))).toBeLessThan(60_000);
    // The same through the key ARN (still answering the bare key id).
    const byArn = await kms.getKeyRotationStatus({ KeyId: md.Arn });
    expect(byArn.RotationPeriodInDays).toBe(365);
    expect(byArn.KeyId).toBe(md.KeyId);
  });

  it('RotationPeriodInDays is 90..2560', async () => {
    const md = await newKey();
    let err = await failure(kms.enableKeyRotation({ KeyId: md.KeyId, RotationPeriodInDays: 89 }));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toContain('Member must have value greater than or equal to 90');
    expect(err.message).toBe(
      "1 validation error detected: Value '89' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value greater than or equal to 90",
    );
    err = await failure(kms.enableKeyRotation({ KeyId: md.KeyId, RotationPeriodInDays: 2561 }));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toContain('Member must have value less than or equal to 2560');
    // Nothing was enabled by the failed calls.
    expect((await kms.getKeyRotationStatus({ KeyId: md.KeyId })).KeyRotationEnabled).toBe(false);

    const enabledAt = await server.now();
    await kms.enableKeyRotation({ KeyId: md.KeyId, RotationPeriodInDays: 90 });
    let st = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    expect(st.RotationPeriodInDays).toBe(90);
    expect(Math.abs(st.NextRotationDate!.getTime() - (enabledAt + 90 * DAY_MS))).toBeLessThan(3000);

    // Calling it again with a new period changes the period; the schedule still counts from
    // the enable date (there was no rotation since).
    await server.advanceDays(10);
    await kms.enableKeyRotation({ KeyId: md.KeyId, RotationPeriodInDays: 2560 });
    st = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    expect(st.KeyRotationEnabled).toBe(true);
    expect(st.RotationPeriodInDays).toBe(2560);
    expect(Math.abs(st.NextRotationDate!.getTime() - (enabledAt + 2560 * DAY_MS))).toBeLessThan(3000);

    await kms.enableKeyRotation({ KeyId: md.KeyId, RotationPeriodInDays: 180 });
    st = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    expect(st.RotationPeriodInDays).toBe(180);
    expect(Math.abs(st.NextRotationDate!.getTime() - (enabledAt + 180 * DAY_MS))).toBeLessThan(3000);
  });

  it('DisableKeyRotation turns it off, and enabling again starts a new schedule', async () => {
    const md = await newKey();
    await kms.enableKeyRotation({ KeyId: md.KeyId, RotationPeriodInDays: 100 });
    await kms.disableKeyRotation({ KeyId: md.KeyId });
    let st = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    expect(st.KeyRotationEnabled).toBe(false);
    expect(st.NextRotationDate).toBeUndefined();
    // Disabling twice is fine.
    await kms.disableKeyRotation({ KeyId: md.Arn });

    await server.advanceDays(10);
    const reenabledAt = await server.now();
    await kms.enableKeyRotation({ KeyId: md.KeyId });
    st = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    expect(st.KeyRotationEnabled).toBe(true);
    expect(st.RotationPeriodInDays).toBe(365);
    expect(Math.abs(st.NextRotationDate!.getTime() - (reenabledAt + 365 * DAY_MS))).toBeLessThan(3000);
  });
});

describe('RotateKeyOnDemand', () => {
  it('rotates 10 times, then LimitExceededException; NextRotationDate does not move; CurrentKeyMaterialId follows', async () => {
    const md = await newKey();
    await kms.enableKeyRotation({ KeyId: md.KeyId });
    const before = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    // Time passes between enabling and rotating, so that a rotation that re-anchored the
    // schedule would show.
    await server.advanceDays(3);

    const materialIds = [md.CurrentKeyMaterialId!];
    const sealed: { blob: Uint8Array; materialId: string; plaintext: string }[] = [];
    const seal = async () => {
      const plaintext = `version ${materialIds.length}`;
      const enc = await kms.encrypt({ KeyId: md.KeyId, Plaintext: utf8(plaintext) });
      sealed.push({ blob: enc.CiphertextBlob!, materialId: materialIds[materialIds.length - 1]!, plaintext });
    };
    await seal();
    for (let i = 0; i < 10; i++) {
      const res = await kms.rotateKeyOnDemand({ KeyId: i % 2 ? md.Arn : md.KeyId });
      // RotateKeyOnDemand answers the key ARN, whether asked by id or by ARN, as AWS does.
      expect(res.KeyId).toBe(md.Arn);
      const cur = (await kms.describeKey({ KeyId: md.KeyId })).KeyMetadata!.CurrentKeyMaterialId!;
      expect(cur).toMatch(/^[0-9a-f]{64}$/);
      expect(materialIds).not.toContain(cur);
      materialIds.push(cur);
      await seal();
    }
    const err = await failure(kms.rotateKeyOnDemand({ KeyId: md.KeyId }));
    expect(err.name).toBe('LimitExceededException');
    expect(err.message).toBe(limitMessage(md.KeyId!));
    // The failed rotation changed nothing.
    expect((await kms.describeKey({ KeyId: md.KeyId })).KeyMetadata!.CurrentKeyMaterialId).toBe(materialIds[10]);

    const after = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    expect(after.KeyRotationEnabled).toBe(true);
    expect(after.RotationPeriodInDays).toBe(365);
    expect(after.NextRotationDate!.getTime()).toBe(before.NextRotationDate!.getTime());

    // ListKeyRotations: 10 on-demand rotations, oldest first, the last one current.
    const rot = await kms.listKeyRotations({ KeyId: md.KeyId });
    expect(rot.Truncated).toBe(false);
    expect(rot.Rotations).toHaveLength(10);
    expect(rot.Rotations!.map((r) => r.KeyMaterialId)).toEqual(materialIds.slice(1));
    for (const [i, r] of rot.Rotations!.entries()) {
      expect(r.KeyId).toBe(md.KeyId);
      expect(r.RotationType).toBe('ON_DEMAND');
      expect(r.RotationDate).toBeInstanceOf(Date);
      expect(r.KeyMaterialState).toBe(i === 9 ? 'CURRENT' : 'NON_CURRENT');
    }
    const all = await kms.listKeyRotations({ KeyId: md.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' });
    expect(all.Rotations!.map((r) => r.KeyMaterialId)).toEqual(materialIds);
    expect(all.Rotations![0]!.RotationType).toBeUndefined();
    expect(all.Rotations![0]!.KeyMaterialState).toBe('NON_CURRENT');

    // A ciphertext from every version decrypts and reports the material that encrypted it.
    expect(sealed).toHaveLength(11);
    for (const s of sealed) {
      const dec = await kms.decrypt({ CiphertextBlob: s.blob });
      expect(text(dec.Plaintext)).toBe(s.plaintext);
      expect(dec.KeyMaterialId).toBe(s.materialId);
    }

    // ReEncrypt to the same key moves an old ciphertext onto the current version.
    const re = await kms.reEncrypt({ CiphertextBlob: sealed[0]!.blob, DestinationKeyId: md.KeyId });
    expect(re.SourceKeyId).toBe(md.Arn);
    expect(re.KeyId).toBe(md.Arn);
    expect(re.SourceKeyMaterialId).toBe(materialIds[0]);
    expect(re.DestinationKeyMaterialId).toBe(materialIds[10]);
    expect(re.SourceKeyMaterialId).not.toBe(re.DestinationKeyMaterialId);
    const moved = await kms.decrypt({ CiphertextBlob: re.CiphertextBlob });
    expect(text(moved.Plaintext)).toBe(sealed[0]!.plaintext);
    expect(moved.KeyMaterialId).toBe(materialIds[10]);

    // GenerateDataKey reports the current material too.
    expect((await kms.generateDataKey({ KeyId: md.KeyId, KeySpec: 'AES_256' })).KeyMaterialId).toBe(materialIds[10]);

    // The limit is per key.
    const other = await newKey();
    await kms.rotateKeyOnDemand({ KeyId: other.KeyId });
  });

  it('works on a key whose automatic rotation is disabled and does not enable it', async () => {
    const md = await newKey();
    await kms.rotateKeyOnDemand({ KeyId: md.KeyId });
    const st = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    expect(st.KeyRotationEnabled).toBe(false);
    expect(st.NextRotationDate).toBeUndefined();
    expect((await kms.listKeyRotations({ KeyId: md.KeyId })).Rotations).toHaveLength(1);
  });
});

describe('ListKeyRotations', () => {
  it('a key without rotations: ROTATIONS_ONLY is empty, ALL_KEY_MATERIAL has the original material', async () => {
    const md = await newKey();
    const none = await kms.listKeyRotations({ KeyId: md.KeyId });
    expect(none.Rotations).toEqual([]);
    expect(none.Truncated).toBe(false);
    const all = await kms.listKeyRotations({ KeyId: md.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' });
    expect(all.Rotations).toHaveLength(1);
    expect(all.Rotations![0]).toMatchObject({ KeyId: md.KeyId, KeyMaterialId: md.CurrentKeyMaterialId, KeyMaterialState: 'CURRENT' });
  });

  it('pages with a small Limit and rejects bad input', async () => {
    const md = await newKey();
    for (let i = 0; i < 5; i++) await kms.rotateKeyOnDemand({ KeyId: md.KeyId });
    const p1 = await kms.listKeyRotations({ KeyId: md.KeyId, Limit: 2 });
    const p2 = await kms.listKeyRotations({ KeyId: md.KeyId, Limit: 2, Marker: p1.NextMarker });
    const p3 = await kms.listKeyRotations({ KeyId: md.KeyId, Limit: 2, Marker: p2.NextMarker });
    expect([p1, p2, p3].map((p) => [p.Rotations!.length, p.Truncated, p.NextMarker !== undefined])).toEqual([
      [2, true, true],
      [2, true, true],
      [1, false, false],
    ]);
    const ids = [...p1.Rotations!, ...p2.Rotations!, ...p3.Rotations!].map((r) => r.KeyMaterialId);
    expect(new Set(ids).size).toBe(5);
    expect(ids).toEqual((await kms.listKeyRotations({ KeyId: md.KeyId })).Rotations!.map((r) => r.KeyMaterialId));

    expect((await failure(kms.listKeyRotations({ KeyId: md.KeyId, Limit: 0 }))).name).toBe('ValidationException');
    expect((await failure(kms.listKeyRotations({ KeyId: md.KeyId, Limit: 1001 }))).name).toBe('ValidationException');
    expect((await failure(kms.listKeyRotations({ KeyId: md.KeyId, Marker: 'bogus' }))).name).toBe('InvalidMarkerException');
    expect((await failure(kms.listKeyRotations({ KeyId: md.KeyId, IncludeKeyMaterial: 'SOME' as never }))).name).toBe('ValidationException');
  });
});

describe('rotation errors', () => {
  it('DisabledException on a disabled key', async () => {
    const md = await newKey();
    await kms.disableKey({ KeyId: md.KeyId });
    for (const call of [
      () => kms.enableKeyRotation({ KeyId: md.KeyId }),
      () => kms.disableKeyRotation({ KeyId: md.KeyId }),
      () => kms.rotateKeyOnDemand({ KeyId: md.KeyId }),
    ]) {
      const err = await failure(call());
      expect(err.name).toBe('DisabledException');
      expect(err.message).toBe(`${md.Arn} is disabled.`);
    }
    // Reading the status of a disabled key is allowed.
    expect((await kms.getKeyRotationStatus({ KeyId: md.KeyId })).KeyRotationEnabled).toBe(false);
    expect((await kms.listKeyRotations({ KeyId: md.KeyId })).Rotations).toEqual([]);
  });

  it('KMSInvalidStateException on a key pending deletion', async () => {
    const md = await newKey();
    await kms.scheduleKeyDeletion({ KeyId: md.KeyId, PendingWindowInDays: 7 });
    for (const call of [
      () => kms.enableKeyRotation({ KeyId: md.KeyId }),
      () => kms.disableKeyRotation({ KeyId: md.KeyId }),
      () => kms.rotateKeyOnDemand({ KeyId: md.KeyId }),
    ]) {
      const err = await failure(call());
      expect(err.name).toBe('KMSInvalidStateException');
      expect(err.message).toBe(`${md.Arn} is pending deletion.`);
    }
  });

  it('NotFoundException and InvalidArnException', async () => {
    const missing = crypto.randomUUID();
    const calls = (KeyId: string) => [
      () => kms.enableKeyRotation({ KeyId }),
      () => kms.disableKeyRotation({ KeyId }),
      () => kms.getKeyRotationStatus({ KeyId }),
      () => kms.rotateKeyOnDemand({ KeyId }),
      () => kms.listKeyRotations({ KeyId }),
    ];
    for (const call of calls(missing)) {
      const err = await failure(call());
      expect(err.name).toBe('NotFoundException');
      expect(err.message).toBe(`Key '${keyArn(missing)}' does not exist`);
    }
    for (const call of calls('foo')) {
      const err = await failure(call());
      expect(err.name).toBe('NotFoundException');
      expect(err.message).toBe('Invalid keyId foo');
    }
    for (const call of calls('arn:aws:kms:us-east-1:111122223333:key/not-a-key-id')) {
      expect((await failure(call())).name).toBe('InvalidArnException');
    }
  });
});

describe('AWS managed keys', () => {
  it('alias/aws/s3 used in Encrypt creates an AWS managed key that rotates yearly and refuses rotation changes', async () => {
    const now = await server.now();
    const enc = await kms.encrypt({ KeyId: 'alias/aws/s3', Plaintext: utf8('s3 object key') });
    const md = (await kms.describeKey({ KeyId: 'alias/aws/s3' })).KeyMetadata!;
    expect(enc.KeyId).toBe(md.Arn);
    expect(md.KeyManager).toBe('AWS');
    expect(md.KeyState).toBe('Enabled');
    expect(md.KeySpec).toBe('SYMMETRIC_DEFAULT');
    expect(md.KeyUsage).toBe('ENCRYPT_DECRYPT');
    expect(text((await kms.decrypt({ CiphertextBlob: enc.CiphertextBlob })).Plaintext)).toBe('s3 object key');

    // The same key on every later use, and the alias is listed.
    const again = await kms.encrypt({ KeyId: 'alias/aws/s3', Plaintext: utf8('x') });
    expect(again.KeyId).toBe(md.Arn);
    const aliases = (await kms.listAliases({ KeyId: md.KeyId })).Aliases!;
    expect(aliases.map((a) => a.AliasName)).toEqual(['alias/aws/s3']);

    const st = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    expect(st.KeyRotationEnabled).toBe(true);
    expect(st.RotationPeriodInDays).toBe(365);
    expect(Math.abs(st.NextRotationDate!.getTime() - (now + 365 * DAY_MS))).toBeLessThan(3000);

    for (const call of [
      () => kms.enableKeyRotation({ KeyId: md.KeyId }),
      () => kms.enableKeyRotation({ KeyId: md.KeyId, RotationPeriodInDays: 180 }),
      () => kms.disableKeyRotation({ KeyId: md.KeyId }),
      () => kms.rotateKeyOnDemand({ KeyId: md.KeyId }),
    ]) {
      expect((await failure(call())).name).toBe('UnsupportedOperationException');
    }
    // Nothing changed.
    const st2 = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    expect(st2.KeyRotationEnabled).toBe(true);
    expect(st2.RotationPeriodInDays).toBe(365);
    expect((await kms.describeKey({ KeyId: md.KeyId })).KeyMetadata!.CurrentKeyMaterialId).toBe(md.CurrentKeyMaterialId);

    // Other management of an AWS managed key is refused too (AWS refuses these through the key
    // policy, AccessDeniedException; edge-kms has no policies and answers UnsupportedOperation).
    const refused = ['AccessDeniedException', 'UnsupportedOperationException'];
    for (const call of [
      () => kms.disableKey({ KeyId: md.KeyId }),
      () => kms.scheduleKeyDeletion({ KeyId: md.KeyId }),
      () => kms.updateKeyDescription({ KeyId: md.KeyId, Description: 'mine now' }),
      () => kms.tagResource({ KeyId: md.KeyId, Tags: [{ TagKey: 'a', TagValue: 'b' }] }),
      () => kms.createAlias({ AliasName: 'alias/my-s3', TargetKeyId: md.KeyId }),
    ]) {
      expect(refused).toContain((await failure(call())).name);
    }
    const unchanged = (await kms.describeKey({ KeyId: md.KeyId })).KeyMetadata!;
    expect(unchanged).toEqual(md);
    // Its alias cannot be changed.
    expect((await failure(kms.deleteAlias({ AliasName: 'alias/aws/s3' }))).name).toBe('InvalidAliasNameException');
  });

  it('different services get different AWS managed keys', async () => {
    const a = await kms.encrypt({ KeyId: 'alias/aws/ebs', Plaintext: utf8('x') });
    const b = await kms.encrypt({ KeyId: 'alias/aws/sqs', Plaintext: utf8('x') });
    expect(a.KeyId).not.toBe(b.KeyId);
    const md = (await kms.describeKey({ KeyId: a.KeyId })).KeyMetadata!;
    expect(md.KeyManager).toBe('AWS');
  });
});
