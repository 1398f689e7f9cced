/**
 * Issue 3, ListKeyRotations paging on a server started with KMS_ON_DEMAND_ROTATION_LIMIT=100:
 * 25 on-demand rotations listed 10 at a time, ROTATIONS_ONLY and ALL_KEY_MATERIAL, and a
 * ciphertext from each of the 26 versions decrypting under its own material.
 */
import type { KeyMetadata, RotationsListEntry } from '@aws-sdk/client-kms';
import { beforeAll, describe, expect, it } from 'vitest';
import { failure, text, useKmsServer, utf8 } from '../helpers/server.js';

const { kms } = useKmsServer({ env: { KMS_ON_DEMAND_ROTATION_LIMIT: '100' } });
let md: KeyMetadata;
/** KeyMaterialId of version 1 (the original), 2, …, 26. */
const materialIds: string[] = [];
const sealed: { blob: Uint8Array; materialId: string; plaintext: string }[] = [];

beforeAll(async () => {
  md = (await kms.createKey({ Description: 'paging' })).KeyMetadata!;
  materialIds.push(md.CurrentKeyMaterialId!);
  for (let i = 0; i <= 25; i++) {
    if (i > 0) {
      await kms.rotateKeyOnDemand({ KeyId: md.KeyId });
      materialIds.push((await kms.describeKey({ KeyId: md.KeyId })).KeyMetadata!.CurrentKeyMaterialId!);
    }
    const plaintext = `sealed under version ${i + 1}`;
    const enc = await kms.encrypt({ KeyId: md.KeyId, Plaintext: utf8(plaintext), EncryptionContext: { v: String(i + 1) } });
    sealed.push({ blob: enc.CiphertextBlob!, materialId: materialIds[i]!, plaintext });
  }
});

async function pages(include: 'ROTATIONS_ONLY' | 'ALL_KEY_MATERIAL' | undefined, limit: number) {
  const out: { rotations: RotationsListEntry[]; truncated: boolean | undefined; marker: string | undefined }[] = [];
  let Marker: string | undefined;
  for (let i = 0; i < 50; i++) {
    const res = await kms.listKeyRotations({ KeyId: md.KeyId, IncludeKeyMaterial: include, Limit: limit, Marker });
    out.push({ rotations: res.Rotations!, truncated: res.Truncated, marker: res.NextMarker });
    if (!res.Truncated) break;
    Marker = res.NextMarker;
  }
  return out;
}

