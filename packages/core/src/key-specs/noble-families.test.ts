/**
 * The key specs @noble implements (ECC_SECG_P256K1, ML_DSA_44/65/87, HMAC_224, ECDSA over a
 * DIGEST, ED25519_PH_SHA_512): every signature and MAC checked by an implementation that is not
 * ours — node:crypto (OpenSSL) for secp256k1, the NIST curves and HMAC-SHA-224, RFC 8032's
 * Ed25519ph test vector, FIPS 204's mu computed here with node:crypto's SHAKE256 for ML-DSA —
 * and AWS's errors, the CryptoKey-only protector (keepBytes: false), the root-key protector
 * across a dropped material cache, and a store whose public key was swapped.
 */
import { createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKms, type Kms } from '../kms.js';
import { createCryptoKeyProtector, createRootKeyProtector } from '../material.js';
import type { MaterialVersion } from '../model.js';
import { createMemoryStore } from '../store/memory-store.js';
import type { KmsStore } from '../store/types.js';
import { eccFamily } from './ecc.js';

const enc = new TextEncoder();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const big = (b: Uint8Array) => BigInt(`0x${hex(b) || '0'}`);
const bytesOf = (n: bigint, size: number) => unhex(n.toString(16).padStart(size * 2, '0'));
const root = new Uint8Array(32).map((_, i) => 255 - i * 3);
const quiet = { onInternalError: () => undefined };

type Md = { KeyId: string; Arn: string } & Record<string, unknown>;

async function createKey(kms: Kms, KeySpec: string, KeyUsage = 'SIGN_VERIFY'): Promise<Md> {
  return ((await kms.execute('CreateKey', { KeySpec, KeyUsage })) as { KeyMetadata: Md }).KeyMetadata;
}

async function kmsSign(kms: Kms, KeyId: string, SigningAlgorithm: string, Message: Uint8Array, MessageType = 'RAW'): Promise<Uint8Array> {
  return ((await kms.execute('Sign', { KeyId, Message, MessageType, SigningAlgorithm })) as { Signature: Uint8Array }).Signature;
}

function kmsVerify(kms: Kms, KeyId: string, SigningAlgorithm: string, Message: Uint8Array, Signature: Uint8Array, MessageType = 'RAW') {
  return kms.execute('Verify', { KeyId, Message, MessageType, Signature, SigningAlgorithm });
}

async function spkiOf(kms: Kms, KeyId: string): Promise<Uint8Array> {
  return ((await kms.execute('GetPublicKey', { KeyId })) as { PublicKey: Uint8Array }).PublicKey;
}

const nodeKey = (spki: Uint8Array) => createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });

/** The raw material of a version kept by the root-key protector, unwrapped by node:crypto (AES-256-GCM, the documented AAD). */
function unwrap(v: MaterialVersion): Buffer {
  if (v.Material.kind !== 'wrapped') throw new Error('expected wrapped material');
  const data = v.Material.data;
  const d = createDecipheriv('aes-256-gcm', root, data.subarray(0, 12));
  d.setAAD(Buffer.from(`edge-kms/material/v1\u0000${v.KeyId}\u0000${v.Version}\u0000${v.KeyMaterialId}`));
  d.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([d.update(data.subarray(12, data.length - 16)), d.final()]);
}

/** DER of an ECDSA r||s (written here, not by our ecdsa-der.ts). */
function toDer(p1363: Uint8Array, size: number): Uint8Array {
  const int = (b: Uint8Array) => {
    let v = b;
    while (v.length > 1 && v[0] === 0 && v[1]! < 0x80) v = v.subarray(1);
    if (v[0]! >= 0x80) v = new Uint8Array([0, ...v]);
    return [0x02, v.length, ...v];
  };
  const body = [...int(p1363.subarray(0, size)), ...int(p1363.subarray(size))];
  return new Uint8Array(body.length < 0x80 ? [0x30, body.length, ...body] : [0x30, 0x81, body.length, ...body]);
}

/** The same signature with s replaced by n - s: r||s, its DER, and whether the new s is the high one. */
function flipS(p1363: Uint8Array, n: bigint, size: number): { p1363: Uint8Array; der: Uint8Array; high: boolean } {
  const s = n - big(p1363.subarray(size));
  const out = new Uint8Array([...p1363.subarray(0, size), ...bytesOf(s, size)]);
  return { p1363: out, der: toDer(out, size), high: s > n / 2n };
}

/** A KMS whose material node:crypto can read: the root-key protector, as the Node server and Workers use. */
async function rootKms(store?: KmsStore): Promise<Kms> {
  return createKms({ ...(store && { store }), protector: await createRootKeyProtector(root.slice()), ...quiet });
}

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

