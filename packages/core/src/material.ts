/**
 * Key material protection at rest. The engine makes raw material, hands it to a protector to
 * seal for the store, and wipes it. Two protectors ship: one that keeps material as
 * non-extractable CryptoKeys (memory and IndexedDB: no script can read the bytes), and one that
 * wraps it with AES-256-GCM under a root key (files, Durable Objects, KV).
 */
import { concat, utf8, wipe } from './bytes.js';
import { KmsError } from './errors.js';
import { importAesKey } from './key-specs/index.js';
import type { SealedBytes, StoredMaterial } from './model.js';

export { importAesKey };

export interface MaterialContext {
  keyId: string;
  version: number;
  keyMaterialId: string;
  /**
   * How raw material becomes the key operations use: the key family's importMaterial (the engine
   * passes it). AES-256-GCM when absent.
   */
  importKey?: (raw: Uint8Array) => Promise<CryptoKey>;
  /**
   * For families whose material serves several algorithms that WebCrypto keys cannot share (RSA):
   * raw material -> one CryptoKey per algorithm. The protector keeps or opens all of them.
   */
  importVariants?: (raw: Uint8Array) => Promise<Record<string, CryptoKey>>;
  /**
   * Whether some operation needs the raw bytes for a moment (the family's bytes()): 'only' when
   * there is no CryptoKey to make at all, 'also' beside the CryptoKeys.
   */
  bytes?: 'only' | 'also';
}

/** Raw bytes of a material, fresh on each call (the caller wipes them). */
export type BytesOpener = () => Promise<Uint8Array>;

export interface MaterialProtector {
  /** Seals raw key material for storage. The caller wipes `raw` afterwards. */
  seal(raw: Uint8Array, ctx: MaterialContext): Promise<StoredMaterial>;
  /** Returns the non-extractable CryptoKey of stored material. */
  open(stored: StoredMaterial, ctx: MaterialContext): Promise<CryptoKey>;
  /** The CryptoKeys by algorithm of material sealed with ctx.importVariants. */
  openVariants(stored: StoredMaterial, ctx: MaterialContext): Promise<Record<string, CryptoKey>>;
  /**
   * The raw bytes of stored material, for replication to a multi-Region key's replica in another
   * deployment (wrapped again for transport at once; the caller wipes them). Only protectors that
   * can read their own material have it: the root-key protector does, CryptoKeys do not.
   */
  exportRaw?(stored: StoredMaterial, ctx: MaterialContext): Promise<Uint8Array>;
  /**
   * How to open stored material as bytes for one operation (a @noble signature, a DIGEST, an
   * HMAC-SHA-224), or undefined when this material cannot be (kept as CryptoKeys only).
   */
  bytesOf(stored: StoredMaterial, ctx: MaterialContext): BytesOpener | undefined;
  /** Whether material that exists only as bytes (secp256k1, ML-DSA, HMAC_224) can be kept at all. */
  readonly keepsBytes: boolean;
}

/** AWS's answer where a protector keeps CryptoKeys only and a key needs its bytes. */
export function bytesRefused(spec?: string): KmsError {
  return new KmsError(
    'UnsupportedOperationException',
    `${spec ? `${spec} keys need their key material as bytes, but this` : 'This'} KMS keeps key material as non-extractable CryptoKeys only (createCryptoKeyProtector({ keepBytes: false })).`,
  );
}

export interface CryptoKeyProtectorOptions {
  /**
   * Keep the material of keys that need it openable as bytes (default true): secp256k1, ML-DSA and
   * HMAC_224 keys cannot be made without, and ECDSA DIGEST messages and ED25519_PH_SHA_512 need it.
   * It is sealed under a non-extractable AES key of its own, beside the CryptoKeys, so that a
   * script of the page that reads the store can open it, which it cannot do with a non-extractable
   * CryptoKey. false keeps every key a CryptoKey only: CreateKey refuses the specs that need bytes,
   * and DIGEST / ED25519_PH_SHA_512 answer UnsupportedOperationException.
   */
  keepBytes?: boolean;
}

function sealAad(ctx: MaterialContext): Uint8Array {
  return utf8(`edge-kms/sealed-bytes/v1\u0000${ctx.keyId}\u0000${ctx.version}\u0000${ctx.keyMaterialId}`);
}

async function sealBytes(raw: Uint8Array, ctx: MaterialContext): Promise<SealedBytes> {
  const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: iv as BufferSource, additionalData: sealAad(ctx) as BufferSource }, key, raw as BufferSource);
  return { key, data: concat(iv, new Uint8Array(ct)) };
}

