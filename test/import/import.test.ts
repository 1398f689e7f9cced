/**
 * Issue 18, imported key material (Origin EXTERNAL), end to end in process: createKms() with a
 * test clock and the memory store, the customer side done with node:crypto only
 * (test/helpers/import-wrap.ts), and every result checked independently of edge-kms where one can
 * be: ciphertexts opened with node:crypto AES-256-GCM and the imported bytes (the blob format of
 * docs/ciphertext-format.md), HMACs with createHmac, signatures with the customer's own public key,
 * KeyMaterialIds recomputed. Then the same flows with the root-key protector and an LMDB store
 * across a reopen, and once over HTTP with the AWS SDK v3 against the Node server.
 * Run: npx vitest run --project e2e test/import
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKms, createRootKeyProtector, createTestClock, DAY_MS, type Kms, type KmsStore, type TestClock } from '@edge-kms/core';
import { createLmdbStore } from '@edge-kms/node';
import { afterAll, describe, expect, it } from 'vitest';
import {
  HMAC_MATERIAL_BYTES,
  WRAPPING_ALGORITHMS,
  WRAPPING_KEY_SPECS,
  generateWrappingKeyPair,
  kwpWrap,
  testMaterial,
  wrapKeyMaterial,
  type MaterialSpec,
  type WrappingAlgorithm,
  type WrappingKeySpec,
} from '../helpers/import-wrap.js';
import { failure, keyArn as serverKeyArn, text, useKmsServer, utf8 } from '../helpers/server.js';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const HOUR_MS = 3_600_000;
const arnOf = (keyId: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${keyId}`;

// --- the shapes of the answers we read -----------------------------------------------------------

interface KeyMetadata {
  KeyId: string;
  Arn: string;
  KeyState: string;
  Enabled: boolean;
  Origin: string;
  KeySpec: string;
  KeyUsage: string;
  CurrentKeyMaterialId?: string;
  ExpirationModel?: string;
  ValidTo?: Date;
}

interface Rotation {
  KeyId: string;
  KeyMaterialId: string;
  KeyMaterialState: string;
  ImportState?: string;
  ExpirationModel?: string;
  ValidTo?: Date;
  KeyMaterialDescription?: string;
  RotationType?: string;
  RotationDate?: Date;
}

interface Params {
  KeyId: string;
  ImportToken: Uint8Array;
  PublicKey: Uint8Array;
  ParametersValidTo: Date;
}

interface KmsFailure {
  code: string;
  name: string;
  message: string;
}

/** One in-process KMS with a test clock, and typed calls into it. */
class Harness {
  constructor(
    readonly kms: Kms,
    readonly clock: TestClock,
  ) {}

  static memory(): Harness {
    const clock = createTestClock();
    return new Harness(createKms({ clock }), clock);
  }

  call<T = Record<string, unknown>>(operation: string, input: Record<string, unknown>): Promise<T> {
    return this.kms.execute(operation, input) as Promise<T>;
  }

  /** The error a call fails with (the test fails if it succeeds). */
  async fail(call: Promise<unknown>): Promise<KmsFailure> {
    try {
      await call;
    } catch (e) {
      return e as KmsFailure;
    }
    throw new Error('expected the call to fail, but it succeeded');
  }

  async createExternal(KeySpec: MaterialSpec | 'SYMMETRIC_DEFAULT' = 'SYMMETRIC_DEFAULT', KeyUsage?: string): Promise<KeyMetadata> {
    const usage = KeyUsage ?? defaultUsage(KeySpec);
    const out = await this.call<{ KeyMetadata: KeyMetadata }>('CreateKey', { Origin: 'EXTERNAL', KeySpec, KeyUsage: usage });
    return out.KeyMetadata;
  }

  async describe(KeyId: string): Promise<KeyMetadata> {
    return (await this.call<{ KeyMetadata: KeyMetadata }>('DescribeKey', { KeyId })).KeyMetadata;
  }

  async rotations(KeyId: string, all = true): Promise<Rotation[]> {
    const out = await this.call<{ Rotations: Rotation[] }>('ListKeyRotations', { KeyId, ...(all && { IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }) });
    return out.Rotations;
  }

  /**
   * GetParametersForImport, retrying ThrottlingException as the AWS SDKs do: RSA key generation
   * goes through one gate (decision 0008, four at a time, the wrapping key pools' background
   * refills included), so a burst of calls that find their pool empty is throttled.
   */
  async params(
    KeyId: string,
    WrappingAlgorithm: WrappingAlgorithm = 'RSA_AES_KEY_WRAP_SHA_256',
    WrappingKeySpec: WrappingKeySpec = 'RSA_2048',
  ): Promise<Params> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.call<Params>('GetParametersForImport', { KeyId, WrappingAlgorithm, WrappingKeySpec });
      } catch (e) {
        if ((e as KmsFailure).code !== 'ThrottlingException' || attempt >= 100) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /**
   * ImportKeyMaterial of `material`, wrapped by the customer tool. Without `validTo` the material
   * does not expire; `params` reuses a token; `raw` sends exactly the fields given in it.
   */
  async importMaterial(KeyId: string, material: Uint8Array, options: ImportOptions = {}): Promise<{ KeyId: string; KeyMaterialId: string }> {
    const algorithm = options.algorithm ?? 'RSA_AES_KEY_WRAP_SHA_256';
    const params = options.params ?? (await this.params(KeyId, algorithm, options.wrappingSpec ?? 'RSA_2048'));
    const input: Record<string, unknown> = {
      KeyId,
      ImportToken: params.ImportToken,
      EncryptedKeyMaterial: options.encrypted ?? wrapKeyMaterial(params.PublicKey, algorithm, material),
    };
    if (options.validTo !== undefined) {
      input.ExpirationModel = 'KEY_MATERIAL_EXPIRES';
      input.ValidTo = options.validTo;
    } else {
      input.ExpirationModel = 'KEY_MATERIAL_DOES_NOT_EXPIRE';
    }
    if (options.importType) input.ImportType = options.importType;
    if (options.keyMaterialId) input.KeyMaterialId = options.keyMaterialId;
    if (options.description !== undefined) input.KeyMaterialDescription = options.description;
    Object.assign(input, options.raw);
    for (const [k, v] of Object.entries(input)) if (v === undefined) delete input[k];
    return this.call('ImportKeyMaterial', input);
  }

  /** Encrypt (its answer has no KeyMaterialId, as in AWS: `materialOf` asks Decrypt). */
  encrypt(KeyId: string, message: string, EncryptionContext?: Record<string, string>): Promise<{ CiphertextBlob: Uint8Array; KeyId: string }> {
    return this.call('Encrypt', { KeyId, Plaintext: utf8(message), ...(EncryptionContext && { EncryptionContext }) });
  }

  decrypt(CiphertextBlob: Uint8Array, EncryptionContext?: Record<string, string>): Promise<{ Plaintext: Uint8Array; KeyId: string; KeyMaterialId: string }> {
    return this.call('Decrypt', { CiphertextBlob, ...(EncryptionContext && { EncryptionContext }) });
  }

  /** The KeyMaterialId Decrypt names for a ciphertext (the key must be usable). */
  async materialOf(CiphertextBlob: Uint8Array): Promise<string> {
    return (await this.decrypt(CiphertextBlob)).KeyMaterialId;
  }

  /** What a failed call must leave unchanged: the key's metadata and its materials (or the error listing them answers). */
  async snapshot(KeyId: string): Promise<unknown> {
    const md = await this.describe(KeyId);
    const rotations = md.KeySpec === 'SYMMETRIC_DEFAULT' ? await this.rotations(KeyId).catch((e: KmsFailure) => `${e.code}: ${e.message}`) : undefined;
    return structuredClone({ md, rotations });
  }

  /** `call` fails with `code` (and `message`, when given) and changes nothing of key `KeyId`. */
  async failsUnchanged(KeyId: string, call: () => Promise<unknown>, code: string, message?: string | RegExp): Promise<KmsFailure> {
    const before = await this.snapshot(KeyId);
    const err = await this.fail(call());
    expect(err.code, err.message).toBe(code);
    expect(err.name).toBe(code);
    if (typeof message === 'string') expect(err.message).toBe(message);
    else if (message) expect(err.message).toMatch(message);
    expect(await this.snapshot(KeyId)).toEqual(before);
    return err;
  }
}

interface ImportOptions {
  algorithm?: WrappingAlgorithm;
  wrappingSpec?: WrappingKeySpec;
  params?: Params;
  validTo?: Date | number;
  importType?: 'NEW_KEY_MATERIAL' | 'EXISTING_KEY_MATERIAL';
  keyMaterialId?: string;
  description?: string;
  /** EncryptedKeyMaterial to send instead of the wrapped `material`. */
  encrypted?: Uint8Array;
  /** Fields set (or, with undefined, removed) last. */
  raw?: Record<string, unknown>;
}

function defaultUsage(spec: string): string {
  if (spec === 'SYMMETRIC_DEFAULT') return 'ENCRYPT_DECRYPT';
  if (spec.startsWith('HMAC_')) return 'GENERATE_VERIFY_MAC';
  return 'SIGN_VERIFY';
}

// --- independent oracles ------------------------------------------------------------------------

/** KeyMaterialId of imported material: SHA-256 over a label, the key id and the bytes (decision 0009). */
function expectedMaterialId(keyId: string, material: Uint8Array): string {
  return createHash('sha256')
    .update('edge-kms key material id\u0000')
    .update(keyId)
    .update(Buffer.from([0]))
    .update(material)
    .digest('hex');
}

/** The canonical encryption context encoding of docs/ciphertext-format.md. */
function encodeContext(context: Record<string, string> = {}): Buffer {
  const pairs = Object.entries(context)
    .map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as const)
    .sort((a, b) => Buffer.compare(a[0], b[0]));
  const parts: Buffer[] = [u32(pairs.length)];
  for (const [k, v] of pairs) parts.push(u32(k.length), k, u32(v.length), v);
  return Buffer.concat(parts);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** Opens an edge-kms ciphertext blob with node:crypto and the raw imported material. */
function localDecryptBytes(material: Uint8Array, blob: Uint8Array, context?: Record<string, string>): Buffer {
  const b = Buffer.from(blob);
  const header = b.subarray(0, 36);
  const decipher = createDecipheriv('aes-256-gcm', material, b.subarray(24, 36));
  decipher.setAAD(Buffer.concat([header, encodeContext(context)]));
  decipher.setAuthTag(b.subarray(b.length - 16));
  return Buffer.concat([decipher.update(b.subarray(36, b.length - 16)), decipher.final()]);
}

const localDecrypt = (material: Uint8Array, blob: Uint8Array, context?: Record<string, string>): string =>
  localDecryptBytes(material, blob, context).toString('utf8');

/** An edge-kms ciphertext blob made with node:crypto under the raw material of `version` of the key. */
function localEncrypt(material: Uint8Array, keyId: string, version: number, message: string, context?: Record<string, string>): Uint8Array {
  const header = Buffer.concat([Buffer.from('EK'), Buffer.from([1, 1]), Buffer.from(keyId.replace(/-/g, ''), 'hex'), u32(version), randomBytes(12)]);
  const cipher = createCipheriv('aes-256-gcm', material, header.subarray(24, 36));
  cipher.setAAD(Buffer.concat([header, encodeContext(context)]));
  const body = Buffer.concat([cipher.update(message, 'utf8'), cipher.final()]);
  return new Uint8Array(Buffer.concat([header, body, cipher.getAuthTag()]));
}

/** The material version a ciphertext names (bytes 20..24). */
const versionOf = (blob: Uint8Array) => Buffer.from(blob).readUInt32BE(20);

