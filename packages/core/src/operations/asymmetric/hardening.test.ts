/**
 * After review: a public key swapped in the store is caught, bursts of RSA key generation are
 * throttled instead of stalling every other call, grants name only operations the key supports,
 * non-DER signatures and non-canonical peer keys are refused.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKms } from '../../kms.js';
import { createMemoryStore } from '../../store/memory-store.js';
import type { KmsStore } from '../../store/types.js';
import { derToP1363 } from '../../key-specs/index.js';

/** A store whose version records were written to: `spki` in place of every key's public key. */
function withPublicKey(store: KmsStore, spki: Uint8Array): KmsStore {
  return {
    ...store,
    getVersion: async (keyId, version) => {
      const v = await store.getVersion(keyId, version);
      return v && { ...v, PublicKey: spki };
    },
  };
}

describe('review hardening', () => {
  it('a public key swapped in the store is not used: Verify and GetPublicKey refuse rather than trust it', async () => {
    const store = createMemoryStore();
    const kms = createKms({ store, onInternalError: () => undefined });
    const id = ((await kms.execute('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })) as { KeyMetadata: { KeyId: string } }).KeyMetadata
      .KeyId;
    const attacker = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const spki = new Uint8Array(attacker.publicKey.export({ format: 'der', type: 'spki' }));
    const victim = createKms({ store: withPublicKey(store, spki), protector: kms.engine.protector, onInternalError: () => undefined });
    await expect(victim.execute('GetPublicKey', { KeyId: id })).rejects.toMatchObject({ code: 'KMSInternalException' });
    await expect(
      victim.execute('Verify', { KeyId: id, Message: new Uint8Array([1]), Signature: new Uint8Array(70), SigningAlgorithm: 'ECDSA_SHA_256' }),
    ).rejects.toMatchObject({
      code: 'KMSInternalException',
    });
  });

  it('a key-agreement key whose stored public key was swapped is not used either', async () => {
    const store = createMemoryStore();
    const kms = createKms({ store, onInternalError: () => undefined });
    const id = ((await kms.execute('CreateKey', { KeySpec: 'ECC_NIST_P384', KeyUsage: 'KEY_AGREEMENT' })) as { KeyMetadata: { KeyId: string } }).KeyMetadata
      .KeyId;
    const peer = new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'der', type: 'spki' }));
    const attacker = new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'der', type: 'spki' }));
    const victim = createKms({ store: withPublicKey(store, attacker), protector: kms.engine.protector, onInternalError: () => undefined });
    await expect(victim.execute('GetPublicKey', { KeyId: id })).rejects.toMatchObject({ code: 'KMSInternalException' });
    await expect(victim.execute('DeriveSharedSecret', { KeyId: id, KeyAgreementAlgorithm: 'ECDH', PublicKey: peer })).rejects.toMatchObject({
      code: 'KMSInternalException',
    });
    // The untampered store opens the same key.
    const honest = createKms({ store, protector: kms.engine.protector });
    await expect(honest.execute('DeriveSharedSecret', { KeyId: id, KeyAgreementAlgorithm: 'ECDH', PublicKey: peer })).resolves.toHaveProperty('SharedSecret');
  });

  it('a burst of RSA pairs is throttled, and Encrypt keeps answering meanwhile', { timeout: 60_000 }, async () => {
    const kms = createKms();
    const id = ((await kms.execute('CreateKey', {})) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    const pairs = Array.from({ length: 8 }, () =>
      kms.execute('GenerateDataKeyPairWithoutPlaintext', { KeyId: id, KeyPairSpec: 'RSA_2048' }).then(
        () => 'ok',
        (e) => e.code,
      ),
    );
    let settled = 0;
    for (const p of pairs) void p.then(() => settled++);
    await kms.execute('Encrypt', { KeyId: id, Plaintext: new Uint8Array([1]) });
    expect(settled).toBeLessThan(8);
    const results = await Promise.all(pairs);
    expect(results.filter((r) => r === 'ThrottlingException').length).toBeGreaterThan(0);
    expect(results.filter((r) => r === 'ok').length).toBeGreaterThan(0);
  });

  it('grants name only operations the key supports', async () => {
    const kms = createKms();
    const sym = ((await kms.execute('CreateKey', {})) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    const ecc = ((await kms.execute('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })) as { KeyMetadata: { KeyId: string } }).KeyMetadata
      .KeyId;
    const grantee = 'arn:aws:iam::111122223333:user/alice';
    await expect(kms.execute('CreateGrant', { KeyId: sym, GranteePrincipal: grantee, Operations: ['Sign'] })).rejects.toMatchObject({
      code: 'ValidationException',
    });
    await expect(kms.execute('CreateGrant', { KeyId: ecc, GranteePrincipal: grantee, Operations: ['Encrypt'] })).rejects.toMatchObject({
      code: 'ValidationException',
    });
    await expect(kms.execute('CreateGrant', { KeyId: ecc, GranteePrincipal: grantee, Operations: ['Sign', 'Verify', 'DescribeKey'] })).resolves.toHaveProperty(
      'GrantId',
    );
  });

  it('a SEQUENCE with the non-DER length byte 0x80 is not a signature; nor is a non-canonical ECDH peer key a key', async () => {
    expect(derToP1363(new Uint8Array([0x30, 0x80, ...new Uint8Array(128)]), 66)).toBeUndefined();
    const kms = createKms();
    const id = ((await kms.execute('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' })) as { KeyMetadata: { KeyId: string } }).KeyMetadata
      .KeyId;
    const peer = new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' }));
    await expect(
      kms.execute('DeriveSharedSecret', { KeyId: id, KeyAgreementAlgorithm: 'ECDH', PublicKey: new Uint8Array([...peer, 0]) }),
    ).rejects.toMatchObject({
      code: 'ValidationException',
    });
    await expect(kms.execute('DeriveSharedSecret', { KeyId: id, KeyAgreementAlgorithm: 'ECDH', PublicKey: peer })).resolves.toHaveProperty('SharedSecret');
  });
});
