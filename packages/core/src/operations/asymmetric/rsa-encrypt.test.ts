/**
 * RSA encryption keys (ENCRYPT_DECRYPT, RSAES_OAEP_SHA_1/256): every ciphertext node:crypto makes
 * with GetPublicKey's key decrypts in the KMS, KMS ciphertexts round-trip, AWS's plaintext limits
 * at the boundary, one InvalidCiphertextException for every decryption failure, ReEncrypt both
 * ways, policies and grants.
 */
import { constants, createPublicKey, publicEncrypt, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { INVALID_CIPHERTEXT_MESSAGE } from '../../errors.js';
import { createKms, type Kms } from '../../kms.js';
import { createRootKeyProtector } from '../../material.js';
import { createMemoryStore } from '../../store/memory-store.js';
import { scopeStore } from '../../store/region-scope.js';
import type { KmsStore } from '../../store/types.js';
import type { MaterialVersion } from '../../model.js';

type Md = { KeyId: string; Arn: string } & Record<string, unknown>;
const ALGS = [
  ['RSAES_OAEP_SHA_1', 'sha1'],
  ['RSAES_OAEP_SHA_256', 'sha256'],
] as const;
const SPECS = [
  ['RSA_2048', 256, { RSAES_OAEP_SHA_1: 214, RSAES_OAEP_SHA_256: 190 }],
  ['RSA_3072', 384, { RSAES_OAEP_SHA_1: 342, RSAES_OAEP_SHA_256: 318 }],
  ['RSA_4096', 512, { RSAES_OAEP_SHA_1: 470, RSAES_OAEP_SHA_256: 446 }],
] as const;
const root = { accountId: '111122223333', arn: 'arn:aws:iam::111122223333:root' };
const alice = { accountId: '111122223333', arn: 'arn:aws:iam::111122223333:user/alice' };
const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill).map((b, i) => (b + i) & 0xff);
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

async function createRsa(kms: Kms, spec: string, extra: Record<string, unknown> = {}): Promise<Md> {
  return ((await kms.execute('CreateKey', { KeySpec: spec, KeyUsage: 'ENCRYPT_DECRYPT', ...extra })) as { KeyMetadata: Md }).KeyMetadata;
}

async function publicKeyOf(kms: Kms, keyId: string): Promise<KeyObject> {
  const out = (await kms.execute('GetPublicKey', { KeyId: keyId })) as { PublicKey: Uint8Array };
  return createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' });
}

function nodeEncrypt(key: KeyObject, hash: string, plaintext: Uint8Array): Uint8Array {
  return new Uint8Array(publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, plaintext));
}

const invalid = { code: 'InvalidCiphertextException', message: INVALID_CIPHERTEXT_MESSAGE };

