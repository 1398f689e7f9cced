/**
 * Issue 3, the on-demand rotation limit under concurrency: 50 simultaneous RotateKeyOnDemand
 * calls on a fresh key give exactly 10 rotations and 40 LimitExceededException, over HTTP with
 * the server's persistent LMDB store, and in process with createKms() and the memory store.
 */
import { createKms } from '@edge-kms/core';
import { describe, expect, it } from 'vitest';
import { keyArn, text, useKmsServer, utf8 } from '../helpers/server.js';

const limitMessage = (keyId: string) =>
  `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${keyArn(keyId)}`;

function tally(results: PromiseSettledResult<unknown>[]) {
  const ok = results.filter((r) => r.status === 'fulfilled').length;
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  return { ok, errors };
}

describe('50 concurrent RotateKeyOnDemand over HTTP (LMDB store)', () => {
  const { server, kms } = useKmsServer();

  it('exactly 10 succeed and 40 fail with LimitExceededException', async () => {
    const md = (await kms.createKey({})).KeyMetadata!;
    const enc = await kms.encrypt({ KeyId: md.KeyId, Plaintext: utf8('original') });
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => kms.rotateKeyOnDemand({ KeyId: md.KeyId })));
    const { ok, errors } = tally(results);
    expect(ok).toBe(10);
    expect(errors).toHaveLength(40);
    for (const e of errors) {
      expect(e.name).toBe('LimitExceededException');
      expect(e.message).toBe(limitMessage(md.KeyId!));
    }

    const rot = await kms.listKeyRotations({ KeyId: md.KeyId });
    expect(rot.Rotations).toHaveLength(10);
    expect(rot.Truncated).toBe(false);
    expect(new Set(rot.Rotations!.map((r) => r.KeyMaterialId)).size).toBe(10);
    expect(rot.Rotations!.every((r) => r.RotationType === 'ON_DEMAND')).toBe(true);
    expect(rot.Rotations!.map((r) => r.KeyMaterialState)).toEqual([...Array(9).fill('NON_CURRENT'), 'CURRENT']);
    const all = await kms.listKeyRotations({ KeyId: md.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' });
    expect(all.Rotations).toHaveLength(11);
    expect((await kms.describeKey({ KeyId: md.KeyId })).KeyMetadata!.CurrentKeyMaterialId).toBe(rot.Rotations![9]!.KeyMaterialId);

    // Still consistent after a crash and restart.
    await server.restart('SIGKILL');
    const after = await kms.listKeyRotations({ KeyId: md.KeyId });
    expect(after.Rotations).toEqual(rot.Rotations);
    expect((await kms.rotateKeyOnDemand({ KeyId: md.KeyId }).catch((e: Error) => e)) as Error).toMatchObject({ name: 'LimitExceededException' });
    const dec = await kms.decrypt({ CiphertextBlob: enc.CiphertextBlob });
    expect(text(dec.Plaintext)).toBe('original');
    expect(dec.KeyMaterialId).toBe(md.CurrentKeyMaterialId);
  });

  it('concurrent rotations of different keys do not interfere', async () => {
    const ids = await Promise.all(Array.from({ length: 5 }, async () => (await kms.createKey({})).KeyMetadata!.KeyId!));
    const results = await Promise.allSettled(ids.flatMap((KeyId) => Array.from({ length: 12 }, () => kms.rotateKeyOnDemand({ KeyId }))));
    const { ok, errors } = tally(results);
    expect(ok).toBe(50);
    expect(errors).toHaveLength(10);
    expect(errors.every((e) => e.name === 'LimitExceededException')).toBe(true);
    for (const KeyId of ids) expect((await kms.listKeyRotations({ KeyId })).Rotations).toHaveLength(10);
  });

  it('concurrent Encrypt during rotations: every ciphertext decrypts under the material it names', async () => {
    const md = (await kms.createKey({})).KeyMetadata!;
    const work: Promise<unknown>[] = [];
    const sealed: Promise<{ blob: Uint8Array; i: number }>[] = [];
    for (let i = 0; i < 40; i++) {
      if (i % 4 === 0) work.push(kms.rotateKeyOnDemand({ KeyId: md.KeyId }));
      sealed.push(kms.encrypt({ KeyId: md.KeyId, Plaintext: utf8(`msg ${i}`) }).then((r) => ({ blob: r.CiphertextBlob!, i })));
    }
    await Promise.all(work);
    const materials = new Set((await kms.listKeyRotations({ KeyId: md.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' })).Rotations!.map((r) => r.KeyMaterialId));
    expect(materials.size).toBe(11);
    for (const s of await Promise.all(sealed)) {
      const dec = await kms.decrypt({ CiphertextBlob: s.blob });
      expect(text(dec.Plaintext)).toBe(`msg ${s.i}`);
      expect(materials.has(dec.KeyMaterialId)).toBe(true);
    }
  });
});

describe('50 concurrent RotateKeyOnDemand in process (createKms, memory store)', () => {
  it('exactly 10 succeed and 40 fail with LimitExceededException', async () => {
    const kms = createKms();
    const { KeyMetadata } = (await kms.execute('CreateKey', {})) as { KeyMetadata: { KeyId: string; CurrentKeyMaterialId: string } };
    const KeyId = KeyMetadata.KeyId;
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => kms.execute('RotateKeyOnDemand', { KeyId })));
    const { ok, errors } = tally(results);
    expect(ok).toBe(10);
    expect(errors).toHaveLength(40);
    for (const e of errors) {
      expect(e.name).toBe('LimitExceededException');
      expect(e.message).toBe(limitMessage(KeyId));
    }
    const rot = (await kms.execute('ListKeyRotations', { KeyId })) as { Rotations: { KeyMaterialId: string; RotationType: string }[]; Truncated: boolean };
    expect(rot.Rotations).toHaveLength(10);
    expect(rot.Truncated).toBe(false);
    expect(new Set(rot.Rotations.map((r) => r.KeyMaterialId)).size).toBe(10);
    expect(rot.Rotations.every((r) => r.RotationType === 'ON_DEMAND')).toBe(true);
    const md = (await kms.execute('DescribeKey', { KeyId })) as { KeyMetadata: { CurrentKeyMaterialId: string } };
    expect(md.KeyMetadata.CurrentKeyMaterialId).toBe(rot.Rotations[9]!.KeyMaterialId);
  });

  it('the same limit with a custom onDemandRotationLimit', async () => {
    const kms = createKms({ onDemandRotationLimit: 3 });
    const { KeyMetadata } = (await kms.execute('CreateKey', {})) as { KeyMetadata: { KeyId: string } };
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => kms.execute('RotateKeyOnDemand', { KeyId: KeyMetadata.KeyId })));
    expect(tally(results).ok).toBe(3);
  });
});
