/**
 * Issue 18 in the Worker (real workerd through Miniflare, the Durable Object store, the root-key
 * protector), driven with @aws-sdk/client-kms: imported symmetric, HMAC and P-256 material, a
 * delete and re-import, a second material rotated in on demand, a runtime restart (material kept,
 * import tokens forgotten), expiry through the cron trigger, and no imported secret in the
 * persisted state. The customer side is node:crypto (test/helpers/import-wrap.ts).
 * Run: npx vitest run --project e2e test/cloudflare/import.test.ts
 */
import { createDecipheriv, createHmac, createPublicKey, randomBytes, verify } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateMacCommand,
  GetParametersForImportCommand,
  GetPublicKeyCommand,
  ImportKeyMaterialCommand,
  type ImportKeyMaterialCommandInput,
  KMSClient,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
  SignCommand,
} from '@aws-sdk/client-kms';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../../packages/cloudflare/scripts/miniflare.js';
import { testMaterial, wrapKeyMaterial, type WrappingAlgorithm, type WrappingKeySpec } from '../helpers/import-wrap.js';
import { ROOT_KEY, tempDir, worker } from './harness.js';
import { createProxyStore } from './proxy-store.js';

const running: RunningWorker[] = [];
afterAll(async () => {
  for (const w of running.splice(0)) await w.dispose().catch(() => undefined);
});

const client = (url: string) =>
  new KMSClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
const utf8 = (s: string) => new TextEncoder().encode(s);
const str = (b?: Uint8Array) => new TextDecoder().decode(b);
const DAY_MS = 86_400_000;

async function clock(url: string, body?: unknown): Promise<number> {
  const res = await fetch(
    `${url}/_edge-kms/clock`,
    body ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {},
  );
  return ((await res.json()) as { now: number }).now;
}

