/**
 * HMAC keys: GenerateMac checked against node:crypto's HMAC over the key's own material (read
 * from the store and unwrapped with the root key by node:crypto, not by our code), VerifyMac, and
 * AWS's errors for every wrong key, algorithm and usage.
 */
import { createDecipheriv, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKms } from '../../kms.js';
import { createRootKeyProtector } from '../../material.js';
import type { MaterialVersion } from '../../model.js';

const root = new Uint8Array(32).map((_, i) => i * 7);
const enc = new TextEncoder();

/** The raw material of a version, unwrapped by node:crypto (AES-256-GCM, the documented AAD). */
function unwrap(v: MaterialVersion): Buffer {
  if (v.Material.kind !== 'wrapped') throw new Error('expected wrapped material');
  const data = v.Material.data;
  const d = createDecipheriv('aes-256-gcm', root, data.subarray(0, 12));
  d.setAAD(Buffer.from(`edge-kms/material/v1\u0000${v.KeyId}\u0000${v.Version}\u0000${v.KeyMaterialId}`));
  d.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([d.update(data.subarray(12, data.length - 16)), d.final()]);
}

async function kms() {
  return createKms({ protector: await createRootKeyProtector(root.slice()) });
}

describe('GenerateMac / VerifyMac', () => {
  for (const [spec, alg, hash, bytes] of [
    ['HMAC_256', 'HMAC_SHA_256', 'sha256', 32],
    ['HMAC_384', 'HMAC_SHA_384', 'sha384', 48],
    ['HMAC_512', 'HMAC_SHA_512', 'sha512', 64],
  ] as const) {
    it(`${spec}: the MAC is node:crypto's HMAC-${hash} under the key's material; VerifyMac agrees`, async () => {
      const k = await kms();
      const md = ((await k.execute('CreateKey', { KeySpec: spec, KeyUsage: 'GENERATE_VERIFY_MAC' })) as { KeyMetadata: Record<string, unknown> }).KeyMetadata;
      expect(md).toMatchObject({ KeySpec: spec, KeyUsage: 'GENERATE_VERIFY_MAC', MacAlgorithms: [alg] });
      expect(md.EncryptionAlgorithms).toBeUndefined();
      expect(md.CurrentKeyMaterialId).toBeUndefined();
      const id = md.KeyId as string;
      const raw = unwrap((await k.engine.store.getVersion(id, 1))!);
      expect(raw.length).toBe(bytes);
      for (const message of [enc.encode('x'), crypto.getRandomValues(new Uint8Array(4096))]) {
        const out = (await k.execute('GenerateMac', { KeyId: id, Message: message, MacAlgorithm: alg })) as {
          Mac: Uint8Array;
          KeyId: string;
          MacAlgorithm: string;
        };
        expect(Buffer.from(out.Mac).toString('hex')).toBe(createHmac(hash, raw).update(message).digest('hex'));
        expect(out).toMatchObject({ KeyId: md.Arn, MacAlgorithm: alg });
        const theirs = createHmac(hash, raw).update(message).digest();
        await expect(k.execute('VerifyMac', { KeyId: id, Message: message, MacAlgorithm: alg, Mac: theirs })).resolves.toEqual({
          KeyId: md.Arn,
          MacValid: true,
          MacAlgorithm: alg,
        });
        theirs[0] = theirs[0]! ^ 1;
        await expect(k.execute('VerifyMac', { KeyId: id, Message: message, MacAlgorithm: alg, Mac: theirs })).rejects.toMatchObject({
          code: 'KMSInvalidMacException',
          message: '',
        });
      }
    });
  }

  it("answers AWS's errors for the wrong key, algorithm, usage and spec", async () => {
    const k = await kms();
    const mac = ((await k.execute('CreateKey', { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })) as { KeyMetadata: { KeyId: string; Arn: string } })
      .KeyMetadata;
    const sym = ((await k.execute('CreateKey', {})) as { KeyMetadata: { KeyId: string; Arn: string } }).KeyMetadata;
    const m = enc.encode('m');
    await expect(k.execute('GenerateMac', { KeyId: mac.KeyId, Message: m, MacAlgorithm: 'HMAC_SHA_512' })).rejects.toMatchObject({
      code: 'InvalidKeyUsageException',
      message: 'Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256.',
    });
    await expect(k.execute('GenerateMac', { KeyId: sym.KeyId, Message: m, MacAlgorithm: 'HMAC_SHA_256' })).rejects.toMatchObject({
      code: 'InvalidKeyUsageException',
    });
    await expect(k.execute('Encrypt', { KeyId: mac.KeyId, Plaintext: m })).rejects.toMatchObject({ code: 'InvalidKeyUsageException' });
    await expect(k.execute('GenerateDataKey', { KeyId: mac.KeyId, KeySpec: 'AES_256' })).rejects.toMatchObject({ code: 'InvalidKeyUsageException' });
    await expect(k.execute('EnableKeyRotation', { KeyId: mac.KeyId })).rejects.toMatchObject({ code: 'UnsupportedOperationException' });
    await expect(k.execute('RotateKeyOnDemand', { KeyId: mac.KeyId })).rejects.toMatchObject({ code: 'UnsupportedOperationException' });
    await expect(k.execute('GenerateMac', { KeyId: mac.KeyId, Message: m, MacAlgorithm: 'HMAC_SHA_256', DryRun: true })).rejects.toMatchObject({
      code: 'DryRunOperationException',
    });
    await expect(k.execute('GenerateMac', { KeyId: mac.KeyId, Message: new Uint8Array(4097), MacAlgorithm: 'HMAC_SHA_256' })).rejects.toMatchObject({
      code: 'ValidationException',
    });
    await expect(k.execute('GenerateMac', { KeyId: mac.KeyId, Message: m })).rejects.toMatchObject({ code: 'ValidationException' });
    await k.execute('DisableKey', { KeyId: mac.KeyId });
    await expect(k.execute('GenerateMac', { KeyId: mac.KeyId, Message: m, MacAlgorithm: 'HMAC_SHA_256' })).rejects.toMatchObject({ code: 'DisabledException' });
    // CreateKey: KeyUsage is required for every key but a symmetric encryption key, and must fit.
    await expect(k.execute('CreateKey', { KeySpec: 'HMAC_256' })).rejects.toMatchObject({
      code: 'ValidationException',
      message: 'You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.',
    });
    await expect(k.execute('CreateKey', { KeySpec: 'HMAC_256', KeyUsage: 'ENCRYPT_DECRYPT' })).rejects.toMatchObject({
      code: 'ValidationException',
      message: 'KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec HMAC_256',
    });
    const h224 = ((await k.execute('CreateKey', { KeySpec: 'HMAC_224', KeyUsage: 'GENERATE_VERIFY_MAC' })) as { KeyMetadata: { KeyId: string } }).KeyMetadata
      .KeyId;
    await expect(k.execute('GenerateMac', { KeyId: h224, Message: m, MacAlgorithm: 'HMAC_SHA_256' })).rejects.toMatchObject({
      code: 'InvalidKeyUsageException',
      message: 'Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_224.',
    });
  });

  it('a multi-Region HMAC key MACs the same in every Region', async () => {
    const k = await kms();
    const id = (
      (await k.execute('CreateKey', { KeySpec: 'HMAC_384', KeyUsage: 'GENERATE_VERIFY_MAC', MultiRegion: true })) as { KeyMetadata: { KeyId: string } }
    ).KeyMetadata.KeyId;
    await k.execute('ReplicateKey', { KeyId: id, ReplicaRegion: 'eu-west-1' });
    const m = enc.encode('webhook body');
    const us = (await k.execute('GenerateMac', { KeyId: id, Message: m, MacAlgorithm: 'HMAC_SHA_384' })) as { Mac: Uint8Array };
    const eu = (await k.inRegion('eu-west-1').execute('GenerateMac', { KeyId: id, Message: m, MacAlgorithm: 'HMAC_SHA_384' })) as {
      Mac: Uint8Array;
      KeyId: string;
    };
    expect(Buffer.from(eu.Mac).equals(Buffer.from(us.Mac))).toBe(true);
    expect(eu.KeyId).toBe(`arn:aws:kms:eu-west-1:111122223333:key/${id}`);
  });

  it('key policies see kms:MacAlgorithm; grants can give GenerateMac and VerifyMac', async () => {
    const k = await kms();
    const root = { accountId: '111122223333', arn: 'arn:aws:iam::111122223333:root' };
    const alice = { accountId: '111122223333', arn: 'arn:aws:iam::111122223333:user/alice' };
    const id = ((await k.execute('CreateKey', { KeySpec: 'HMAC_512', KeyUsage: 'GENERATE_VERIFY_MAC' })) as { KeyMetadata: { KeyId: string } }).KeyMetadata
      .KeyId;
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: root.arn }, Action: 'kms:*', Resource: '*' },
        {
          Effect: 'Deny',
          Principal: { AWS: root.arn },
          Action: 'kms:GenerateMac',
          Resource: '*',
          Condition: { StringEquals: { 'kms:MacAlgorithm': 'HMAC_SHA_512' } },
        },
      ],
    };
    await k.execute('PutKeyPolicy', { KeyId: id, Policy: JSON.stringify(policy) });
    const input = { KeyId: id, Message: enc.encode('m'), MacAlgorithm: 'HMAC_SHA_512' };
    await expect(k.execute('GenerateMac', input, { caller: root })).rejects.toMatchObject({ code: 'AccessDeniedException' });
    await expect(k.execute('GenerateMac', input, { caller: alice })).rejects.toMatchObject({ code: 'AccessDeniedException' });
    const mac = ((await k.execute('GenerateMac', input)) as { Mac: Uint8Array }).Mac;
    await k.execute('CreateGrant', { KeyId: id, GranteePrincipal: alice.arn, Operations: ['VerifyMac'] });
    await expect(k.execute('VerifyMac', { ...input, Mac: mac }, { caller: alice })).resolves.toMatchObject({ MacValid: true });
    await expect(k.execute('GenerateMac', input, { caller: alice })).rejects.toMatchObject({ code: 'AccessDeniedException' });
  });
});
