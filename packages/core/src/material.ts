/**
 * Key material protection at rest. The engine makes raw material, hands it to a protector to
 * seal for the store, and wipes it. Two protectors ship: one that keeps material as
 * non-extractable CryptoKeys (memory and IndexedDB: no script can read the bytes), and one that
 * wraps it with AES-256-GCM under a root key (files, Durable Objects, KV).
 */
import { concat, utf8, wipe } from './bytes.js';
import { importAesKey } from './key-specs/index.js';
import type { StoredMaterial } from './model.js';

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
}

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
}

/** Keeps material as non-extractable CryptoKeys. */
export function createCryptoKeyProtector(): MaterialProtector {
  return {
    async seal(raw, ctx) {
      if (ctx.importVariants) return { kind: 'cryptokeys', keys: await ctx.importVariants(raw) };
      return { kind: 'cryptokey', key: await (ctx.importKey ?? importAesKey)(raw) };
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