/** An edge-kms ciphertext opened with node:crypto and the imported bytes (docs/ciphertext-format.md, empty context). */
function localDecrypt(material: Uint8Array, blob: Uint8Array): string {
  const b = Buffer.from(blob);
  const d = createDecipheriv('aes-256-gcm', material, b.subarray(24, 36));
  d.setAAD(Buffer.concat([b.subarray(0, 36), Buffer.alloc(4)]));
  d.setAuthTag(b.subarray(b.length - 16));
  return Buffer.concat([d.update(b.subarray(36, b.length - 16)), d.final()]).toString('utf8');
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

async function failure(call: Promise<unknown>): Promise<Error> {
  try {
    await call;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

describe('Worker (Durable Object store): imported key material', () => {
  it('imports, deletes and re-imports, rotates in a second material, survives a restart, expires on cron', async () => {
    const persistDir = tempDir('edge-kms-wk-import-');
    let w = await worker({ persistDir });
    running.push(w);
    let kms = client(w.url);

    const params = async (KeyId: string, WrappingAlgorithm: WrappingAlgorithm = 'RSA_AES_KEY_WRAP_SHA_256', WrappingKeySpec: WrappingKeySpec = 'RSA_2048') =>
      kms.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm, WrappingKeySpec }));
    const importInto = async (
      KeyId: string,
      material: Uint8Array,
      algorithm: WrappingAlgorithm = 'RSA_AES_KEY_WRAP_SHA_256',
      extra: Partial<ImportKeyMaterialCommandInput> = {},
      given?: { ImportToken?: Uint8Array; PublicKey?: Uint8Array },
    ) => {
      const p = given ?? (await params(KeyId, algorithm));
      return kms.send(
        new ImportKeyMaterialCommand({
          KeyId,
          ImportToken: p.ImportToken,
          EncryptedKeyMaterial: wrapKeyMaterial(p.PublicKey!, algorithm, material),
          ...(extra.ValidTo ? {} : { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }),
          ...extra,
        }),
      );
    };

    // Symmetric.
    const sym = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!;
    expect(sym).toMatchObject({ KeyState: 'PendingImport', Enabled: false });
    const m1 = new Uint8Array(randomBytes(32));
    const p1 = await params(sym.KeyId!, 'RSAES_OAEP_SHA_1', 'RSA_3072');
    const first = await importInto(sym.KeyId!, m1, 'RSAES_OAEP_SHA_1', {}, p1);
    expect(first.KeyId).toBe(sym.Arn);
    const c1 = await kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: utf8('in workerd') }));
    expect(localDecrypt(m1, c1.CiphertextBlob!)).toBe('in workerd');
    expect(str((await kms.send(new DecryptCommand({ CiphertextBlob: c1.CiphertextBlob }))).Plaintext)).toBe('in workerd');

    // Delete and re-import (a new token, another algorithm): the old ciphertext decrypts again.
    await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: sym.KeyId }));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: sym.KeyId }))).KeyMetadata!.KeyState).toBe('PendingImport');
    expect((await failure(kms.send(new DecryptCommand({ CiphertextBlob: c1.CiphertextBlob })))).name).toBe('KMSInvalidStateException');
    expect((await failure(importInto(sym.KeyId!, new Uint8Array(randomBytes(32))))).name).toBe('IncorrectKeyMaterialException');
    const again = await importInto(sym.KeyId!, m1, 'RSA_AES_KEY_WRAP_SHA_256');
    expect(again.KeyMaterialId).toBe(first.KeyMaterialId);
    expect(str((await kms.send(new DecryptCommand({ CiphertextBlob: c1.CiphertextBlob }))).Plaintext)).toBe('in workerd');

    // A second material, expiring in two days, rotated in on demand.
    const m2 = new Uint8Array(randomBytes(32));
    const validTo = new Date(Math.floor((await clock(w.url)) / 1000) * 1000 + 2 * DAY_MS);
    const second = await importInto(sym.KeyId!, m2, 'RSA_AES_KEY_WRAP_SHA_1', {
      ImportType: 'NEW_KEY_MATERIAL',
      ValidTo: validTo,
      ExpirationModel: 'KEY_MATERIAL_EXPIRES',
    });
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: sym.KeyId }));
    const c2 = await kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: utf8('second') }));
    expect(localDecrypt(m2, c2.CiphertextBlob!)).toBe('second');
    expect((await kms.send(new DecryptCommand({ CiphertextBlob: c2.CiphertextBlob }))).KeyMaterialId).toBe(second.KeyMaterialId);
    const rotations = (await kms.send(new ListKeyRotationsCommand({ KeyId: sym.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }))).Rotations!;
    expect(rotations.map((r) => [r.KeyMaterialId, r.KeyMaterialState, r.ImportState])).toEqual([
      [first.KeyMaterialId, 'NON_CURRENT', 'IMPORTED'],
      [second.KeyMaterialId, 'CURRENT', 'IMPORTED'],
    ]);
    expect(rotations[1]!.ValidTo?.getTime()).toBe(validTo.getTime());

    // HMAC and P-256 through workerd's WebCrypto.
    const mac = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL', KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }))).KeyMetadata!;
    const hmacKey = testMaterial('HMAC_256', { hmacBytes: 64 }).material;
    await importInto(mac.KeyId!, hmacKey, 'RSAES_OAEP_SHA_256');
    const { Mac } = await kms.send(new GenerateMacCommand({ KeyId: mac.KeyId, Message: utf8('hook'), MacAlgorithm: 'HMAC_SHA_256' }));
    expect(Buffer.from(Mac!).toString('hex')).toBe(createHmac('sha256', hmacKey).update('hook').digest('hex'));
    const ec = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL', KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!;
    const ecKey = testMaterial('ECC_NIST_P256');
    await importInto(ec.KeyId!, ecKey.material, 'RSAES_OAEP_SHA_256');
    expect(Buffer.from((await kms.send(new GetPublicKeyCommand({ KeyId: ec.KeyId }))).PublicKey!).equals(Buffer.from(ecKey.publicKey!))).toBe(true);
    const { Signature } = await kms.send(new SignCommand({ KeyId: ec.KeyId, Message: utf8('edge'), SigningAlgorithm: 'ECDSA_SHA_256' }));
    expect(verify('sha256', utf8('edge'), createPublicKey({ key: Buffer.from(ecKey.publicKey!), format: 'der', type: 'spki' }), Signature!)).toBe(true);

    // Restart workerd on the same state: the materials are there, the import tokens are not.
    await w.dispose();
    running.splice(running.indexOf(w), 1);
    w = await worker({ persistDir });
    running.push(w);
    kms = client(w.url);
    expect(str((await kms.send(new DecryptCommand({ CiphertextBlob: c1.CiphertextBlob }))).Plaintext)).toBe('in workerd');
    expect(str((await kms.send(new DecryptCommand({ CiphertextBlob: c2.CiphertextBlob }))).Plaintext)).toBe('second');
    await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: sym.KeyId, KeyMaterialId: first.KeyMaterialId }));
    expect((await failure(importInto(sym.KeyId!, m1, 'RSAES_OAEP_SHA_1', {}, p1))).name).toBe('InvalidImportTokenException');
    await importInto(sym.KeyId!, m1, 'RSAES_OAEP_SHA_256', { ImportType: 'EXISTING_KEY_MATERIAL', KeyMaterialId: first.KeyMaterialId });
    expect(str((await kms.send(new DecryptCommand({ CiphertextBlob: c1.CiphertextBlob }))).Plaintext)).toBe('in workerd');

    // The current material expires: the cron trigger deletes it.
    await clock(w.url, { advanceMs: validTo.getTime() - (await clock(w.url)) });
    await w.scheduled();
    const md = (await kms.send(new DescribeKeyCommand({ KeyId: sym.KeyId }))).KeyMetadata!;
    expect(md).toMatchObject({ KeyState: 'PendingImport', Enabled: false });
    expect((await failure(kms.send(new DecryptCommand({ CiphertextBlob: c1.CiphertextBlob })))).name).toBe('KMSInvalidStateException');
    await importInto(sym.KeyId!, m2, 'RSA_AES_KEY_WRAP_SHA_256', { KeyMaterialId: second.KeyMaterialId });
    expect(str((await kms.send(new DecryptCommand({ CiphertextBlob: c2.CiphertextBlob }))).Plaintext)).toBe('second');
    expect(str((await kms.send(new DecryptCommand({ CiphertextBlob: c1.CiphertextBlob }))).Plaintext)).toBe('in workerd');

    // Nothing imported is in the persisted state in the clear.
    await w.dispose();
    running.splice(running.indexOf(w), 1);
    const secrets = [m1, m2, hmacKey, ecKey.material, Buffer.from(ROOT_KEY, 'base64')].map((s) => Buffer.from(s));
    const dump = files(persistDir).filter((f) => !f.endsWith('worker.js') && !f.endsWith('.map'));
    expect(dump.length).toBeGreaterThan(0);
    for (const f of dump) {
      const data = readFileSync(f);
      for (const s of secrets) {
        expect(data.includes(s), `${f} holds imported material in the clear`).toBe(false);
        expect(data.includes(Buffer.from(s.toString('base64'))), `${f} holds imported material in base64`).toBe(false);
        expect(data.includes(Buffer.from(s.toString('hex'))), `${f} holds imported material in hex`).toBe(false);
      }
    }
    expect(dump.some((f) => readFileSync(f).includes(Buffer.from(sym.KeyId!)))).toBe(true);
  });

  it("the Durable Object's alarm expires imported material on time, with no cron run and no call to the key", async () => {
    const w = await worker();
    running.push(w);
    const kms = client(w.url);
    const key = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!;
    const p = await kms.send(new GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    const validTo = new Date(Math.floor((await clock(w.url)) / 1000) * 1000 + DAY_MS);
    await kms.send(
      new ImportKeyMaterialCommand({
        KeyId: key.KeyId,
        ImportToken: p.ImportToken,
        EncryptedKeyMaterial: wrapKeyMaterial(p.PublicKey!, 'RSAES_OAEP_SHA_256', randomBytes(32)),
        ValidTo: validTo,
      }),
    );
    // Read the record straight from the store (the KMS would expire it on this read itself).
    const raw = createProxyStore(w.url);
    const state = async () => (await raw.getKey(`~us-east-1/${key.KeyId}`))?.KeyState;
    expect(await state()).toBe('Enabled');
    // The test clock jumps past ValidTo; the object sets its alarm (a second ahead) and wakes.
    await clock(w.url, { advanceMs: validTo.getTime() - (await clock(w.url)) });
    const deadline = Date.now() + 15_000;
    while ((await state()) !== 'PendingImport' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await state()).toBe('PendingImport');
  });
});