/** A P-256 private key as PKCS#8 without the optional public key in its ECPrivateKey (as Java and some HSMs write it). */
function p256Pkcs8WithoutPublicKey(privateKey: KeyObject): Uint8Array {
  const d = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  expect(d).toHaveLength(32);
  const ecPrivateKey = Buffer.concat([Buffer.from('30250201010420', 'hex'), d]);
  const algorithm = Buffer.from('301306072a8648ce3d020106082a8648ce3d030107', 'hex');
  return new Uint8Array(Buffer.concat([Buffer.from('3041020100', 'hex'), algorithm, Buffer.from('0427', 'hex'), ecPrivateKey]));
}

const secret = () => new Uint8Array(randomBytes(32));

// =================================================================================================

describe('CreateKey with Origin EXTERNAL', () => {
  const specs: [string, string][] = [
    ['SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT'],
    ['HMAC_224', 'GENERATE_VERIFY_MAC'],
    ['HMAC_512', 'GENERATE_VERIFY_MAC'],
    ['ECC_NIST_P256', 'SIGN_VERIFY'],
    ['ECC_NIST_P256', 'KEY_AGREEMENT'],
    ['ECC_SECG_P256K1', 'SIGN_VERIFY'],
    ['ECC_NIST_EDWARDS25519', 'SIGN_VERIFY'],
    ['RSA_2048', 'SIGN_VERIFY'],
    ['RSA_3072', 'ENCRYPT_DECRYPT'],
  ];

  it.each(specs)('%s (%s): PendingImport, disabled, no material', async (spec, usage) => {
    const h = Harness.memory();
    const md = await h.createExternal(spec as MaterialSpec, usage);
    expect(md).toMatchObject({ KeyState: 'PendingImport', Enabled: false, Origin: 'EXTERNAL', KeySpec: spec, KeyUsage: usage });
    expect(md.CurrentKeyMaterialId).toBeUndefined();
    expect(md.ExpirationModel).toBeUndefined();
    expect(md.ValidTo).toBeUndefined();
    expect(await h.describe(md.KeyId)).toEqual(md);
  });

  it('crypto calls, EnableKey and DisableKey answer KMSInvalidStateException "… is pending import."', async () => {
    const h = Harness.memory();
    const sym = await h.createExternal('SYMMETRIC_DEFAULT');
    const mac = await h.createExternal('HMAC_256');
    const sig = await h.createExternal('ECC_NIST_P256');
    const pending = (id: string) => `${arnOf(id)} is pending import.`;
    const cases: [string, string, Record<string, unknown>][] = [
      [sym.KeyId, 'Encrypt', { KeyId: sym.KeyId, Plaintext: utf8('x') }],
      [sym.KeyId, 'GenerateDataKey', { KeyId: sym.KeyId, KeySpec: 'AES_256' }],
      [sym.KeyId, 'GenerateDataKeyWithoutPlaintext', { KeyId: sym.KeyId, NumberOfBytes: 32 }],
      [sym.KeyId, 'ReEncrypt', { CiphertextBlob: localEncrypt(secret(), sym.KeyId, 1, 'x'), DestinationKeyId: sym.KeyId }],
      [sym.KeyId, 'EnableKey', { KeyId: sym.KeyId }],
      [sym.KeyId, 'DisableKey', { KeyId: sym.KeyId }],
      [mac.KeyId, 'GenerateMac', { KeyId: mac.KeyId, Message: utf8('x'), MacAlgorithm: 'HMAC_SHA_256' }],
      [mac.KeyId, 'EnableKey', { KeyId: mac.KeyId }],
      [sig.KeyId, 'Sign', { KeyId: sig.KeyId, Message: utf8('x'), SigningAlgorithm: 'ECDSA_SHA_256' }],
      [sig.KeyId, 'GetPublicKey', { KeyId: sig.KeyId }],
      [sig.KeyId, 'DisableKey', { KeyId: sig.KeyId }],
    ];
    for (const [id, op, input] of cases) {
      const err = await h.failsUnchanged(id, () => h.call(op, input), 'KMSInvalidStateException');
      expect(err.message, op).toBe(pending(id));
    }
    // Decrypt of a blob naming the key: the key state, not the ciphertext, is the answer.
    const err = await h.fail(h.decrypt(localEncrypt(secret(), sym.KeyId, 1, 'x')));
    expect(err).toMatchObject({ code: 'KMSInvalidStateException', message: pending(sym.KeyId) });
  });
});

