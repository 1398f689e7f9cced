/**
 * The IndexedDB store in real Chromium (Vitest browser mode): the store conformance suite (a
 * second connection stands for a second tab), key material that no script can read, upgrading a
 * version 1 database without losing keys, and a storage failure in the middle of a commit
 * answered as KMSInternalException with nothing half-written.
 * Run: npx vitest run --project browser
 */
import { createCryptoKeyProtector, createKms, type KmsError } from '@edge-kms/core';
import { openDB } from 'idb';
import { describe, expect, it } from 'vitest';
import { runStoreConformance } from '../../../test/conformance/store-conformance.js';
import { createIdbStore, deleteIdbStore } from './idb-store.js';

let n = 0;
const freshName = () => `edge-kms-test-${Date.now()}-${n++}`;

runStoreConformance('indexeddb', async () => {
  const name = freshName();
  const store = await createIdbStore({ name });
  const others: { close?: () => Promise<void> }[] = [];
  return {
    store,
    reopen: async () => {
      const s = await createIdbStore({ name });
      others.push(s);
      return s;
    },
    protector: createCryptoKeyProtector(),
    cleanup: async () => {
      await store.close?.();
      for (const o of others) await o.close?.();
      await deleteIdbStore(name);
    },
  };
});

describe('IndexedDB specifics', () => {
  it('keeps key material as non-extractable CryptoKeys that work after reopening', async () => {
    const name = freshName();
    let store = await createIdbStore({ name });
    let kms = createKms({ store });
    const { KeyMetadata } = (await kms.execute('CreateKey', {})) as { KeyMetadata: { KeyId: string } };
    const ct = (await kms.execute('Encrypt', { KeyId: KeyMetadata.KeyId, Plaintext: new TextEncoder().encode('persist me') })).CiphertextBlob;
    await store.close?.();
    store = await createIdbStore({ name });
    kms = createKms({ store });
    // Through the default Region's view of the store (its records are kept under `~us-east-1/<id>`).
    const v = await kms.engine.store.getVersion(KeyMetadata.KeyId, 1);
    expect(v?.Material.kind).toBe('cryptokey');
    if (v?.Material.kind !== 'cryptokey') throw new Error('unreachable');
    expect(v.Material.key).toBeInstanceOf(CryptoKey);
    expect(v.Material.key.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('raw', v.Material.key)).rejects.toThrow();
    const out = await kms.execute('Decrypt', { CiphertextBlob: ct });
    expect(new TextDecoder().decode(out.Plaintext as Uint8Array)).toBe('persist me');
    await store.close?.();
    await deleteIdbStore(name);
  });

  it('keeps signing and HMAC keys (one non-extractable CryptoKey per RSA algorithm) that work after reopening', async () => {
    const name = freshName();
    let store = await createIdbStore({ name });
    let kms = createKms({ store });
    const made: Record<string, string> = {};
    for (const [spec, usage] of [
      ['ECC_NIST_P256', 'SIGN_VERIFY'],
      ['ECC_NIST_EDWARDS25519', 'SIGN_VERIFY'],
      ['RSA_2048', 'SIGN_VERIFY'],
      ['HMAC_256', 'GENERATE_VERIFY_MAC'],
    ] as const) {
      made[spec] = ((await kms.execute('CreateKey', { KeySpec: spec, KeyUsage: usage })) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    }
    const message = new TextEncoder().encode('signed in the browser');
    const p256 = (await kms.execute('Sign', { KeyId: made.ECC_NIST_P256, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' })) as { Signature: Uint8Array };
    const mac = (await kms.execute('GenerateMac', { KeyId: made.HMAC_256, Message: message, MacAlgorithm: 'HMAC_SHA_256' })) as { Mac: Uint8Array };
    await store.close?.();
    store = await createIdbStore({ name });
    kms = createKms({ store });
    const rsa = await kms.engine.store.getVersion(made.RSA_2048!, 1);
    expect(rsa?.Material.kind).toBe('cryptokeys');
    if (rsa?.Material.kind !== 'cryptokeys') throw new Error('unreachable');
    expect(Object.keys(rsa.Material.keys)).toHaveLength(6);
    for (const k of Object.values(rsa.Material.keys)) expect(k.extractable).toBe(false);
    expect(rsa.PublicKey).toBeInstanceOf(Uint8Array);
    // Verified after the reload; an RSA-PSS signature checked by the browser's own WebCrypto with the public key GetPublicKey answers.
    await expect(
      kms.execute('Verify', { KeyId: made.ECC_NIST_P256, Message: message, Signature: p256.Signature, SigningAlgorithm: 'ECDSA_SHA_256' }),
    ).resolves.toMatchObject({
      SignatureValid: true,
    });
    await expect(kms.execute('VerifyMac', { KeyId: made.HMAC_256, Message: message, Mac: mac.Mac, MacAlgorithm: 'HMAC_SHA_256' })).resolves.toMatchObject({
      MacValid: true,
    });
    const pss = (await kms.execute('Sign', { KeyId: made.RSA_2048, Message: message, SigningAlgorithm: 'RSASSA_PSS_SHA_256' })) as { Signature: Uint8Array };
    const spki = ((await kms.execute('GetPublicKey', { KeyId: made.RSA_2048 })) as { PublicKey: Uint8Array }).PublicKey;
    const pub = await crypto.subtle.importKey('spki', spki as BufferSource, { name: 'RSA-PSS', hash: 'SHA-256' }, false, ['verify']);
    expect(await crypto.subtle.verify({ name: 'RSA-PSS', saltLength: 32 }, pub, pss.Signature as BufferSource, message as BufferSource)).toBe(true);
    const ed = (await kms.execute('Sign', { KeyId: made.ECC_NIST_EDWARDS25519, Message: message, SigningAlgorithm: 'ED25519_SHA_512' })) as {
      Signature: Uint8Array;
    };
    await expect(
      kms.execute('Verify', { KeyId: made.ECC_NIST_EDWARDS25519, Message: message, Signature: ed.Signature, SigningAlgorithm: 'ED25519_SHA_512' }),
    ).resolves.toMatchObject({
      SignatureValid: true,
    });
    await store.close?.();
    await deleteIdbStore(name);
  });

  it('upgrades a version 1 database without losing keys', async () => {
    const name = freshName();
    // A database as version 1 of the schema made it.
    const protector = createCryptoKeyProtector();
    const v1kms = createKms({ protector });
    const { KeyMetadata } = (await v1kms.execute('CreateKey', {})) as { KeyMetadata: { KeyId: string } };
    await v1kms.execute('CreateAlias', { AliasName: 'alias/old', TargetKeyId: KeyMetadata.KeyId });
    const ct = (await v1kms.execute('Encrypt', { KeyId: KeyMetadata.KeyId, Plaintext: new Uint8Array([7]) })).CiphertextBlob;
    const key = await v1kms.engine.store.getKey(KeyMetadata.KeyId);
    const version = await v1kms.engine.store.getVersion(KeyMetadata.KeyId, 1);
    const alias = await v1kms.engine.store.getAlias('alias/old');
    const old = await openDB(name, 1, {
      upgrade(db) {
        db.createObjectStore('keys', { keyPath: 'KeyId' });
        db.createObjectStore('versions', { keyPath: ['KeyId', 'Version'] });
        db.createObjectStore('aliases', { keyPath: 'AliasName' });
      },
    });
    await old.put('keys', key);
    await old.put('versions', version);
    await old.put('aliases', alias);
    old.close();

    const store = await createIdbStore({ name });
    expect(store.db.version).toBe(2);
    expect([...store.db.transaction('aliases').store.indexNames]).toContain('byTarget');
    const kms = createKms({ store });
    const out = await kms.execute('Decrypt', { CiphertextBlob: ct });
    expect([...(out.Plaintext as Uint8Array)]).toEqual([7]);
    const aliases = (await kms.execute('ListAliases', { KeyId: KeyMetadata.KeyId })) as { Aliases: { AliasName: string }[] };
    expect(aliases.Aliases.map((a) => a.AliasName)).toEqual(['alias/old']);
    await store.close?.();
    await deleteIdbStore(name);
  });

  it('a storage failure mid-commit is a KMSInternalException and nothing is half-written', async () => {
    const name = freshName();
    const store = await createIdbStore({ name });
    const errors: unknown[] = [];
    const kms = createKms({ store, onInternalError: (e) => errors.push(e) });
    const { KeyMetadata } = (await kms.execute('CreateKey', {})) as { KeyMetadata: { KeyId: string } };
    // Read through the default Region's view of the store (its records are kept under `~us-east-1/<id>`).
    const regional = kms.engine.store;
    const before = await regional.getKey(KeyMetadata.KeyId);
    expect(before?.CurrentVersion).toBe(1);
    // The version is written first; fail the key record write that follows, as a full disk would.
    const original = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name === 'keys') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return original.apply(this, args);
    };
    try {
      await kms.execute('RotateKeyOnDemand', { KeyId: KeyMetadata.KeyId });
      expect.unreachable();
    } catch (e) {
      expect((e as KmsError).code).toBe('KMSInternalException');
    } finally {
      IDBObjectStore.prototype.put = original;
    }
    expect(errors).toHaveLength(1);
    expect(await regional.getKey(KeyMetadata.KeyId)).toEqual(before);
    expect(await regional.getVersion(KeyMetadata.KeyId, 2)).toBeUndefined();
    // And the store still works.
    await kms.execute('RotateKeyOnDemand', { KeyId: KeyMetadata.KeyId });
    expect((await regional.getKey(KeyMetadata.KeyId))?.CurrentVersion).toBe(2);
    expect(await regional.getVersion(KeyMetadata.KeyId, 2)).toBeDefined();
    await store.close?.();
    await deleteIdbStore(name);
  });
});