describe('ECC_SECG_P256K1', () => {
  it('RAW and DIGEST signatures verify in node:crypto; each verifies in KMS as either message type; tampering is refused', async () => {
    const kms = createKms();
    const md = await createKey(kms, 'ECC_SECG_P256K1');
    expect(md).toMatchObject({ KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ECDSA_SHA_256'] });
    expect(md.EncryptionAlgorithms).toBeUndefined();
    const id = md.KeyId;
    const pub = (await kms.execute('GetPublicKey', { KeyId: id })) as Record<string, unknown>;
    expect(pub).toMatchObject({
      KeyId: md.Arn,
      KeySpec: 'ECC_SECG_P256K1',
      CustomerMasterKeySpec: 'ECC_SECG_P256K1',
      KeyUsage: 'SIGN_VERIFY',
      SigningAlgorithms: ['ECDSA_SHA_256'],
    });
    expect(pub.EncryptionAlgorithms).toBeUndefined();
    expect(pub.KeyAgreementAlgorithms).toBeUndefined();
    const spki = pub.PublicKey as Uint8Array;
    const key = nodeKey(spki);
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('secp256k1');
    // Our SPKI is the canonical encoding OpenSSL writes (uncompressed point).
    expect(hex(key.export({ format: 'der', type: 'spki' }))).toBe(hex(spki));

    for (const message of [enc.encode('x'), crypto.getRandomValues(new Uint8Array(4096))]) {
      const digest = new Uint8Array(createHash('sha256').update(message).digest());
      const raw = await kmsSign(kms, id, 'ECDSA_SHA_256', message);
      expect(nodeVerify('sha256', message, { key, dsaEncoding: 'der' }, raw)).toBe(true);
      const dig = await kmsSign(kms, id, 'ECDSA_SHA_256', digest, 'DIGEST');
      expect(nodeVerify('sha256', message, { key, dsaEncoding: 'der' }, dig)).toBe(true);
      // One signature, either message type: the digest path is the raw path without the hash.
      for (const sig of [raw, dig]) {
        await expect(kmsVerify(kms, id, 'ECDSA_SHA_256', message, sig)).resolves.toEqual({
          KeyId: md.Arn,
          SignatureValid: true,
          SigningAlgorithm: 'ECDSA_SHA_256',
        });
        await expect(kmsVerify(kms, id, 'ECDSA_SHA_256', digest, sig, 'DIGEST')).resolves.toMatchObject({ SignatureValid: true });
      }
      const tampered = raw.slice();
      tampered[tampered.length - 1]! ^= 1;
      await expect(kmsVerify(kms, id, 'ECDSA_SHA_256', message, tampered)).rejects.toMatchObject({ code: 'KMSInvalidSignatureException', message: '' });
      await expect(kmsVerify(kms, id, 'ECDSA_SHA_256', digest, tampered, 'DIGEST')).rejects.toMatchObject({
        code: 'KMSInvalidSignatureException',
        message: '',
      });
      // RAW signed, but the digest given as RAW: hashed twice, so not the same message.
      await expect(kmsVerify(kms, id, 'ECDSA_SHA_256', digest, raw)).rejects.toMatchObject({ code: 'KMSInvalidSignatureException', message: '' });
      await expect(kmsVerify(kms, id, 'ECDSA_SHA_256', message, new Uint8Array([1, 2, 3]))).rejects.toMatchObject({
        code: 'KMSInvalidSignatureException',
        message: '',
      });
    }
  });

  it("signatures node:crypto makes with the key's own private key (read from the store) verify in KMS, high-S ones too", async () => {
    const kms = await rootKms();
    const id = (await createKey(kms, 'ECC_SECG_P256K1')).KeyId;
    const spki = await spkiOf(kms, id);
    const priv = createPrivateKey({ key: unwrap((await kms.engine.store.getVersion(id, 1))!), format: 'der', type: 'pkcs8' });
    expect(priv.asymmetricKeyDetails?.namedCurve).toBe('secp256k1');
    expect(hex(createPublicKey(priv).export({ format: 'der', type: 'spki' }))).toBe(hex(spki));
    const key = nodeKey(spki);
    for (const message of [enc.encode('high and low S'), crypto.getRandomValues(new Uint8Array(4096))]) {
      const digest = new Uint8Array(createHash('sha256').update(message).digest());
      const der = new Uint8Array(nodeSign('sha256', message, { key: priv, dsaEncoding: 'der' }));
      const p1363 = new Uint8Array(nodeSign('sha256', message, { key: priv, dsaEncoding: 'ieee-p1363' }));
      const flipped = flipS(p1363, SECP256K1_N, 32);
      // Of a signature and its flip, one is high-S: both verify in node:crypto and in KMS.
      expect(flipped.high).toBe(big(p1363.subarray(32)) < SECP256K1_N / 2n);
      for (const sig of [der, toDer(p1363, 32), flipped.der]) {
        expect(nodeVerify('sha256', message, { key, dsaEncoding: 'der' }, sig)).toBe(true);
        await expect(kmsVerify(kms, id, 'ECDSA_SHA_256', message, sig)).resolves.toMatchObject({ SignatureValid: true });
        await expect(kmsVerify(kms, id, 'ECDSA_SHA_256', digest, sig, 'DIGEST')).resolves.toMatchObject({ SignatureValid: true });
      }
      const bad = flipped.der.slice();
      bad[bad.length - 1]! ^= 1;
      await expect(kmsVerify(kms, id, 'ECDSA_SHA_256', message, bad)).rejects.toMatchObject({ code: 'KMSInvalidSignatureException', message: '' });
      await expect(kmsVerify(kms, id, 'ECDSA_SHA_256', digest, bad, 'DIGEST')).rejects.toMatchObject({ code: 'KMSInvalidSignatureException', message: '' });
    }
  });

  it('malformed and out-of-range signatures are KMSInvalidSignatureException, not an internal error', async () => {
    const internal: unknown[] = [];
    const kms = createKms({ onInternalError: (e) => internal.push(e) });
    const id = (await createKey(kms, 'ECC_SECG_P256K1')).KeyId;
    const message = enc.encode('m');
    const digest = new Uint8Array(createHash('sha256').update(message).digest());
    const rs = (r: bigint, s: bigint) => toDer(new Uint8Array([...bytesOf(r, 32), ...bytesOf(s, 32)]), 32);
    const good = await kmsSign(kms, id, 'ECDSA_SHA_256', message);
    for (const sig of [
      rs(0n, 1n),
      rs(1n, 0n),
      rs(SECP256K1_N, 1n),
      rs(1n, SECP256K1_N),
      rs(2n ** 256n - 1n, 2n ** 256n - 1n),
      new Uint8Array([...good, 0]),
      good.subarray(0, good.length - 1),
      new Uint8Array([0x30, 0x00]),
      new Uint8Array(64).fill(0xff),
    ]) {
      for (const type of ['RAW', 'DIGEST']) {
        await expect(kmsVerify(kms, id, 'ECDSA_SHA_256', type === 'RAW' ? message : digest, sig, type)).rejects.toMatchObject({
          code: 'KMSInvalidSignatureException',
          message: '',
        });
      }
    }
    expect(internal).toEqual([]);
  });

  it('a multi-Region secp256k1, ML-DSA or HMAC_224 key signs in one Region what verifies in the other', async () => {
    for (const kms of [createKms(), await rootKms()]) {
      const eu = kms.inRegion('eu-west-1');
      const m = enc.encode('across Regions');
      for (const [spec, alg] of [
        ['ECC_SECG_P256K1', 'ECDSA_SHA_256'],
        ['ML_DSA_44', 'ML_DSA_SHAKE_256'],
      ] as const) {
        const id = ((await kms.execute('CreateKey', { KeySpec: spec, KeyUsage: 'SIGN_VERIFY', MultiRegion: true })) as { KeyMetadata: Md }).KeyMetadata.KeyId;
        await kms.execute('ReplicateKey', { KeyId: id, ReplicaRegion: 'eu-west-1' });
        expect(hex(await spkiOf(eu, id))).toBe(hex(await spkiOf(kms, id)));
        await expect(kmsVerify(kms, id, alg, m, await kmsSign(eu, id, alg, m))).resolves.toMatchObject({ SignatureValid: true });
        await expect(kmsVerify(eu, id, alg, m, await kmsSign(kms, id, alg, m))).resolves.toMatchObject({ SignatureValid: true });
      }
      const h = ((await kms.execute('CreateKey', { KeySpec: 'HMAC_224', KeyUsage: 'GENERATE_VERIFY_MAC', MultiRegion: true })) as { KeyMetadata: Md })
        .KeyMetadata.KeyId;
      await kms.execute('ReplicateKey', { KeyId: h, ReplicaRegion: 'eu-west-1' });
      const macIn = async (k: Kms) =>
        hex(((await k.execute('GenerateMac', { KeyId: h, Message: m, MacAlgorithm: 'HMAC_SHA_224' })) as { Mac: Uint8Array }).Mac);
      expect(await macIn(eu)).toBe(await macIn(kms));
    }
  });

  it('GenerateDataKeyPair ECC_SECG_P256K1: a PKCS#8 node:crypto reads, whose public half is the SPKI answered; its ciphertext decrypts to it', async () => {
    const kms = createKms();
    const wrapping = ((await kms.execute('CreateKey', {})) as { KeyMetadata: Md }).KeyMetadata;
    const out = (await kms.execute('GenerateDataKeyPair', { KeyId: wrapping.KeyId, KeyPairSpec: 'ECC_SECG_P256K1' })) as Record<string, unknown>;
    expect(out).toMatchObject({ KeyId: wrapping.Arn, KeyPairSpec: 'ECC_SECG_P256K1' });
    const pkcs8 = out.PrivateKeyPlaintext as Uint8Array;
    const spki = out.PublicKey as Uint8Array;
    const priv = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
    expect(priv.asymmetricKeyType).toBe('ec');
    expect(priv.asymmetricKeyDetails?.namedCurve).toBe('secp256k1');
    expect(hex(createPublicKey(priv).export({ format: 'der', type: 'spki' }))).toBe(hex(spki));
    const m = Buffer.from('a data key pair for a wallet');
    expect(nodeVerify('sha256', m, nodeKey(spki), nodeSign('sha256', m, priv))).toBe(true);
    const back = (await kms.execute('Decrypt', { CiphertextBlob: out.PrivateKeyCiphertextBlob })) as { Plaintext: Uint8Array };
    expect(hex(back.Plaintext)).toBe(hex(pkcs8));
    const without = (await kms.execute('GenerateDataKeyPairWithoutPlaintext', { KeyId: wrapping.KeyId, KeyPairSpec: 'ECC_SECG_P256K1' })) as Record<
      string,
      unknown
    >;
    expect(without.PrivateKeyPlaintext).toBeUndefined();
    const decrypted = ((await kms.execute('Decrypt', { CiphertextBlob: without.PrivateKeyCiphertextBlob })) as { Plaintext: Uint8Array }).Plaintext;
    const priv2 = createPrivateKey({ key: Buffer.from(decrypted), format: 'der', type: 'pkcs8' });
    expect(hex(createPublicKey(priv2).export({ format: 'der', type: 'spki' }))).toBe(hex(without.PublicKey as Uint8Array));
  });

  it("AWS's errors: usage, algorithm, digest length, EXTERNAL_MU", async () => {
    const kms = createKms();
    await expect(kms.execute('CreateKey', { KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'KEY_AGREEMENT' })).rejects.toMatchObject({ code: 'ValidationException' });
    await expect(kms.execute('CreateKey', { KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'ENCRYPT_DECRYPT' })).rejects.toMatchObject({ code: 'ValidationException' });
    const id = (await createKey(kms, 'ECC_SECG_P256K1')).KeyId;
    const m = enc.encode('m');
    await expect(kmsSign(kms, id, 'ECDSA_SHA_384', m)).rejects.toMatchObject({
      code: 'InvalidKeyUsageException',
      message: 'Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_SECG_P256K1.',
    });
    for (const len of [1, 31, 33, 64]) {
      await expect(kmsSign(kms, id, 'ECDSA_SHA_256', new Uint8Array(len), 'DIGEST')).rejects.toMatchObject({
        code: 'ValidationException',
        message: 'Digest is invalid length for algorithm ECDSA_SHA_256.',
      });
    }
    await expect(kmsSign(kms, id, 'ECDSA_SHA_256', new Uint8Array(64), 'EXTERNAL_MU')).rejects.toMatchObject({
      code: 'ValidationException',
      message: 'MessageType EXTERNAL_MU is valid only for ML_DSA_SHAKE_256, not ECDSA_SHA_256.',
    });
    await expect(kms.execute('EnableKeyRotation', { KeyId: id })).rejects.toMatchObject({ code: 'UnsupportedOperationException' });
    await expect(kms.execute('Encrypt', { KeyId: id, Plaintext: m })).rejects.toMatchObject({ code: 'InvalidKeyUsageException' });
  });
});

const NIST = [
  {
    spec: 'ECC_NIST_P256',
    alg: 'ECDSA_SHA_256',
    hash: 'sha256',
    size: 32,
    digest: 32,
    wrong: [1, 20, 31, 33, 48, 64],
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  },
  {
    spec: 'ECC_NIST_P384',
    alg: 'ECDSA_SHA_384',
    hash: 'sha384',
    size: 48,
    digest: 48,
    wrong: [32, 47, 49, 64],
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  },
  {
    spec: 'ECC_NIST_P521',
    alg: 'ECDSA_SHA_512',
    hash: 'sha512',
    size: 66,
    digest: 64,
    wrong: [32, 48, 63, 65, 66],
    n: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  },
] as const;

describe('ECDSA with MessageType DIGEST', () => {
  for (const c of NIST) {
    it(`${c.spec}: KMS's DIGEST signatures verify in node:crypto over the message; node:crypto's (high-S too) verify in KMS as DIGEST; AWS's length error`, async () => {
      const kms = await rootKms();
      const id = (await createKey(kms, c.spec)).KeyId;
      const spki = await spkiOf(kms, id);
      const key = nodeKey(spki);
      const priv = createPrivateKey({ key: unwrap((await kms.engine.store.getVersion(id, 1))!), format: 'der', type: 'pkcs8' });
      expect(hex(createPublicKey(priv).export({ format: 'der', type: 'spki' }))).toBe(hex(spki));
      for (const message of [enc.encode('x'), crypto.getRandomValues(new Uint8Array(4096))]) {
        const digest = new Uint8Array(createHash(c.hash).update(message).digest());
        expect(digest.length).toBe(c.digest);
        const sig = await kmsSign(kms, id, c.alg, digest, 'DIGEST');
        expect(nodeVerify(c.hash, message, { key, dsaEncoding: 'der' }, sig)).toBe(true);
        await expect(kmsVerify(kms, id, c.alg, digest, sig, 'DIGEST')).resolves.toEqual({
          KeyId: expect.any(String),
          SignatureValid: true,
          SigningAlgorithm: c.alg,
        });
        // The RAW path (WebCrypto) accepts the DIGEST path's signature over the message.
        await expect(kmsVerify(kms, id, c.alg, message, sig)).resolves.toMatchObject({ SignatureValid: true });
        const raw = await kmsSign(kms, id, c.alg, message);
        await expect(kmsVerify(kms, id, c.alg, digest, raw, 'DIGEST')).resolves.toMatchObject({ SignatureValid: true });

        const p1363 = new Uint8Array(nodeSign(c.hash, message, { key: priv, dsaEncoding: 'ieee-p1363' }));
        const flipped = flipS(p1363, c.n, c.size);
        for (const s of [new Uint8Array(nodeSign(c.hash, message, { key: priv, dsaEncoding: 'der' })), toDer(p1363, c.size), flipped.der]) {
          expect(nodeVerify(c.hash, message, { key, dsaEncoding: 'der' }, s)).toBe(true);
          await expect(kmsVerify(kms, id, c.alg, digest, s, 'DIGEST')).resolves.toMatchObject({ SignatureValid: true });
        }
        const bad = sig.slice();
        bad[bad.length - 1]! ^= 1;
        await expect(kmsVerify(kms, id, c.alg, digest, bad, 'DIGEST')).rejects.toMatchObject({ code: 'KMSInvalidSignatureException', message: '' });
        const otherDigest = digest.slice();
        otherDigest[0]! ^= 1;
        await expect(kmsVerify(kms, id, c.alg, otherDigest, sig, 'DIGEST')).rejects.toMatchObject({ code: 'KMSInvalidSignatureException', message: '' });
        await expect(kmsVerify(kms, id, c.alg, digest, new Uint8Array([0x30, 0]), 'DIGEST')).rejects.toMatchObject({
          code: 'KMSInvalidSignatureException',
          message: '',
        });
      }
      for (const len of c.wrong) {
        const error = { code: 'ValidationException', message: `Digest is invalid length for algorithm ${c.alg}.` };
        await expect(kmsSign(kms, id, c.alg, new Uint8Array(len).fill(7), 'DIGEST')).rejects.toMatchObject(error);
        await expect(kmsVerify(kms, id, c.alg, new Uint8Array(len).fill(7), new Uint8Array(70), 'DIGEST')).rejects.toMatchObject(error);
      }
      await expect(kmsSign(kms, id, c.alg, new Uint8Array(64), 'EXTERNAL_MU')).rejects.toMatchObject({
        code: 'ValidationException',
        message: `MessageType EXTERNAL_MU is valid only for ML_DSA_SHAKE_256, not ${c.alg}.`,
      });
    });
  }
});

// RFC 8032 section 7.3, the Ed25519ph test vector ("abc").
const RFC8032_PH = {
  secret: '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
  public: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
  message: '616263',
  signature: '98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae4131f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406',
};

describe('ED25519_PH_SHA_512', () => {
  it("is RFC 8032's Ed25519ph: the section 7.3 test vector signs and verifies", async () => {
    const pkcs8 = unhex(`302e020100300506032b657004220420${RFC8032_PH.secret}`);
    const spki = unhex(`302a300506032b6570032100${RFC8032_PH.public}`);
    const message = unhex(RFC8032_PH.message);
    // node:crypto agrees that these are the RFC's key pair.
    expect(hex(createPublicKey(createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' }))).toBe(
      hex(spki),
    );
    const sig = await eccFamily.signBytes!('ECC_NIST_EDWARDS25519', 'ED25519_PH_SHA_512', 'DIGEST', pkcs8, message);
    expect(hex(sig)).toBe(RFC8032_PH.signature);
    const signature = unhex(RFC8032_PH.signature);
    expect(await eccFamily.verifyBytes!('ECC_NIST_EDWARDS25519', 'ED25519_PH_SHA_512', 'DIGEST', spki, message, signature)).toBe(true);
    const bad = signature.slice();
    bad[10]! ^= 1;
    expect(await eccFamily.verifyBytes!('ECC_NIST_EDWARDS25519', 'ED25519_PH_SHA_512', 'DIGEST', spki, message, bad)).toBe(false);
    expect(await eccFamily.verifyBytes!('ECC_NIST_EDWARDS25519', 'ED25519_PH_SHA_512', 'DIGEST', spki, unhex('616264'), signature)).toBe(false);
    // Not pure Ed25519 of the same message.
    expect(nodeVerify(null, message, nodeKey(spki), signature)).toBe(false);
  });

  it('KMS: Sign DIGEST (64 bytes) is Ed25519ph over the caller input with the key; Verify agrees; the wrong type and length are refused', async () => {
    const kms = await rootKms();
    const md = await createKey(kms, 'ECC_NIST_EDWARDS25519');
    expect(md.SigningAlgorithms).toEqual(['ED25519_SHA_512', 'ED25519_PH_SHA_512']);
    const id = md.KeyId;
    const spki = await spkiOf(kms, id);
    const pkcs8 = new Uint8Array(unwrap((await kms.engine.store.getVersion(id, 1))!));
    expect(hex(createPublicKey(createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' }))).toBe(
      hex(spki),
    );
    const digest = new Uint8Array(createHash('sha512').update('a release manifest').digest());
    const sig = await kmsSign(kms, id, 'ED25519_PH_SHA_512', digest, 'DIGEST');
    expect(sig.length).toBe(64);
    // Deterministic: exactly what the (RFC-checked) Ed25519ph signer makes over the same input with the stored key.
    expect(hex(sig)).toBe(hex(await eccFamily.signBytes!('ECC_NIST_EDWARDS25519', 'ED25519_PH_SHA_512', 'DIGEST', pkcs8, digest)));
    expect(hex(await kmsSign(kms, id, 'ED25519_PH_SHA_512', digest, 'DIGEST'))).toBe(hex(sig));
    // Neither pure Ed25519 over the digest nor ED25519_SHA_512's signature of it.
    expect(nodeVerify(null, digest, nodeKey(spki), sig)).toBe(false);
    await expect(kmsVerify(kms, id, 'ED25519_PH_SHA_512', digest, sig, 'DIGEST')).resolves.toEqual({
      KeyId: md.Arn,
      SignatureValid: true,
      SigningAlgorithm: 'ED25519_PH_SHA_512',
    });
    await expect(kmsVerify(kms, id, 'ED25519_SHA_512', digest, sig)).rejects.toMatchObject({ code: 'KMSInvalidSignatureException', message: '' });
    const bad = sig.slice();
    bad[0]! ^= 1;
    await expect(kmsVerify(kms, id, 'ED25519_PH_SHA_512', digest, bad, 'DIGEST')).rejects.toMatchObject({ code: 'KMSInvalidSignatureException', message: '' });
    await expect(kmsSign(kms, id, 'ED25519_PH_SHA_512', digest)).rejects.toMatchObject({
      code: 'ValidationException',
      message: 'ED25519_PH_SHA_512 requires MessageType DIGEST.',
    });
    await expect(kmsVerify(kms, id, 'ED25519_PH_SHA_512', digest, sig)).rejects.toMatchObject({
      code: 'ValidationException',
      message: 'ED25519_PH_SHA_512 requires MessageType DIGEST.',
    });
    await expect(kmsSign(kms, id, 'ED25519_SHA_512', digest, 'DIGEST')).rejects.toMatchObject({
      code: 'ValidationException',
      message: 'ED25519_SHA_512 requires MessageType RAW.',
    });
    for (const len of [32, 63, 65]) {
      await expect(kmsSign(kms, id, 'ED25519_PH_SHA_512', new Uint8Array(len), 'DIGEST')).rejects.toMatchObject({
        code: 'ValidationException',
        message: 'Digest is invalid length for algorithm ED25519_PH_SHA_512.',
      });
    }
    await expect(kmsSign(kms, id, 'ED25519_PH_SHA_512', digest, 'EXTERNAL_MU')).rejects.toMatchObject({
      code: 'ValidationException',
      message: 'MessageType EXTERNAL_MU is valid only for ML_DSA_SHAKE_256, not ED25519_PH_SHA_512.',
    });
  });

  it('with the default (CryptoKey) protector too', async () => {
    const kms = createKms();
    const id = (await createKey(kms, 'ECC_NIST_EDWARDS25519')).KeyId;
    const digest = new Uint8Array(createHash('sha512').update('m').digest());
    const sig = await kmsSign(kms, id, 'ED25519_PH_SHA_512', digest, 'DIGEST');
    expect(await eccFamily.verifyBytes!('ECC_NIST_EDWARDS25519', 'ED25519_PH_SHA_512', 'DIGEST', await spkiOf(kms, id), digest, sig)).toBe(true);
    await expect(kmsVerify(kms, id, 'ED25519_PH_SHA_512', digest, sig, 'DIGEST')).resolves.toMatchObject({ SignatureValid: true });
    // The pure-Ed25519 path still works beside it.
    const m = enc.encode('m');
    const pure = await kmsSign(kms, id, 'ED25519_SHA_512', m);
    expect(nodeVerify(null, m, nodeKey(await spkiOf(kms, id)), pure)).toBe(true);
  });
});

describe('HMAC_224', () => {
  it("GenerateMac is node:crypto's HMAC-SHA-224 under the key's material; VerifyMac agrees and refuses changed or truncated MACs", async () => {
    const kms = await rootKms();
    const md = await createKey(kms, 'HMAC_224', 'GENERATE_VERIFY_MAC');
    expect(md).toMatchObject({ KeySpec: 'HMAC_224', KeyUsage: 'GENERATE_VERIFY_MAC', MacAlgorithms: ['HMAC_SHA_224'] });
    expect(md.SigningAlgorithms).toBeUndefined();
    expect(md.EncryptionAlgorithms).toBeUndefined();
    const id = md.KeyId;
    const material = unwrap((await kms.engine.store.getVersion(id, 1))!);
    expect(material.length).toBe(28);
    for (const message of [enc.encode('x'), crypto.getRandomValues(new Uint8Array(4096))]) {
      const out = (await kms.execute('GenerateMac', { KeyId: id, Message: message, MacAlgorithm: 'HMAC_SHA_224' })) as Record<string, unknown>;
      const theirs = createHmac('sha224', material).update(message).digest();
      expect(out).toEqual({ KeyId: md.Arn, Mac: expect.any(Uint8Array), MacAlgorithm: 'HMAC_SHA_224' });
      expect(hex(out.Mac as Uint8Array)).toBe(theirs.toString('hex'));
      await expect(kms.execute('VerifyMac', { KeyId: id, Message: message, MacAlgorithm: 'HMAC_SHA_224', Mac: theirs })).resolves.toEqual({
        KeyId: md.Arn,
        MacValid: true,
        MacAlgorithm: 'HMAC_SHA_224',
      });
      const changed = Buffer.from(theirs);
      changed[27]! ^= 0x80;
      for (const mac of [changed, theirs.subarray(0, 27), theirs.subarray(0, 1), Buffer.concat([theirs, Buffer.from([0])])]) {
        await expect(kms.execute('VerifyMac', { KeyId: id, Message: message, MacAlgorithm: 'HMAC_SHA_224', Mac: mac })).rejects.toMatchObject({
          code: 'KMSInvalidMacException',
          message: '',
        });
      }
    }
    const m = enc.encode('m');
    for (const alg of ['HMAC_SHA_256', 'HMAC_SHA_384', 'HMAC_SHA_512']) {
      await expect(kms.execute('GenerateMac', { KeyId: id, Message: m, MacAlgorithm: alg })).rejects.toMatchObject({
        code: 'InvalidKeyUsageException',
        message: `Algorithm ${alg} is incompatible with key spec HMAC_224.`,
      });
    }
    const h256 = (await createKey(kms, 'HMAC_256', 'GENERATE_VERIFY_MAC')).KeyId;
    await expect(kms.execute('GenerateMac', { KeyId: h256, Message: m, MacAlgorithm: 'HMAC_SHA_224' })).rejects.toMatchObject({
      code: 'InvalidKeyUsageException',
      message: 'Algorithm HMAC_SHA_224 is incompatible with key spec HMAC_256.',
    });
    await expect(kms.execute('CreateKey', { KeySpec: 'HMAC_224', KeyUsage: 'SIGN_VERIFY' })).rejects.toMatchObject({ code: 'ValidationException' });
    await expect(kms.execute('EnableKeyRotation', { KeyId: id })).rejects.toMatchObject({ code: 'UnsupportedOperationException' });
    await expect(kms.execute('GetPublicKey', { KeyId: id })).rejects.toMatchObject({ code: 'UnsupportedOperationException' });
  });

  it('with the default protector: the material is sealed bytes under a store-held AES-GCM key with the documented additional data', async () => {
    const kms = createKms();
    const id = (await createKey(kms, 'HMAC_224', 'GENERATE_VERIFY_MAC')).KeyId;
    const v = (await kms.engine.store.getVersion(id, 1))!;
    expect(v.Material.kind).toBe('sealed');
    if (v.Material.kind !== 'sealed') throw new Error('unreachable');
    expect(v.Material.key.extractable).toBe(false);
    const data = v.Material.data;
    const material = new Uint8Array(
      await crypto.subtle.decrypt(
        {
          name: 'AES-GCM',
          iv: data.subarray(0, 12) as BufferSource,
          additionalData: enc.encode(`edge-kms/sealed-bytes/v1\u0000${id}\u0000${v.Version}\u0000${v.KeyMaterialId}`) as BufferSource,
        },
        v.Material.key,
        data.subarray(12) as BufferSource,
      ),
    );
    expect(material.length).toBe(28);
    const message = enc.encode('webhook body');
    const out = (await kms.execute('GenerateMac', { KeyId: id, Message: message, MacAlgorithm: 'HMAC_SHA_224' })) as { Mac: Uint8Array };
    expect(hex(out.Mac)).toBe(createHmac('sha224', material).update(message).digest('hex'));
  });
});

/** An OID's DER (tag and length included), from its dotted form: written here, not by der.ts. */
function oidDer(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const body: number[] = [];
  for (const arc of [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)]) {
    const b7: number[] = [];
    let v = arc;
    do {
      b7.unshift(v & 0x7f);
      v = Math.floor(v / 128);
    } while (v > 0);
    body.push(...b7.map((b, i) => (i < b7.length - 1 ? b | 0x80 : b)));
  }
  return new Uint8Array([0x06, body.length, ...body]);
}

/** A DER length (long form from 128 on). */
const derLength = (n: number) => (n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff]);

const ML_DSA = [
  { spec: 'ML_DSA_44', oid: '2.16.840.1.101.3.4.3.17', publicKey: 1312, signature: 2420 },
  { spec: 'ML_DSA_65', oid: '2.16.840.1.101.3.4.3.18', publicKey: 1952, signature: 3309 },
  { spec: 'ML_DSA_87', oid: '2.16.840.1.101.3.4.3.19', publicKey: 2592, signature: 4627 },
] as const;

/** FIPS 204's mu for pure ML-DSA with an empty context: SHAKE256(SHAKE256(pk, 64) || 0x00 || 0x00 || M, 64), by node:crypto. */
function muOf(publicKey: Uint8Array, message: Uint8Array): Uint8Array {
  const tr = createHash('shake256', { outputLength: 64 }).update(publicKey).digest();
  return new Uint8Array(
    createHash('shake256', { outputLength: 64 })
      .update(tr)
      .update(new Uint8Array([0, 0]))
      .update(message)
      .digest(),
  );
}

describe('ML-DSA', () => {
  for (const c of ML_DSA) {
    it(`${c.spec}: RFC 9881 SPKI and PKCS#8; RAW signs and verifies; EXTERNAL_MU with mu computed here is the same signature scheme as RAW`, async () => {
      const kms = await rootKms();
      const md = await createKey(kms, c.spec);
      expect(md).toMatchObject({ KeySpec: c.spec, KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ML_DSA_SHAKE_256'] });
      expect(md.EncryptionAlgorithms).toBeUndefined();
      const id = md.KeyId;
      const pub = (await kms.execute('GetPublicKey', { KeyId: id })) as Record<string, unknown>;
      expect(pub).toMatchObject({
        KeyId: md.Arn,
        KeySpec: c.spec,
        KeyUsage: 'SIGN_VERIFY',
        SigningAlgorithms: ['ML_DSA_SHAKE_256'],
      });
      // The deprecated CustomerMasterKeySpec has no ML-DSA value in AWS's enum: none is answered.
      expect(pub.CustomerMasterKeySpec).toBeUndefined();
      expect(md.CustomerMasterKeySpec).toBeUndefined();
      expect(pub.EncryptionAlgorithms).toBeUndefined();
      // SEQUENCE { SEQUENCE { OID } (no parameters), BIT STRING { 0 unused bits, the raw public key } }.
      const spki = pub.PublicKey as Uint8Array;
      const oid = oidDer(c.oid);
      const algId = [0x30, oid.length, ...oid];
      const bits = [0x03, ...derLength(c.publicKey + 1), 0x00];
      const header = [0x30, ...derLength(algId.length + bits.length + c.publicKey), ...algId, ...bits];
      expect(spki.length).toBe(header.length + c.publicKey);
      expect(hex(spki.subarray(0, header.length))).toBe(hex(new Uint8Array(header)));
      const publicKey = spki.subarray(header.length);
      // The material: RFC 9881's seed form, privateKey = [0] IMPLICIT OCTET STRING (32 bytes).
      const pkcs8 = new Uint8Array(unwrap((await kms.engine.store.getVersion(id, 1))!));
      const inner = [0x04, 34, 0x80, 32];
      const pkHeader = [0x30, 3 + algId.length + inner.length + 32, 0x02, 0x01, 0x00, ...algId, ...inner];
      expect(pkcs8.length).toBe(pkHeader.length + 32);
      expect(hex(pkcs8.subarray(0, pkHeader.length))).toBe(hex(new Uint8Array(pkHeader)));

      for (const message of [enc.encode('x'), crypto.getRandomValues(new Uint8Array(4096))]) {
        const sig = await kmsSign(kms, id, 'ML_DSA_SHAKE_256', message);
        expect(sig.length).toBe(c.signature);
        await expect(kmsVerify(kms, id, 'ML_DSA_SHAKE_256', message, sig)).resolves.toEqual({
          KeyId: md.Arn,
          SignatureValid: true,
          SigningAlgorithm: 'ML_DSA_SHAKE_256',
        });
        // Hedged (randomized), as AWS signs: two signatures of one message differ, both verify.
        const again = await kmsSign(kms, id, 'ML_DSA_SHAKE_256', message);
        expect(hex(again)).not.toBe(hex(sig));
        const mu = muOf(publicKey, message);
        // The pure signature verifies as the mu of the message, and a signature of the mu verifies as the message.
        await expect(kmsVerify(kms, id, 'ML_DSA_SHAKE_256', mu, sig, 'EXTERNAL_MU')).resolves.toMatchObject({ SignatureValid: true });
        const ofMu = await kmsSign(kms, id, 'ML_DSA_SHAKE_256', mu, 'EXTERNAL_MU');
        expect(ofMu.length).toBe(c.signature);
        await expect(kmsVerify(kms, id, 'ML_DSA_SHAKE_256', message, ofMu)).resolves.toMatchObject({ SignatureValid: true });
        await expect(kmsVerify(kms, id, 'ML_DSA_SHAKE_256', mu, ofMu, 'EXTERNAL_MU')).resolves.toMatchObject({ SignatureValid: true });
        // A mu with a context (or of another message) is not this one.
        const withContext = new Uint8Array(
          createHash('shake256', { outputLength: 64 })
            .update(createHash('shake256', { outputLength: 64 }).update(publicKey).digest())
            .update(new Uint8Array([0, 1, 0x61]))
            .update(message)
            .digest(),
        );
        await expect(kmsVerify(kms, id, 'ML_DSA_SHAKE_256', withContext, sig, 'EXTERNAL_MU')).rejects.toMatchObject({
          code: 'KMSInvalidSignatureException',
          message: '',
        });
        const tampered = sig.slice();
        tampered[100]! ^= 1;
        await expect(kmsVerify(kms, id, 'ML_DSA_SHAKE_256', message, tampered)).rejects.toMatchObject({ code: 'KMSInvalidSignatureException', message: '' });
        await expect(kmsVerify(kms, id, 'ML_DSA_SHAKE_256', mu, tampered, 'EXTERNAL_MU')).rejects.toMatchObject({
          code: 'KMSInvalidSignatureException',
          message: '',
        });
        for (const s of [sig.subarray(0, c.signature - 1), new Uint8Array([...sig, 0]), new Uint8Array(c.signature)]) {
          await expect(kmsVerify(kms, id, 'ML_DSA_SHAKE_256', message, s)).rejects.toMatchObject({ code: 'KMSInvalidSignatureException', message: '' });
        }
        const other = message.slice();
        other[0]! ^= 1;
        await expect(kmsVerify(kms, id, 'ML_DSA_SHAKE_256', other, sig)).rejects.toMatchObject({ code: 'KMSInvalidSignatureException', message: '' });
      }
    });
  }

  it("AWS's errors: DIGEST, the mu's length, other algorithms, usages", async () => {
    const kms = createKms();
    const id = (await createKey(kms, 'ML_DSA_44')).KeyId;
    for (const len of [32, 64]) {
      await expect(kmsSign(kms, id, 'ML_DSA_SHAKE_256', new Uint8Array(len), 'DIGEST')).rejects.toMatchObject({ code: 'ValidationException' });
      await expect(kmsVerify(kms, id, 'ML_DSA_SHAKE_256', new Uint8Array(len), new Uint8Array(2420), 'DIGEST')).rejects.toMatchObject({
        code: 'ValidationException',
      });
    }
    for (const len of [1, 32, 63, 65, 128]) {
      await expect(kmsSign(kms, id, 'ML_DSA_SHAKE_256', new Uint8Array(len), 'EXTERNAL_MU')).rejects.toMatchObject({ code: 'ValidationException' });
      await expect(kmsVerify(kms, id, 'ML_DSA_SHAKE_256', new Uint8Array(len), new Uint8Array(2420), 'EXTERNAL_MU')).rejects.toMatchObject({
        code: 'ValidationException',
      });
    }
    for (const alg of ['ECDSA_SHA_256', 'ED25519_SHA_512', 'RSASSA_PSS_SHA_256']) {
      await expect(kmsSign(kms, id, alg, enc.encode('m'))).rejects.toMatchObject({
        code: 'InvalidKeyUsageException',
        message: `Algorithm ${alg} is incompatible with key spec ML_DSA_44.`,
      });
    }
    await expect(kms.execute('CreateKey', { KeySpec: 'ML_DSA_65', KeyUsage: 'ENCRYPT_DECRYPT' })).rejects.toMatchObject({ code: 'ValidationException' });
    await expect(kms.execute('CreateKey', { KeySpec: 'ML_DSA_65', KeyUsage: 'KEY_AGREEMENT' })).rejects.toMatchObject({ code: 'ValidationException' });
    await expect(kms.execute('EnableKeyRotation', { KeyId: id })).rejects.toMatchObject({ code: 'UnsupportedOperationException' });
    await expect(kms.execute('Encrypt', { KeyId: id, Plaintext: enc.encode('m') })).rejects.toMatchObject({ code: 'InvalidKeyUsageException' });
    // The default protector signs both ways too.
    const m = enc.encode('default protector');
    const mu = muOf(readMlDsaPublicKey(await spkiOf(kms, id), 1312), m);
    await expect(kmsVerify(kms, id, 'ML_DSA_SHAKE_256', m, await kmsSign(kms, id, 'ML_DSA_SHAKE_256', mu, 'EXTERNAL_MU'))).resolves.toMatchObject({
      SignatureValid: true,
    });
  });
});

/** The raw public key at the end of an ML-DSA SPKI. */
function readMlDsaPublicKey(spki: Uint8Array, length: number): Uint8Array {
  return spki.subarray(spki.length - length);
}

describe('keepBytes: false (every key a non-extractable CryptoKey only)', () => {
  it('CreateKey of the specs that need bytes fails with an AWS error, and nothing is written', async () => {
    const internal: unknown[] = [];
    const kms = createKms({ protector: createCryptoKeyProtector({ keepBytes: false }), onInternalError: (e) => internal.push(e) });
    for (const [spec, usage] of [
      ['ECC_SECG_P256K1', 'SIGN_VERIFY'],
      ['HMAC_224', 'GENERATE_VERIFY_MAC'],
      ['ML_DSA_44', 'SIGN_VERIFY'],
    ] as const) {
      const error = await kms.execute('CreateKey', { KeySpec: spec, KeyUsage: usage }).then(
        () => undefined,
        (e) => e as { code: string; message: string },
      );
      expect(error, spec).toBeDefined();
      expect(error?.code, `${spec}: ${error?.message}`).not.toBe('KMSInternalException');
      expect(error?.code).toMatch(/^(UnsupportedOperationException|ValidationException)$/);
    }
    expect(internal).toEqual([]);
    expect(((await kms.execute('ListKeys', {})) as { Keys: unknown[] }).Keys).toEqual([]);
  });

  it('ECDSA and Ed25519 keys are made and sign RAW; DIGEST and ED25519_PH_SHA_512 answer UnsupportedOperationException; Verify DIGEST works', async () => {
    const internal: unknown[] = [];
    const kms = createKms({ protector: createCryptoKeyProtector({ keepBytes: false }), onInternalError: (e) => internal.push(e) });
    const p256 = (await createKey(kms, 'ECC_NIST_P256')).KeyId;
    const message = enc.encode('RAW still works');
    const sig = await kmsSign(kms, p256, 'ECDSA_SHA_256', message);
    expect(nodeVerify('sha256', message, { key: nodeKey(await spkiOf(kms, p256)), dsaEncoding: 'der' }, sig)).toBe(true);
    const digest = new Uint8Array(createHash('sha256').update(message).digest());
    await expect(kmsSign(kms, p256, 'ECDSA_SHA_256', digest, 'DIGEST')).rejects.toMatchObject({ code: 'UnsupportedOperationException' });
    // Verifying needs only the public key.
    await expect(kmsVerify(kms, p256, 'ECDSA_SHA_256', digest, sig, 'DIGEST')).resolves.toMatchObject({ SignatureValid: true });
    const v = await kms.engine.store.getVersion(p256, 1);
    expect(v?.Material.kind).toBe('cryptokey');
    expect(v?.Material.kind === 'cryptokey' && v.Material.sealed).toBeFalsy();

    const ed = (await createKey(kms, 'ECC_NIST_EDWARDS25519')).KeyId;
    expect(nodeVerify(null, message, nodeKey(await spkiOf(kms, ed)), await kmsSign(kms, ed, 'ED25519_SHA_512', message))).toBe(true);
    await expect(kmsSign(kms, ed, 'ED25519_PH_SHA_512', new Uint8Array(64), 'DIGEST')).rejects.toMatchObject({ code: 'UnsupportedOperationException' });
    const h256 = (await createKey(kms, 'HMAC_256', 'GENERATE_VERIFY_MAC')).KeyId;
    await expect(kms.execute('GenerateMac', { KeyId: h256, Message: message, MacAlgorithm: 'HMAC_SHA_256' })).resolves.toHaveProperty('Mac');
    expect(internal).toEqual([]);
  });
});

describe('the root-key protector, as the Node server and Workers use it', () => {
  it('every @noble spec signs, verifies and MACs again after the material cache is gone (a new KMS over the same store and root key)', async () => {
    const store = createMemoryStore();
    const first = await rootKms(store);
    const m = enc.encode('before the restart');
    const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
    const sha384 = (b: Uint8Array) => new Uint8Array(createHash('sha384').update(b).digest());
    const sha512 = (b: Uint8Array) => new Uint8Array(createHash('sha512').update(b).digest());
    const cases = [
      { spec: 'ECC_SECG_P256K1', alg: 'ECDSA_SHA_256', type: 'RAW', message: m },
      { spec: 'ECC_SECG_P256K1', alg: 'ECDSA_SHA_256', type: 'DIGEST', message: sha256(m) },
      { spec: 'ECC_NIST_P384', alg: 'ECDSA_SHA_384', type: 'DIGEST', message: sha384(m) },
      { spec: 'ECC_NIST_EDWARDS25519', alg: 'ED25519_PH_SHA_512', type: 'DIGEST', message: sha512(m) },
      { spec: 'ML_DSA_44', alg: 'ML_DSA_SHAKE_256', type: 'RAW', message: m },
      { spec: 'ML_DSA_87', alg: 'ML_DSA_SHAKE_256', type: 'RAW', message: m },
    ] as const;
    const made = [];
    for (const c of cases) {
      const id = (await createKey(first, c.spec)).KeyId;
      made.push({ ...c, id, sig: await kmsSign(first, id, c.alg, c.message, c.type) });
    }
    const hmac = (await createKey(first, 'HMAC_224', 'GENERATE_VERIFY_MAC')).KeyId;
    const mac = ((await first.execute('GenerateMac', { KeyId: hmac, Message: m, MacAlgorithm: 'HMAC_SHA_224' })) as { Mac: Uint8Array }).Mac;

    const second = await rootKms(store);
    for (const c of made) {
      await expect(kmsVerify(second, c.id, c.alg, c.message, c.sig, c.type), c.spec).resolves.toMatchObject({ SignatureValid: true });
      const sig = await kmsSign(second, c.id, c.alg, c.message, c.type);
      await expect(kmsVerify(first, c.id, c.alg, c.message, sig, c.type)).resolves.toMatchObject({ SignatureValid: true });
      if (c.spec === 'ECC_SECG_P256K1' || c.spec === 'ECC_NIST_P384') {
        expect(nodeVerify(c.spec === 'ECC_NIST_P384' ? 'sha384' : 'sha256', m, { key: nodeKey(await spkiOf(second, c.id)), dsaEncoding: 'der' }, sig)).toBe(
          true,
        );
      }
    }
    const again = ((await second.execute('GenerateMac', { KeyId: hmac, Message: m, MacAlgorithm: 'HMAC_SHA_224' })) as { Mac: Uint8Array }).Mac;
    expect(hex(again)).toBe(hex(mac));
    await expect(second.execute('VerifyMac', { KeyId: hmac, Message: m, MacAlgorithm: 'HMAC_SHA_224', Mac: mac })).resolves.toMatchObject({ MacValid: true });

    // Another root key opens none of it.
    const stranger = createKms({ store, protector: await createRootKeyProtector(new Uint8Array(32).fill(9)), ...quiet });
    await expect(kmsSign(stranger, made[0]!.id, 'ECDSA_SHA_256', m)).rejects.toMatchObject({ code: 'KMSInternalException' });
    await expect(stranger.execute('GenerateMac', { KeyId: hmac, Message: m, MacAlgorithm: 'HMAC_SHA_224' })).rejects.toMatchObject({
      code: 'KMSInternalException',
    });
  });
});

describe('a store that was written to', () => {
  /** The store with every version record of `victim` given `change`. */
  function tamper(store: KmsStore, victim: string, change: (v: MaterialVersion) => MaterialVersion): KmsStore {
    return {
      ...store,
      getVersion: async (keyId, version) => {
        const v = await store.getVersion(keyId, version);
        return v && keyId.endsWith(victim) ? change(v) : v;
      },
      ...(store.getVersionCandidates && {
        getVersionCandidates: async (keyId: string, version: number) =>
          (await store.getVersionCandidates!(keyId, version)).map((v) => (keyId.endsWith(victim) ? change(v) : v)),
      }),
    };
  }

  for (const protector of ['default', 'root key'] as const) {
    for (const spec of ['ECC_SECG_P256K1', 'ML_DSA_44', 'ML_DSA_87'] as const) {
      const alg = spec === 'ECC_SECG_P256K1' ? 'ECDSA_SHA_256' : 'ML_DSA_SHAKE_256';
      it(`${spec} (${protector} protector): another key's public key swapped in is not used; GetPublicKey, Sign and Verify refuse`, async () => {
        const store = createMemoryStore();
        const p = protector === 'default' ? createCryptoKeyProtector() : await createRootKeyProtector(root.slice());
        const kms = createKms({ store, protector: p, ...quiet });
        const id = (await createKey(kms, spec)).KeyId;
        const m = enc.encode('m');
        const sig = await kmsSign(kms, id, alg, m);
        // The attacker's key pair: a key of the same spec, its public key written into the victim's version record.
        const other = (await createKey(kms, spec)).KeyId;
        const attackerSpki = await spkiOf(kms, other);
        const attackerSig = await kmsSign(kms, other, alg, m);
        const victim = createKms({ store: tamper(store, id, (v) => ({ ...v, PublicKey: attackerSpki })), protector: p, ...quiet });
        await expect(victim.execute('GetPublicKey', { KeyId: id })).rejects.toMatchObject({ code: 'KMSInternalException' });
        await expect(kmsSign(victim, id, alg, m)).rejects.toMatchObject({ code: 'KMSInternalException' });
        await expect(kmsVerify(victim, id, alg, m, attackerSig)).rejects.toMatchObject({ code: 'KMSInternalException' });
        await expect(kmsVerify(victim, id, alg, m, sig)).rejects.toMatchObject({ code: 'KMSInternalException' });
        // Untouched, the same store still answers.
        await expect(kmsVerify(createKms({ store, protector: p, ...quiet }), id, alg, m, sig)).resolves.toMatchObject({ SignatureValid: true });
      });
    }
  }

  it("another key's material swapped in (with its public key) does not open: the wrapping is bound to the key", async () => {
    for (const p of [createCryptoKeyProtector(), await createRootKeyProtector(root.slice())]) {
      const store = createMemoryStore();
      const kms = createKms({ store, protector: p, ...quiet });
      for (const [spec, usage] of [
        ['ECC_SECG_P256K1', 'SIGN_VERIFY'],
        ['ML_DSA_44', 'SIGN_VERIFY'],
        ['HMAC_224', 'GENERATE_VERIFY_MAC'],
      ] as const) {
        const id = (await createKey(kms, spec, usage)).KeyId;
        const other = (await createKey(kms, spec, usage)).KeyId;
        const theirs = (await kms.engine.store.getVersion(other, 1))!;
        const victim = createKms({
          store: tamper(store, id, (v) => ({ ...v, Material: theirs.Material, PublicKey: theirs.PublicKey })),
          protector: p,
          ...quiet,
        });
        const m = enc.encode('m');
        const op =
          usage === 'SIGN_VERIFY'
            ? kmsSign(victim, id, spec === 'ML_DSA_44' ? 'ML_DSA_SHAKE_256' : 'ECDSA_SHA_256', m)
            : victim.execute('GenerateMac', { KeyId: id, Message: m, MacAlgorithm: 'HMAC_SHA_224' });
        await expect(op, spec).rejects.toMatchObject({ code: 'KMSInternalException' });
      }
    }
  });
});