function openerOf(sealed: SealedBytes, ctx: MaterialContext): BytesOpener {
  const aad = sealAad(ctx);
  return async () =>
    new Uint8Array(
      await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: sealed.data.subarray(0, 12) as BufferSource, additionalData: aad as BufferSource },
        sealed.key,
        sealed.data.subarray(12) as BufferSource,
      ),
    );
}

/** Keeps material as non-extractable CryptoKeys (and, where a key needs it, its bytes sealed beside them). */
export function createCryptoKeyProtector(options: CryptoKeyProtectorOptions = {}): MaterialProtector {
  const keepBytes = options.keepBytes ?? true;
  return {
    keepsBytes: keepBytes,
    async seal(raw, ctx) {
      if (ctx.bytes === 'only') {
        if (!keepBytes) throw bytesRefused();
        return { kind: 'sealed', ...(await sealBytes(raw, ctx)) };
      }
      const sealed = ctx.bytes === 'also' && keepBytes ? await sealBytes(raw, ctx) : undefined;
      if (ctx.importVariants) return { kind: 'cryptokeys', keys: await ctx.importVariants(raw), ...(sealed && { sealed }) };
      return { kind: 'cryptokey', key: await (ctx.importKey ?? importAesKey)(raw), ...(sealed && { sealed }) };
    },
    async open(stored) {
      if (stored.kind === 'cryptokeys') return Object.values(stored.keys)[0]!;
      if (stored.kind !== 'cryptokey') throw new Error('material is not a CryptoKey');
      return stored.key;
    },
    async openVariants(stored) {
      if (stored.kind !== 'cryptokeys') throw new Error('material is not a set of CryptoKeys');
      return stored.keys;
    },
    bytesOf(stored, ctx) {
      if (stored.kind === 'sealed') return openerOf(stored, ctx);
      if ((stored.kind === 'cryptokey' || stored.kind === 'cryptokeys') && stored.sealed) return openerOf(stored.sealed, ctx);
      return undefined;
    },
  };
}

export const ROOT_WRAP_ALG = 'A256GCM-ROOT-1';

function wrapAad(ctx: MaterialContext): Uint8Array {
  return utf8(`edge-kms/material/v1\u0000${ctx.keyId}\u0000${ctx.version}\u0000${ctx.keyMaterialId}`);
}

/**
 * Wraps material with AES-256-GCM under a root key. The additional data binds the wrapped bytes
 * to their key id, version and material id, so a store cannot swap material between keys.
 */
export async function createRootKeyProtector(rootKeyBytes: Uint8Array): Promise<MaterialProtector> {
  if (rootKeyBytes.length !== 32) throw new RangeError(`"rootKey" expected 32 bytes, got ${rootKeyBytes.length}`);
  const root = await importAesKey(rootKeyBytes);
  return {
    async seal(raw, ctx) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const ct = new Uint8Array(
        await crypto.subtle.encrypt({ name: 'AES-GCM', iv: iv as BufferSource, additionalData: wrapAad(ctx) as BufferSource }, root, raw as BufferSource),
      );
      return { kind: 'wrapped', alg: ROOT_WRAP_ALG, data: concat(iv, ct) };
    },
    async open(stored, ctx) {
      const raw = await unwrap(stored, ctx);
      try {
        return await (ctx.importKey ?? importAesKey)(raw);
      } finally {
        wipe(raw);
      }
    },
    async openVariants(stored, ctx) {
      if (!ctx.importVariants) throw new Error('no variants to open');
      const raw = await unwrap(stored, ctx);
      try {
        return await ctx.importVariants(raw);
      } finally {
        wipe(raw);
      }
    },
    exportRaw: (stored, ctx) => unwrap(stored, ctx),
    bytesOf: (stored, ctx) => () => unwrap(stored, ctx),
    keepsBytes: true,
  };
  async function unwrap(stored: StoredMaterial, ctx: MaterialContext): Promise<Uint8Array> {
    if (stored.kind !== 'wrapped' || stored.alg !== ROOT_WRAP_ALG) throw new Error('unsupported stored material');
    return new Uint8Array(
      await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: stored.data.subarray(0, 12) as BufferSource, additionalData: wrapAad(ctx) as BufferSource },
        root,
        stored.data.subarray(12) as BufferSource,
      ),
    );
  }
}
