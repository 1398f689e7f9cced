/**
 * ECDSA (P-256, P-384, P-521) and Ed25519 keys: every signature checked by node:crypto with the
 * public key GetPublicKey answers, our Verify against tampering and high-S signatures, the DER
 * conversion against node:crypto's own encodings, and AWS's errors.
 */
import { createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKms } from '../../kms.js';
import { derToP1363, p1363ToDer } from '../../key-specs/index.js';

const enc = new TextEncoder();
const CASES = [
  {
    spec: 'ECC_NIST_P256',
    alg: 'ECDSA_SHA_256',
    hash: 'sha256',
    curve: 'prime256v1',
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    size: 32,
  },
  {
    spec: 'ECC_NIST_P384',
    alg: 'ECDSA_SHA_384',
    hash: 'sha384',
    curve: 'secp384r1',
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    size: 48,
  },
  {
    spec: 'ECC_NIST_P521',
    alg: 'ECDSA_SHA_512',
    hash: 'sha512',
    curve: 'secp521r1',
    n: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
    size: 66,
  },
] as const;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const big = (b: Uint8Array) => BigInt(`0x${hex(b) || '0'}`);
const bytesOf = (n: bigint, size: number) => Uint8Array.from(Buffer.from(n.toString(16).padStart(size * 2, '0'), 'hex'));

describe('ECDSA keys', () => {
  for (const c of CASES) {
    it(`${c.spec}: node:crypto verifies our DER signatures with GetPublicKey's key; Verify refuses tampering and accepts high-S`, async () => {
      const kms = createKms();
      const md = ((await kms.execute('CreateKey', { KeySpec: c.spec, KeyUsage: 'SIGN_VERIFY' })) as { KeyMetadata: Record<string, unknown> }).KeyMetadata;
      expect(md).toMatchObject({ KeySpec: c.spec, KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: [c.alg] });
      expect(md.CurrentKeyMaterialId).toBeUndefined();
      const id = md.KeyId as string;
      const pub = (await kms.execute('GetPublicKey', { KeyId: id })) as Record<string, unknown>;
      expect(pub).toMatchObject({ KeyId: md.Arn, KeySpec: c.spec, CustomerMasterKeySpec: c.spec, KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: [c.alg] });
      const key = createPublicKey({ key: Buffer.from(pub.PublicKey as Uint8Array), format: 'der', type: 'spki' });
      expect(key.asymmetricKeyDetails?.namedCurve).toBe(c.curve);
      for (const message of [enc.encode('x'), crypto.getRandomValues(new Uint8Array(4096))]) {
        const out = (await kms.execute('Sign', { KeyId: id, Message: message, SigningAlgorithm: c.alg })) as { Signature: Uint8Array; KeyId: string };
        expect(out.KeyId).toBe(md.Arn);
        expect(nodeVerify(c.hash, message, { key, dsaEncoding: 'der' }, out.Signature)).toBe(true);
        await expect(kms.execute('Verify', { KeyId: id, Message: message, Signature: out.Signature, SigningAlgorithm: c.alg })).resolves.toEqual({
          KeyId: md.Arn,
          SignatureValid: true,
          SigningAlgorithm: c.alg,
        });
        // The same signature with s replaced by n - s is valid too; AWS does not normalize.
        const rs = derToP1363(out.Signature, c.size)!;
        const high = p1363ToDer(new Uint8Array([...rs.subarray(0, c.size), ...bytesOf(c.n - big(rs.subarray(c.size)), c.size)]));
        expect(nodeVerify(c.hash, message, { key, dsaEncoding: 'der' }, high)).toBe(true);
        await expect(kms.execute('Verify', { KeyId: id, Message: message, Signature: high, SigningAlgorithm: c.alg })).resolves.toMatchObject({
          SignatureValid: true,
        });
        const tampered = out.Signature.slice();
        tampered[tampered.length - 1]! ^= 1;
        await expect(kms.execute('Verify', { KeyId: id, Message: message, Signature: tampered, SigningAlgorithm: c.alg })).rejects.toMatchObject({
          code: 'KMSInvalidSignatureException',
          message: '',
        });
        await expect(
          kms.execute('Verify', { KeyId: id, Message: message, Signature: new Uint8Array([1, 2, 3]), SigningAlgorithm: c.alg }),
        ).rejects.toMatchObject({
          code: 'KMSInvalidSignatureException',
        });
      }
    });

    it(`${c.spec}: the DER conversion agrees with node:crypto's encodings`, () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: c.curve });
      for (let i = 0; i < 50; i++) {
        const m = crypto.getRandomValues(new Uint8Array(i + 1));
        const p1363 = nodeSign(c.hash, m, { key: privateKey, dsaEncoding: 'ieee-p1363' });
        expect(nodeVerify(c.hash, m, { key: publicKey, dsaEncoding: 'der' }, p1363ToDer(p1363))).toBe(true);
        const der = nodeSign(c.hash, m, { key: privateKey, dsaEncoding: 'der' });
        expect(nodeVerify(c.hash, m, { key: publicKey, dsaEncoding: 'ieee-p1363' }, derToP1363(der, c.size)!)).toBe(true);
        expect(hex(p1363ToDer(derToP1363(der, c.size)!))).toBe(hex(der));
      }
    });
  }
});