describe('GetParametersForImport', () => {
  it.each(WRAPPING_ALGORITHMS.flatMap((a) => WRAPPING_KEY_SPECS.map((s) => [a, s] as const)))(
    '%s with %s: an RSA public key of that size, a token, 24 hours on the KMS clock',
    async (algorithm, spec) => {
      const h = Harness.memory();
      h.clock.set(Date.UTC(2031, 0, 2, 3, 4, 5, 678));
      const md = await h.createExternal();
      const p = await h.params(md.KeyId, algorithm, spec);
      expect(p.KeyId).toBe(md.Arn);
      expect(p.ParametersValidTo).toBeInstanceOf(Date);
      expect(p.ParametersValidTo.getTime()).toBe(Date.UTC(2031, 0, 3, 3, 4, 5, 678));
      const pub = createPublicKey({ key: Buffer.from(p.PublicKey), format: 'der', type: 'spki' });
      expect(pub.asymmetricKeyType).toBe('rsa');
      expect(pub.asymmetricKeyDetails?.modulusLength).toBe(Number(spec.slice(4)));
      expect(pub.asymmetricKeyDetails?.publicExponent).toBe(65537n);
      expect(p.ImportToken.length).toBeGreaterThan(0);
      expect(p.ImportToken.length).toBeLessThanOrEqual(6144);
    },
  );

  it('a fresh wrapping key pair and token for every call', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    const calls = await Promise.all([1, 2, 3].map(() => h.params(md.KeyId, 'RSAES_OAEP_SHA_256', 'RSA_2048')));
    expect(new Set(calls.map((p) => Buffer.from(p.PublicKey).toString('hex'))).size).toBe(3);
    expect(new Set(calls.map((p) => Buffer.from(p.ImportToken).toString('hex'))).size).toBe(3);
    // The key is unchanged by asking.
    expect(await h.describe(md.KeyId)).toEqual(md);
  });

  it('refuses RSAES_PKCS1_V1_5 (ValidationException) and SM2 (UnsupportedOperationException)', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    let err = await h.failsUnchanged(
      md.KeyId,
      () => h.call('GetParametersForImport', { KeyId: md.KeyId, WrappingAlgorithm: 'RSAES_PKCS1_V1_5', WrappingKeySpec: 'RSA_2048' }),
      'ValidationException',
    );
    expect(err.message).toContain('RSAES_PKCS1_V1_5');
    await h.failsUnchanged(
      md.KeyId,
      () => h.call('GetParametersForImport', { KeyId: md.KeyId, WrappingAlgorithm: 'SM2PKE', WrappingKeySpec: 'SM2' }),
      'UnsupportedOperationException',
    );
    await h.failsUnchanged(
      md.KeyId,
      () => h.call('GetParametersForImport', { KeyId: md.KeyId, WrappingAlgorithm: 'SM2PKE', WrappingKeySpec: 'RSA_2048' }),
      'UnsupportedOperationException',
    );
    await h.failsUnchanged(
      md.KeyId,
      () => h.call('GetParametersForImport', { KeyId: md.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'SM2' }),
      'UnsupportedOperationException',
    );
    // Unknown values and missing members are the model's ValidationException.
    err = await h.fail(h.call('GetParametersForImport', { KeyId: md.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_512', WrappingKeySpec: 'RSA_2048' }));
    expect(err.code).toBe('ValidationException');
    expect(err.message).toContain('Member must satisfy enum value set');
    err = await h.fail(h.call('GetParametersForImport', { KeyId: md.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_1024' }));
    expect(err.code).toBe('ValidationException');
    err = await h.fail(h.call('GetParametersForImport', { KeyId: md.KeyId, WrappingKeySpec: 'RSA_2048' }));
    expect(err.code).toBe('ValidationException');
    err = await h.fail(h.call('GetParametersForImport', { KeyId: md.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256' }));
    expect(err.code).toBe('ValidationException');
  });

  it("AWS's wrapping rules: RSA keys need RSA_AES_KEY_WRAP_*, ECC_NIST_P521 does not fit RSAES_OAEP under RSA_2048", async () => {
    const h = Harness.memory();
    for (const spec of ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const) {
      const md = await h.createExternal(spec);
      for (const algorithm of ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as const) {
        for (const ws of ['RSA_2048', 'RSA_4096'] as const) await h.failsUnchanged(md.KeyId, () => h.params(md.KeyId, algorithm, ws), 'ValidationException');
      }
      await h.params(md.KeyId, 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_2048');
      await h.params(md.KeyId, 'RSA_AES_KEY_WRAP_SHA_256', 'RSA_2048');
    }
    const p521 = await h.createExternal('ECC_NIST_P521');
    await h.failsUnchanged(p521.KeyId, () => h.params(p521.KeyId, 'RSAES_OAEP_SHA_1', 'RSA_2048'), 'ValidationException');
    await h.failsUnchanged(p521.KeyId, () => h.params(p521.KeyId, 'RSAES_OAEP_SHA_256', 'RSA_2048'), 'ValidationException');
    await h.params(p521.KeyId, 'RSAES_OAEP_SHA_256', 'RSA_3072');
    await h.params(p521.KeyId, 'RSA_AES_KEY_WRAP_SHA_256', 'RSA_2048');
    // Other specs take every algorithm.
    const p256 = await h.createExternal('ECC_NIST_P256');
    await h.params(p256.KeyId, 'RSAES_OAEP_SHA_1', 'RSA_2048');
  });

  it('refuses keys whose origin is not EXTERNAL, and keys pending deletion', async () => {
    const h = Harness.memory();
    const { KeyMetadata: aws } = await h.call<{ KeyMetadata: KeyMetadata }>('CreateKey', {});
    const err = await h.failsUnchanged(aws.KeyId, () => h.params(aws.KeyId), 'UnsupportedOperationException');
    expect(err.message).toBe(`${aws.Arn} origin is AWS_KMS which is not valid for this operation.`);
    // The same through the key ARN.
    expect((await h.fail(h.params(aws.Arn))).message).toBe(`${aws.Arn} origin is AWS_KMS which is not valid for this operation.`);

    const md = await h.createExternal();
    await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId, PendingWindowInDays: 7 });
    const pending = await h.failsUnchanged(md.KeyId, () => h.params(md.KeyId), 'KMSInvalidStateException');
    expect(pending.message).toBe(`${md.Arn} is pending deletion.`);
    expect((await h.fail(h.params('c7a9b7c1-0000-4000-8000-000000000000'))).code).toBe('NotFoundException');
  });
});

describe('symmetric import', () => {
  it.each(WRAPPING_ALGORITHMS)('%s: Encrypt/Decrypt with the imported bytes, checked with node:crypto both ways', async (algorithm) => {
    const h = Harness.memory();
    const md = await h.createExternal();
    const { material } = testMaterial('SYMMETRIC_DEFAULT');
    const out = await h.importMaterial(md.KeyId, material, { algorithm });
    expect(out.KeyId).toBe(md.Arn);
    expect(out.KeyMaterialId).toBe(expectedMaterialId(md.KeyId, material));

    const after = await h.describe(md.KeyId);
    expect(after).toMatchObject({
      KeyState: 'Enabled',
      Enabled: true,
      CurrentKeyMaterialId: out.KeyMaterialId,
      ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
    });
    expect(after.ValidTo).toBeUndefined();

    const ctx = { purpose: 'import e2e', algorithm };
    const enc = await h.encrypt(md.KeyId, 'bring your own key', ctx);
    expect(enc.KeyId).toBe(md.Arn);
    // The blob is AES-256-GCM under exactly the bytes the customer imported.
    expect(localDecrypt(material, enc.CiphertextBlob, ctx)).toBe('bring your own key');
    expect(() => localDecrypt(secret(), enc.CiphertextBlob, ctx)).toThrow();
    const dec = await h.decrypt(enc.CiphertextBlob, ctx);
    expect(text(dec.Plaintext)).toBe('bring your own key');
    expect(dec.KeyMaterialId).toBe(out.KeyMaterialId);
    // And what the customer encrypts locally with the material, the KMS decrypts.
    const local = localEncrypt(material, md.KeyId, 1, 'made outside the KMS', { a: 'b' });
    expect(text((await h.decrypt(local, { a: 'b' })).Plaintext)).toBe('made outside the KMS');
    // Data keys too.
    const dk = await h.call<{ Plaintext: Uint8Array; CiphertextBlob: Uint8Array }>('GenerateDataKey', { KeyId: md.KeyId, KeySpec: 'AES_256' });
    expect(localDecryptBytes(material, dk.CiphertextBlob).toString('hex')).toBe(Buffer.from(dk.Plaintext).toString('hex'));
    expect((await h.decrypt(dk.CiphertextBlob)).Plaintext).toEqual(dk.Plaintext);
  });

  it('the same material imported into two keys: different KeyMaterialIds, ciphertexts bound to their key', async () => {
    const h = Harness.memory();
    const a = await h.createExternal();
    const b = await h.createExternal();
    const { material } = testMaterial('SYMMETRIC_DEFAULT');
    const ia = await h.importMaterial(a.KeyId, material);
    const ib = await h.importMaterial(b.KeyId, material);
    expect(ia.KeyMaterialId).not.toBe(ib.KeyMaterialId);
    const enc = await h.encrypt(a.KeyId, 'for a');
    const err = await h.fail(h.call('Decrypt', { CiphertextBlob: enc.CiphertextBlob, KeyId: b.KeyId }));
    expect(err.code).toBe('IncorrectKeyException');
  });

  it('a 36-day-old material: ValidTo and ExpirationModel in DescribeKey and ListKeyRotations', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    const validTo = new Date(h.clock.now() + 36 * DAY_MS);
    const out = await h.importMaterial(md.KeyId, secret(), { validTo, description: 'first' });
    const after = await h.describe(md.KeyId);
    expect(after.ExpirationModel).toBe('KEY_MATERIAL_EXPIRES');
    expect(after.ValidTo?.getTime()).toBe(validTo.getTime());
    expect(await h.rotations(md.KeyId)).toEqual([
      {
        KeyId: md.KeyId,
        KeyMaterialId: out.KeyMaterialId,
        KeyMaterialState: 'CURRENT',
        ImportState: 'IMPORTED',
        ExpirationModel: 'KEY_MATERIAL_EXPIRES',
        ValidTo: validTo,
        KeyMaterialDescription: 'first',
      },
    ]);
    // ROTATIONS_ONLY lists no rotation yet.
    expect(await h.rotations(md.KeyId, false)).toEqual([]);
  });

  it('ValidTo as epoch seconds (the wire form) and the 365-day bound', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    const limit = h.clock.now() + 365 * DAY_MS;
    await h.importMaterial(md.KeyId, secret(), { validTo: limit / 1000 });
    expect((await h.describe(md.KeyId)).ValidTo?.getTime()).toBe(limit);
  });
});

describe('HMAC import', () => {
  const MAC_ALGORITHM = { HMAC_224: 'HMAC_SHA_224', HMAC_256: 'HMAC_SHA_256', HMAC_384: 'HMAC_SHA_384', HMAC_512: 'HMAC_SHA_512' } as const;
  const cases = (Object.keys(HMAC_MATERIAL_BYTES) as (keyof typeof HMAC_MATERIAL_BYTES)[]).flatMap((spec) => [
    [spec, HMAC_MATERIAL_BYTES[spec].min] as const,
    [spec, HMAC_MATERIAL_BYTES[spec].max] as const,
  ]);

  it.each(cases)('%s with %i bytes: GenerateMac equals node:crypto createHmac of the same secret', async (spec, bytes) => {
    const h = Harness.memory();
    const md = await h.createExternal(spec);
    const { material } = testMaterial(spec, { hmacBytes: bytes });
    expect(material).toHaveLength(bytes);
    // Raw bytes up to 128 fit one OAEP block under RSA_2048 with SHA-256 (190 bytes).
    const out = await h.importMaterial(md.KeyId, material, { algorithm: 'RSAES_OAEP_SHA_256' });
    expect(out.KeyMaterialId).toBe(expectedMaterialId(md.KeyId, material));
    expect(await h.describe(md.KeyId)).toMatchObject({ KeyState: 'Enabled', Enabled: true });
    const algorithm = MAC_ALGORITHM[spec];
    for (const message of [utf8('webhook body'), new Uint8Array(0).subarray(0, 0), new Uint8Array(randomBytes(4096))]) {
      if (message.length === 0) continue; // AWS's Message is 1..4096 bytes
      const { Mac } = await h.call<{ Mac: Uint8Array }>('GenerateMac', { KeyId: md.KeyId, Message: message, MacAlgorithm: algorithm });
      const expected = createHmac(`sha${spec.slice(5)}`, material)
        .update(message)
        .digest();
      expect(Buffer.from(Mac).toString('hex')).toBe(expected.toString('hex'));
      // A MAC the customer makes locally verifies in the KMS.
      const v = await h.call<{ MacValid: boolean }>('VerifyMac', { KeyId: md.KeyId, Message: message, MacAlgorithm: algorithm, Mac: expected });
      expect(v.MacValid).toBe(true);
    }
  });

  it.each(
    (Object.keys(HMAC_MATERIAL_BYTES) as (keyof typeof HMAC_MATERIAL_BYTES)[]).flatMap((spec) => [
      [spec, HMAC_MATERIAL_BYTES[spec].min - 1] as const,
      [spec, HMAC_MATERIAL_BYTES[spec].max + 1] as const,
    ]),
  )('%s with %i bytes is IncorrectKeyMaterialException and changes nothing', async (spec, bytes) => {
    const h = Harness.memory();
    const md = await h.createExternal(spec);
    const material = new Uint8Array(randomBytes(bytes));
    const err = await h.failsUnchanged(md.KeyId, () => h.importMaterial(md.KeyId, material), 'IncorrectKeyMaterialException');
    expect(err.message).not.toContain(Buffer.from(material).toString('hex').slice(0, 16));
    expect(err.message).not.toContain(Buffer.from(material).toString('base64').slice(0, 16));
    // The right length afterwards, with the same kind of token, works.
    await h.importMaterial(md.KeyId, new Uint8Array(randomBytes(HMAC_MATERIAL_BYTES[spec].min)));
  });

  it('ImportType, KeyMaterialId and KeyMaterialDescription are for symmetric keys only', async () => {
    const h = Harness.memory();
    const md = await h.createExternal('HMAC_256');
    const m = secret();
    for (const extra of [
      { importType: 'NEW_KEY_MATERIAL' as const },
      { importType: 'EXISTING_KEY_MATERIAL' as const },
      { description: 'mine' },
      { keyMaterialId: expectedMaterialId(md.KeyId, m) },
    ]) {
      await h.failsUnchanged(md.KeyId, () => h.importMaterial(md.KeyId, m, extra), 'ValidationException');
    }
    await h.importMaterial(md.KeyId, m);
  });
});

describe('asymmetric private-key import', () => {
  type SignCase = { spec: MaterialSpec; algorithm: string; hash: string | null; wrapping: WrappingAlgorithm; wrappingSpec?: WrappingKeySpec; pss?: boolean };
  const signCases: SignCase[] = [
    { spec: 'ECC_NIST_P256', algorithm: 'ECDSA_SHA_256', hash: 'sha256', wrapping: 'RSAES_OAEP_SHA_256' },
    { spec: 'ECC_NIST_P384', algorithm: 'ECDSA_SHA_384', hash: 'sha384', wrapping: 'RSAES_OAEP_SHA_1' },
    { spec: 'ECC_NIST_P521', algorithm: 'ECDSA_SHA_512', hash: 'sha512', wrapping: 'RSAES_OAEP_SHA_256', wrappingSpec: 'RSA_3072' },
    { spec: 'ECC_NIST_P521', algorithm: 'ECDSA_SHA_512', hash: 'sha512', wrapping: 'RSA_AES_KEY_WRAP_SHA_1' },
    { spec: 'ECC_SECG_P256K1', algorithm: 'ECDSA_SHA_256', hash: 'sha256', wrapping: 'RSA_AES_KEY_WRAP_SHA_256' },
    { spec: 'ECC_NIST_EDWARDS25519', algorithm: 'ED25519_SHA_512', hash: null, wrapping: 'RSAES_OAEP_SHA_256' },
    { spec: 'RSA_2048', algorithm: 'RSASSA_PSS_SHA_256', hash: 'sha256', wrapping: 'RSA_AES_KEY_WRAP_SHA_256', pss: true },
    { spec: 'RSA_3072', algorithm: 'RSASSA_PKCS1_V1_5_SHA_384', hash: 'sha384', wrapping: 'RSA_AES_KEY_WRAP_SHA_1' },
    { spec: 'RSA_4096', algorithm: 'RSASSA_PSS_SHA_512', hash: 'sha512', wrapping: 'RSA_AES_KEY_WRAP_SHA_256', wrappingSpec: 'RSA_4096', pss: true },
    { spec: 'RSA_4096', algorithm: 'RSASSA_PKCS1_V1_5_SHA_256', hash: 'sha256', wrapping: 'RSA_AES_KEY_WRAP_SHA_1', wrappingSpec: 'RSA_2048' },
  ];

  it.each(signCases)('$spec through $wrapping: $algorithm signatures verify with the customer public key; GetPublicKey is theirs', async (c) => {
    const h = Harness.memory();
    const md = await h.createExternal(c.spec);
    const km = testMaterial(c.spec);
    const out = await h.importMaterial(md.KeyId, km.material, { algorithm: c.wrapping, wrappingSpec: c.wrappingSpec ?? 'RSA_2048' });
    expect(out.KeyId).toBe(md.Arn);
    expect(out.KeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
    const after = await h.describe(md.KeyId);
    expect(after).toMatchObject({ KeyState: 'Enabled', Enabled: true, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });

    const pub = await h.call<{ PublicKey: Uint8Array; KeySpec: string }>('GetPublicKey', { KeyId: md.KeyId });
    expect(Buffer.from(pub.PublicKey).toString('hex')).toBe(Buffer.from(km.publicKey!).toString('hex'));
    expect(pub.KeySpec).toBe(c.spec);

    const customerKey = createPublicKey({ key: Buffer.from(km.publicKey!), format: 'der', type: 'spki' });
    const message = utf8(`signed by imported ${c.spec}`);
    const { Signature } = await h.call<{ Signature: Uint8Array }>('Sign', {
      KeyId: md.KeyId,
      Message: message,
      MessageType: 'RAW',
      SigningAlgorithm: c.algorithm,
    });
    const key = c.pss ? { key: customerKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(c.hash!.slice(3)) / 8 } : customerKey;
    expect(nodeVerify(c.hash, message, key, Signature)).toBe(true);
    expect(nodeVerify(c.hash, utf8('another message'), key, Signature)).toBe(false);
    // And a signature the customer makes with their private key verifies in the KMS.
    const local = nodeSign(
      c.hash,
      message,
      c.pss ? { key: km.privateKey!, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(c.hash!.slice(3)) / 8 } : km.privateKey!,
    );
    const v = await h.call<{ SignatureValid: boolean }>('Verify', {
      KeyId: md.KeyId,
      Message: message,
      MessageType: 'RAW',
      SigningAlgorithm: c.algorithm,
      Signature: local,
    });
    expect(v.SignatureValid).toBe(true);
  });

  it('RSA ENCRYPT_DECRYPT: the KMS decrypts what the customer public key encrypted, and the other way round', async () => {
    const h = Harness.memory();
    const md = await h.createExternal('RSA_2048', 'ENCRYPT_DECRYPT');
    const km = testMaterial('RSA_2048');
    await h.importMaterial(md.KeyId, km.material, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' });
    const pub = createPublicKey({ key: Buffer.from(km.publicKey!), format: 'der', type: 'spki' });
    const ct = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from('to the kms'));
    const dec = await h.call<{ Plaintext: Uint8Array }>('Decrypt', { KeyId: md.KeyId, CiphertextBlob: ct, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' });
    expect(text(dec.Plaintext)).toBe('to the kms');
    const enc = await h.call<{ CiphertextBlob: Uint8Array }>('Encrypt', {
      KeyId: md.KeyId,
      Plaintext: utf8('from the kms'),
      EncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
    });
    expect(privateDecrypt({ key: km.privateKey!, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, enc.CiphertextBlob).toString()).toBe(
      'from the kms',
    );
  });

  it('ECC KEY_AGREEMENT: DeriveSharedSecret equals node:crypto ECDH with the customer key', async () => {
    const h = Harness.memory();
    const md = await h.createExternal('ECC_NIST_P256', 'KEY_AGREEMENT');
    const km = testMaterial('ECC_NIST_P256');
    await h.importMaterial(md.KeyId, km.material, { algorithm: 'RSAES_OAEP_SHA_256' });
    const peer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const out = await h.call<{ SharedSecret: Uint8Array; KeyOrigin: string }>('DeriveSharedSecret', {
      KeyId: md.KeyId,
      KeyAgreementAlgorithm: 'ECDH',
      PublicKey: peer.publicKey.export({ format: 'der', type: 'spki' }),
    });
    expect(out.KeyOrigin).toBe('EXTERNAL');
    const expected = diffieHellman({
      privateKey: peer.privateKey,
      publicKey: createPublicKey({ key: Buffer.from(km.publicKey!), format: 'der', type: 'spki' }),
    });
    expect(Buffer.from(out.SharedSecret).toString('hex')).toBe(expected.toString('hex'));
  });

  it('an EC private key without its optional public key (PKCS#8 as Java writes it): the public key is derived', async () => {
    const h = Harness.memory();
    const md = await h.createExternal('ECC_NIST_P256');
    const km = testMaterial('ECC_NIST_P256');
    const bare = p256Pkcs8WithoutPublicKey(km.privateKey!);
    // node:crypto reads it as the same key.
    const reread = createPrivateKey({ key: Buffer.from(bare), format: 'der', type: 'pkcs8' });
    expect(createPublicKey(reread).export({ format: 'der', type: 'spki' }).toString('hex')).toBe(Buffer.from(km.publicKey!).toString('hex'));
    await h.importMaterial(md.KeyId, bare, { algorithm: 'RSAES_OAEP_SHA_256' });
    const pub = await h.call<{ PublicKey: Uint8Array }>('GetPublicKey', { KeyId: md.KeyId });
    expect(Buffer.from(pub.PublicKey).toString('hex')).toBe(Buffer.from(km.publicKey!).toString('hex'));
    const message = utf8('java');
    const { Signature } = await h.call<{ Signature: Uint8Array }>('Sign', { KeyId: md.KeyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' });
    expect(nodeVerify('sha256', message, createPublicKey({ key: Buffer.from(km.publicKey!), format: 'der', type: 'spki' }), Signature)).toBe(true);
  });

  it.each([
    ['ECC_NIST_P256', 'prime256v1', 65, 'ECDSA_SHA_256', 'sha256'],
    ['ECC_NIST_P384', 'secp384r1', 97, 'ECDSA_SHA_384', 'sha384'],
    ['ECC_SECG_P256K1', 'secp256k1', 65, 'ECDSA_SHA_256', 'sha256'],
  ] as const)(
    '%s PKCS#8 whose embedded public key is another key: refused, or the true public key derived — never the embedded one',
    async (spec, curve, pointBytes, algorithm, hash) => {
      const h = Harness.memory();
      const md = await h.createExternal(spec);
      const a = generateKeyPairSync('ec', { namedCurve: curve });
      const b = generateKeyPairSync('ec', { namedCurve: curve });
      const pkcs8 = Buffer.from(a.privateKey.export({ format: 'der', type: 'pkcs8' }));
      // node:crypto writes the public point last: put B's there.
      pkcs8.set(Buffer.from(b.publicKey.export({ format: 'der', type: 'spki' })).subarray(-pointBytes), pkcs8.length - pointBytes);
      const spkiA = a.publicKey.export({ format: 'der', type: 'spki' }).toString('hex');
      let refused: KmsFailure | undefined;
      try {
        await h.importMaterial(md.KeyId, new Uint8Array(pkcs8));
      } catch (e) {
        refused = e as KmsFailure;
      }
      if (refused) {
        expect(refused.code).toBe('IncorrectKeyMaterialException');
        expect((await h.describe(md.KeyId)).KeyState).toBe('PendingImport');
        return;
      }
      const pub = await h.call<{ PublicKey: Uint8Array }>('GetPublicKey', { KeyId: md.KeyId });
      expect(Buffer.from(pub.PublicKey).toString('hex')).toBe(spkiA);
      const { Signature } = await h.call<{ Signature: Uint8Array }>('Sign', { KeyId: md.KeyId, Message: utf8('m'), SigningAlgorithm: algorithm });
      expect(nodeVerify(hash, utf8('m'), a.publicKey, Signature)).toBe(true);
    },
  );

  it('material of another kind is IncorrectKeyMaterialException and changes nothing', async () => {
    const h = Harness.memory();
    const cases: [MaterialSpec, Uint8Array, string][] = [
      ['ECC_NIST_P256', testMaterial('ECC_NIST_P384').material, 'a P-384 key into P-256'],
      ['ECC_NIST_P384', testMaterial('ECC_NIST_P256').material, 'a P-256 key into P-384'],
      ['ECC_NIST_P256', testMaterial('ECC_SECG_P256K1').material, 'a secp256k1 key into P-256'],
      ['ECC_SECG_P256K1', testMaterial('ECC_NIST_P256').material, 'a P-256 key into secp256k1'],
      ['ECC_NIST_P256', testMaterial('ECC_NIST_EDWARDS25519').material, 'an Ed25519 key into P-256'],
      ['ECC_NIST_EDWARDS25519', testMaterial('ECC_NIST_P256').material, 'a P-256 key into Ed25519'],
      ['RSA_2048', testMaterial('RSA_3072').material, 'RSA-3072 into RSA_2048'],
      ['RSA_3072', testMaterial('RSA_2048').material, 'RSA-2048 into RSA_3072'],
      ['RSA_2048', testMaterial('ECC_NIST_P256').material, 'an EC key into RSA_2048'],
      ['ECC_NIST_P256', testMaterial('RSA_2048').material, 'an RSA key into P-256'],
      ['ECC_NIST_P256', new Uint8Array(randomBytes(32)), '32 random bytes into P-256'],
      [
        'ECC_NIST_P256',
        new Uint8Array(Buffer.from(createPublicKey(testMaterial('ECC_NIST_P256').privateKey!).export({ format: 'der', type: 'spki' }))),
        'a public key',
      ],
      ['RSA_2048', new Uint8Array(randomBytes(1200)), 'random bytes into RSA_2048'],
    ];
    for (const [spec, material, what] of cases) {
      const md = await h.createExternal(spec);
      const err = await h.failsUnchanged(md.KeyId, () => h.importMaterial(md.KeyId, material), 'IncorrectKeyMaterialException');
      expect(err.message, what).not.toContain(Buffer.from(material).toString('base64').slice(0, 24));
    }
  });

  it('delete and re-import: signing stops and resumes, other material is refused', async () => {
    const h = Harness.memory();
    const md = await h.createExternal('ECC_NIST_P256');
    const km = testMaterial('ECC_NIST_P256');
    const first = await h.importMaterial(md.KeyId, km.material);
    const del = await h.call<{ KeyId: string; KeyMaterialId: string }>('DeleteImportedKeyMaterial', { KeyId: md.KeyId });
    expect(del).toEqual({ KeyId: md.Arn, KeyMaterialId: first.KeyMaterialId });
    expect(await h.describe(md.KeyId)).toMatchObject({ KeyState: 'PendingImport', Enabled: false });
    const err = await h.fail(h.call('Sign', { KeyId: md.KeyId, Message: utf8('x'), SigningAlgorithm: 'ECDSA_SHA_256' }));
    expect(err).toMatchObject({ code: 'KMSInvalidStateException', message: `${md.Arn} is pending import.` });
    // Another key's material is not this key's material.
    await h.failsUnchanged(md.KeyId, () => h.importMaterial(md.KeyId, testMaterial('ECC_NIST_P256').material), 'IncorrectKeyMaterialException');
    const again = await h.importMaterial(md.KeyId, km.material);
    expect(again.KeyMaterialId).toBe(first.KeyMaterialId);
    const { Signature } = await h.call<{ Signature: Uint8Array }>('Sign', { KeyId: md.KeyId, Message: utf8('again'), SigningAlgorithm: 'ECDSA_SHA_256' });
    expect(nodeVerify('sha256', utf8('again'), createPublicKey({ key: Buffer.from(km.publicKey!), format: 'der', type: 'spki' }), Signature)).toBe(true);
  });
});

describe('ImportKeyMaterial errors (each changes nothing)', () => {
  it('the ExpirationModel and ValidTo rules', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    const m = secret();
    const now = h.clock.now();
    const noModel = { raw: { ExpirationModel: undefined, ValidTo: undefined } };
    await h.failsUnchanged(
      md.KeyId,
      () => h.importMaterial(md.KeyId, m, noModel),
      'ValidationException',
      'A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES',
    );
    await h.failsUnchanged(
      md.KeyId,
      () => h.importMaterial(md.KeyId, m, { raw: { ExpirationModel: 'KEY_MATERIAL_EXPIRES' } }),
      'ValidationException',
      'A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES',
    );
    await h.failsUnchanged(
      md.KeyId,
      () => h.importMaterial(md.KeyId, m, { raw: { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', ValidTo: new Date(now + DAY_MS) } }),
      'ValidationException',
    );
    await h.failsUnchanged(md.KeyId, () => h.importMaterial(md.KeyId, m, { validTo: new Date(now - 1000) }), 'ValidationException');
    await h.failsUnchanged(md.KeyId, () => h.importMaterial(md.KeyId, m, { validTo: new Date(now) }), 'ValidationException');
    await h.failsUnchanged(md.KeyId, () => h.importMaterial(md.KeyId, m, { validTo: new Date(now + 365 * DAY_MS + 1000) }), 'ValidationException');
    await h.failsUnchanged(md.KeyId, () => h.importMaterial(md.KeyId, m, { raw: { ExpirationModel: 'KEY_MATERIAL_NEVER' } }), 'ValidationException');
    // ValidTo alone (the default model is KEY_MATERIAL_EXPIRES) is enough.
    await h.importMaterial(md.KeyId, m, { raw: { ExpirationModel: undefined, ValidTo: new Date(now + DAY_MS) } });
    expect(await h.describe(md.KeyId)).toMatchObject({ ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: new Date(now + DAY_MS), KeyState: 'Enabled' });
  });

  it('missing and malformed members', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    const p = await h.params(md.KeyId);
    const wrapped = wrapKeyMaterial(p.PublicKey, 'RSA_AES_KEY_WRAP_SHA_256', secret());
    const base = { KeyId: md.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrapped, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' };
    for (const drop of ['KeyId', 'ImportToken', 'EncryptedKeyMaterial'] as const) {
      const input: Record<string, unknown> = { ...base };
      delete input[drop];
      await h.failsUnchanged(md.KeyId, () => h.call('ImportKeyMaterial', input), 'ValidationException');
    }
    await h.failsUnchanged(md.KeyId, () => h.call('ImportKeyMaterial', { ...base, KeyMaterialId: 'ABC' }), 'ValidationException');
    await h.failsUnchanged(md.KeyId, () => h.call('ImportKeyMaterial', { ...base, KeyMaterialId: 'G'.repeat(64) }), 'ValidationException');
    await h.failsUnchanged(md.KeyId, () => h.call('ImportKeyMaterial', { ...base, KeyMaterialDescription: 'no <html> here' }), 'ValidationException');
    await h.failsUnchanged(md.KeyId, () => h.call('ImportKeyMaterial', { ...base, KeyMaterialDescription: 'x'.repeat(257) }), 'ValidationException');
    await h.failsUnchanged(md.KeyId, () => h.call('ImportKeyMaterial', { ...base, ImportType: 'OTHER_KEY_MATERIAL' }), 'ValidationException');
    // Still importable with the same token.
    await h.call('ImportKeyMaterial', { ...base, KeyMaterialDescription: 'ok: a-z 0-9 /_.-' });
  });

  it('tokens: garbage, another key, 24 hours on the clock', async () => {
    const h = Harness.memory();
    const a = await h.createExternal();
    const b = await h.createExternal();
    const m = secret();
    const pa = await h.params(a.KeyId);
    const tokenMessage = /import token/i;
    // Garbage tokens.
    for (const token of [
      new Uint8Array([1, 2, 3]),
      new Uint8Array(randomBytes(41)),
      new Uint8Array(randomBytes(2048)),
      new Uint8Array(pa.ImportToken.length),
    ]) {
      await h.failsUnchanged(
        a.KeyId,
        () => h.importMaterial(a.KeyId, m, { params: { ...pa, ImportToken: token } }),
        'InvalidImportTokenException',
        tokenMessage,
      );
    }
    // One bit of the token flipped.
    const flipped = new Uint8Array(pa.ImportToken);
    flipped[flipped.length - 1]! ^= 1;
    await h.failsUnchanged(a.KeyId, () => h.importMaterial(a.KeyId, m, { params: { ...pa, ImportToken: flipped } }), 'InvalidImportTokenException');
    // Key A's token (and wrapping key) for key B.
    await h.failsUnchanged(b.KeyId, () => h.importMaterial(b.KeyId, m, { params: pa }), 'InvalidImportTokenException');
    // Key B's token for key A, material wrapped under B's wrapping key.
    const pb = await h.params(b.KeyId);
    await h.failsUnchanged(a.KeyId, () => h.importMaterial(a.KeyId, m, { params: pb }), 'InvalidImportTokenException');

    // 24 hours: valid one millisecond before, expired at ParametersValidTo.
    h.clock.set(pa.ParametersValidTo.getTime() - 1);
    const early = await h.params(a.KeyId);
    h.clock.set(pa.ParametersValidTo.getTime());
    const err = await h.failsUnchanged(a.KeyId, () => h.importMaterial(a.KeyId, m, { params: pa }), 'ExpiredImportTokenException');
    expect(err.message).not.toMatch(/[0-9a-f]{64}/);
    // runMaintenance forgets it; still ExpiredImportTokenException (the expiry is in the token).
    await h.kms.runMaintenance();
    await h.failsUnchanged(a.KeyId, () => h.importMaterial(a.KeyId, m, { params: pa }), 'ExpiredImportTokenException');
    // A token for B expired too; the fresher token of A works.
    await h.failsUnchanged(b.KeyId, () => h.importMaterial(b.KeyId, m, { params: pb }), 'ExpiredImportTokenException');
    await h.importMaterial(a.KeyId, m, { params: early });
    expect((await h.describe(a.KeyId)).KeyState).toBe('Enabled');
  });

  it('bad wrapping is InvalidCiphertextException', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    const m = secret();
    const oaep = await h.params(md.KeyId, 'RSAES_OAEP_SHA_256');
    const kwp = await h.params(md.KeyId, 'RSA_AES_KEY_WRAP_SHA_256');
    const foreign = generateWrappingKeyPair('RSA_2048');
    const cases: [Params, Uint8Array, string][] = [
      [oaep, wrapKeyMaterial(foreign.publicKey, 'RSAES_OAEP_SHA_256', m), 'another wrapping key'],
      [oaep, wrapKeyMaterial(oaep.PublicKey, 'RSAES_OAEP_SHA_1', m), 'SHA-1 for a SHA-256 token'],
      [oaep, wrapKeyMaterial(oaep.PublicKey, 'RSA_AES_KEY_WRAP_SHA_256', m), 'key wrap for an OAEP token'],
      [oaep, wrapKeyMaterial(oaep.PublicKey, 'RSAES_OAEP_SHA_256', m).subarray(1), 'one byte short'],
      [oaep, new Uint8Array(randomBytes(256)), 'random bytes'],
      [kwp, wrapKeyMaterial(kwp.PublicKey, 'RSAES_OAEP_SHA_256', m), 'OAEP for a key wrap token'],
      [kwp, wrapKeyMaterial(kwp.PublicKey, 'RSA_AES_KEY_WRAP_SHA_1', m), 'SHA-1 for a SHA-256 key wrap token'],
      [kwp, wrapKeyMaterial(foreign.publicKey, 'RSA_AES_KEY_WRAP_SHA_256', m), 'another wrapping key, key wrap'],
      [kwp, wrapKeyMaterial(kwp.PublicKey, 'RSA_AES_KEY_WRAP_SHA_256', m).subarray(0, 256), 'the RSA block only'],
      [kwp, new Uint8Array(randomBytes(300)), 'random bytes, key wrap'],
    ];
    // The key wrap part tampered, and the AES key of the wrong length.
    const good = wrapKeyMaterial(kwp.PublicKey, 'RSA_AES_KEY_WRAP_SHA_256', m);
    const tampered = new Uint8Array(good);
    tampered[tampered.length - 1]! ^= 0x80;
    cases.push([kwp, tampered, 'tampered key wrap']);
    const aes16 = new Uint8Array(randomBytes(16));
    const pubKey = createPublicKey({ key: Buffer.from(kwp.PublicKey), format: 'der', type: 'spki' });
    const short = Buffer.concat([publicEncrypt({ key: pubKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, aes16), kwpWrap(aes16, m)]);
    cases.push([kwp, new Uint8Array(short), 'a 16-byte AES key']);
    for (const [params, encrypted, what] of cases) {
      const err = await h.failsUnchanged(md.KeyId, () => h.importMaterial(md.KeyId, m, { params, encrypted }), 'InvalidCiphertextException');
      expect(err.message, what).not.toContain(Buffer.from(m).toString('hex').slice(0, 16));
    }
    // The tokens still work after those failures.
    await h.importMaterial(md.KeyId, m, { params: kwp, algorithm: 'RSA_AES_KEY_WRAP_SHA_256' });
  });

  it('symmetric material of the wrong length is IncorrectKeyMaterialException', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    for (const n of [1, 16, 31, 33, 64]) {
      await h.failsUnchanged(md.KeyId, () => h.importMaterial(md.KeyId, new Uint8Array(randomBytes(n))), 'IncorrectKeyMaterialException');
    }
    await h.importMaterial(md.KeyId, secret());
  });

  it('keys whose origin is not EXTERNAL, and keys pending deletion', async () => {
    const h = Harness.memory();
    const ext = await h.createExternal();
    const p = await h.params(ext.KeyId);
    const { KeyMetadata: aws } = await h.call<{ KeyMetadata: KeyMetadata }>('CreateKey', {});
    const err = await h.failsUnchanged(aws.KeyId, () => h.importMaterial(aws.KeyId, secret(), { params: p }), 'UnsupportedOperationException');
    expect(err.message).toBe(`${aws.Arn} origin is AWS_KMS which is not valid for this operation.`);
    const del = await h.fail(h.call('DeleteImportedKeyMaterial', { KeyId: aws.KeyId }));
    expect(del).toMatchObject({ code: 'UnsupportedOperationException', message: `${aws.Arn} origin is AWS_KMS which is not valid for this operation.` });

    await h.call('ScheduleKeyDeletion', { KeyId: ext.KeyId, PendingWindowInDays: 7 });
    const pending = await h.failsUnchanged(ext.KeyId, () => h.importMaterial(ext.KeyId, secret(), { params: p }), 'KMSInvalidStateException');
    expect(pending.message).toBe(`${ext.Arn} is pending deletion.`);
  });

  it('the rules of ImportType and KeyMaterialId', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    const m1 = secret();
    const id1 = expectedMaterialId(md.KeyId, m1);
    // The first import: NEW (the default) — EXISTING has nothing to match, a KeyMaterialId neither.
    await h.failsUnchanged(md.KeyId, () => h.importMaterial(md.KeyId, m1, { importType: 'EXISTING_KEY_MATERIAL' }), 'IncorrectKeyMaterialException');
    await h.failsUnchanged(md.KeyId, () => h.importMaterial(md.KeyId, m1, { importType: 'NEW_KEY_MATERIAL', keyMaterialId: id1 }), 'ValidationException');
    await h.importMaterial(md.KeyId, m1);
    // After it the default is EXISTING: other material is refused. (Re-importing the material that is
    // imported now is left untested: edge-kms refuses it, AWS's current API reference says it updates
    // the expiration.)
    await h.failsUnchanged(md.KeyId, () => h.importMaterial(md.KeyId, secret()), 'IncorrectKeyMaterialException');
    // NEW with the material the key already has.
    await h.failsUnchanged(md.KeyId, () => h.importMaterial(md.KeyId, m1, { importType: 'NEW_KEY_MATERIAL' }), 'IncorrectKeyMaterialException');
    // A KeyMaterialId that is not this material's.
    await h.call('DeleteImportedKeyMaterial', { KeyId: md.KeyId });
    await h.failsUnchanged(md.KeyId, () => h.importMaterial(md.KeyId, m1, { keyMaterialId: 'ab'.repeat(32) }), 'IncorrectKeyMaterialException');
    await h.failsUnchanged(
      md.KeyId,
      () => h.importMaterial(md.KeyId, m1, { importType: 'EXISTING_KEY_MATERIAL', keyMaterialId: expectedMaterialId(md.KeyId, secret()) }),
      'IncorrectKeyMaterialException',
    );
    await h.failsUnchanged(
      md.KeyId,
      () => h.importMaterial(md.KeyId, secret(), { importType: 'EXISTING_KEY_MATERIAL', keyMaterialId: id1 }),
      'IncorrectKeyMaterialException',
    );
    const back = await h.importMaterial(md.KeyId, m1, { importType: 'EXISTING_KEY_MATERIAL', keyMaterialId: id1 });
    expect(back.KeyMaterialId).toBe(id1);
    expect((await h.describe(md.KeyId)).KeyState).toBe('Enabled');
  });
});

describe('expiry on the engine clock', () => {
  it('usable until ValidTo, then PendingImport on first use; re-import restores every ciphertext', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    const m = secret();
    const validTo = h.clock.now() + 2 * DAY_MS;
    const { KeyMaterialId } = await h.importMaterial(md.KeyId, m, { validTo: new Date(validTo) });
    const before = await h.encrypt(md.KeyId, 'made before expiry');
    h.clock.set(validTo - 1);
    expect(text((await h.decrypt(before.CiphertextBlob)).Plaintext)).toBe('made before expiry');
    h.clock.set(validTo);
    // The first use after ValidTo deletes the material.
    const err = await h.fail(h.encrypt(md.KeyId, 'too late'));
    expect(err).toMatchObject({ code: 'KMSInvalidStateException', message: `${md.Arn} is pending import.` });
    expect(await h.fail(h.decrypt(before.CiphertextBlob))).toMatchObject({ code: 'KMSInvalidStateException', message: `${md.Arn} is pending import.` });
    const after = await h.describe(md.KeyId);
    expect(after).toMatchObject({ KeyState: 'PendingImport', Enabled: false });
    expect(after.ValidTo).toBeUndefined();
    expect(await h.rotations(md.KeyId)).toEqual([{ KeyId: md.KeyId, KeyMaterialId, KeyMaterialState: 'CURRENT', ImportState: 'PENDING_IMPORT' }]);
    // Nothing left to expire in maintenance.
    expect((await h.kms.runMaintenance()).expired).toEqual([]);

    // The same material again (EXISTING is the default now), this time without expiry.
    const again = await h.importMaterial(md.KeyId, m);
    expect(again.KeyMaterialId).toBe(KeyMaterialId);
    expect(text((await h.decrypt(before.CiphertextBlob)).Plaintext)).toBe('made before expiry');
    expect(await h.describe(md.KeyId)).toMatchObject({ KeyState: 'Enabled', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    h.clock.advanceDays(400);
    expect(text((await h.decrypt(before.CiphertextBlob)).Plaintext)).toBe('made before expiry');
  });

  it('runMaintenance expires untouched keys and reports them', async () => {
    const h = Harness.memory();
    const soon = await h.createExternal();
    const later = await h.createExternal();
    const never = await h.createExternal('HMAC_256');
    const asym = await h.createExternal('ECC_NIST_P256');
    const now = h.clock.now();
    await h.importMaterial(soon.KeyId, secret(), { validTo: new Date(now + HOUR_MS) });
    await h.importMaterial(later.KeyId, secret(), { validTo: new Date(now + 10 * DAY_MS) });
    await h.importMaterial(never.KeyId, secret());
    await h.importMaterial(asym.KeyId, testMaterial('ECC_NIST_P256').material, { validTo: new Date(now + HOUR_MS) });
    expect((await h.kms.runMaintenance()).expired).toEqual([]);
    h.clock.advance(HOUR_MS);
    const report = await h.kms.runMaintenance();
    expect([...report.expired].sort()).toEqual([soon.KeyId, asym.KeyId].sort());
    expect((await h.describe(soon.KeyId)).KeyState).toBe('PendingImport');
    expect((await h.describe(asym.KeyId)).KeyState).toBe('PendingImport');
    expect((await h.describe(later.KeyId)).KeyState).toBe('Enabled');
    expect((await h.kms.runMaintenance()).expired).toEqual([]);
    h.clock.advanceDays(10);
    expect((await h.kms.runMaintenance()).expired).toEqual([later.KeyId]);
    expect((await h.describe(never.KeyId)).KeyState).toBe('Enabled');
  });

  it('a disabled key whose material expires is PendingImport, and comes back after re-import', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    const m = secret();
    await h.importMaterial(md.KeyId, m, { validTo: new Date(h.clock.now() + HOUR_MS) });
    await h.call('DisableKey', { KeyId: md.KeyId });
    h.clock.advance(HOUR_MS);
    expect((await h.kms.runMaintenance()).expired).toEqual([md.KeyId]);
    expect((await h.describe(md.KeyId)).KeyState).toBe('PendingImport');
    await h.importMaterial(md.KeyId, m);
    expect((await h.describe(md.KeyId)).KeyState).not.toBe('PendingImport');
  });
});

describe('DeleteImportedKeyMaterial and re-import', () => {
  it('the key is PendingImport until the same material comes back; ciphertexts made before the delete decrypt again', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    const m = secret();
    const { KeyMaterialId } = await h.importMaterial(md.KeyId, m, { description: 'kept' });
    const blobs = await Promise.all(['one', 'two', 'three'].map((s) => h.encrypt(md.KeyId, s, { n: s })));
    const del = await h.call<{ KeyId: string; KeyMaterialId: string }>('DeleteImportedKeyMaterial', { KeyId: md.KeyId });
    expect(del).toEqual({ KeyId: md.Arn, KeyMaterialId });
    const after = await h.describe(md.KeyId);
    expect(after).toMatchObject({ KeyState: 'PendingImport', Enabled: false });
    expect(after.ExpirationModel).toBeUndefined();
    expect(await h.rotations(md.KeyId)).toEqual([
      { KeyId: md.KeyId, KeyMaterialId, KeyMaterialState: 'CURRENT', ImportState: 'PENDING_IMPORT', KeyMaterialDescription: 'kept' },
    ]);
    for (const b of blobs) expect((await h.fail(h.decrypt(b.CiphertextBlob, { n: 'one' }))).code).toBe('KMSInvalidStateException');
    // Deleting again: nothing imported, nothing changes.
    await h.call('DeleteImportedKeyMaterial', { KeyId: md.KeyId });
    expect((await h.describe(md.KeyId)).KeyState).toBe('PendingImport');

    // Different material is refused; the same bytes, with a new token and another algorithm, restore everything.
    await h.failsUnchanged(md.KeyId, () => h.importMaterial(md.KeyId, secret(), { algorithm: 'RSAES_OAEP_SHA_1' }), 'IncorrectKeyMaterialException');
    const back = await h.importMaterial(md.KeyId, m, { algorithm: 'RSAES_OAEP_SHA_1', wrappingSpec: 'RSA_3072' });
    expect(back.KeyMaterialId).toBe(KeyMaterialId);
    for (const [i, s] of ['one', 'two', 'three'].entries()) {
      const dec = await h.decrypt(blobs[i]!.CiphertextBlob, { n: s });
      expect(text(dec.Plaintext)).toBe(s);
      expect(dec.KeyMaterialId).toBe(KeyMaterialId);
    }
    // The description was kept across the delete.
    expect((await h.rotations(md.KeyId))[0]).toMatchObject({ ImportState: 'IMPORTED', KeyMaterialDescription: 'kept', KeyMaterialState: 'CURRENT' });
    expect(await h.describe(md.KeyId)).toMatchObject({ KeyState: 'Enabled', CurrentKeyMaterialId: KeyMaterialId });
  });

  it('a disabled key stays deletable; errors for unknown material and keys without any', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    await h.failsUnchanged(md.KeyId, () => h.call('DeleteImportedKeyMaterial', { KeyId: md.KeyId }), 'NotFoundException');
    const m = secret();
    const { KeyMaterialId } = await h.importMaterial(md.KeyId, m);
    await h.failsUnchanged(md.KeyId, () => h.call('DeleteImportedKeyMaterial', { KeyId: md.KeyId, KeyMaterialId: 'cd'.repeat(32) }), 'NotFoundException');
    await h.failsUnchanged(md.KeyId, () => h.call('DeleteImportedKeyMaterial', { KeyId: md.KeyId, KeyMaterialId: 'xyz' }), 'ValidationException');
    await h.call('DisableKey', { KeyId: md.KeyId });
    expect(await h.call('DeleteImportedKeyMaterial', { KeyId: md.KeyId, KeyMaterialId })).toEqual({ KeyId: md.Arn, KeyMaterialId });
    expect((await h.describe(md.KeyId)).KeyState).toBe('PendingImport');
  });
});

describe('several materials and RotateKeyOnDemand (symmetric keys)', () => {
  it('NEW material waits PENDING_ROTATION; RotateKeyOnDemand makes it current; every old ciphertext still decrypts', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    const materials = [secret(), secret(), secret()];
    const ids = materials.map((m) => expectedMaterialId(md.KeyId, m));
    const arn = md.Arn;

    expect((await h.importMaterial(md.KeyId, materials[0]!, { description: 'm1' })).KeyMaterialId).toBe(ids[0]);
    const c1 = await h.encrypt(md.KeyId, 'under m1');
    expect(await h.materialOf(c1.CiphertextBlob)).toBe(ids[0]);

    // Nothing pending yet.
    const nothing = await h.failsUnchanged(md.KeyId, () => h.call('RotateKeyOnDemand', { KeyId: md.KeyId }), 'KMSInvalidStateException');
    expect(nothing.message).toBe(`No available key material pending rotation for the key: ${arn}.`);

    const validTo = new Date(h.clock.now() + 30 * DAY_MS);
    const second = await h.importMaterial(md.KeyId, materials[1]!, { importType: 'NEW_KEY_MATERIAL', description: 'm2', validTo });
    expect(second).toEqual({ KeyId: arn, KeyMaterialId: ids[1] });
    // Pending: the key still encrypts with m1, DescribeKey still shows m1.
    const stillM1 = await h.encrypt(md.KeyId, 'still m1');
    expect(await h.materialOf(stillM1.CiphertextBlob)).toBe(ids[0]);
    expect(versionOf(stillM1.CiphertextBlob)).toBe(1);
    expect(await h.describe(md.KeyId)).toMatchObject({ KeyState: 'Enabled', CurrentKeyMaterialId: ids[0], ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });
    expect(await h.rotations(md.KeyId)).toEqual([
      {
        KeyId: md.KeyId,
        KeyMaterialId: ids[0],
        KeyMaterialState: 'CURRENT',
        ImportState: 'IMPORTED',
        ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
        KeyMaterialDescription: 'm1',
      },
      {
        KeyId: md.KeyId,
        KeyMaterialId: ids[1],
        KeyMaterialState: 'PENDING_ROTATION',
        ImportState: 'IMPORTED',
        ExpirationModel: 'KEY_MATERIAL_EXPIRES',
        ValidTo: validTo,
        KeyMaterialDescription: 'm2',
      },
    ]);
    expect(await h.rotations(md.KeyId, false)).toEqual([]);
    // A ciphertext naming version 2 does not decrypt while it is pending.
    expect((await h.fail(h.decrypt(localEncrypt(materials[1]!, md.KeyId, 2, 'early')))).code).toBe('InvalidCiphertextException');

    // One pending at a time.
    const busy = await h.failsUnchanged(
      md.KeyId,
      () => h.importMaterial(md.KeyId, materials[2]!, { importType: 'NEW_KEY_MATERIAL' }),
      'KMSInvalidStateException',
    );
    expect(busy.message).toBe(
      `New key material (id: ${ids[2]}) cannot be imported into KMS key ${md.KeyId}, because another key material (id: ${ids[1]}) is pending rotation.`,
    );

    // Rotate: m2 current, m1 non-current.
    const rotatedAt = h.clock.now();
    await h.call('RotateKeyOnDemand', { KeyId: md.KeyId });
    const c2 = await h.encrypt(md.KeyId, 'under m2');
    expect(await h.materialOf(c2.CiphertextBlob)).toBe(ids[1]);
    expect(versionOf(c2.CiphertextBlob)).toBe(2);
    expect(localDecrypt(materials[1]!, c2.CiphertextBlob)).toBe('under m2');
    expect(await h.describe(md.KeyId)).toMatchObject({ CurrentKeyMaterialId: ids[1], ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: validTo });
    const rot = await h.rotations(md.KeyId);
    expect(rot.map((r) => [r.KeyMaterialId, r.KeyMaterialState, r.ImportState])).toEqual([
      [ids[0], 'NON_CURRENT', 'IMPORTED'],
      [ids[1], 'CURRENT', 'IMPORTED'],
    ]);
    expect(await h.rotations(md.KeyId, false)).toEqual([
      {
        KeyId: md.KeyId,
        KeyMaterialId: ids[1],
        KeyMaterialState: 'CURRENT',
        ImportState: 'IMPORTED',
        ExpirationModel: 'KEY_MATERIAL_EXPIRES',
        ValidTo: validTo,
        KeyMaterialDescription: 'm2',
        RotationType: 'ON_DEMAND',
        RotationDate: new Date(rotatedAt),
      },
    ]);
    expect(rot[1]!.RotationDate!.getTime()).toBe(rotatedAt);
    for (const [c, s, id] of [
      [c1, 'under m1', ids[0]],
      [stillM1, 'still m1', ids[0]],
      [c2, 'under m2', ids[1]],
    ] as const) {
      const dec = await h.decrypt(c.CiphertextBlob);
      expect(text(dec.Plaintext)).toBe(s);
      expect(dec.KeyMaterialId).toBe(id);
    }
    // ReEncrypt moves an m1 ciphertext onto m2.
    const moved = await h.call<{ CiphertextBlob: Uint8Array; SourceKeyMaterialId: string; DestinationKeyMaterialId: string }>('ReEncrypt', {
      CiphertextBlob: c1.CiphertextBlob,
      DestinationKeyId: md.KeyId,
    });
    expect([moved.SourceKeyMaterialId, moved.DestinationKeyMaterialId]).toEqual([ids[0], ids[1]]);
    expect(localDecrypt(materials[1]!, moved.CiphertextBlob)).toBe('under m1');

    // Nothing pending again.
    expect((await h.fail(h.call('RotateKeyOnDemand', { KeyId: md.KeyId }))).message).toBe(`No available key material pending rotation for the key: ${arn}.`);

    // A third material, rotated in too.
    await h.importMaterial(md.KeyId, materials[2]!, { importType: 'NEW_KEY_MATERIAL' });
    await h.call('RotateKeyOnDemand', { KeyId: md.KeyId });
    const c3 = await h.encrypt(md.KeyId, 'under m3');
    expect(await h.materialOf(c3.CiphertextBlob)).toBe(ids[2]);
    expect((await h.rotations(md.KeyId)).map((r) => r.KeyMaterialState)).toEqual(['NON_CURRENT', 'NON_CURRENT', 'CURRENT']);
    for (const [c, s] of [
      [c1, 'under m1'],
      [c2, 'under m2'],
      [c3, 'under m3'],
    ] as const)
      expect(text((await h.decrypt(c.CiphertextBlob)).Plaintext)).toBe(s);

    // Deleting an old (NON_CURRENT) material makes the key PendingImport: it decrypts with all of them.
    await h.call('DeleteImportedKeyMaterial', { KeyId: md.KeyId, KeyMaterialId: ids[0] });
    expect(await h.describe(md.KeyId)).toMatchObject({ KeyState: 'PendingImport', Enabled: false, CurrentKeyMaterialId: ids[2] });
    expect((await h.fail(h.decrypt(c3.CiphertextBlob))).code).toBe('KMSInvalidStateException');
    expect((await h.rotations(md.KeyId)).map((r) => r.ImportState)).toEqual(['PENDING_IMPORT', 'IMPORTED', 'IMPORTED']);
    // EXISTING with its id brings it back.
    await h.importMaterial(md.KeyId, materials[0]!, { importType: 'EXISTING_KEY_MATERIAL', keyMaterialId: ids[0] });
    expect((await h.describe(md.KeyId)).KeyState).toBe('Enabled');
    for (const [c, s] of [
      [c1, 'under m1'],
      [c2, 'under m2'],
      [c3, 'under m3'],
    ] as const)
      expect(text((await h.decrypt(c.CiphertextBlob)).Plaintext)).toBe(s);
    // Automatic rotation stays refused.
    const auto = await h.failsUnchanged(md.KeyId, () => h.call('EnableKeyRotation', { KeyId: md.KeyId }), 'UnsupportedOperationException');
    expect(auto.message).toContain(arn);
    expect((await h.call<{ KeyRotationEnabled: boolean }>('GetKeyRotationStatus', { KeyId: md.KeyId })).KeyRotationEnabled).toBe(false);
  });

  it('deleting or expiring the material pending rotation leaves the key usable; RotateKeyOnDemand then has nothing', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    const m1 = secret();
    const m2 = secret();
    await h.importMaterial(md.KeyId, m1);
    const { KeyMaterialId: id2 } = await h.importMaterial(md.KeyId, m2, { importType: 'NEW_KEY_MATERIAL', validTo: new Date(h.clock.now() + HOUR_MS) });
    h.clock.advance(HOUR_MS);
    expect((await h.kms.runMaintenance()).expired).toEqual([md.KeyId]);
    // AWS: deleting or expiring PENDING_ROTATION material does not change the key state.
    expect((await h.describe(md.KeyId)).KeyState).toBe('Enabled');
    expect((await h.rotations(md.KeyId)).map((r) => [r.KeyMaterialState, r.ImportState])).toEqual([
      ['CURRENT', 'IMPORTED'],
      ['PENDING_ROTATION', 'PENDING_IMPORT'],
    ]);
    const err = await h.failsUnchanged(md.KeyId, () => h.call('RotateKeyOnDemand', { KeyId: md.KeyId }), 'KMSInvalidStateException');
    expect(err.message).toBe(`No available key material pending rotation for the key: ${md.Arn}.`);
    // It is still the one pending: other NEW material waits for it.
    await h.failsUnchanged(md.KeyId, () => h.importMaterial(md.KeyId, secret(), { importType: 'NEW_KEY_MATERIAL' }), 'KMSInvalidStateException');
    // Re-imported, it rotates in.
    await h.importMaterial(md.KeyId, m2, { importType: 'EXISTING_KEY_MATERIAL', keyMaterialId: id2 });
    await h.call('RotateKeyOnDemand', { KeyId: md.KeyId });
    expect(await h.materialOf((await h.encrypt(md.KeyId, 'm2')).CiphertextBlob)).toBe(id2);

    // Delete by id of the pending one: the key stays Enabled.
    const m3 = secret();
    const { KeyMaterialId: id3 } = await h.importMaterial(md.KeyId, m3, { importType: 'NEW_KEY_MATERIAL' });
    await h.call('DeleteImportedKeyMaterial', { KeyId: md.KeyId, KeyMaterialId: id3 });
    expect((await h.describe(md.KeyId)).KeyState).toBe('Enabled');
    expect(await h.materialOf((await h.encrypt(md.KeyId, 'still m2')).CiphertextBlob)).toBe(id2);
  });

  it('HMAC and asymmetric EXTERNAL keys have no on-demand rotation', async () => {
    const h = Harness.memory();
    for (const spec of ['HMAC_256', 'ECC_NIST_P256'] as const) {
      const md = await h.createExternal(spec);
      await h.importMaterial(md.KeyId, testMaterial(spec).material);
      await h.failsUnchanged(md.KeyId, () => h.call('RotateKeyOnDemand', { KeyId: md.KeyId }), 'UnsupportedOperationException');
      await h.failsUnchanged(md.KeyId, () => h.call('EnableKeyRotation', { KeyId: md.KeyId }), 'UnsupportedOperationException');
    }
  });
});

describe('import tokens', () => {
  it('a token is reusable within its 24 hours: re-import after delete, and new material', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    const p = await h.params(md.KeyId, 'RSAES_OAEP_SHA_256', 'RSA_2048');
    const m1 = secret();
    const m2 = secret();
    await h.importMaterial(md.KeyId, m1, { params: p, algorithm: 'RSAES_OAEP_SHA_256' });
    const c = await h.encrypt(md.KeyId, 'x');
    h.clock.advance(12 * HOUR_MS);
    await h.call('DeleteImportedKeyMaterial', { KeyId: md.KeyId });
    h.clock.advance(12 * HOUR_MS - 1);
    await h.importMaterial(md.KeyId, m1, { params: p, algorithm: 'RSAES_OAEP_SHA_256' });
    expect(text((await h.decrypt(c.CiphertextBlob)).Plaintext)).toBe('x');
    await h.importMaterial(md.KeyId, m2, { params: p, algorithm: 'RSAES_OAEP_SHA_256', importType: 'NEW_KEY_MATERIAL' });
    h.clock.advance(1);
    await h.call('RotateKeyOnDemand', { KeyId: md.KeyId });
    await h.call('DeleteImportedKeyMaterial', { KeyId: md.KeyId });
    await h.failsUnchanged(md.KeyId, () => h.importMaterial(md.KeyId, m2, { params: p, algorithm: 'RSAES_OAEP_SHA_256' }), 'ExpiredImportTokenException');
    // A new token after the old one expired.
    await h.importMaterial(md.KeyId, m2);
    expect(text((await h.decrypt(c.CiphertextBlob)).Plaintext)).toBe('x');
  });

  it('a token of key A used for key B is InvalidImportTokenException, even after A is deleted', async () => {
    const h = Harness.memory();
    const a = await h.createExternal();
    const b = await h.createExternal();
    const pa = await h.params(a.KeyId);
    await h.failsUnchanged(b.KeyId, () => h.importMaterial(b.KeyId, secret(), { params: pa }), 'InvalidImportTokenException');
    await h.call('ScheduleKeyDeletion', { KeyId: a.KeyId, PendingWindowInDays: 7 });
    h.clock.advanceDays(7);
    await h.kms.runMaintenance();
    await h.failsUnchanged(b.KeyId, () => h.importMaterial(b.KeyId, secret(), { params: pa }), 'ExpiredImportTokenException');
  });

  it('the token is bound to the key, not to the name used for it (key id, ARN); aliases are not accepted, as in AWS', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    await h.call('CreateAlias', { AliasName: 'alias/byok', TargetKeyId: md.KeyId });
    expect(
      (await h.fail(h.call('GetParametersForImport', { KeyId: 'alias/byok', WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }))).code,
    ).toBe('NotFoundException');
    const p = await h.params(md.KeyId);
    expect(p.KeyId).toBe(md.Arn);
    const m = secret();
    await h.failsUnchanged(md.KeyId, () => h.importMaterial('alias/byok', m, { params: p }), 'NotFoundException');
    await h.importMaterial(md.Arn, m, { params: p });
    expect((await h.describe('alias/byok')).KeyState).toBe('Enabled');
    await h.failsUnchanged(md.KeyId, () => h.call('DeleteImportedKeyMaterial', { KeyId: 'alias/byok' }), 'NotFoundException');
    await h.call('DeleteImportedKeyMaterial', { KeyId: md.Arn });
    await h.importMaterial(md.KeyId, m, { params: p });
  });
});

// --- failures leave no trace: concurrent imports ------------------------------------------------

describe('concurrency', () => {
  it('concurrent NEW imports of different materials: one pending, the others refused, state consistent', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    await h.importMaterial(md.KeyId, secret());
    const p = await h.params(md.KeyId);
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => h.importMaterial(md.KeyId, secret(), { params: p, importType: 'NEW_KEY_MATERIAL' })),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    expect(ok).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as KmsFailure).code).toBe('KMSInvalidStateException');
    const rot = await h.rotations(md.KeyId);
    expect(rot.map((r) => r.KeyMaterialState)).toEqual(['CURRENT', 'PENDING_ROTATION']);
    expect(rot[1]!.KeyMaterialId).toBe((ok[0] as PromiseFulfilledResult<{ KeyMaterialId: string }>).value.KeyMaterialId);
  });

  it('concurrent first imports of the same material: one wins, the key is consistent', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    const m = secret();
    const p = await h.params(md.KeyId);
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => h.importMaterial(md.KeyId, m, { params: p })));
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(1);
    expect(await h.rotations(md.KeyId)).toHaveLength(1);
    const c = await h.encrypt(md.KeyId, 'one');
    expect(localDecrypt(m, c.CiphertextBlob)).toBe('one');
  });
});

