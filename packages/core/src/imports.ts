/**
 * Importing key material (keys with Origin EXTERNAL): the wrapping key pairs GetParametersForImport
 * hands out, their import tokens, unwrapping what ImportKeyMaterial receives, and the checks of
 * the material against the key's spec. AWS's behaviour and errors; decision 0009.
 *
 * Wrapping keys never leave the KMS: each GetParametersForImport makes a fresh RSA key pair (from a
 * small pool per size, refilled in the background while no request waits for an RSA generation:
 * an RSA-4096 pair takes seconds on a busy machine), keeps
 * its private key as a non-extractable CryptoKey in memory, and answers its public key and a
 * token that names it. The private key is dropped when its token's 24 hours are over (checked on
 * every use and by runMaintenance). They are held in memory only, never in a store: a restarted
 * server (or an evicted Durable Object) has forgotten its tokens, and ImportKeyMaterial answers
 * InvalidImportTokenException; GetParametersForImport again gives a new one.
 */
import { aeskwp } from '@noble/ciphers/aes.js';
import { publicRandomBytes, wipe } from './bytes.js';
import { KmsError } from './errors.js';
import { generateKeyPair, rsaGenerationsWaiting } from './key-specs/asymmetric.js';
import { familyOf, RSA_BITS } from './key-specs/index.js';
import type { KeyRecord, KeySpec } from './model.js';

export const WRAPPING_ALGORITHMS = [
  'RSAES_PKCS1_V1_5',
  'RSAES_OAEP_SHA_1',
  'RSAES_OAEP_SHA_256',
  'RSA_AES_KEY_WRAP_SHA_1',
  'RSA_AES_KEY_WRAP_SHA_256',
  'SM2PKE',
] as const;
export type WrappingAlgorithm = (typeof WRAPPING_ALGORITHMS)[number];
export const WRAPPING_KEY_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096', 'SM2'] as const;
export type WrappingKeySpec = (typeof WRAPPING_KEY_SPECS)[number];

/** How long an import token and its wrapping key live (AWS: 24 hours). */
export const IMPORT_TOKEN_LIFETIME_MS = 24 * 60 * 60 * 1000;
/** At most this many tokens are kept per Region; beyond, the oldest is forgotten. */
const MAX_TOKENS = 1000;
/** Pre-generated wrapping key pairs kept per size. */
const POOL_SIZE = 2;

const BITS = RSA_BITS;

interface Pair {
  pkcs8: Uint8Array;
  spki: Uint8Array;
}

const pools = new Map<string, Pair[]>();
/** The sizes whose pool wants refilling, and the one background loop that refills them. */
const wanted = new Set<keyof typeof BITS>();
let filling = false;
/** Who waits for the pools to be full (whenWrappingKeyPoolsFull). */
const waitingFull: (() => void)[] = [];
/** Bumped by clearWrappingKeyPools: a pair generated before it is not pooled after it. */
let epoch = 0;

