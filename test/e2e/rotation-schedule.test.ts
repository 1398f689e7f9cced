/**
 * Issue 3, automatic rotation over simulated years: the server's test clock moves a year at a
 * time; due rotations are applied by the maintenance endpoint or by any operation on the key; a
 * server that was down for several periods rotates once, and the next date counts from then.
 */
import type { KeyMetadata } from '@aws-sdk/client-kms';
import { createKms, createTestClock } from '@edge-kms/core';
import { describe, expect, it } from 'vitest';
import { DAY_MS, spawnKmsServer, text, useKmsServer, utf8 } from '../helpers/server.js';

const { server, kms } = useKmsServer();

async function newKey(): Promise<KeyMetadata> {
  return (await kms.createKey({ Description: 'schedule e2e' })).KeyMetadata!;
}

async function automaticRotations(keyId: string) {
  return (await kms.listKeyRotations({ KeyId: keyId })).Rotations!.filter((r) => r.RotationType === 'AUTOMATIC');
}

describe('automatic rotation', () => {
  it('a server down for three periods rotates once when it is back, and the next date counts from then', async () => {
    const md = await newKey();
    await kms.enableKeyRotation({ KeyId: md.KeyId });
    const enc = await kms.encrypt({ KeyId: md.KeyId, Plaintext: utf8('before the outage') });

    // The server goes down (cleanly) and comes back; no maintenance ran, no request came in,
    // while three rotation periods passed.
    await server.restart('SIGTERM');
    await server.advanceDays(3 * 365 + 10);

    const report = await server.maintenance();
    expect(report.rotated).toEqual([md.KeyId]);
    const now = await server.now();
    // Once, not three times.
    expect((await server.maintenance()).rotated).toEqual([]);
    const autos = await automaticRotations(md.KeyId!);
    expect(autos).toHaveLength(1);
    expect(Math.abs(autos[0]!.RotationDate!.getTime() - now)).toBeLessThan(1000);
    expect(autos[0]!.KeyMaterialState).toBe('CURRENT');

    const st = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    expect(st.KeyRotationEnabled).toBe(true);
    expect(Math.abs(st.NextRotationDate!.getTime() - (now + 365 * DAY_MS))).toBeLessThan(1000);

    // The old ciphertext still decrypts under the original material; new ones use the new material.
    const dec = await kms.decrypt({ CiphertextBlob: enc.CiphertextBlob });
    expect(text(dec.Plaintext)).toBe('before the outage');
    expect(dec.KeyMaterialId).toBe(md.CurrentKeyMaterialId);
    const fresh = await kms.decrypt({ CiphertextBlob: (await kms.encrypt({ KeyId: md.KeyId, Plaintext: utf8('after') })).CiphertextBlob });
    expect(fresh.KeyMaterialId).toBe(autos[0]!.KeyMaterialId);

    // Not due again one day before the new date, due on it.
    await server.advanceDays(364);
    expect((await server.maintenance()).rotated).not.toContain(md.KeyId);
    await server.advanceDays(1);
    expect((await server.maintenance()).rotated).toContain(md.KeyId);
    expect(await automaticRotations(md.KeyId!)).toHaveLength(2);
  });

  it('three simulated years: three AUTOMATIC rotations, by maintenance or by any operation', async () => {
    const md = await newKey();
    const t0 = await server.now();
    await kms.enableKeyRotation({ KeyId: md.KeyId });
    const sealed: { blob: Uint8Array; year: number }[] = [];
    const seal = async (year: number) => {
      const enc = await kms.encrypt({ KeyId: md.KeyId, Plaintext: utf8(`year ${year}`) });
      sealed.push({ blob: enc.CiphertextBlob!, year });
    };
    await seal(0);

    // Year 1: not a day early; then the maintenance endpoint applies it.
    await server.advanceDays(364);
    expect((await server.maintenance()).rotated).not.toContain(md.KeyId);
    expect(await automaticRotations(md.KeyId!)).toHaveLength(0);
    await server.advanceDays(1);
    expect((await server.maintenance()).rotated).toContain(md.KeyId);
    expect(await automaticRotations(md.KeyId!)).toHaveLength(1);
    await seal(1);

    // Year 2: no maintenance; the next operation on the key (an Encrypt) rotates first and
    // encrypts under the new material.
    await server.advanceDays(365);
    const enc2 = await kms.encrypt({ KeyId: md.KeyId, Plaintext: utf8('year 2') });
    sealed.push({ blob: enc2.CiphertextBlob!, year: 2 });
    const autos2 = await automaticRotations(md.KeyId!);
    expect(autos2).toHaveLength(2);
    expect((await kms.decrypt({ CiphertextBlob: enc2.CiphertextBlob })).KeyMaterialId).toBe(autos2[1]!.KeyMaterialId);
    expect((await server.maintenance()).rotated).not.toContain(md.KeyId);

    // Year 3: a read (DescribeKey) is enough too.
    await server.advanceDays(365);
    const cur = (await kms.describeKey({ KeyId: md.KeyId })).KeyMetadata!.CurrentKeyMaterialId;
    const autos = await automaticRotations(md.KeyId!);
    expect(autos).toHaveLength(3);
    expect(cur).toBe(autos[2]!.KeyMaterialId);
    await seal(3);

    const all = await kms.listKeyRotations({ KeyId: md.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' });
    expect(all.Rotations).toHaveLength(4);
    expect(all.Rotations!.map((r) => r.KeyMaterialState)).toEqual(['NON_CURRENT', 'NON_CURRENT', 'NON_CURRENT', 'CURRENT']);
    expect(new Set(all.Rotations!.map((r) => r.KeyMaterialId)).size).toBe(4);
    // Each rotation happened a year after the previous one.
    autos.forEach((r, i) => {
      expect(Math.abs(r.RotationDate!.getTime() - (t0 + (i + 1) * 365 * DAY_MS))).toBeLessThan(1000);
    });
    const st = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    expect(Math.abs(st.NextRotationDate!.getTime() - (t0 + 4 * 365 * DAY_MS))).toBeLessThan(1000);

    // Every year's ciphertext decrypts under the material of its year.
    const materialOfYear = [md.CurrentKeyMaterialId, ...autos.map((r) => r.KeyMaterialId)];
    const checkSealed = async () => {
      for (const s of sealed) {
        const dec = await kms.decrypt({ CiphertextBlob: s.blob });
        expect(text(dec.Plaintext)).toBe(`year ${s.year}`);
        expect(dec.KeyMaterialId).toBe(materialOfYear[s.year]);
      }
    };
    await checkSealed();

    // The whole history survives a crash and restart (the restarted server's test clock starts
    // at the real time again, before these rotations: nothing is due, nothing changes).
    const { $metadata: _a, ...statusBefore } = st;
    await server.restart('SIGKILL');
    const { $metadata: _b, ...allAfter } = await kms.listKeyRotations({ KeyId: md.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' });
    const { $metadata: _c, ...allBefore } = all;
    expect(allAfter).toEqual(allBefore);
    const { $metadata: _d, ...statusAfter } = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    expect(statusAfter).toEqual(statusBefore);
    await checkSealed();
  });

  it('many concurrent requests on an overdue key rotate it exactly once', async () => {
    const md = await newKey();
    await kms.enableKeyRotation({ KeyId: md.KeyId });
    await server.advanceDays(366);
    const results = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => kms.encrypt({ KeyId: md.KeyId, Plaintext: utf8(`c${i}`) })),
      ...Array.from({ length: 5 }, () => kms.describeKey({ KeyId: md.KeyId })),
      server.maintenance(),
      server.maintenance(),
    ]);
    expect(results).toHaveLength(27);
    const autos = await automaticRotations(md.KeyId!);
    expect(autos).toHaveLength(1);
    // Every one of the concurrent encryptions used the new material.
    for (const r of results.slice(0, 20) as { CiphertextBlob?: Uint8Array }[]) {
      expect((await kms.decrypt({ CiphertextBlob: r.CiphertextBlob })).KeyMaterialId).toBe(autos[0]!.KeyMaterialId);
    }
  });

  it('in process (createKms, memory store, test clock): 50 concurrent Encrypts on an overdue key rotate it once', async () => {
    const clock = createTestClock(Date.UTC(2030, 0, 1));
    const local = createKms({ clock });
    const { KeyMetadata } = (await local.execute('CreateKey', {})) as { KeyMetadata: { KeyId: string } };
    const KeyId = KeyMetadata.KeyId;
    await local.execute('EnableKeyRotation', { KeyId, RotationPeriodInDays: 90 });
    clock.advanceDays(3 * 90 + 1);
    const encs = (await Promise.all(Array.from({ length: 50 }, (_, i) => local.execute('Encrypt', { KeyId, Plaintext: utf8(`m${i}`) })))) as {
      CiphertextBlob: Uint8Array;
    }[];
    const rot = (await local.execute('ListKeyRotations', { KeyId })) as { Rotations: { RotationType: string; KeyMaterialId: string }[] };
    expect(rot.Rotations.map((r) => r.RotationType)).toEqual(['AUTOMATIC']);
    for (const e of encs) {
      const dec = (await local.execute('Decrypt', { CiphertextBlob: e.CiphertextBlob })) as { KeyMaterialId: string };
      expect(dec.KeyMaterialId).toBe(rot.Rotations[0]!.KeyMaterialId);
    }
    const st = (await local.execute('GetKeyRotationStatus', { KeyId })) as { NextRotationDate: Date };
    expect(st.NextRotationDate.getTime()).toBe(clock.now() + 90 * DAY_MS);
  });

  it('on-demand rotations between automatic ones do not move the schedule', async () => {
    const md = await newKey();
    const t0 = await server.now();
    await kms.enableKeyRotation({ KeyId: md.KeyId, RotationPeriodInDays: 90 });
    await server.advanceDays(30);
    await kms.rotateKeyOnDemand({ KeyId: md.KeyId });
    const st = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    expect(Math.abs(st.NextRotationDate!.getTime() - (t0 + 90 * DAY_MS))).toBeLessThan(1000);
    await server.advanceDays(60);
    expect((await server.maintenance()).rotated).toContain(md.KeyId);
    const types = (await kms.listKeyRotations({ KeyId: md.KeyId })).Rotations!.map((r) => r.RotationType);
    expect(types).toEqual(['ON_DEMAND', 'AUTOMATIC']);
  });

  it('automatic rotations do not count against the on-demand limit', async () => {
    const md = await newKey();
    await kms.enableKeyRotation({ KeyId: md.KeyId, RotationPeriodInDays: 90 });
    for (let i = 0; i < 2; i++) {
      await server.advanceDays(90);
      expect((await server.maintenance()).rotated).toContain(md.KeyId);
    }
    for (let i = 0; i < 10; i++) await kms.rotateKeyOnDemand({ KeyId: md.KeyId });
    const err = await kms.rotateKeyOnDemand({ KeyId: md.KeyId }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.name).toBe('LimitExceededException');
    const types = (await kms.listKeyRotations({ KeyId: md.KeyId })).Rotations!.map((r) => r.RotationType);
    expect(types).toEqual(['AUTOMATIC', 'AUTOMATIC', ...Array(10).fill('ON_DEMAND')]);
    // And automatic rotation goes on after the on-demand limit is reached.
    await server.advanceDays(90);
    expect((await server.maintenance()).rotated).toContain(md.KeyId);
  });

  it('keys that are disabled or have rotation disabled are not rotated automatically', async () => {
    const off = await newKey();
    const disabled = await newKey();
    await kms.enableKeyRotation({ KeyId: disabled.KeyId });
    await kms.disableKey({ KeyId: disabled.KeyId });
    await server.advanceDays(400);
    const report = await server.maintenance();
    expect(report.rotated).not.toContain(off.KeyId);
    expect(report.rotated).not.toContain(disabled.KeyId);
    expect(await automaticRotations(off.KeyId!)).toHaveLength(0);
    expect(await automaticRotations(disabled.KeyId!)).toHaveLength(0);
    // Re-enabled, the overdue rotation happens.
    await kms.enableKey({ KeyId: disabled.KeyId });
    expect((await server.maintenance()).rotated).toContain(disabled.KeyId);
    expect(await automaticRotations(disabled.KeyId!)).toHaveLength(1);
  });

  it('AWS managed keys rotate automatically every year', async () => {
    await kms.encrypt({ KeyId: 'alias/aws/ebs', Plaintext: utf8('volume key') });
    const md = (await kms.describeKey({ KeyId: 'alias/aws/ebs' })).KeyMetadata!;
    expect(md.KeyManager).toBe('AWS');
    await server.advanceDays(364);
    expect((await server.maintenance()).rotated).not.toContain(md.KeyId);
    await server.advanceDays(1);
    expect((await server.maintenance()).rotated).toContain(md.KeyId);
    const after = (await kms.describeKey({ KeyId: 'alias/aws/ebs' })).KeyMetadata!;
    expect(after.CurrentKeyMaterialId).not.toBe(md.CurrentKeyMaterialId);
    const now = await server.now();
    const st = await kms.getKeyRotationStatus({ KeyId: md.KeyId });
    expect(Math.abs(st.NextRotationDate!.getTime() - (now + 365 * DAY_MS))).toBeLessThan(1000);
  });

  it('the maintenance timer (KMS_MAINTENANCE_INTERVAL_MS) rotates due keys without any request', async () => {
    // A second server on its own data dir with a fast maintenance timer.
    const timed = await spawnKmsServer({ env: { KMS_MAINTENANCE_INTERVAL_MS: '50' } });
    const client = timed.client();
    try {
      const { KeyMetadata } = await client.createKey({});
      await client.enableKeyRotation({ KeyId: KeyMetadata!.KeyId, RotationPeriodInDays: 90 });
      await timed.advanceDays(91);
      // Any request on the key would rotate it itself; wait for the timer instead (~40 ticks).
      await new Promise((r) => setTimeout(r, 2000));
      // Had the timer not rotated it, this maintenance run would.
      expect((await timed.maintenance()).rotated).toEqual([]);
      const autos = (await client.listKeyRotations({ KeyId: KeyMetadata!.KeyId })).Rotations!;
      expect(autos.map((r) => r.RotationType)).toEqual(['AUTOMATIC']);
    } finally {
      client.destroy();
      await timed.dispose();
    }
  });
});
