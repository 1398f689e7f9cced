/**
 * Issue 3, the rotate-by-default rotation policy (KMS_ROTATION_POLICY=rotate-by-default): new
 * customer managed keys start with yearly rotation; the period of an enabled key cannot be
 * changed in place (disable, then enable with the new period).
 */
import { describe, expect, it } from 'vitest';
import { DAY_MS, failure, useKmsServer } from '../helpers/server.js';

const { server, kms } = useKmsServer({ env: { KMS_ROTATION_POLICY: 'rotate-by-default' } });

describe('rotate-by-default policy', () => {
  it('new keys have rotation enabled with 365 days from their creation', async () => {
    const md = (await kms.createKey({})).KeyMetadata!;
    const st = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    expect(st.KeyRotationEnabled).toBe(true);
    expect(st.RotationPeriodInDays).toBe(365);
    expect(Math.abs(st.NextRotationDate!.getTime() - (md.CreationDate!.getTime() + 365 * DAY_MS))).toBeLessThan(1000);
  });

  it('EnableKeyRotation with the same period is accepted, with a different one KMSInvalidStateException', async () => {
    const md = (await kms.createKey({})).KeyMetadata!;
    const before = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    await kms.enableKeyRotation({ KeyId: md.KeyId });
    await kms.enableKeyRotation({ KeyId: md.KeyId, RotationPeriodInDays: 365 });
    for (const period of [90, 180, 2560]) {
      const err = await failure(kms.enableKeyRotation({ KeyId: md.KeyId, RotationPeriodInDays: period }));
      expect(err.name, String(period)).toBe('KMSInvalidStateException');
      expect(err.message).toContain(md.Arn!);
    }
    const after = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    expect(after.RotationPeriodInDays).toBe(365);
    expect(after.NextRotationDate!.getTime()).toBe(before.NextRotationDate!.getTime());
    // Out-of-range periods are still a ValidationException first.
    expect((await failure(kms.enableKeyRotation({ KeyId: md.KeyId, RotationPeriodInDays: 89 }))).name).toBe('ValidationException');
  });

  it('disable, then enable with the new period works', async () => {
    const md = (await kms.createKey({})).KeyMetadata!;
    await kms.disableKeyRotation({ KeyId: md.KeyId });
    expect((await kms.getKeyRotationStatus({ KeyId: md.KeyId })).KeyRotationEnabled).toBe(false);
    const now = await server.now();
    await kms.enableKeyRotation({ KeyId: md.KeyId, RotationPeriodInDays: 180 });
    const st = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    expect(st.KeyRotationEnabled).toBe(true);
    expect(st.RotationPeriodInDays).toBe(180);
    expect(Math.abs(st.NextRotationDate!.getTime() - (now + 180 * DAY_MS))).toBeLessThan(1000);
    // And from then on the period is fixed again.
    expect((await failure(kms.enableKeyRotation({ KeyId: md.KeyId, RotationPeriodInDays: 365 }))).name).toBe('KMSInvalidStateException');
  });

  it('keys rotate on their default schedule', async () => {
    const md = (await kms.createKey({})).KeyMetadata!;
    await server.advanceDays(365);
    expect((await server.maintenance()).rotated).toContain(md.KeyId);
    const rot = (await kms.listKeyRotations({ KeyId: md.KeyId })).Rotations!;
    expect(rot.map((r) => r.RotationType)).toEqual(['AUTOMATIC']);
  });

  it('AWS managed keys are unaffected (365 days, not configurable)', async () => {
    await kms.encrypt({ KeyId: 'alias/aws/lambda', Plaintext: new Uint8Array([1]) });
    const md = (await kms.describeKey({ KeyId: 'alias/aws/lambda' })).KeyMetadata!;
    expect(md.KeyManager).toBe('AWS');
    const st = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    expect(st.KeyRotationEnabled).toBe(true);
    expect(st.RotationPeriodInDays).toBe(365);
    expect((await failure(kms.disableKeyRotation({ KeyId: md.KeyId }))).name).toBe('UnsupportedOperationException');
  });
});
