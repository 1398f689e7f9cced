/**
 * GenerateDataKeyPair(WithoutPlaintext): every pair checked by node:crypto (the private key parses
 * as PKCS#8, its public half is the answered SPKI, it signs what the public key verifies), the
 * private key's ciphertext decrypts to it under its encryption context, and an RSA-4096 pair does
 * not hold up other calls.
 */
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKms } from '../../kms.js';

const SPECS = [
  ['RSA_2048', 'rsa', 'sha256'],
  ['RSA_3072', 'rsa', 'sha256'],
  ['ECC_NIST_P256', 'ec', 'sha256'],
  ['ECC_NIST_P384', 'ec', 'sha384'],
  ['ECC_NIST_P521', 'ec', 'sha512'],
  ['ECC_NIST_EDWARDS25519', 'ed25519', null],
] as const;

describe('GenerateDataKeyPair', () => {
  for (const [spec, type, hash] of SPECS) {
    it(`${spec}: a PKCS#8 private key whose public half is the SPKI answered; its ciphertext decrypts to it`, async () => {
      const kms = createKms();
      const key = ((await kms.execute('CreateKey', {})) as { KeyMetadata: { KeyId: string; Arn: string; CurrentKeyMaterialId: string } }).KeyMetadata;
      const context = { purpose: 'jwt signing' };
      const out = (await kms.execute('GenerateDataKeyPair', { KeyId: key.KeyId, KeyPairSpec: spec, EncryptionContext: context })) as Record<string, unknown>;
      expect(out).toMatchObject({ KeyId: key.Arn, KeyPairSpec: spec, KeyMaterialId: key.CurrentKeyMaterialId });
      const priv = createPrivateKey({ key: Buffer.from(out.PrivateKeyPlaintext as Uint8Array), format: 'der', type: 'pkcs8' });
      expect(priv.asymmetricKeyType).toBe(type);
      const pub = createPublicKey({ key: Buffer.from(out.PublicKey as Uint8Array), format: 'der', type: 'spki' });
      expect(
        createPublicKey(priv)
          .export({ format: 'der', type: 'spki' })
          .equals(pub.export({ format: 'der', type: 'spki' })),
      ).toBe(true);
      const m = Buffer.from('message');
      expect(verify(hash, m, pub, sign(hash, m, priv))).toBe(true);
      const back = (await kms.execute('Decrypt', { CiphertextBlob: out.PrivateKeyCiphertextBlob, EncryptionContext: context })) as { Plaintext: Uint8Array };
      expect(Buffer.from(back.Plaintext).equals(Buffer.from(out.PrivateKeyPlaintext as Uint8Array))).toBe(true);
      await expect(kms.execute('Decrypt', { CiphertextBlob: out.PrivateKeyCiphertextBlob })).rejects.toMatchObject({ code: 'InvalidCiphertextException' });
      const without = (await kms.execute('GenerateDataKeyPairWithoutPlaintext', { KeyId: key.KeyId, KeyPairSpec: spec })) as Record<string, unknown>;
      expect(without.PrivateKeyPlaintext).toBeUndefined();
      expect(without.PublicKey).toBeInstanceOf(Uint8Array);
      const decrypted = (await kms.execute('Decrypt', { CiphertextBlob: without.PrivateKeyCiphertextBlob })) as { Plaintext: Uint8Array };
      expect(createPrivateKey({ key: Buffer.from(decrypted.Plaintext), format: 'der', type: 'pkcs8' }).asymmetricKeyType).toBe(type);
    });
  }

  it("AWS's errors; an RSA-4096 pair does not hold up other calls", async () => {
    const kms = createKms();
    const id = ((await kms.execute('CreateKey', {})) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    const mac = ((await kms.execute('CreateKey', { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })) as { KeyMetadata: { KeyId: string } }).KeyMetadata
      .KeyId;
    await expect(kms.execute('GenerateDataKeyPair', { KeyId: id })).rejects.toMatchObject({ code: 'ValidationException' });
    await expect(kms.execute('GenerateDataKeyPair', { KeyId: mac, KeyPairSpec: 'ECC_NIST_P256' })).rejects.toMatchObject({ code: 'InvalidKeyUsageException' });
    await expect(kms.execute('GenerateDataKeyPair', { KeyId: id, KeyPairSpec: 'SM2' })).rejects.toMatchObject({ code: 'UnsupportedOperationException' });
    await expect(kms.execute('GenerateDataKeyPair', { KeyId: id, KeyPairSpec: 'ECC_NIST_P256', DryRun: true })).rejects.toMatchObject({
      code: 'DryRunOperationException',
    });
    let pairDone = false;
    const pair = kms.execute('GenerateDataKeyPair', { KeyId: id, KeyPairSpec: 'RSA_4096' }).then(() => (pairDone = true));
    const during: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      await kms.execute('Encrypt', { KeyId: id, Plaintext: new Uint8Array([i]) });
      during.push(pairDone);
    }
    // The first Encrypt calls finished while the 4096-bit key was still being made.
    expect(during[0]).toBe(false);
    await pair;
  });
});
