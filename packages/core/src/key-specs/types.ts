/**
 * What a key family is: the key specs it owns and what each allows, how new key material is
 * made, how stored material becomes the key operations use, which metadata fields it shows, and
 * whether its keys rotate. The engine and the operations ask the family (key-specs/index.ts
 * familyOf); nothing else switches on KeySpec. Below the engine: a family knows key records and
 * bytes, never the engine or a store.
 */
import type { KeyRecord, KeySpec, KeyUsage } from '../model.js';

export type MessageType = 'RAW' | 'DIGEST' | 'EXTERNAL_MU';

export interface SigningSpec {
  /** The signing algorithms AWS lists for the spec. */
  algorithms: readonly string[];
  /** Per algorithm: the message types AWS accepts, and how long a DIGEST (or EXTERNAL_MU) must be. */
  accepts: Record<string, { types: readonly MessageType[]; digestBytes?: number }>;
  /** WebCrypto's parameters of each algorithm implemented, the digest length, and (ECDSA) the r/s length for DER. */
  how: Partial<Record<string, { params: AlgorithmIdentifier | EcdsaParams | RsaPssParams; digestBytes: number; scalarBytes?: number }>>;
}

export interface KeyFamily {
  /** For messages and logs: 'symmetric', 'hmac', 'rsa', … */
  readonly name: string;
  readonly specs: readonly KeySpec[];
  /** The KeyUsage values a key of `spec` may have, the default first. */
  usages(spec: KeySpec): readonly KeyUsage[];
  /**
   * Fresh raw key material for a key of `spec` (the caller wipes it): the key bytes, or an
   * asymmetric private key as PKCS#8 DER. Generating an RSA key takes a while: asynchronous.
   */
  newMaterial(spec: KeySpec): Uint8Array | Promise<Uint8Array>;
  /** A fresh asymmetric key pair: the private key (PKCS#8, the raw material) and its public key (SPKI), from one generation. */
  newKeyPair?(spec: KeySpec): Promise<{ pkcs8: Uint8Array; spki: Uint8Array }>;
  /** An asymmetric key's public key (DER SubjectPublicKeyInfo) from its raw material. */
  publicKeyOf?(spec: KeySpec, raw: Uint8Array): Promise<Uint8Array>;
  /** The public key (SPKI DER) -> the CryptoKey that verifies. */
  importPublicKey?(spec: KeySpec, spki: Uint8Array): Promise<CryptoKey>;
  /** Raw material -> one CryptoKey per algorithm, for families whose algorithms cannot share one (RSA). */
  importVariants?(spec: KeySpec, raw: Uint8Array, usage?: KeyUsage): Promise<Record<string, CryptoKey>>;
  /** The public key -> one CryptoKey per algorithm (verify, or encrypt). */
  importPublicVariants?(spec: KeySpec, spki: Uint8Array, usage?: KeyUsage): Promise<Record<string, CryptoKey>>;
  /** How a SIGN_VERIFY key of `spec` signs: the algorithms AWS lists, and WebCrypto's way for each one implemented. */
  signing?(spec: KeySpec): SigningSpec;
  /**
   * Whether a key's material must be openable as bytes, for a moment, by some operation that
   * WebCrypto cannot do over a CryptoKey: 'only' when WebCrypto cannot hold the key at all
   * (secp256k1, ML-DSA, HMAC-SHA-224: @noble), 'also' when WebCrypto does the common operations
   * and @noble the rest (a DIGEST message, Ed25519ph). Undefined: CryptoKeys are enough.
   */
  bytes?(spec: KeySpec, usage: KeyUsage | undefined): 'only' | 'also' | undefined;
  /**
   * Signs from the raw material, where WebCrypto cannot (@noble): `message` is the message, the
   * digest or the mu as `type` says; the answer is in AWS's encoding (DER for ECDSA). Called only
   * for what `signing().accepts` allows and WebCrypto (`how`) does not do.
   */
  signBytes?(spec: KeySpec, algorithm: string, type: MessageType, raw: Uint8Array, message: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** Verifies with the public key (SPKI) where WebCrypto cannot; false for any malformed signature. */
  verifyBytes?(spec: KeySpec, algorithm: string, type: MessageType, spki: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean | Promise<boolean>;
  /** The MAC of `message` from raw material, where WebCrypto has no hash for it (HMAC_224). */
  macBytes?(spec: KeySpec, raw: Uint8Array, message: Uint8Array): Uint8Array;
  /** Checks raw material given for a key of `spec` (seeded keys); a message when it is not valid. */
  checkMaterial(spec: KeySpec, raw: Uint8Array): string | undefined;
  /**
   * Raw material -> the non-extractable CryptoKey operations use (for the key's usage: an ECC key
   * signs or agrees keys). Does not keep or wipe `raw`.
   */
  importMaterial(spec: KeySpec, raw: Uint8Array, usage?: KeyUsage): Promise<CryptoKey>;
  // For families whose bytes() is 'only', importMaterial is never called (nothing to import).
  /**
   * The KeyMetadata fields that depend on the family: EncryptionAlgorithms, SigningAlgorithms,
   * MacAlgorithms, KeyAgreementAlgorithms (each only for the matching usage), CurrentKeyMaterialId.
   */
  metadata(key: KeyRecord): Record<string, unknown>;
  /** Do keys like this rotate (EnableKeyRotation, RotateKeyOnDemand, automatic rotation)? */
  rotatable(key: KeyRecord): boolean;
}