describe('Ed25519 keys', () => {
  it('ED25519_SHA_512 signatures verify in node:crypto; Verify refuses tampering', async () => {
    const kms = createKms();
    const md = ((await kms.execute('CreateKey', { KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY' })) as { KeyMetadata: Record<string, unknown> })
      .KeyMetadata;
    expect(md.SigningAlgorithms).toEqual(['ED25519_SHA_512', 'ED25519_PH_SHA_512']);
    // AWS's deprecated CustomerMasterKeySpec enum has no ECC_NIST_EDWARDS25519: none is answered, and CreateKey refuses it there.
    expect(md.CustomerMasterKeySpec).toBeUndefined();
    await expect(kms.execute('CreateKey', { CustomerMasterKeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY' })).rejects.toMatchObject({
      code: 'ValidationException',
    });
    const id = md.KeyId as string;
    const key = createPublicKey({
      key: Buffer.from(((await kms.execute('GetPublicKey', { KeyId: id })) as { PublicKey: Uint8Array }).PublicKey),
      format: 'der',
      type: 'spki',
    });
    expect(key.asymmetricKeyType).toBe('ed25519');
    const message = enc.encode('a JWT signing input');
    const { Signature } = (await kms.execute('Sign', { KeyId: id, Message: message, SigningAlgorithm: 'ED25519_SHA_512' })) as { Signature: Uint8Array };
    expect(Signature.length).toBe(64);
    expect(nodeVerify(null, message, key, Signature)).toBe(true);
    await expect(kms.execute('Verify', { KeyId: id, Message: message, Signature, SigningAlgorithm: 'ED25519_SHA_512' })).resolves.toMatchObject({
      SignatureValid: true,
    });
    const bad = Signature.slice();
    bad[0]! ^= 1;
    await expect(kms.execute('Verify', { KeyId: id, Message: message, Signature: bad, SigningAlgorithm: 'ED25519_SHA_512' })).rejects.toMatchObject({
      code: 'KMSInvalidSignatureException',
    });
    await expect(kms.execute('Sign', { KeyId: id, Message: message, MessageType: 'DIGEST', SigningAlgorithm: 'ED25519_SHA_512' })).rejects.toMatchObject({
      code: 'ValidationException',
    });
  });
});

describe("AWS's errors for signing keys", () => {
  it('wrong algorithm, digest length, usage, key kind', async () => {
    const kms = createKms();
    const ec = ((await kms.execute('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })) as { KeyMetadata: { KeyId: string } }).KeyMetadata
      .KeyId;
    const sym = ((await kms.execute('CreateKey', {})) as { KeyMetadata: { KeyId: string; Arn: string } }).KeyMetadata;
    const m = enc.encode('m');
    await expect(kms.execute('Sign', { KeyId: ec, Message: m, SigningAlgorithm: 'ECDSA_SHA_384' })).rejects.toMatchObject({
      code: 'InvalidKeyUsageException',
      message: 'Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256.',
    });
    await expect(kms.execute('Sign', { KeyId: ec, Message: m, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' })).rejects.toMatchObject({
      code: 'ValidationException',
      message: 'Digest is invalid length for algorithm ECDSA_SHA_256.',
    });
    await expect(kms.execute('Sign', { KeyId: sym.KeyId, Message: m, SigningAlgorithm: 'ECDSA_SHA_256' })).rejects.toMatchObject({
      code: 'InvalidKeyUsageException',
    });
    await expect(kms.execute('GetPublicKey', { KeyId: sym.KeyId })).rejects.toMatchObject({ code: 'UnsupportedOperationException' });
    await expect(kms.execute('Encrypt', { KeyId: ec, Plaintext: m })).rejects.toMatchObject({ code: 'InvalidKeyUsageException' });
    await expect(kms.execute('EnableKeyRotation', { KeyId: ec })).rejects.toMatchObject({ code: 'UnsupportedOperationException' });
    await expect(kms.execute('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'ENCRYPT_DECRYPT' })).rejects.toMatchObject({
      code: 'ValidationException',
      message: 'KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec ECC_NIST_P256',
    });
    await expect(kms.execute('Sign', { KeyId: ec, Message: m, SigningAlgorithm: 'ECDSA_SHA_256', DryRun: true })).rejects.toMatchObject({
      code: 'DryRunOperationException',
    });
    await kms.execute('DisableKey', { KeyId: ec });
    await expect(kms.execute('Sign', { KeyId: ec, Message: m, SigningAlgorithm: 'ECDSA_SHA_256' })).rejects.toMatchObject({ code: 'DisabledException' });
  });
});
