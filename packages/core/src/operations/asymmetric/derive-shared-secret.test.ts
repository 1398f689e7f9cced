/** DeriveSharedSecret: ECDH agrees with node:crypto's on every NIST curve; a bad peer key is a ValidationException. */
import { createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKms } from '../../kms.js';

describe('DeriveSharedSecret', () => {
  for (const [spec, curve, bytes] of [
    ['ECC_NIST_P256', 'prime256v1', 32],
    ['ECC_NIST_P384', 'secp384r1', 48],
    ['ECC_NIST_P521', 'secp521r1', 66],
  ] as const) {
    it(`${spec}: the secret is node:crypto's ECDH of the peer's private key and GetPublicKey's key`, async () => {
      const kms = createKms();
      const md = ((await kms.execute('CreateKey', { KeySpec: spec, KeyUsage: 'KEY_AGREEMENT' })) as { KeyMetadata: Record<string, unknown> }).KeyMetadata;
      expect(md).toMatchObject({ KeyUsage: 'KEY_AGREEMENT', KeyAgreementAlgorithms: ['ECDH'] });
      expect(md.SigningAlgorithms).toBeUndefined();
      const id = md.KeyId as string;
      const ours = (await kms.execute('GetPublicKey', { KeyId: id })) as { PublicKey: Uint8Array; KeyAgreementAlgorithms: string[] };
      expect(ours.KeyAgreementAlgorithms).toEqual(['ECDH']);
      const peer = generateKeyPairSync('ec', { namedCurve: curve });
      const out = (await kms.execute('DeriveSharedSecret', {
        KeyId: id,
        KeyAgreementAlgorithm: 'ECDH',
        PublicKey: peer.publicKey.export({ format: 'der', type: 'spki' }),
      })) as { SharedSecret: Uint8Array; KeyId: string; KeyAgreementAlgorithm: string; KeyOrigin: string };
      expect(out).toMatchObject({ KeyId: md.Arn, KeyAgreementAlgorithm: 'ECDH', KeyOrigin: 'AWS_KMS' });
      const theirs = diffieHellman({
        privateKey: peer.privateKey,
        publicKey: createPublicKey({ key: Buffer.from(ours.PublicKey), format: 'der', type: 'spki' }),
      });
      expect(out.SharedSecret.length).toBe(bytes);
      expect(Buffer.from(out.SharedSecret).equals(theirs)).toBe(true);
      // A key on another curve, or bytes that are no key at all.
      const other = generateKeyPairSync('ec', { namedCurve: curve === 'prime256v1' ? 'secp384r1' : 'prime256v1' });
      for (const bad of [other.publicKey.export({ format: 'der', type: 'spki' }), new Uint8Array([1, 2, 3])]) {
        await expect(kms.execute('DeriveSharedSecret', { KeyId: id, KeyAgreementAlgorithm: 'ECDH', PublicKey: bad })).rejects.toMatchObject({
          code: 'ValidationException',
        });
      }
      // A key-agreement key neither signs nor is used for ECDSA.
      await expect(kms.execute('Sign', { KeyId: id, Message: new Uint8Array([1]), SigningAlgorithm: 'ECDSA_SHA_256' })).rejects.toMatchObject({
        code: 'InvalidKeyUsageException',
      });
    });
  }

  it('refuses signing keys, Ed25519 key agreement, and a DryRun', async () => {
    const kms = createKms();
    const signing = ((await kms.execute('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })) as { KeyMetadata: { KeyId: string } }).KeyMetadata
      .KeyId;
    const peer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' });
    await expect(kms.execute('DeriveSharedSecret', { KeyId: signing, KeyAgreementAlgorithm: 'ECDH', PublicKey: peer })).rejects.toMatchObject({
      code: 'InvalidKeyUsageException',
    });
    await expect(kms.execute('CreateKey', { KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'KEY_AGREEMENT' })).rejects.toMatchObject({
      code: 'ValidationException',
    });
    const agree = ((await kms.execute('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' })) as { KeyMetadata: { KeyId: string } }).KeyMetadata
      .KeyId;
    await expect(kms.execute('DeriveSharedSecret', { KeyId: agree, KeyAgreementAlgorithm: 'ECDH', PublicKey: peer, DryRun: true })).rejects.toMatchObject({
      code: 'DryRunOperationException',
    });
  });
});
