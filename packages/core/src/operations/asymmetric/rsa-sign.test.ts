/** RSA signing keys: every algorithm's signature checked by node:crypto with GetPublicKey's key; Verify; AWS's errors. */
import { constants, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKms } from '../../kms.js';
import { createRootKeyProtector } from '../../material.js';

const ALGS = [
  ['RSASSA_PKCS1_V1_5_SHA_256', 'sha256', constants.RSA_PKCS1_PADDING, undefined],
  ['RSASSA_PKCS1_V1_5_SHA_384', 'sha384', constants.RSA_PKCS1_PADDING, undefined],
  ['RSASSA_PKCS1_V1_5_SHA_512', 'sha512', constants.RSA_PKCS1_PADDING, undefined],
  ['RSASSA_PSS_SHA_256', 'sha256', constants.RSA_PKCS1_PSS_PADDING, 32],
  ['RSASSA_PSS_SHA_384', 'sha384', constants.RSA_PKCS1_PSS_PADDING, 48],
  ['RSASSA_PSS_SHA_512', 'sha512', constants.RSA_PKCS1_PSS_PADDING, 64],
] as const;

describe('RSA signing keys', () => {
  for (const [label, make] of [
    ['CryptoKeys (memory, browser)', async () => createKms()],
    ['root-key wrapped (Node, Workers)', async () => createKms({ protector: await createRootKeyProtector(new Uint8Array(32).fill(9)) })],
  ] as const) {
    it(`RSA_2048, ${label}: all six algorithms verify in node:crypto (PSS salt = hash length)`, async () => {
      const kms = await make();
      const md = ((await kms.execute('CreateKey', { KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })) as { KeyMetadata: Record<string, unknown> }).KeyMetadata;
      expect(md.SigningAlgorithms).toEqual([
        'RSASSA_PSS_SHA_256',
        'RSASSA_PSS_SHA_384',
        'RSASSA_PSS_SHA_512',
        'RSASSA_PKCS1_V1_5_SHA_256',
        'RSASSA_PKCS1_V1_5_SHA_384',
        'RSASSA_PKCS1_V1_5_SHA_512',
      ]);
      const id = md.KeyId as string;
      const key = createPublicKey({
        key: Buffer.from(((await kms.execute('GetPublicKey', { KeyId: id })) as { PublicKey: Uint8Array }).PublicKey),
        format: 'der',
        type: 'spki',
      });
      expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
      const message = new TextEncoder().encode('signed with RSA');
      for (const [alg, hash, padding, saltLength] of ALGS) {
        const { Signature } = (await kms.execute('Sign', { KeyId: id, Message: message, SigningAlgorithm: alg })) as { Signature: Uint8Array };
        expect(Signature.length).toBe(256);
        expect(nodeVerify(hash, message, { key, padding, saltLength }, Signature)).toBe(true);
        await expect(kms.execute('Verify', { KeyId: id, Message: message, Signature, SigningAlgorithm: alg })).resolves.toMatchObject({ SignatureValid: true });
        const bad = Signature.slice();
        bad[10]! ^= 1;
        await expect(kms.execute('Verify', { KeyId: id, Message: message, Signature: bad, SigningAlgorithm: alg })).rejects.toMatchObject({
          code: 'KMSInvalidSignatureException',
        });
      }
    });
  }

  it('RSA_3072 and RSA_4096 keys sign; ECDSA algorithms and KEY_AGREEMENT are refused', async () => {
    const kms = createKms();
    for (const [spec, bytes] of [
      ['RSA_3072', 384],
      ['RSA_4096', 512],
    ] as const) {
      const id = ((await kms.execute('CreateKey', { KeySpec: spec, KeyUsage: 'SIGN_VERIFY' })) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
      const { Signature } = (await kms.execute('Sign', { KeyId: id, Message: new Uint8Array([1]), SigningAlgorithm: 'RSASSA_PSS_SHA_512' })) as {
        Signature: Uint8Array;
      };
      expect(Signature.length).toBe(bytes);
      await expect(kms.execute('Sign', { KeyId: id, Message: new Uint8Array([1]), SigningAlgorithm: 'ECDSA_SHA_256' })).rejects.toMatchObject({
        code: 'InvalidKeyUsageException',
        message: `Algorithm ECDSA_SHA_256 is incompatible with key spec ${spec}.`,
      });
    }
    await expect(kms.execute('CreateKey', { KeySpec: 'RSA_2048', KeyUsage: 'KEY_AGREEMENT' })).rejects.toMatchObject({
      code: 'ValidationException',
      message: 'KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048',
    });
  });
});