// --- found in review, fixed --------------------------------------------------------------------

describe('after review', () => {
  it('CancelKeyDeletion of an EXTERNAL key without material leaves it PendingImport (it was Disabled, and EnableKey then enabled a key with no material)', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId, PendingWindowInDays: 7 });
    await h.call('CancelKeyDeletion', { KeyId: md.KeyId });
    expect((await h.describe(md.KeyId)).KeyState).toBe('PendingImport');
    const enable = await h.fail(h.call('EnableKey', { KeyId: md.KeyId }));
    expect(enable.code).toBe('KMSInvalidStateException');
    // (edge-kms today: EnableKey succeeds, and Encrypt answers KMSInternalException "current version 0 … is missing".)
  });

  it('CancelKeyDeletion after the material expired during the waiting period: PendingImport', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    await h.importMaterial(md.KeyId, secret(), { validTo: new Date(h.clock.now() + HOUR_MS) });
    await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId, PendingWindowInDays: 7 });
    h.clock.advance(HOUR_MS);
    await h.kms.runMaintenance();
    expect((await h.describe(md.KeyId)).KeyState).toBe('PendingDeletion');
    await h.call('CancelKeyDeletion', { KeyId: md.KeyId });
    expect((await h.describe(md.KeyId)).KeyState).toBe('PendingImport');
  });

  it('DeleteImportedKeyMaterial on a key pending deletion succeeds and leaves it PendingDeletion (AWS API reference)', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    const { KeyMaterialId } = await h.importMaterial(md.KeyId, secret());
    await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId, PendingWindowInDays: 7 });
    expect(await h.call('DeleteImportedKeyMaterial', { KeyId: md.KeyId })).toEqual({ KeyId: md.Arn, KeyMaterialId });
    expect((await h.describe(md.KeyId)).KeyState).toBe('PendingDeletion');
  });

  it("a pool refilling in the background takes no request's place at the RSA gate: four token requests at once right after another are all served", {
    retry: 0,
    timeout: 60_000,
  }, async () => {
    const kms = createKms();
    const id = ((await kms.execute('CreateKey', { Origin: 'EXTERNAL' })) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    const params = (spec: string) => kms.execute('GetParametersForImport', { KeyId: id, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: spec });
    await params('RSA_4096'); // starts a background refill
    const all = await Promise.allSettled([params('RSA_2048'), params('RSA_2048'), params('RSA_2048'), params('RSA_3072')]);
    expect(all.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'ok'))).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it('importing the material that is imported again changes its expiration, nothing else (AWS: reimport to update ValidTo)', async () => {
    const h = Harness.memory();
    const md = await h.createExternal();
    const material = secret();
    const { KeyMaterialId } = await h.importMaterial(md.KeyId, material, { validTo: new Date(h.clock.now() + HOUR_MS) });
    const c = await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: new Uint8Array([7]) });
    const again = await h.importMaterial(md.KeyId, material);
    expect(again.KeyMaterialId).toBe(KeyMaterialId);
    const d = await h.describe(md.KeyId);
    expect(d.ExpirationModel).toBe('KEY_MATERIAL_DOES_NOT_EXPIRE');
    expect(d.ValidTo).toBeUndefined();
    h.clock.advance(2 * HOUR_MS);
    await h.kms.runMaintenance();
    expect((await h.describe(md.KeyId)).KeyState).toBe('Enabled');
    expect((await h.call('Decrypt', { CiphertextBlob: c.CiphertextBlob })).Plaintext).toEqual(new Uint8Array([7]));
  });
});

