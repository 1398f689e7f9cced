/**
 * Opened key material, cached: the non-extractable CryptoKeys of each version a key has, opened
 * from the store once (versions are immutable) by the material protector, as the key's family
 * imports material. A second map holds the same entries once opened, so the warm path of every
 * cryptographic operation reads them without a promise. Bounded; the oldest go first.
 */
import { ECDH_BITS, ecdhOf, familyOfKey, importersOf } from './key-specs/index.js';
import { constantTimeEqual, wipe } from './bytes.js';
import type { BytesOpener, MaterialProtector } from './material.js';
import type { KeyRecord, MaterialVersion } from './model.js';
import type { KmsStore } from './store/types.js';

export interface OpenedMaterial {
  /** The CryptoKey operations use; none for material WebCrypto cannot hold (secp256k1, ML-DSA, HMAC_224). */
  key?: CryptoKey;
  keyMaterialId: string;
  /** The CryptoKeys by algorithm (RSA), and the public ones. */
  variants?: Record<string, CryptoKey>;
  publicVariants?: Record<string, CryptoKey>;
  /** An asymmetric key's public key: the CryptoKey that verifies, and its SPKI DER. */
  publicKey?: CryptoKey;
  spki?: Uint8Array;
  /** Opens the raw material for one operation that needs the bytes (the caller wipes them), where the protector keeps them. */
  bytes?: BytesOpener;
}

export interface MaterialCache {
  /** The materials of one version (several only where racing writers of a store without compare-and-set made more). */
  open(key: Pick<KeyRecord, 'KeyId' | 'KeySpec'> & Partial<Pick<KeyRecord, 'KeyUsage'>>, version: number, refresh: boolean): Promise<OpenedMaterial[]>;
  /** The same, when already open; else undefined. */
  ready(keyId: string, version: number): OpenedMaterial[] | undefined;
  /** Drops every version of a key (deleted keys). */
  forget(keyId: string): void;
  /** Drops everything (test-mode reset). */
  clear(): void;
}

/**
 * The public key a version record holds is the private key's: a signature made with the private
 * key must verify under it. The record's public key is not covered by the material's wrapping,
 * so a store that was written to must not be able to swap it (GetPublicKey, Verify). For signing
 * keys; encryption and key-agreement keys have their own checks below.
 */
async function checkPair(family: ReturnType<typeof familyOfKey>, spec: KeyRecord['KeySpec'], opened: OpenedMaterial): Promise<void> {
  const signing = family.signing?.(spec);
  const [alg, how] = Object.entries(signing?.how ?? {})[0] ?? [];
  if (!alg || !how) return;
  const priv = opened.variants?.[alg] ?? opened.key;
  const pub = opened.publicVariants?.[alg] ?? opened.publicKey;
  if (!pub || !priv || priv.usages.indexOf('sign') < 0) return;
  const probe = new TextEncoder().encode('edge-kms: key pair check');
  const sig = await crypto.subtle.sign(how.params, priv, probe);
  if (!(await crypto.subtle.verify(how.params, pub, sig, probe))) throw new Error("the stored public key is not the private key's");
}

/** The same check for material WebCrypto cannot hold: the public key derived from the bytes is the stored one. */
async function checkDerivedPublicKey(family: ReturnType<typeof familyOfKey>, spec: KeyRecord['KeySpec'], opened: OpenedMaterial): Promise<void> {
  if (!opened.bytes || !opened.spki || !family.publicKeyOf) return;
  const raw = await opened.bytes();
  try {
    if (!constantTimeEqual(await family.publicKeyOf(spec, raw), opened.spki)) throw new Error("the stored public key is not the private key's");
  } finally {
    wipe(raw);
  }
}

/**
 * checkPair for an encryption key (RSA ENCRYPT_DECRYPT): a probe encrypted with the stored public
 * key (Encrypt, and anyone holding GetPublicKey's answer) must decrypt with the private key.
 */
async function checkEncryptionPair(opened: OpenedMaterial): Promise<void> {
  for (const [alg, pub] of Object.entries(opened.publicVariants ?? {})) {
    const priv = opened.variants?.[alg];
    if (pub.algorithm.name !== 'RSA-OAEP' || pub.usages.indexOf('encrypt') < 0 || !priv || priv.usages.indexOf('decrypt') < 0) continue;
    const probe = new TextEncoder().encode('edge-kms: key pair check');
    const sealed = await crypto.subtle.encrypt({ name: 'RSA-OAEP' }, pub, probe);
    let back: Uint8Array | undefined;
    try {
      back = new Uint8Array(await crypto.subtle.decrypt({ name: 'RSA-OAEP' }, priv, sealed));
    } catch {
      // below
    }
    if (!back || !constantTimeEqual(back, probe)) throw new Error("the stored public key is not the private key's");
    return; // one algorithm suffices: every variant is the same key pair
  }
}

/** One ECDH key pair per curve, made once: the other party of the key-agreement check. */
const PROBES = new Map<string, Promise<CryptoKeyPair>>();

/**
 * checkPair for a key-agreement key (ECDH): the secret the private key agrees with a probe key
 * must be the one the probe agrees with the stored public key (DeriveSharedSecret's callers and
 * GetPublicKey's answer use it).
 */
