/**
 * The sealing side of one envelope message before any chunk is sealed: its data key (from
 * GenerateDataKey, or from a data key cache within its limits), its message key, its key section
 * and its body header. Shared by the bytes API and the streams API.
 */
import type { KmsClient } from './client.js';
import { HEADER_IV, keyFor } from './chunk-crypto.js';
import type { DataKeyCache } from './data-key-cache.js';
import {
  ALG_DATA_KEY,
  ALG_HKDF,
  concatBytes,
  encodeBodyHeader,
  encodeContext,
  encodeKeySection,
  MAX_CHUNK_SIZE,
  TAG,
  type KeySection,
} from './envelope-format.js';
import { EnvelopeError } from './errors.js';
import type { EncryptionContext } from './types.js';

/** 256 KiB: small enough to keep streams lean, and a 1 MB message seals as 4 chunks in parallel. */
export const DEFAULT_CHUNK_SIZE = 1 << 18;

/** How a message is written: format 2 with either key, or format 1 (for its known-answer vectors). */
export type EnvelopeSuite = 'v2-data-key' | 'v2-hkdf' | 'v1';

export interface EncryptOptions {
  keyId: string;
  encryptionContext?: EncryptionContext;
  chunkSize?: number;
  cache?: DataKeyCache;
}

export function checkChunkSize(size: number): number {
  if (!Number.isInteger(size) || size < 1 || size > MAX_CHUNK_SIZE) throw new EnvelopeError(`"chunkSize" expected 1..${MAX_CHUNK_SIZE}, got ${size}`);
  return size;
}

export interface Sealer {
  format: 1 | 2;
  keySection: Uint8Array;
  /** The body header as written (format 1: with its tag; resolves once the tag is computed). */
  bodyHeader: Promise<Uint8Array>;
  /** Format 2: the header bytes chunk 0 authenticates. */
  header: Uint8Array;
  headerLength: number;
  chunkSize: number;
  key: CryptoKey;
}

export async function newSealer(kms: KmsClient, o: EncryptOptions, knownLength: number | undefined): Promise<Sealer> {
  const chunkSize = checkChunkSize(o.chunkSize ?? DEFAULT_CHUNK_SIZE);
  const ctx = encodeContext(o.encryptionContext);
  // A stream of unknown length cannot be counted against a byte limit in advance: no cache.
  const cache = o.cache && knownLength !== undefined ? o.cache : undefined;
  const cacheId = cache ? `${o.keyId}\u0000${Array.from(ctx).join(',')}` : '';
  const cached = cache?.take(cacheId, knownLength!, Date.now());
  // A data key that may serve another message (it is or will be in the cache) never keys a
  // message itself: such messages use algorithm 1 (HKDF with the message id).
  const shared = cached !== undefined || (cache !== undefined && knownLength! <= cache.options.maxBytes && cache.options.maxMessages >= 1);
  const generated = cached ? undefined : kms.generateDataKey({ KeyId: o.keyId, KeySpec: 'AES_256', EncryptionContext: o.encryptionContext });
  // While KMS makes the data key: everything that does not depend on it.
  const algorithm = shared ? ALG_HKDF : ALG_DATA_KEY;
  const messageId = crypto.getRandomValues(new Uint8Array(16));
  const header = encodeBodyHeader(2, algorithm, chunkSize, messageId, ctx);
  let dk: { keyId: string; plaintext: Uint8Array; wrapped: Uint8Array };
  if (cached) {
    dk = { keyId: cached.keyId, plaintext: cached.plaintext, wrapped: cached.wrapped };
  } else {
    const out = await generated!;
    dk = { keyId: out.KeyId, plaintext: out.Plaintext, wrapped: out.CiphertextBlob };
    if (shared)
      cache!.put(cacheId, { keyId: out.KeyId, plaintext: out.Plaintext, wrapped: out.CiphertextBlob, created: Date.now(), messages: 1, bytes: knownLength! });
  }
  try {
    return sealerOf(2, { keyId: dk.keyId, wrappedKey: dk.wrapped }, header, chunkSize, await keyFor(algorithm, dk.plaintext, messageId));
  } finally {
    if (!shared) dk.plaintext.fill(0);
  }
}

/** Everything but the KMS call: deterministic given the data key and message id (known-answer tests). */
export async function prepareSealer(
  section: KeySection,
  dataKey: Uint8Array,
  messageId: Uint8Array,
  chunkSize: number,
  context: EncryptionContext | undefined,
  suite: EnvelopeSuite = 'v2-data-key',
): Promise<Sealer> {
  const format = suite === 'v1' ? 1 : 2;
  const algorithm = suite === 'v2-data-key' ? ALG_DATA_KEY : ALG_HKDF;
  const key = await keyFor(algorithm, dataKey, messageId);
  return sealerOf(format, section, encodeBodyHeader(format, algorithm, chunkSize, messageId, encodeContext(context)), chunkSize, key);
}

function sealerOf(format: 1 | 2, section: KeySection, header: Uint8Array, chunkSize: number, key: CryptoKey): Sealer {
  const keySection = encodeKeySection(section);
  if (format === 2) return { format, keySection, bodyHeader: Promise.resolve(header), header, headerLength: header.length, chunkSize, key };
  // Format 1's header tag is not awaited here: it is computed while the first chunks are sealed.
  const bodyHeader = crypto.subtle
    .encrypt({ name: 'AES-GCM', iv: HEADER_IV, additionalData: header as BufferSource }, key, new Uint8Array(0))
    .then((tag) => concatBytes(header, new Uint8Array(tag)));
  bodyHeader.catch(() => undefined);
  return { format, keySection, bodyHeader, header, headerLength: header.length + TAG, chunkSize, key };
}
