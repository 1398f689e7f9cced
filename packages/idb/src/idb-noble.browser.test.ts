/**
 * The key specs @noble implements, kept in IndexedDB in real Chromium: an ECC_SECG_P256K1, an
 * ML_DSA_44 and an HMAC_224 key (material sealed as bytes under a non-extractable AES key) and an
 * ECDSA P-256 key's DIGEST path survive reopening the database and still sign and MAC; a P-256
 * DIGEST signature verifies with the page's own WebCrypto over the original message.
 * Run: npx vitest run --project browser packages/idb/src/idb-noble.browser.test.ts
 */
import { createKms, type Kms } from '@edge-kms/core';
import { describe, expect, it } from 'vitest';
import { createIdbStore, deleteIdbStore } from './idb-store.js';

let n = 0;
const freshName = () => `edge-kms-noble-test-${Date.now()}-${n++}`;
const enc = new TextEncoder();
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

async function create(kms: Kms, KeySpec: string, KeyUsage: string): Promise<string> {
  return ((await kms.execute('CreateKey', { KeySpec, KeyUsage })) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
}

async function sign(kms: Kms, KeyId: string, SigningAlgorithm: string, Message: Uint8Array, MessageType = 'RAW'): Promise<Uint8Array> {
  return ((await kms.execute('Sign', { KeyId, Message, MessageType, SigningAlgorithm })) as { Signature: Uint8Array }).Signature;
}

async function valid(kms: Kms, KeyId: string, SigningAlgorithm: string, Message: Uint8Array, Signature: Uint8Array, MessageType = 'RAW') {
  return ((await kms.execute('Verify', { KeyId, Message, MessageType, Signature, SigningAlgorithm })) as { SignatureValid: boolean }).SignatureValid;
}

async function mac(kms: Kms, KeyId: string, Message: Uint8Array): Promise<Uint8Array> {
  return ((await kms.execute('GenerateMac', { KeyId, Message, MacAlgorithm: 'HMAC_SHA_224' })) as { Mac: Uint8Array }).Mac;
}

/** A DER ECDSA signature -> WebCrypto's r||s (P-256: 32 bytes each), parsed here. */
function derToP1363(der: Uint8Array, size = 32): Uint8Array {
  expect(der[0]).toBe(0x30);
  expect(der[1]).toBe(der.length - 2);
  const out = new Uint8Array(size * 2);
  let at = 2;
  for (let i = 0; i < 2; i++) {
    expect(der[at]).toBe(0x02);
    const len = der[at + 1]!;
    let v = der.subarray(at + 2, at + 2 + len);
    while (v.length > size && v[0] === 0) v = v.subarray(1);
    out.set(v, i * size + size - v.length);
    at += 2 + len;
  }
  expect(at).toBe(der.length);
  return out;
}

describe('IndexedDB: secp256k1, ML-DSA, HMAC_224 and ECDSA DIGEST keys', () => {
  it('survive reopening the database and still sign and MAC', async () => {
    const name = freshName();
    let store = await createIdbStore({ name });
    let kms = createKms({ store });
    const k1 = await create(kms, 'ECC_SECG_P256K1', 'SIGN_VERIFY');
    const pq = await create(kms, 'ML_DSA_44', 'SIGN_VERIFY');
    const h224 = await create(kms, 'HMAC_224', 'GENERATE_VERIFY_MAC');
    const p256 = await create(kms, 'ECC_NIST_P256', 'SIGN_VERIFY');
    const message = enc.encode('signed in the browser');
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', message));
    const before = {
      k1: await sign(kms, k1, 'ECDSA_SHA_256', message),
      k1Digest: await sign(kms, k1, 'ECDSA_SHA_256', digest, 'DIGEST'),
      pq: await sign(kms, pq, 'ML_DSA_SHAKE_256', message),
      mac: await mac(kms, h224, message),
      p256Digest: await sign(kms, p256, 'ECDSA_SHA_256', digest, 'DIGEST'),
    };
    expect(before.mac.length).toBe(28);
    await store.close?.();

    store = await createIdbStore({ name });
    kms = createKms({ store });
    // The bytes are sealed under an AES key the page cannot export, for the keys that need them.
    for (const id of [k1, pq, h224]) {
      const v = await kms.engine.store.getVersion(id, 1);
      expect(v?.Material.kind).toBe('sealed');
      if (v?.Material.kind !== 'sealed') throw new Error('unreachable');
      expect(v.Material.key).toBeInstanceOf(CryptoKey);
      expect(v.Material.key.extractable).toBe(false);
      await expect(crypto.subtle.exportKey('raw', v.Material.key)).rejects.toThrow();
    }
    const p256Version = await kms.engine.store.getVersion(p256, 1);
    expect(p256Version?.Material.kind).toBe('cryptokey');
    if (p256Version?.Material.kind !== 'cryptokey') throw new Error('unreachable');
    expect(p256Version.Material.key.extractable).toBe(false);
    expect(p256Version.Material.sealed?.key.extractable).toBe(false);

    // What was signed before verifies after; new signatures and the same MAC come out of the reopened store.
    expect(await valid(kms, k1, 'ECDSA_SHA_256', message, before.k1)).toBe(true);
    expect(await valid(kms, k1, 'ECDSA_SHA_256', digest, before.k1Digest, 'DIGEST')).toBe(true);
    expect(await valid(kms, k1, 'ECDSA_SHA_256', message, await sign(kms, k1, 'ECDSA_SHA_256', message))).toBe(true);
    expect(await valid(kms, k1, 'ECDSA_SHA_256', message, await sign(kms, k1, 'ECDSA_SHA_256', digest, 'DIGEST'))).toBe(true);
    expect(await valid(kms, pq, 'ML_DSA_SHAKE_256', message, before.pq)).toBe(true);
    expect(await valid(kms, pq, 'ML_DSA_SHAKE_256', message, await sign(kms, pq, 'ML_DSA_SHAKE_256', message))).toBe(true);
    expect(hex(await mac(kms, h224, message))).toBe(hex(before.mac));
    await expect(kms.execute('VerifyMac', { KeyId: h224, Message: message, MacAlgorithm: 'HMAC_SHA_224', Mac: before.mac })).resolves.toMatchObject({
      MacValid: true,
    });

    // The P-256 DIGEST signatures, before and after the reload, verify in the page's WebCrypto over the original message.
    const spki = ((await kms.execute('GetPublicKey', { KeyId: p256 })) as { PublicKey: Uint8Array }).PublicKey;
    const pub = await crypto.subtle.importKey('spki', spki as BufferSource, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    for (const der of [before.p256Digest, await sign(kms, p256, 'ECDSA_SHA_256', digest, 'DIGEST')]) {
      expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, pub, derToP1363(der) as BufferSource, message as BufferSource)).toBe(true);
      expect(await valid(kms, p256, 'ECDSA_SHA_256', message, der)).toBe(true);
    }
    const other = enc.encode('another message');
    expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, pub, derToP1363(before.p256Digest) as BufferSource, other as BufferSource)).toBe(
      false,
    );
    await store.close?.();
    await deleteIdbStore(name);
  });
});