// --- the root-key protector and a file-backed store ---------------------------------------------

describe('root-key protector with an LMDB store', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function files(dir: string): string[] {
    return readdirSync(dir).flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? files(p) : [p];
    });
  }

  it('imported material survives a reopen sealed under the root key; tokens do not; delete and re-import after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-kms-import-'));
    dirs.push(dir);
    const path = join(dir, 'kms.lmdb');
    const root = new Uint8Array(randomBytes(32));
    const clock = createTestClock();
    const open = async (): Promise<{ h: Harness; store: KmsStore }> => {
      const store = createLmdbStore({ path });
      return { h: new Harness(createKms({ clock, store, protector: await createRootKeyProtector(root) }), clock), store };
    };

    let { h, store } = await open();
    const sym = await h.createExternal();
    const mac = await h.createExternal('HMAC_384');
    const ec = await h.createExternal('ECC_NIST_P384');
    const m1 = secret();
    const m2 = secret();
    const hmacKey = testMaterial('HMAC_384', { hmacBytes: 100 }).material;
    const ecKey = testMaterial('ECC_NIST_P384');
    const p = await h.params(sym.KeyId, 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_3072');
    const { KeyMaterialId: id1 } = await h.importMaterial(sym.KeyId, m1, { params: p, algorithm: 'RSA_AES_KEY_WRAP_SHA_1' });
    await h.importMaterial(sym.KeyId, m2, { importType: 'NEW_KEY_MATERIAL', validTo: new Date(clock.now() + 5 * DAY_MS) });
    await h.importMaterial(mac.KeyId, hmacKey, { algorithm: 'RSAES_OAEP_SHA_256' });
    await h.importMaterial(ec.KeyId, ecKey.material, { algorithm: 'RSAES_OAEP_SHA_256' });
    const c1 = await h.encrypt(sym.KeyId, 'before the reopen');
    await store.close?.();

    // The file holds none of the imported secrets in the clear.
    const secrets = [m1, m2, hmacKey, ecKey.material, root].map((s) => Buffer.from(s));
    const dump = files(dir);
    expect(dump.length).toBeGreaterThan(0);
    let bytes = 0;
    for (const f of dump) {
      const data = readFileSync(f);
      bytes += data.length;
      for (const s of secrets) {
        expect(data.includes(s), `${f} holds imported material in the clear`).toBe(false);
        expect(data.includes(Buffer.from(s.toString('base64'))), `${f} holds imported material in base64`).toBe(false);
        expect(data.includes(Buffer.from(s.toString('hex'))), `${f} holds imported material in hex`).toBe(false);
      }
    }
    expect(dump.some((f) => readFileSync(f).includes(Buffer.from(sym.KeyId)))).toBe(true);
    expect(bytes).toBeGreaterThan(1000);

    ({ h, store } = await open());
    expect(localDecrypt(m1, c1.CiphertextBlob)).toBe('before the reopen');
    expect(text((await h.decrypt(c1.CiphertextBlob)).Plaintext)).toBe('before the reopen');
    expect((await h.rotations(sym.KeyId)).map((r) => r.KeyMaterialState)).toEqual(['CURRENT', 'PENDING_ROTATION']);
    const { Mac } = await h.call<{ Mac: Uint8Array }>('GenerateMac', { KeyId: mac.KeyId, Message: utf8('m'), MacAlgorithm: 'HMAC_SHA_384' });
    expect(Buffer.from(Mac).toString('hex')).toBe(createHmac('sha384', hmacKey).update('m').digest('hex'));
    const { Signature } = await h.call<{ Signature: Uint8Array }>('Sign', { KeyId: ec.KeyId, Message: utf8('m'), SigningAlgorithm: 'ECDSA_SHA_384' });
    expect(nodeVerify('sha384', utf8('m'), createPublicKey({ key: Buffer.from(ecKey.publicKey!), format: 'der', type: 'spki' }), Signature)).toBe(true);
    // The wrapping keys lived in the old process's memory only.
    await h.call('DeleteImportedKeyMaterial', { KeyId: sym.KeyId });
    await h.failsUnchanged(sym.KeyId, () => h.importMaterial(sym.KeyId, m1, { params: p, algorithm: 'RSA_AES_KEY_WRAP_SHA_1' }), 'InvalidImportTokenException');
    await h.importMaterial(sym.KeyId, m1);
    await h.call('RotateKeyOnDemand', { KeyId: sym.KeyId });
    const c2 = await h.encrypt(sym.KeyId, 'after');
    expect(await h.materialOf(c2.CiphertextBlob)).not.toBe(id1);
    // Expiry in maintenance on the LMDB store.
    clock.advanceDays(5);
    expect((await h.kms.runMaintenance()).expired).toEqual([sym.KeyId]);
    expect((await h.describe(sym.KeyId)).KeyState).toBe('PendingImport');
    await store.close?.();

    ({ h, store } = await open());
    expect((await h.describe(sym.KeyId)).KeyState).toBe('PendingImport');
    await h.importMaterial(sym.KeyId, m2);
    for (const [c, s] of [
      [c1, 'before the reopen'],
      [c2, 'after'],
    ] as const)
      expect(text((await h.decrypt(c.CiphertextBlob)).Plaintext)).toBe(s);
    await store.close?.();
  });
});