async function checkAgreementPair(spec: KeyRecord['KeySpec'], opened: OpenedMaterial): Promise<void> {
  if (opened.key?.algorithm.name !== 'ECDH' || !opened.spki) return;
  const params = ecdhOf(spec);
  let probe = PROBES.get(params.namedCurve);
  if (!probe) PROBES.set(params.namedCurve, (probe = crypto.subtle.generateKey(params, false, ['deriveBits']) as Promise<CryptoKeyPair>));
  const pair = await probe;
  const bits = ECDH_BITS[spec] ?? 256;
  let ok = false;
  try {
    const stored = await crypto.subtle.importKey('spki', opened.spki as BufferSource, params, true, []);
    const [a, b] = await Promise.all([
      crypto.subtle.deriveBits({ name: 'ECDH', public: pair.publicKey }, opened.key, bits),
      crypto.subtle.deriveBits({ name: 'ECDH', public: stored }, pair.privateKey, bits),
    ]);
    ok = constantTimeEqual(new Uint8Array(a), new Uint8Array(b));
  } catch {
    // below
  }
  if (!ok) throw new Error("the stored public key is not the private key's");
}

export function createMaterialCache(store: KmsStore, protector: MaterialProtector, size: number): MaterialCache {
  const opening = new Map<string, Promise<OpenedMaterial[]>>();
  const opened = new Map<string, OpenedMaterial[]>();
  return {
    open(key, version, refresh) {
      const keyId = key.KeyId;
      const id = `${keyId}/${version}`;
      const hit = refresh ? undefined : opening.get(id);
      if (hit) return hit;
      const family = familyOfKey(key);
      const { importKey, importVariants, bytes } = importersOf(key);
      const p = (async () => {
        const records = store.getVersionCandidates
          ? await store.getVersionCandidates(keyId, version)
          : [await store.getVersion(keyId, version)].filter((v): v is MaterialVersion => v !== undefined);
        return Promise.all(
          records.map(async (v): Promise<OpenedMaterial> => {
            const ctx = { keyId, version, keyMaterialId: v.KeyMaterialId, importKey, importVariants, ...(bytes && { bytes }) };
            let opened: OpenedMaterial;
            if (bytes === 'only') {
              const open = protector.bytesOf(v.Material, ctx);
              if (!open) throw new Error(`the material of ${key.KeySpec} key ${keyId} cannot be opened as bytes`);
              opened = { keyMaterialId: v.KeyMaterialId, bytes: open };
            } else if (importVariants) {
              const variants = await protector.openVariants(v.Material, ctx);
              opened = { key: Object.values(variants)[0]!, keyMaterialId: v.KeyMaterialId, variants };
            } else {
              opened = { key: await protector.open(v.Material, ctx), keyMaterialId: v.KeyMaterialId };
            }
            if (bytes === 'also') {
              const open = protector.bytesOf(v.Material, ctx);
              if (open) opened.bytes = open;
            }
            if (v.PublicKey) {
              opened.spki = new Uint8Array(v.PublicKey);
              // The CryptoKey that verifies: for signing keys (a key-agreement key's public key is only handed out).
              if (family.importPublicKey && key.KeyUsage !== 'KEY_AGREEMENT') opened.publicKey = await family.importPublicKey(key.KeySpec, v.PublicKey);
              if (family.importPublicVariants) opened.publicVariants = await family.importPublicVariants(key.KeySpec, v.PublicKey, key.KeyUsage);
              if (bytes === 'only') await checkDerivedPublicKey(family, key.KeySpec, opened);
              else {
                await checkPair(family, key.KeySpec, opened);
                await checkEncryptionPair(opened);
                if (key.KeyUsage === 'KEY_AGREEMENT') await checkAgreementPair(key.KeySpec, opened);
              }
            }
            return opened;
          }),
        );
      })();
      if (opening.size >= size) {
        const oldest = opening.keys().next().value;
        if (oldest !== undefined) {
          opening.delete(oldest);
          opened.delete(oldest);
        }
      }
      opening.set(id, p);
      opened.delete(id);
      // Only present versions stay cached; a miss or failure is asked again next time.
      p.then(
        (m) => {
          if (opening.get(id) !== p) return;
          if (m.length > 0) opened.set(id, m);
          else opening.delete(id);
        },
        () => {
          if (opening.get(id) === p) opening.delete(id);
        },
      );
      return p;
    },
    ready: (keyId, version) => opened.get(`${keyId}/${version}`),
    clear() {
      opening.clear();
      opened.clear();
    },
    forget(keyId) {
      for (const id of [...opening.keys()]) {
        if (id.startsWith(`${keyId}/`)) {
          opening.delete(id);
          opened.delete(id);
        }
      }
    },
  };
}

/** Of the materials of a key's current version, the one it encrypts with (the current candidate, if several). */
export function currentOf(key: KeyRecord, all: OpenedMaterial[]): OpenedMaterial | undefined {
  return all.length === 1 ? all[0] : all.find((x) => x.keyMaterialId === key.CurrentKeyMaterialId);
}