describe('ListKeyRotations paging', () => {
  it('26 distinct key material versions exist', () => {
    expect(materialIds).toHaveLength(26);
    expect(new Set(materialIds).size).toBe(26);
  });

  it('ROTATIONS_ONLY (the default), Limit 10: three pages of 10, 10 and 5', async () => {
    const ps = await pages(undefined, 10);
    expect(ps.map((p) => p.rotations.length)).toEqual([10, 10, 5]);
    expect(ps.map((p) => p.truncated)).toEqual([true, true, false]);
    expect(ps[0]!.marker).toBeTruthy();
    expect(ps[1]!.marker).toBeTruthy();
    expect(ps[1]!.marker).not.toBe(ps[0]!.marker);
    expect(ps[2]!.marker).toBeUndefined();
    const all = ps.flatMap((p) => p.rotations);
    expect(all.map((r) => r.KeyMaterialId)).toEqual(materialIds.slice(1));
    for (const [i, r] of all.entries()) {
      expect(r.KeyId).toBe(md.KeyId);
      expect(r.RotationType).toBe('ON_DEMAND');
      expect(r.RotationDate).toBeInstanceOf(Date);
      expect(r.KeyMaterialState).toBe(i === all.length - 1 ? 'CURRENT' : 'NON_CURRENT');
    }
    // The explicit value lists the same.
    const explicit = (await pages('ROTATIONS_ONLY', 10)).flatMap((p) => p.rotations);
    expect(explicit).toEqual(all);
  });

  it('ALL_KEY_MATERIAL, Limit 10: three pages of 10, 10 and 6, the original material first', async () => {
    const ps = await pages('ALL_KEY_MATERIAL', 10);
    expect(ps.map((p) => p.rotations.length)).toEqual([10, 10, 6]);
    expect(ps.map((p) => p.truncated)).toEqual([true, true, false]);
    const all = ps.flatMap((p) => p.rotations);
    expect(all.map((r) => r.KeyMaterialId)).toEqual(materialIds);
    expect(all[0]!.RotationType).toBeUndefined();
    expect(all[0]!.RotationDate).toBeUndefined();
    expect(all.slice(1).every((r) => r.RotationType === 'ON_DEMAND')).toBe(true);
    expect(all.filter((r) => r.KeyMaterialState === 'CURRENT').map((r) => r.KeyMaterialId)).toEqual([materialIds[25]]);
    expect((await kms.describeKey({ KeyId: md.KeyId })).KeyMetadata!.CurrentKeyMaterialId).toBe(materialIds[25]);
  });

  it('other page sizes list the same sequence; the default Limit returns everything at once', async () => {
    const full = (await pages(undefined, 10)).flatMap((p) => p.rotations);
    for (const limit of [1, 7, 25, 26, 1000]) {
      const ps = await pages(undefined, limit);
      expect(ps).toHaveLength(Math.ceil(25 / limit));
      expect(
        ps.flatMap((p) => p.rotations),
        `Limit ${limit}`,
      ).toEqual(full);
    }
    const one = await kms.listKeyRotations({ KeyId: md.KeyId });
    expect(one.Truncated).toBe(false);
    expect(one.Rotations).toEqual(full);
  });

  it('a malformed marker is InvalidMarkerException', async () => {
    for (const Marker of ['!!!', 'bm90LWEtbnVtYmVy', 'OTk5']) {
      expect((await failure(kms.listKeyRotations({ KeyId: md.KeyId, Marker }))).name, Marker).toBe('InvalidMarkerException');
    }
  });

  it('a ciphertext from every one of the 26 versions decrypts and reports its KeyMaterialId', async () => {
    expect(sealed).toHaveLength(26);
    await Promise.all(
      sealed.map(async (s, i) => {
        const dec = await kms.decrypt({ CiphertextBlob: s.blob, EncryptionContext: { v: String(i + 1) } });
        expect(text(dec.Plaintext)).toBe(s.plaintext);
        expect(dec.KeyMaterialId).toBe(s.materialId);
      }),
    );
  });

  it('ReEncrypt to the same key moves the oldest ciphertext onto the current version', async () => {
    const re = await kms.reEncrypt({
      CiphertextBlob: sealed[0]!.blob,
      SourceEncryptionContext: { v: '1' },
      DestinationKeyId: md.KeyId,
      DestinationEncryptionContext: { v: '1' },
    });
    expect(re.SourceKeyMaterialId).toBe(materialIds[0]);
    expect(re.DestinationKeyMaterialId).toBe(materialIds[25]);
    const dec = await kms.decrypt({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: { v: '1' } });
    expect(dec.KeyMaterialId).toBe(materialIds[25]);
    expect(text(dec.Plaintext)).toBe(sealed[0]!.plaintext);
  });

  it('the configured limit (100) applies: 100 rotations of a fresh key, then LimitExceededException', async () => {
    const md2 = (await kms.createKey({})).KeyMetadata!;
    for (let i = 0; i < 10; i++) {
      await Promise.all(Array.from({ length: 10 }, () => kms.rotateKeyOnDemand({ KeyId: md2.KeyId })));
    }
    const err = await failure(kms.rotateKeyOnDemand({ KeyId: md2.KeyId }));
    expect(err.name).toBe('LimitExceededException');
    expect((await kms.listKeyRotations({ KeyId: md2.KeyId, Limit: 1000 })).Rotations).toHaveLength(100);
  });
});