// --- over HTTP, the AWS SDK v3 against the Node server ---------------------------------------------

describe('over HTTP with @aws-sdk/client-kms', () => {
  const { server, kms } = useKmsServer();

  it('GetParametersForImport -> wrap -> ImportKeyMaterial -> Encrypt/Decrypt, and the errors by name', async () => {
    const md = (await kms.createKey({ Origin: 'EXTERNAL', Description: 'byok over http' })).KeyMetadata!;
    expect(md).toMatchObject({ KeyState: 'PendingImport', Enabled: false, Origin: 'EXTERNAL' });
    const p = await kms.getParametersForImport({ KeyId: md.KeyId, WrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256', WrappingKeySpec: 'RSA_4096' });
    expect(p.KeyId).toBe(serverKeyArn(md.KeyId!));
    expect(Math.abs(p.ParametersValidTo!.getTime() - (await server.now()) - DAY_MS)).toBeLessThan(5000);
    const material = secret();
    const validTo = new Date(Math.floor((await server.now()) / 1000) * 1000 + 30 * DAY_MS);

    // A missing ValidTo is the SDK's ValidationException, by name and message.
    const missing = await failure(
      kms.importKeyMaterial({
        KeyId: md.KeyId,
        ImportToken: p.ImportToken,
        EncryptedKeyMaterial: wrapKeyMaterial(p.PublicKey!, 'RSA_AES_KEY_WRAP_SHA_256', material),
      }),
    );
    expect(missing.name).toBe('ValidationException');
    expect(missing.message).toBe('A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES');
    const garbage = await failure(
      kms.importKeyMaterial({
        KeyId: md.KeyId,
        ImportToken: new Uint8Array(randomBytes(41)),
        EncryptedKeyMaterial: wrapKeyMaterial(p.PublicKey!, 'RSA_AES_KEY_WRAP_SHA_256', material),
        ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      }),
    );
    expect(garbage.name).toBe('InvalidImportTokenException');
    const short = await failure(
      kms.importKeyMaterial({
        KeyId: md.KeyId,
        ImportToken: p.ImportToken,
        EncryptedKeyMaterial: wrapKeyMaterial(p.PublicKey!, 'RSA_AES_KEY_WRAP_SHA_256', material.subarray(0, 31)),
        ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      }),
    );
    expect(short.name).toBe('IncorrectKeyMaterialException');

    const out = await kms.importKeyMaterial({
      KeyId: md.KeyId,
      ImportToken: p.ImportToken,
      EncryptedKeyMaterial: wrapKeyMaterial(p.PublicKey!, 'RSA_AES_KEY_WRAP_SHA_256', material),
      ValidTo: validTo,
      KeyMaterialDescription: 'over http',
    });
    expect(out.KeyId).toBe(md.Arn);
    expect(out.KeyMaterialId).toBe(expectedMaterialId(md.KeyId!, material));
    const described = (await kms.describeKey({ KeyId: md.KeyId })).KeyMetadata!;
    expect(described).toMatchObject({ KeyState: 'Enabled', Enabled: true, ExpirationModel: 'KEY_MATERIAL_EXPIRES', CurrentKeyMaterialId: out.KeyMaterialId });
    expect(described.ValidTo?.getTime()).toBe(validTo.getTime());

    const enc = await kms.encrypt({ KeyId: md.KeyId, Plaintext: utf8('over the wire'), EncryptionContext: { via: 'sdk' } });
    expect(localDecrypt(material, enc.CiphertextBlob!, { via: 'sdk' })).toBe('over the wire');
    const dec = await kms.decrypt({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { via: 'sdk' } });
    expect(text(dec.Plaintext)).toBe('over the wire');
    expect(dec.KeyMaterialId).toBe(out.KeyMaterialId);

    const rot = await kms.listKeyRotations({ KeyId: md.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' });
    expect(rot.Rotations).toEqual([
      {
        KeyId: md.KeyId,
        KeyMaterialId: out.KeyMaterialId,
        KeyMaterialState: 'CURRENT',
        ImportState: 'IMPORTED',
        ExpirationModel: 'KEY_MATERIAL_EXPIRES',
        ValidTo: validTo,
        KeyMaterialDescription: 'over http',
      },
    ]);

    // Delete and re-import with the same token.
    expect((await kms.deleteImportedKeyMaterial({ KeyId: md.KeyId })).KeyMaterialId).toBe(out.KeyMaterialId);
    expect((await failure(kms.decrypt({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { via: 'sdk' } }))).name).toBe('KMSInvalidStateException');
    await kms.importKeyMaterial({
      KeyId: md.KeyId,
      ImportToken: p.ImportToken,
      EncryptedKeyMaterial: wrapKeyMaterial(p.PublicKey!, 'RSA_AES_KEY_WRAP_SHA_256', material),
      ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
    });
    expect(text((await kms.decrypt({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { via: 'sdk' } })).Plaintext)).toBe('over the wire');
  });
});