describe('RSA encryption keys', () => {
  // RSA_3072 and RSA_4096 generation is slow: each key is made once for the file.
  let kms: Kms;
  const keys: Record<string, Md> = {};
  let other: Md;
  let sym: Md;
  beforeAll(async () => {
    kms = createKms();
    const made = await Promise.all([...SPECS.map(([spec]) => createRsa(kms, spec)), createRsa(kms, 'RSA_2048')]);
    for (const [i, [spec]] of SPECS.entries()) keys[spec] = made[i]!;
    other = made[SPECS.length]!;
    sym = ((await kms.execute('CreateKey', {})) as { KeyMetadata: Md }).KeyMetadata;
  }, 120_000);

  it('CreateKey, DescribeKey and GetPublicKey show the two RSAES_OAEP algorithms and the SPKI', async () => {
    for (const [spec, k] of SPECS) {
      const md = keys[spec]!;
      expect(md).toMatchObject({ KeySpec: spec, KeyUsage: 'ENCRYPT_DECRYPT', EncryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] });
      expect(md.SigningAlgorithms).toBeUndefined();
      const described = ((await kms.execute('DescribeKey', { KeyId: md.KeyId })) as { KeyMetadata: Md }).KeyMetadata;
      expect(described.EncryptionAlgorithms).toEqual(['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256']);
      expect(described.SigningAlgorithms).toBeUndefined();
      const pub = (await kms.execute('GetPublicKey', { KeyId: md.KeyId })) as Record<string, unknown>;
      expect(pub).toMatchObject({
        KeyId: md.Arn,
        KeySpec: spec,
        CustomerMasterKeySpec: spec,
        KeyUsage: 'ENCRYPT_DECRYPT',
        EncryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'],
      });
      expect(pub.SigningAlgorithms).toBeUndefined();
      const key = createPublicKey({ key: Buffer.from(pub.PublicKey as Uint8Array), format: 'der', type: 'spki' });
      expect(key.asymmetricKeyType).toBe('rsa');
      expect(key.asymmetricKeyDetails).toMatchObject({ modulusLength: k * 8, publicExponent: 65537n });
    }
  });

  for (const [spec, k, limits] of SPECS) {
    it(`${spec}: node:crypto's OAEP ciphertexts decrypt, KMS ciphertexts round-trip, AWS's limits at the boundary`, async () => {
      const md = keys[spec]!;
      const key = await publicKeyOf(kms, md.KeyId);
      for (const [alg, hash] of ALGS) {
        const max = limits[alg];
        for (const n of [1, max]) {
          const plaintext = bytes(n);
          // node:crypto encrypts with the public key; the KMS decrypts.
          const external = nodeEncrypt(key, hash, plaintext);
          const out = (await kms.execute('Decrypt', { KeyId: md.KeyId, CiphertextBlob: external, EncryptionAlgorithm: alg })) as Record<string, unknown>;
          expect(same(out.Plaintext as Uint8Array, plaintext)).toBe(true);
          expect(out.KeyId).toBe(md.Arn);
          expect(out.EncryptionAlgorithm).toBe(alg);
          expect('KeyMaterialId' in out).toBe(false);
          // The KMS encrypts: the bare RSA-OAEP block, randomized, decrypting only with its own algorithm.
          const enc = (await kms.execute('Encrypt', { KeyId: md.KeyId, Plaintext: plaintext, EncryptionAlgorithm: alg })) as Record<string, unknown>;
          expect(enc).toMatchObject({ KeyId: md.Arn, EncryptionAlgorithm: alg });
          const blob = enc.CiphertextBlob as Uint8Array;
          expect(blob.length).toBe(k);
          const again = (await kms.execute('Encrypt', { KeyId: md.KeyId, Plaintext: plaintext, EncryptionAlgorithm: alg })) as { CiphertextBlob: Uint8Array };
          expect(same(again.CiphertextBlob, blob)).toBe(false);
          const back = (await kms.execute('Decrypt', { KeyId: md.Arn, CiphertextBlob: blob, EncryptionAlgorithm: alg })) as { Plaintext: Uint8Array };
          expect(same(back.Plaintext, plaintext)).toBe(true);
          const otherAlg = alg === 'RSAES_OAEP_SHA_1' ? 'RSAES_OAEP_SHA_256' : 'RSAES_OAEP_SHA_1';
          await expect(kms.execute('Decrypt', { KeyId: md.KeyId, CiphertextBlob: blob, EncryptionAlgorithm: otherAlg })).rejects.toMatchObject(invalid);
          await expect(kms.execute('Decrypt', { KeyId: md.KeyId, CiphertextBlob: external, EncryptionAlgorithm: otherAlg })).rejects.toMatchObject(invalid);
        }
        // One byte over the limit.
        await expect(kms.execute('Encrypt', { KeyId: md.KeyId, Plaintext: bytes(max + 1), EncryptionAlgorithm: alg })).rejects.toMatchObject({
          code: 'ValidationException',
          message: `Algorithm ${alg} and key spec ${spec} cannot encrypt data larger than ${max} bytes.`,
        });
      }
    });
  }

  it('a root-key wrapped KMS (Node, Workers) decrypts node:crypto ciphertexts and round-trips too', async () => {
    const wrapped = createKms({ protector: await createRootKeyProtector(new Uint8Array(32).fill(9)) });
    const md = await createRsa(wrapped, 'RSA_2048');
    const key = await publicKeyOf(wrapped, md.KeyId);
    for (const [alg, hash] of ALGS) {
      const plaintext = bytes(100, 3);
      const out = (await wrapped.execute('Decrypt', { KeyId: md.KeyId, CiphertextBlob: nodeEncrypt(key, hash, plaintext), EncryptionAlgorithm: alg })) as {
        Plaintext: Uint8Array;
      };
      expect(same(out.Plaintext, plaintext)).toBe(true);
      const { CiphertextBlob } = (await wrapped.execute('Encrypt', { KeyId: md.KeyId, Plaintext: plaintext, EncryptionAlgorithm: alg })) as {
        CiphertextBlob: Uint8Array;
      };
      const back = (await wrapped.execute('Decrypt', { KeyId: md.KeyId, CiphertextBlob, EncryptionAlgorithm: alg })) as { Plaintext: Uint8Array };
      expect(same(back.Plaintext, plaintext)).toBe(true);
    }
  });

  it('every decryption failure is the same InvalidCiphertextException: wrong algorithm, key, a changed or wrong-length ciphertext, no KeyId', async () => {
    const md = keys.RSA_2048!;
    const plaintext = bytes(32);
    const blob = (
      (await kms.execute('Encrypt', { KeyId: md.KeyId, Plaintext: plaintext, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })) as { CiphertextBlob: Uint8Array }
    ).CiphertextBlob;
    const symBlob = ((await kms.execute('Encrypt', { KeyId: sym.KeyId, Plaintext: plaintext })) as { CiphertextBlob: Uint8Array }).CiphertextBlob;
    const flipped = (i: number) => {
      const b = blob.slice();
      b[i]! ^= 1;
      return b;
    };
    const failures: Record<string, unknown>[] = [
      { KeyId: md.KeyId, CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' },
      { KeyId: other.KeyId, CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' },
      { KeyId: keys.RSA_3072!.KeyId, CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' },
      { KeyId: md.KeyId, CiphertextBlob: flipped(0), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' },
      { KeyId: md.KeyId, CiphertextBlob: flipped(100), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' },
      { KeyId: md.KeyId, CiphertextBlob: flipped(255), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' },
      { KeyId: md.KeyId, CiphertextBlob: blob.subarray(0, 255), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' },
      { KeyId: md.KeyId, CiphertextBlob: new Uint8Array([...blob, 0]), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' },
      { KeyId: md.KeyId, CiphertextBlob: new Uint8Array(256), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' },
      { KeyId: md.KeyId, CiphertextBlob: new Uint8Array(256).fill(0xff), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' },
      { KeyId: md.KeyId, CiphertextBlob: symBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' },
      // No KeyId: the bare RSA block does not parse as an edge-kms blob.
      { CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' },
      { CiphertextBlob: blob },
      // A symmetric key named for an RSA ciphertext.
      { KeyId: sym.KeyId, CiphertextBlob: blob },
    ];
    for (const input of failures) {
      await expect(kms.execute('Decrypt', input)).rejects.toMatchObject(invalid);
      await expect(
        kms.execute('ReEncrypt', {
          CiphertextBlob: input.CiphertextBlob,
          SourceKeyId: input.KeyId,
          SourceEncryptionAlgorithm: input.EncryptionAlgorithm,
          DestinationKeyId: sym.KeyId,
        }),
      ).rejects.toMatchObject(invalid);
    }
    // The same message as a changed symmetric ciphertext's.
    const symChanged = symBlob.slice();
    symChanged[symChanged.length - 1]! ^= 1;
    const e = await kms.execute('Decrypt', { CiphertextBlob: symChanged }).catch((x: Error) => x);
    expect(e).toMatchObject(invalid);
  });

  it("AWS's usage errors: the algorithm must fit the key, no encryption context, no data keys, no signing, no rotation", async () => {
    const md = keys.RSA_2048!;
    const m = bytes(8);
    for (const alg of [undefined, 'SYMMETRIC_DEFAULT', 'SM2PKE']) {
      const message = `The encryption algorithm ${alg ?? 'SYMMETRIC_DEFAULT'} is not compatible with the type of ${md.Arn}.`;
      await expect(kms.execute('Encrypt', { KeyId: md.KeyId, Plaintext: m, EncryptionAlgorithm: alg })).rejects.toMatchObject({
        code: 'InvalidKeyUsageException',
        message,
      });
      await expect(kms.execute('Decrypt', { KeyId: md.KeyId, CiphertextBlob: bytes(256), EncryptionAlgorithm: alg })).rejects.toMatchObject({
        code: 'InvalidKeyUsageException',
        message,
      });
    }
    await expect(kms.execute('Encrypt', { KeyId: sym.KeyId, Plaintext: m, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })).rejects.toMatchObject({
      code: 'InvalidKeyUsageException',
      message: `The encryption algorithm RSAES_OAEP_SHA_256 is not compatible with the type of ${sym.Arn}.`,
    });
    // An encryption context: refused with an asymmetric key (an empty one binds nothing and is taken as none).
    const refused = { code: 'ValidationException', message: expect.stringContaining('do not support an encryption context') };
    await expect(
      kms.execute('Encrypt', { KeyId: md.KeyId, Plaintext: m, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256', EncryptionContext: { a: 'b' } }),
    ).rejects.toMatchObject(refused);
    const { CiphertextBlob } = (await kms.execute('Encrypt', {
      KeyId: md.KeyId,
      Plaintext: m,
      EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
      EncryptionContext: {},
    })) as {
      CiphertextBlob: Uint8Array;
    };
    await expect(
      kms.execute('Decrypt', { KeyId: md.KeyId, CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256', EncryptionContext: { a: 'b' } }),
    ).rejects.toMatchObject(refused);
    await expect(
      kms.execute('Decrypt', { KeyId: md.KeyId, CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256', EncryptionContext: {} }),
    ).resolves.toBeDefined();
    // Data keys, signing, rotation.
    for (const [op, input] of [
      ['GenerateDataKey', { KeySpec: 'AES_256' }],
      ['GenerateDataKeyWithoutPlaintext', { KeySpec: 'AES_256' }],
      ['GenerateDataKeyPair', { KeyPairSpec: 'ECC_NIST_P256' }],
      ['GenerateDataKeyPairWithoutPlaintext', { KeyPairSpec: 'ECC_NIST_P256' }],
      ['Sign', { Message: m, SigningAlgorithm: 'RSASSA_PSS_SHA_256' }],
      ['Verify', { Message: m, Signature: bytes(256), SigningAlgorithm: 'RSASSA_PSS_SHA_256' }],
      ['GenerateMac', { Message: m, MacAlgorithm: 'HMAC_SHA_256' }],
    ] as const) {
      await expect(kms.execute(op, { KeyId: md.KeyId, ...input })).rejects.toMatchObject({ code: 'InvalidKeyUsageException' });
    }
    await expect(kms.execute('EnableKeyRotation', { KeyId: md.KeyId })).rejects.toMatchObject({ code: 'UnsupportedOperationException' });
    await expect(kms.execute('RotateKeyOnDemand', { KeyId: md.KeyId })).rejects.toMatchObject({ code: 'UnsupportedOperationException' });
  });

  it('DryRun answers DryRunOperationException after every other check', async () => {
    const md = keys.RSA_2048!;
    const enc = { KeyId: md.KeyId, Plaintext: bytes(190), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' };
    await expect(kms.execute('Encrypt', { ...enc, DryRun: true })).rejects.toMatchObject({ code: 'DryRunOperationException' });
    await expect(kms.execute('Encrypt', { ...enc, Plaintext: bytes(191), DryRun: true })).rejects.toMatchObject({ code: 'ValidationException' });
    await expect(kms.execute('Encrypt', { ...enc, EncryptionAlgorithm: undefined, DryRun: true })).rejects.toMatchObject({ code: 'InvalidKeyUsageException' });
    const { CiphertextBlob } = (await kms.execute('Encrypt', enc)) as { CiphertextBlob: Uint8Array };
    const dec = { KeyId: md.KeyId, CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' };
    await expect(kms.execute('Decrypt', { ...dec, DryRun: true })).rejects.toMatchObject({ code: 'DryRunOperationException' });
    const re = { CiphertextBlob, SourceKeyId: md.KeyId, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', DestinationKeyId: sym.KeyId };
    await expect(kms.execute('ReEncrypt', { ...re, DryRun: true })).rejects.toMatchObject({ code: 'DryRunOperationException' });
  });

  it('a disabled key or one pending deletion neither encrypts nor decrypts', async () => {
    const md = await createRsa(kms, 'RSA_2048');
    const enc = { KeyId: md.KeyId, Plaintext: bytes(10), EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' };
    const { CiphertextBlob } = (await kms.execute('Encrypt', enc)) as { CiphertextBlob: Uint8Array };
    const dec = { KeyId: md.KeyId, CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' };
    await kms.execute('DisableKey', { KeyId: md.KeyId });
    await expect(kms.execute('Encrypt', enc)).rejects.toMatchObject({ code: 'DisabledException', message: `${md.Arn} is disabled.` });
    await expect(kms.execute('Decrypt', dec)).rejects.toMatchObject({ code: 'DisabledException', message: `${md.Arn} is disabled.` });
    await expect(kms.execute('GetPublicKey', { KeyId: md.KeyId })).rejects.toMatchObject({ code: 'DisabledException' });
    await kms.execute('EnableKey', { KeyId: md.KeyId });
    await expect(kms.execute('Decrypt', dec)).resolves.toBeDefined();
    await kms.execute('ScheduleKeyDeletion', { KeyId: md.KeyId, PendingWindowInDays: 7 });
    await expect(kms.execute('Encrypt', enc)).rejects.toMatchObject({ code: 'KMSInvalidStateException', message: `${md.Arn} is pending deletion.` });
    await expect(kms.execute('Decrypt', dec)).rejects.toMatchObject({ code: 'KMSInvalidStateException', message: `${md.Arn} is pending deletion.` });
    await expect(
      kms.execute('ReEncrypt', { CiphertextBlob, SourceKeyId: md.KeyId, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_1', DestinationKeyId: sym.KeyId }),
    ).rejects.toMatchObject({ code: 'KMSInvalidStateException' });
  });

  it('ReEncrypt: symmetric -> RSA, RSA -> symmetric, RSA -> RSA, with the real algorithms and key material ids only for symmetric sides', async () => {
    const rsa = keys.RSA_2048!;
    const big = keys.RSA_3072!;
    const plaintext = bytes(150);
    const context = { purpose: 'test' };
    const symBlob = ((await kms.execute('Encrypt', { KeyId: sym.KeyId, Plaintext: plaintext, EncryptionContext: context })) as { CiphertextBlob: Uint8Array })
      .CiphertextBlob;
    const symMaterial = ((await kms.execute('DescribeKey', { KeyId: sym.KeyId })) as { KeyMetadata: Md }).KeyMetadata.CurrentKeyMaterialId;

    // symmetric -> RSA: DestinationEncryptionAlgorithm required, no DestinationEncryptionContext.
    const toRsa = { CiphertextBlob: symBlob, SourceEncryptionContext: context, DestinationKeyId: rsa.KeyId };
    await expect(kms.execute('ReEncrypt', toRsa)).rejects.toMatchObject({
      code: 'InvalidKeyUsageException',
      message: `The encryption algorithm SYMMETRIC_DEFAULT is not compatible with the type of ${rsa.Arn}.`,
    });
    await expect(
      kms.execute('ReEncrypt', { ...toRsa, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', DestinationEncryptionContext: context }),
    ).rejects.toMatchObject({ code: 'ValidationException' });
    const a = (await kms.execute('ReEncrypt', { ...toRsa, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })) as Record<string, unknown>;
    expect(a).toMatchObject({
      SourceKeyId: sym.Arn,
      KeyId: rsa.Arn,
      SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
      SourceKeyMaterialId: symMaterial,
    });
    expect('DestinationKeyMaterialId' in a).toBe(false);
    const rsaBlob = a.CiphertextBlob as Uint8Array;
    expect(rsaBlob.length).toBe(256);
    const opened = (await kms.execute('Decrypt', { KeyId: rsa.KeyId, CiphertextBlob: rsaBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })) as {
      Plaintext: Uint8Array;
    };
    expect(same(opened.Plaintext, plaintext)).toBe(true);
    // Too long for the destination: AWS's limit.
    const long = ((await kms.execute('Encrypt', { KeyId: sym.KeyId, Plaintext: bytes(191) })) as { CiphertextBlob: Uint8Array }).CiphertextBlob;
    await expect(
      kms.execute('ReEncrypt', { CiphertextBlob: long, DestinationKeyId: rsa.KeyId, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }),
    ).rejects.toMatchObject({
      code: 'ValidationException',
      message: 'Algorithm RSAES_OAEP_SHA_256 and key spec RSA_2048 cannot encrypt data larger than 190 bytes.',
    });

    // RSA -> symmetric: SourceKeyId and SourceEncryptionAlgorithm required.
    const fromRsa = { CiphertextBlob: rsaBlob, DestinationKeyId: sym.KeyId, DestinationEncryptionContext: context };
    await expect(kms.execute('ReEncrypt', { ...fromRsa, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })).rejects.toMatchObject(invalid);
    await expect(kms.execute('ReEncrypt', { ...fromRsa, SourceKeyId: rsa.KeyId })).rejects.toMatchObject({ code: 'InvalidKeyUsageException' });
    await expect(
      kms.execute('ReEncrypt', { ...fromRsa, SourceKeyId: rsa.KeyId, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', SourceEncryptionContext: context }),
    ).rejects.toMatchObject({ code: 'ValidationException' });
    const b = (await kms.execute('ReEncrypt', { ...fromRsa, SourceKeyId: rsa.KeyId, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })) as Record<
      string,
      unknown
    >;
    expect(b).toMatchObject({
      SourceKeyId: rsa.Arn,
      KeyId: sym.Arn,
      SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
      DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      DestinationKeyMaterialId: symMaterial,
    });
    expect('SourceKeyMaterialId' in b).toBe(false);
    await expect(kms.execute('Decrypt', { CiphertextBlob: b.CiphertextBlob })).rejects.toMatchObject(invalid); // the context is bound
    const back = (await kms.execute('Decrypt', { CiphertextBlob: b.CiphertextBlob, EncryptionContext: context })) as Record<string, unknown>;
    expect(same(back.Plaintext as Uint8Array, plaintext)).toBe(true);
    expect(back).toMatchObject({ EncryptionAlgorithm: 'SYMMETRIC_DEFAULT', KeyMaterialId: symMaterial });

    // RSA -> RSA, across key specs and hashes.
    const c = (await kms.execute('ReEncrypt', {
      CiphertextBlob: rsaBlob,
      SourceKeyId: rsa.Arn,
      SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
      DestinationKeyId: big.KeyId,
      DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
    })) as Record<string, unknown>;
    expect(c).toMatchObject({ SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_1', KeyId: big.Arn });
    expect('SourceKeyMaterialId' in c || 'DestinationKeyMaterialId' in c).toBe(false);
    expect((c.CiphertextBlob as Uint8Array).length).toBe(384);
    const last = (await kms.execute('Decrypt', { KeyId: big.KeyId, CiphertextBlob: c.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' })) as {
      Plaintext: Uint8Array;
    };
    expect(same(last.Plaintext, plaintext)).toBe(true);
  });

  it('key policies see kms:EncryptionAlgorithm in Encrypt, Decrypt and ReEncrypt', async () => {
    const md = await createRsa(kms, 'RSA_2048');
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: root.arn }, Action: 'kms:*', Resource: '*' },
        {
          Effect: 'Deny',
          Principal: { AWS: root.arn },
          Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'],
          Resource: '*',
          Condition: { StringEquals: { 'kms:EncryptionAlgorithm': 'RSAES_OAEP_SHA_1' } },
        },
      ],
    };
    await kms.execute('PutKeyPolicy', { KeyId: md.KeyId, Policy: JSON.stringify(policy) });
    const m = bytes(16);
    const caller = { caller: root };
    await expect(kms.execute('Encrypt', { KeyId: md.KeyId, Plaintext: m, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }, caller)).rejects.toMatchObject({
      code: 'AccessDeniedException',
    });
    const sealed = (await kms.execute('Encrypt', { KeyId: md.KeyId, Plaintext: m, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }, caller)) as {
      CiphertextBlob: Uint8Array;
    };
    await expect(
      kms.execute('Decrypt', { KeyId: md.KeyId, CiphertextBlob: sealed.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }, caller),
    ).resolves.toBeDefined();
    const sha1 = nodeEncrypt(await publicKeyOf(kms, md.KeyId), 'sha1', m);
    await expect(kms.execute('Decrypt', { KeyId: md.KeyId, CiphertextBlob: sha1, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }, caller)).rejects.toMatchObject({
      code: 'AccessDeniedException',
    });
    await expect(
      kms.execute(
        'ReEncrypt',
        { CiphertextBlob: sha1, SourceKeyId: md.KeyId, SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_1', DestinationKeyId: sym.KeyId },
        caller,
      ),
    ).rejects.toMatchObject({ code: 'AccessDeniedException' });
    const symBlob = ((await kms.execute('Encrypt', { KeyId: sym.KeyId, Plaintext: m })) as { CiphertextBlob: Uint8Array }).CiphertextBlob;
    await expect(
      kms.execute('ReEncrypt', { CiphertextBlob: symBlob, DestinationKeyId: md.KeyId, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }, caller),
    ).rejects.toMatchObject({ code: 'AccessDeniedException' });
    await expect(
      kms.execute('ReEncrypt', { CiphertextBlob: symBlob, DestinationKeyId: md.KeyId, DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }, caller),
    ).resolves.toMatchObject({ DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
  });

  it("grants give an asymmetric encryption key's operations, not the data-key ones", async () => {
    const md = await createRsa(kms, 'RSA_2048');
    for (const op of ['GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext', 'Sign']) {
      await expect(kms.execute('CreateGrant', { KeyId: md.KeyId, GranteePrincipal: alice.arn, Operations: ['Encrypt', op] })).rejects.toMatchObject({
        code: 'ValidationException',
        message: `Grant operations ${op} are not supported for a KMS key with KeyUsage ENCRYPT_DECRYPT.`,
      });
    }
    await kms.execute('CreateGrant', {
      KeyId: md.KeyId,
      GranteePrincipal: alice.arn,
      Operations: ['Encrypt', 'Decrypt', 'ReEncryptFrom', 'ReEncryptTo', 'GetPublicKey', 'DescribeKey', 'CreateGrant', 'RetireGrant'],
    });
    const as = { caller: alice };
    const m = bytes(20);
    const { CiphertextBlob } = (await kms.execute('Encrypt', { KeyId: md.KeyId, Plaintext: m, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }, as)) as {
      CiphertextBlob: Uint8Array;
    };
    const out = (await kms.execute('Decrypt', { KeyId: md.KeyId, CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }, as)) as { Plaintext: Uint8Array };
    expect(same(out.Plaintext, m)).toBe(true);
    await expect(kms.execute('GetPublicKey', { KeyId: md.KeyId }, as)).resolves.toMatchObject({ KeyUsage: 'ENCRYPT_DECRYPT' });
    // The symmetric key still grants its data-key operations.
    await expect(kms.execute('CreateGrant', { KeyId: sym.KeyId, GranteePrincipal: alice.arn, Operations: ['GenerateDataKey'] })).resolves.toBeDefined();
  });

  it('a multi-Region RSA encryption key decrypts in its replica what its primary encrypted', async () => {
    const md = await createRsa(kms, 'RSA_2048', { MultiRegion: true });
    await kms.execute('ReplicateKey', { KeyId: md.KeyId, ReplicaRegion: 'eu-west-1' });
    const eu = kms.inRegion('eu-west-1');
    const euPub = (await eu.execute('GetPublicKey', { KeyId: md.KeyId })) as { PublicKey: Uint8Array; EncryptionAlgorithms: string[] };
    const usPub = (await kms.execute('GetPublicKey', { KeyId: md.KeyId })) as { PublicKey: Uint8Array };
    expect(same(euPub.PublicKey, usPub.PublicKey)).toBe(true);
    expect(euPub.EncryptionAlgorithms).toEqual(['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256']);
    const m = bytes(64);
    const { CiphertextBlob } = (await kms.execute('Encrypt', { KeyId: md.KeyId, Plaintext: m, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' })) as {
      CiphertextBlob: Uint8Array;
    };
    const out = (await eu.execute('Decrypt', { KeyId: md.KeyId, CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' })) as {
      Plaintext: Uint8Array;
      KeyId: string;
    };
    expect(same(out.Plaintext, m)).toBe(true);
    expect(out.KeyId).toBe(`arn:aws:kms:eu-west-1:111122223333:key/${md.KeyId}`);
  });
});

describe('the stored public key of an RSA encryption key', () => {
  it('is checked against the private key when the material is opened: a swapped one is refused', async () => {
    const store = createMemoryStore();
    const protector = await createRootKeyProtector(new Uint8Array(32).fill(5));
    const first = createKms({ store, protector });
    const a = await createRsa(first, 'RSA_2048');
    const b = await createRsa(first, 'RSA_2048');
    const scoped = scopeStore(store, 'us-east-1');
    const swapped = (await scoped.getVersion(b.KeyId, 1))!.PublicKey;
    expect(swapped).toBeDefined();
    // A store that was written to: key a's version record carries key b's public key.
    const swap = (v: MaterialVersion | undefined) => (v?.KeyId.endsWith(a.KeyId) ? { ...v, PublicKey: swapped } : v);
    const tampered: KmsStore = {
      ...store,
      getVersion: async (keyId, version) => swap(await store.getVersion(keyId, version)),
      getVersionCandidates: store.getVersionCandidates && (async (keyId, version) => (await store.getVersionCandidates!(keyId, version)).map((v) => swap(v)!)),
    };
    // A fresh KMS over the store opens the material again (the first one has it cached).
    const internal: unknown[] = [];
    const second = createKms({ store: tampered, protector, onInternalError: (e) => internal.push(e) });
    await expect(second.execute('Encrypt', { KeyId: a.KeyId, Plaintext: bytes(4), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })).rejects.toMatchObject({
      code: 'KMSInternalException',
    });
    await expect(second.execute('GetPublicKey', { KeyId: a.KeyId })).rejects.toMatchObject({ code: 'KMSInternalException' });
    await expect(second.execute('Encrypt', { KeyId: b.KeyId, Plaintext: bytes(4), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })).resolves.toBeDefined();
    expect(String(internal[0])).toContain("the stored public key is not the private key's");
  });
});
