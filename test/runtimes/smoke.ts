/**
 * The cross-runtime smoke suite of @edge-kms/core: one plain ES module function, no test
 * framework, Web APIs only, so the same esbuild bundle of it runs unchanged in Node, Chromium,
 * workerd, Deno, Bun and the Vercel edge runtime (runtimes.test.ts runs it in each).
 *
 * `runSmoke()` resolves to the names of the steps that passed, in order, or rejects with an Error
 * naming the first step that failed and why.
 * Run: npx vitest run test/runtimes
 */
import { createKms, createTestClock, KmsError, type Kms } from '@edge-kms/core';

/** Every step, in the order runSmoke runs them: the list each runtime must report. */
export const SMOKE_STEPS = [
  'CreateKey',
  'Encrypt and Decrypt',
  'RotateKeyOnDemand',
  'Decrypt old ciphertext under the old KeyMaterialId',
  'GenerateDataKey and Decrypt the data key',
  'automatic rotation after a year (runMaintenance)',
  'wire protocol: Encrypt and Decrypt as AWS JSON 1.1',
  'Sign and Verify (ECDSA P-256, Ed25519, RSA-PSS) and GenerateMac / VerifyMac',
  'DeriveSharedSecret (ECDH P-256) and GenerateDataKeyPair',
  '@noble keys: ECC_SECG_P256K1, ML_DSA_44, HMAC_224, ECDSA over a DIGEST, ED25519_PH_SHA_512',
] as const;

type Out = Record<string, any>;

class SmokeFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SmokeFailure';
  }
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new SmokeFailure(message);
}

function show(value: unknown): string {
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function checkEqual(actual: unknown, expected: unknown, what: string): void {
  check(actual === expected, `${what}: expected ${show(expected)}, got ${show(actual)}`);
}

function checkBytes(actual: unknown, expected: Uint8Array, what: string): void {
  // Duck-typed on purpose: a Uint8Array from another realm is still the right answer.
  check(actual != null && typeof (actual as Uint8Array).length === 'number', `${what}: expected bytes, got ${show(actual)}`);
  const a = actual as Uint8Array;
  check(a.length === expected.length && expected.every((b, i) => a[i] === b), `${what}: bytes differ (got ${a.length} bytes, expected ${expected.length})`);
}

/** A DER ECDSA signature (SEQUENCE { INTEGER r, INTEGER s }) as WebCrypto's r ‖ s. */
function rawEcdsa(der: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(2 * n);
  let at = der[1]! & 0x80 ? 3 : 2;
  for (let i = 0; i < 2; i++) {
    const len = der[at + 1]!;
    const v = der.subarray(at + 2, at + 2 + len);
    const trimmed = v[0] === 0 ? v.subarray(1) : v;
    out.set(trimmed, (i + 1) * n - trimmed.length);
    at += 2 + len;
  }
  return out;
}

async function rejectionCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof KmsError ? e.code : `non-KmsError ${(e as Error)?.name}: ${(e as Error)?.message}`;
  }
  return 'no error';
}

const text = (s: string) => new TextEncoder().encode(s);