function generate(spec: keyof typeof BITS, background = false): Promise<Pair> {
  return generateKeyPair(
    { name: 'RSA-OAEP', modulusLength: BITS[spec], publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' } as RsaHashedKeyGenParams,
    ['encrypt', 'decrypt'],
    { background },
  );
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Refills a size's pool in the background: one generation at a time for all sizes, and only
 * while no request waits at the RSA generation gate, so that the pool never takes a request's
 * place there (nor makes a request ThrottlingException).
 */
function refill(spec: keyof typeof BITS): void {
  wanted.add(spec);
  if (filling) return;
  filling = true;
  void (async () => {
    try {
      while (wanted.size > 0) {
        for (const s of [...wanted]) {
          const pool = pools.get(s) ?? [];
          pools.set(s, pool);
          if (pool.length >= POOL_SIZE) {
            wanted.delete(s);
            continue;
          }
          if (rsaGenerationsWaiting() > 0) {
            await pause(25);
            continue;
          }
          const at = epoch;
          try {
            const pair = await generate(s, true);
            if (at === epoch) pool.push(pair);
            else wipe(pair.pkcs8);
          } catch {
            wanted.delete(s); // throttled or failed: the next GetParametersForImport asks again
          }
        }
      }
    } finally {
      filling = false;
      for (const resolve of waitingFull.splice(0)) resolve();
    }
  })();
}

/** A fresh wrapping key pair: from the pool when it has one (refilled behind), else generated now. */
async function wrappingPair(spec: keyof typeof BITS): Promise<Pair> {
  const pair = pools.get(spec)?.shift();
  if (pair) {
    refill(spec);
    return pair;
  }
  // An empty pool: the caller's pair first (the gate runs one generation at a time), then the refill.
  const mine = await generate(spec);
  refill(spec);
  return mine;
}

/** Resolves when no pool is refilling (every pool asked for is full, or its refill gave up): bench and tests. */
export function whenWrappingKeyPoolsFull(): Promise<void> {
  if (!filling) return Promise.resolve();
  return new Promise((resolve) => waitingFull.push(resolve));
}

/** Drops the pools (tests and bench: measure a cold pool). */
export function clearWrappingKeyPools(): void {
  for (const pool of pools.values()) for (const p of pool) wipe(p.pkcs8);
  pools.clear();
  wanted.clear();
  epoch++;
}

interface TokenEntry {
  keyId: string;
  algorithm: WrappingAlgorithm;
  spec: WrappingKeySpec;
  privateKey: CryptoKey;
  validTo: number;
}

/** Token bytes: version 1, ParametersValidTo (8 bytes, ms, big-endian), 32 random bytes naming the entry. */
const TOKEN_BYTES = 1 + 8 + 32;

function tokenName(token: Uint8Array): string {
  let s = '';
  for (let i = 9; i < TOKEN_BYTES; i++) s += token[i]!.toString(16).padStart(2, '0');
  return s;
}

export interface ImportParameters {
  token: Uint8Array;
  publicKey: Uint8Array;
  validTo: number;
}

/** One Region's import tokens and their wrapping private keys, in memory. */
export class ImportTokens {
  private readonly entries = new Map<string, TokenEntry>();

  /** A fresh wrapping key pair for `keyId` and its token (GetParametersForImport). */
  async issue(keyId: string, algorithm: WrappingAlgorithm, spec: WrappingKeySpec, now: number): Promise<ImportParameters> {
    if (spec === 'SM2') throw new KmsError('UnsupportedOperationException', 'WrappingKeySpec SM2 is for AWS China Regions and is not supported by edge-kms.');
    const pair = await wrappingPair(spec);
    let privateKey: CryptoKey;
    try {
      privateKey = await crypto.subtle.importKey('pkcs8', pair.pkcs8 as BufferSource, { name: 'RSA-OAEP', hash: oaepHash(algorithm) }, false, ['decrypt']);
    } finally {
      wipe(pair.pkcs8);
    }
    this.sweep(now);
    const validTo = now + IMPORT_TOKEN_LIFETIME_MS;
    const token = new Uint8Array(TOKEN_BYTES);
    token[0] = 1;
    new DataView(token.buffer).setBigUint64(1, BigInt(validTo));
    token.set(publicRandomBytes(32), 9);
    if (this.entries.size >= MAX_TOKENS) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(tokenName(token), { keyId, algorithm, spec, privateKey, validTo });
    return { token, publicKey: pair.spki, validTo };
  }

  /** The entry of a token for `keyId`, or AWS's error: expired, or not one of ours for this key. */
  entryFor(token: Uint8Array, keyId: string, now: number): TokenEntry {
    this.sweep(now);
    const invalid = () => new KmsError('InvalidImportTokenException', 'The import token is invalid, or was not issued for this KMS key.');
    if (token.length !== TOKEN_BYTES || token[0] !== 1) throw invalid();
    const entry = this.entries.get(tokenName(token));
    if (!entry) {
      const validTo = Number(new DataView(token.buffer, token.byteOffset, token.byteLength).getBigUint64(1));
      if (validTo <= now) throw new KmsError('ExpiredImportTokenException', 'The import token has expired. Call GetParametersForImport for a new one.');
      throw invalid();
    }
    if (entry.keyId !== keyId) throw invalid();
    return entry;
  }

  /** Forgets the tokens (and their wrapping keys) whose 24 hours are over. */
  sweep(now: number): void {
    for (const [name, e] of this.entries) if (e.validTo <= now) this.entries.delete(name);
  }

  clear(): void {
    this.entries.clear();
  }
}

function oaepHash(algorithm: WrappingAlgorithm): 'SHA-1' | 'SHA-256' {
  return algorithm.endsWith('SHA_1') ? 'SHA-1' : 'SHA-256';
}

/** AWS's wrapping rules per key type, checked by GetParametersForImport. */
export function checkWrapping(key: KeyRecord, algorithm: WrappingAlgorithm, spec: WrappingKeySpec): void {
  if (algorithm === 'RSAES_PKCS1_V1_5') {
    throw new KmsError(
      'ValidationException',
      'The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported. Use RSAES_OAEP_SHA_256 or RSA_AES_KEY_WRAP_SHA_256.',
    );
  }
  if (algorithm === 'SM2PKE' || spec === 'SM2') {
    throw new KmsError(
      'UnsupportedOperationException',
      'The SM2PKE wrapping algorithm and SM2 wrapping keys are for AWS China Regions and are not supported by edge-kms.',
    );
  }
  const oaep = algorithm === 'RSAES_OAEP_SHA_1' || algorithm === 'RSAES_OAEP_SHA_256';
  if (oaep && key.KeySpec.startsWith('RSA_')) {
    throw new KmsError('ValidationException', `${key.KeySpec} key material must be wrapped with RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256.`);
  }
  if (oaep && key.KeySpec === 'ECC_NIST_P521' && spec === 'RSA_2048') {
    throw new KmsError(
      'ValidationException',
      'ECC_NIST_P521 key material is too long for RSAES_OAEP with an RSA_2048 wrapping key. Use RSA_3072 or RSA_4096, or RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256.',
    );
  }
}

/**
 * EncryptedKeyMaterial -> the raw material (the caller wipes it). RSAES_OAEP_*: one OAEP block;
 * RSA_AES_KEY_WRAP_*: an OAEP block holding a 32-byte AES key, then the material under AES key wrap
 * with padding (RFC 5649, @noble/ciphers: WebCrypto's AES-KW has no padding). Any failure is the
 * one InvalidCiphertextException.
 */
export async function unwrapMaterial(entry: TokenEntry, encrypted: Uint8Array): Promise<Uint8Array> {
  const invalid = () =>
    new KmsError('InvalidCiphertextException', 'The EncryptedKeyMaterial could not be decrypted with the wrapping key of this import token.');
  const block = BITS[entry.spec as keyof typeof BITS] / 8;
  const decrypt = async (c: Uint8Array) => new Uint8Array(await crypto.subtle.decrypt({ name: 'RSA-OAEP' }, entry.privateKey, c as BufferSource));
  if (entry.algorithm === 'RSAES_OAEP_SHA_1' || entry.algorithm === 'RSAES_OAEP_SHA_256') {
    if (encrypted.length !== block) throw invalid();
    try {
      return await decrypt(encrypted);
    } catch {
      throw invalid();
    }
  }
  if (encrypted.length <= block) throw invalid();
  let aesKey: Uint8Array | undefined;
  try {
    aesKey = await decrypt(encrypted.subarray(0, block));
    if (aesKey.length !== 32) throw invalid();
    return aeskwp(aesKey).decrypt(encrypted.subarray(block));
  } catch {
    throw invalid();
  } finally {
    wipe(aesKey);
  }
}

/**
 * Checks imported material against the key's spec and answers the public key of an asymmetric
 * key (derived from the private key, never taken from the caller); IncorrectKeyMaterialException
 * when it is not material for this key.
 */
export async function checkImportedMaterial(key: KeyRecord, raw: Uint8Array): Promise<Uint8Array | undefined> {
  const incorrect = () => new KmsError('IncorrectKeyMaterialException', `The key material is not valid for a ${key.KeySpec} KMS key.`);
  const family = familyOf(key.KeySpec);
  if (!family) throw incorrect();
  // Symmetric: 32 bytes; HMAC: AWS's lengths (HMAC_224 28-64, _256 32-64, _384 48-128, _512 64-128).
  if (family.checkMaterial(key.KeySpec, raw) !== undefined) throw incorrect();
  if (!family.publicKeyOf) return undefined;
  let spki: Uint8Array;
  try {
    spki = await family.publicKeyOf(key.KeySpec, raw);
    // The private key must open as the key's own kind (an EC key on another curve does not).
    if (family.bytes?.(key.KeySpec, key.KeyUsage) !== 'only') await family.importMaterial(key.KeySpec, raw, key.KeyUsage);
  } catch {
    throw incorrect();
  }
  const bits = (RSA_BITS as Partial<Record<KeySpec, number>>)[key.KeySpec];
  if (bits !== undefined) {
    const pub = await crypto.subtle.importKey('spki', spki as BufferSource, { name: 'RSA-PSS', hash: 'SHA-256' }, true, ['verify']);
    if ((pub.algorithm as RsaHashedKeyAlgorithm).modulusLength !== bits) throw incorrect();
  }
  return spki;
}