function base64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function unbase64(s: string): Uint8Array {
  const bin = atob(s);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function materialIds(kms: Kms, keyId: string): Promise<{ id: string; type?: string }[]> {
  const out = (await kms.execute('ListKeyRotations', { KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' })) as Out;
  return (out.Rotations as Out[]).map((r) => ({ id: r.KeyMaterialId as string, type: r.RotationType as string | undefined }));
}

export async function runSmoke(): Promise<{ passed: string[] }> {
  const passed: string[] = [];
  const internalErrors: unknown[] = [];
  const clock = createTestClock(Date.UTC(2026, 0, 1));
  const kms = createKms({ clock, onInternalError: (e) => internalErrors.push(e) });

  async function step(name: (typeof SMOKE_STEPS)[number], body: () => Promise<void>): Promise<void> {
    try {
      await body();
      check(internalErrors.length === 0, 'the engine reported an internal error');
    } catch (e) {
      const detail =
        e instanceof SmokeFailure
          ? e.message
          : `threw ${e instanceof KmsError ? `KmsError ${e.code}` : (e as Error)?.name}: ${(e as Error)?.message ?? String(e)}`;
      const stack = e instanceof SmokeFailure || !(e as Error)?.stack ? '' : `\n${(e as Error).stack}`;
      // A KMSInternalException hides its cause from the caller; onInternalError got it.
      const internal = internalErrors.map((x) => `\ninternal error: ${String((x as Error)?.stack ?? x)}`).join('');
      throw new Error(`edge-kms smoke step ${passed.length + 1} "${name}" failed: ${detail}${stack}${internal}`);
    }
    passed.push(name);
  }

  let keyId = '';
  let firstMaterial = '';
  let firstCiphertext: Uint8Array = new Uint8Array();
  const message = text('edge-kms smoke: héllo ✓');

  await step('CreateKey', async () => {
    const { KeyMetadata: md } = (await kms.execute('CreateKey', { Description: 'runtime smoke' })) as Out;
    check(md && /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(md.KeyId), `KeyId is not a UUID v4: ${show(md?.KeyId)}`);
    checkEqual(md.KeyState, 'Enabled', 'KeyState');
    checkEqual(md.KeySpec, 'SYMMETRIC_DEFAULT', 'KeySpec');
    checkEqual(md.Arn, `arn:aws:kms:us-east-1:111122223333:key/${md.KeyId}`, 'Arn');
    check(md.CreationDate instanceof Date && md.CreationDate.getTime() === clock.now(), `CreationDate is not the test clock's time: ${show(md.CreationDate)}`);
    keyId = md.KeyId;
    firstMaterial = md.CurrentKeyMaterialId;
    check(/^[0-9a-f]{64}$/.test(firstMaterial), `CurrentKeyMaterialId is not 64 hex digits: ${show(firstMaterial)}`);
  });

  await step('Encrypt and Decrypt', async () => {
    const enc = (await kms.execute('Encrypt', { KeyId: keyId, Plaintext: message, EncryptionContext: { purpose: 'smoke' } })) as Out;
    check(enc.CiphertextBlob instanceof Uint8Array, `CiphertextBlob is not a Uint8Array: ${show(enc.CiphertextBlob)}`);
    check(enc.CiphertextBlob.length > message.length, `CiphertextBlob is too short: ${enc.CiphertextBlob.length} bytes`);
    checkEqual(enc.KeyId, `arn:aws:kms:us-east-1:111122223333:key/${keyId}`, 'Encrypt KeyId');
    firstCiphertext = enc.CiphertextBlob;
    const dec = (await kms.execute('Decrypt', { CiphertextBlob: firstCiphertext, EncryptionContext: { purpose: 'smoke' } })) as Out;
    checkBytes(dec.Plaintext, message, 'Decrypt Plaintext');
    checkEqual(dec.KeyMaterialId, firstMaterial, 'Decrypt KeyMaterialId');
    const wrongContext = await rejectionCode(kms.execute('Decrypt', { CiphertextBlob: firstCiphertext, EncryptionContext: { purpose: 'other' } }));
    checkEqual(wrongContext, 'InvalidCiphertextException', 'Decrypt under the wrong encryption context');
  });

  let secondMaterial = '';
  await step('RotateKeyOnDemand', async () => {
    const out = (await kms.execute('RotateKeyOnDemand', { KeyId: keyId })) as Out;
    // The key ARN, as AWS answers RotateKeyOnDemand.
    checkEqual(out.KeyId, `arn:aws:kms:us-east-1:111122223333:key/${keyId}`, 'RotateKeyOnDemand KeyId');
    const ids = await materialIds(kms, keyId);
    checkEqual(ids.length, 2, 'key material versions after one rotation');
    checkEqual(ids[0]!.id, firstMaterial, 'original key material id');
    checkEqual(ids[1]!.type, 'ON_DEMAND', 'RotationType');
    secondMaterial = ids[1]!.id;
    check(secondMaterial !== firstMaterial && /^[0-9a-f]{64}$/.test(secondMaterial), `new KeyMaterialId is not a fresh id: ${show(secondMaterial)}`);
    const { KeyMetadata: md } = (await kms.execute('DescribeKey', { KeyId: keyId })) as Out;
    checkEqual(md.CurrentKeyMaterialId, secondMaterial, 'CurrentKeyMaterialId after rotation');
  });

  await step('Decrypt old ciphertext under the old KeyMaterialId', async () => {
    const old = (await kms.execute('Decrypt', { CiphertextBlob: firstCiphertext, EncryptionContext: { purpose: 'smoke' }, KeyId: keyId })) as Out;
    checkBytes(old.Plaintext, message, 'old ciphertext Plaintext');
    checkEqual(old.KeyMaterialId, firstMaterial, 'old ciphertext KeyMaterialId');
    const enc = (await kms.execute('Encrypt', { KeyId: keyId, Plaintext: message })) as Out;
    const fresh = (await kms.execute('Decrypt', { CiphertextBlob: enc.CiphertextBlob })) as Out;
    checkBytes(fresh.Plaintext, message, 'new ciphertext Plaintext');
    checkEqual(fresh.KeyMaterialId, secondMaterial, 'new ciphertext KeyMaterialId');
  });

  await step('GenerateDataKey and Decrypt the data key', async () => {
    const context = { tenant: 'smoke', object: 'o-1' };
    const gen = (await kms.execute('GenerateDataKey', { KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context })) as Out;
    check(gen.Plaintext instanceof Uint8Array && gen.Plaintext.length === 32, `data key is not 32 bytes: ${show(gen.Plaintext)}`);
    check(
      gen.Plaintext.some((b: number) => b !== 0),
      'data key is all zeros',
    );
    checkEqual(gen.KeyMaterialId, secondMaterial, 'GenerateDataKey KeyMaterialId');
    const dec = (await kms.execute('Decrypt', { CiphertextBlob: gen.CiphertextBlob, EncryptionContext: context })) as Out;
    checkBytes(dec.Plaintext, gen.Plaintext, 'decrypted data key');
    checkEqual(dec.KeyMaterialId, secondMaterial, 'data key KeyMaterialId');
    // The data key is usable as an AES-256-GCM key by the runtime's own WebCrypto.
    const aes = await crypto.subtle.importKey('raw', dec.Plaintext as BufferSource, 'AES-GCM', false, ['encrypt', 'decrypt']);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, aes, message as BufferSource);
    checkBytes(new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, aes, sealed)), message, 'AES-GCM under the data key');
  });

  await step('automatic rotation after a year (runMaintenance)', async () => {
    await kms.execute('EnableKeyRotation', { KeyId: keyId, RotationPeriodInDays: 365 });
    const status = (await kms.execute('GetKeyRotationStatus', { KeyId: keyId })) as Out;
    // The bare key id, as AWS answers GetKeyRotationStatus.
    checkEqual(status.KeyId, keyId, 'GetKeyRotationStatus KeyId');
    checkEqual(status.KeyRotationEnabled, true, 'KeyRotationEnabled');
    checkEqual(status.NextRotationDate?.getTime?.(), clock.now() + 365 * 86_400_000, 'NextRotationDate');
    const early = await kms.runMaintenance();
    checkEqual(early.rotated.length, 0, 'keys rotated before the year is over');
    clock.advanceDays(365);
    const due = await kms.runMaintenance();
    checkEqual(show(due), show({ rotated: [keyId], deleted: [], expired: [] }), 'runMaintenance report a year later');
    const again = await kms.runMaintenance();
    checkEqual(again.rotated.length, 0, 'keys rotated by a second runMaintenance');
    const ids = await materialIds(kms, keyId);
    checkEqual(show(ids.map((r) => r.type ?? 'CREATE')), show(['CREATE', 'ON_DEMAND', 'AUTOMATIC']), 'rotation history');
    const old = (await kms.execute('Decrypt', { CiphertextBlob: firstCiphertext, EncryptionContext: { purpose: 'smoke' } })) as Out;
    checkBytes(old.Plaintext, message, 'first ciphertext after automatic rotation');
    checkEqual(old.KeyMaterialId, firstMaterial, 'first ciphertext KeyMaterialId after automatic rotation');
  });

  await step('wire protocol: Encrypt and Decrypt as AWS JSON 1.1', async () => {
    const post = (operation: string, body: unknown) =>
      kms.handle(
        new Request('https://kms.us-east-1.amazonaws.com/', {
          method: 'POST',
          headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${operation}` },
          body: JSON.stringify(body),
        }),
      );
    const res = await post('Encrypt', { KeyId: keyId, Plaintext: base64(message), EncryptionContext: { via: 'wire' } });
    const enc = (await res.json()) as Out;
    checkEqual(res.status, 200, `Encrypt status (body ${show(enc)})`);
    checkEqual(res.headers.get('content-type'), 'application/x-amz-json-1.1', 'Encrypt content-type');
    check(/^[0-9a-f-]{36}$/.test(res.headers.get('x-amzn-requestid') ?? ''), `x-amzn-requestid: ${show(res.headers.get('x-amzn-requestid'))}`);
    checkEqual(enc.KeyId, `arn:aws:kms:us-east-1:111122223333:key/${keyId}`, 'Encrypt KeyId');
    checkEqual(enc.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT', 'Encrypt EncryptionAlgorithm');
    check(
      typeof enc.CiphertextBlob === 'string' && unbase64(enc.CiphertextBlob).length > message.length,
      `CiphertextBlob is not base64: ${show(enc.CiphertextBlob)}`,
    );
    // The blob from the wire decrypts in process, and over the wire.
    const inProcess = (await kms.execute('Decrypt', { CiphertextBlob: unbase64(enc.CiphertextBlob), EncryptionContext: { via: 'wire' } })) as Out;
    checkBytes(inProcess.Plaintext, message, 'in-process Decrypt of the wire ciphertext');
    const decRes = await post('Decrypt', { CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { via: 'wire' } });
    const dec = (await decRes.json()) as Out;
    checkEqual(decRes.status, 200, `Decrypt status (body ${show(dec)})`);
    checkBytes(unbase64(dec.Plaintext), message, 'wire Decrypt Plaintext');
    checkEqual(dec.KeyMaterialId, inProcess.KeyMaterialId, 'wire Decrypt KeyMaterialId');
    const missing = await post('Encrypt', { KeyId: 'alias/does-not-exist', Plaintext: base64(message) });
    const err = (await missing.json()) as Out;
    checkEqual(missing.status, 400, 'status for an unknown alias');
    checkEqual(err.__type, 'NotFoundException', 'error __type for an unknown alias');
  });

  await step('Sign and Verify (ECDSA P-256, Ed25519, RSA-PSS) and GenerateMac / VerifyMac', async () => {
    for (const [spec, alg, importAlg, verifyAlg] of [
      ['ECC_NIST_P256', 'ECDSA_SHA_256', { name: 'ECDSA', namedCurve: 'P-256' }, undefined],
      ['ECC_NIST_EDWARDS25519', 'ED25519_SHA_512', { name: 'Ed25519' }, { name: 'Ed25519' }],
      ['RSA_2048', 'RSASSA_PSS_SHA_256', { name: 'RSA-PSS', hash: 'SHA-256' }, { name: 'RSA-PSS', saltLength: 32 }],
    ] as const) {
      const id = ((await kms.execute('CreateKey', { KeySpec: spec, KeyUsage: 'SIGN_VERIFY' })) as Out).KeyMetadata.KeyId as string;
      const sig = ((await kms.execute('Sign', { KeyId: id, Message: message, SigningAlgorithm: alg })) as Out).Signature as Uint8Array;
      const ok = (await kms.execute('Verify', { KeyId: id, Message: message, Signature: sig, SigningAlgorithm: alg })) as Out;
      checkEqual(ok.SignatureValid, true, `${spec} Verify`);
      checkEqual(
        await rejectionCode(kms.execute('Verify', { KeyId: id, Message: new Uint8Array([1]), Signature: sig, SigningAlgorithm: alg })),
        'KMSInvalidSignatureException',
        `${spec} Verify of another message`,
      );
      // This runtime's own WebCrypto verifies with the public key GetPublicKey answers (ECDSA's DER is checked by Verify above).
      if (verifyAlg) {
        const spki = ((await kms.execute('GetPublicKey', { KeyId: id })) as Out).PublicKey as Uint8Array;
        const pub = await crypto.subtle.importKey('spki', spki as BufferSource, importAlg, false, ['verify']);
        check(
          await crypto.subtle.verify(verifyAlg, pub, sig as BufferSource, message as BufferSource),
          `${spec}: the runtime's WebCrypto verifies the signature`,
        );
      }
    }
    const mac = ((await kms.execute('CreateKey', { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })) as Out).KeyMetadata.KeyId as string;
    const tag = ((await kms.execute('GenerateMac', { KeyId: mac, Message: message, MacAlgorithm: 'HMAC_SHA_256' })) as Out).Mac as Uint8Array;
    checkEqual(tag.length, 32, 'HMAC_SHA_256 length');
    checkEqual(((await kms.execute('VerifyMac', { KeyId: mac, Message: message, Mac: tag, MacAlgorithm: 'HMAC_SHA_256' })) as Out).MacValid, true, 'VerifyMac');
  });

  await step('DeriveSharedSecret (ECDH P-256) and GenerateDataKeyPair', async () => {
    const id = ((await kms.execute('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' })) as Out).KeyMetadata.KeyId as string;
    const ours = await crypto.subtle.importKey(
      'spki',
      ((await kms.execute('GetPublicKey', { KeyId: id })) as Out).PublicKey as BufferSource,
      { name: 'ECDH', namedCurve: 'P-256' },
      false,
      [],
    );
    const peer = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
    const peerSpki = new Uint8Array(await crypto.subtle.exportKey('spki', peer.publicKey));
    const secret = ((await kms.execute('DeriveSharedSecret', { KeyId: id, KeyAgreementAlgorithm: 'ECDH', PublicKey: peerSpki })) as Out)
      .SharedSecret as Uint8Array;
    const theirs = new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: ours }, peer.privateKey, 256));
    checkBytes(secret, theirs, 'the shared secret both sides derive');
    const pair = (await kms.execute('GenerateDataKeyPair', { KeyId: keyId, KeyPairSpec: 'ECC_NIST_P256' })) as Out;
    const priv = await crypto.subtle.importKey('pkcs8', pair.PrivateKeyPlaintext as BufferSource, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    const pub = await crypto.subtle.importKey('spki', pair.PublicKey as BufferSource, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    const s2 = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, priv, message as BufferSource);
    check(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, pub, s2, message as BufferSource), 'the data key pair signs and verifies');
    const back = (await kms.execute('Decrypt', { CiphertextBlob: pair.PrivateKeyCiphertextBlob })) as Out;
    checkBytes(back.Plaintext, pair.PrivateKeyPlaintext, 'the private key decrypts from its ciphertext');
  });

  await step('@noble keys: ECC_SECG_P256K1, ML_DSA_44, HMAC_224, ECDSA over a DIGEST, ED25519_PH_SHA_512', async () => {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', message as BufferSource));
    for (const [spec, alg, type, msg] of [
      ['ECC_SECG_P256K1', 'ECDSA_SHA_256', 'RAW', message],
      ['ECC_SECG_P256K1', 'ECDSA_SHA_256', 'DIGEST', digest],
      ['ML_DSA_44', 'ML_DSA_SHAKE_256', 'RAW', message],
      ['ECC_NIST_EDWARDS25519', 'ED25519_PH_SHA_512', 'DIGEST', new Uint8Array(await crypto.subtle.digest('SHA-512', message as BufferSource))],
    ] as const) {
      const id = ((await kms.execute('CreateKey', { KeySpec: spec, KeyUsage: 'SIGN_VERIFY' })) as Out).KeyMetadata.KeyId as string;
      const req = { KeyId: id, Message: msg, MessageType: type, SigningAlgorithm: alg };
      const sig = ((await kms.execute('Sign', req)) as Out).Signature as Uint8Array;
      checkEqual(((await kms.execute('Verify', { ...req, Signature: sig })) as Out).SignatureValid, true, `${spec} ${alg} ${type} Verify`);
      const other = { ...req, Message: msg.map((b, i) => (i === 0 ? b ^ 1 : b)), Signature: sig };
      checkEqual(await rejectionCode(kms.execute('Verify', other)), 'KMSInvalidSignatureException', `${spec} ${type} Verify of another message`);
    }
    // ECDSA over a DIGEST (@noble) verifies in this runtime's WebCrypto over the message itself.
    const p256 = ((await kms.execute('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })) as Out).KeyMetadata.KeyId as string;
    const der = ((await kms.execute('Sign', { KeyId: p256, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' })) as Out)
      .Signature as Uint8Array;
    const spki = ((await kms.execute('GetPublicKey', { KeyId: p256 })) as Out).PublicKey as Uint8Array;
    const pub = await crypto.subtle.importKey('spki', spki as BufferSource, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    check(
      await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, pub, rawEcdsa(der, 32) as BufferSource, message as BufferSource),
      'WebCrypto verifies the DIGEST signature',
    );
    const mac = ((await kms.execute('CreateKey', { KeySpec: 'HMAC_224', KeyUsage: 'GENERATE_VERIFY_MAC' })) as Out).KeyMetadata.KeyId as string;
    const tag = ((await kms.execute('GenerateMac', { KeyId: mac, Message: message, MacAlgorithm: 'HMAC_SHA_224' })) as Out).Mac as Uint8Array;
    checkEqual(tag.length, 28, 'HMAC_SHA_224 length');
    checkEqual(
      ((await kms.execute('VerifyMac', { KeyId: mac, Message: message, Mac: tag, MacAlgorithm: 'HMAC_SHA_224' })) as Out).MacValid,
      true,
      'HMAC_224 VerifyMac',
    );
  });

  checkEqual(show(passed), show(SMOKE_STEPS), 'steps run');
  return { passed };
}
