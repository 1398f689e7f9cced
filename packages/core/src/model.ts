/**
 * The records edge-kms keeps. Field names follow AWS where AWS has one. Times are epoch
 * milliseconds inside the engine and stores; the protocol turns them into AWS's epoch seconds.
 */

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion' | 'PendingReplicaDeletion' | 'PendingImport' | 'Unavailable' | 'Creating' | 'Updating';

export type KeySpec =
  | 'SYMMETRIC_DEFAULT'
  | 'RSA_2048'
  | 'RSA_3072'
  | 'RSA_4096'
  | 'ECC_NIST_P256'
  | 'ECC_NIST_P384'
  | 'ECC_NIST_P521'
  | 'ECC_SECG_P256K1'
  | 'HMAC_224'
  | 'HMAC_256'
  | 'HMAC_384'
  | 'HMAC_512'
  | 'SM2'
  | 'ML_DSA_44'
  | 'ML_DSA_65'
  | 'ML_DSA_87'
  | 'ECC_NIST_EDWARDS25519';

export const KEY_SPECS: readonly KeySpec[] = [
  'SYMMETRIC_DEFAULT',
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'HMAC_224',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
  'SM2',
  'ML_DSA_44',
  'ML_DSA_65',
  'ML_DSA_87',
  'ECC_NIST_EDWARDS25519',
];

/**
 * The deprecated CustomerMasterKeySpec's values (AWS's enum): every KeySpec but the ones added
 * after it was deprecated (ECC_NIST_EDWARDS25519, ML_DSA_*), for which AWS answers none.
 */
export const CUSTOMER_MASTER_KEY_SPECS: readonly KeySpec[] = KEY_SPECS.filter((s) => s !== 'ECC_NIST_EDWARDS25519' && !s.startsWith('ML_DSA_'));

export type KeyUsage = 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC' | 'KEY_AGREEMENT';
export const KEY_USAGES: readonly KeyUsage[] = ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'];

export type Origin = 'AWS_KMS' | 'EXTERNAL' | 'AWS_CLOUDHSM' | 'EXTERNAL_KEY_STORE';
export const ORIGINS: readonly Origin[] = ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'];

export type KeyManager = 'CUSTOMER' | 'AWS';

export type RotationType = 'AUTOMATIC' | 'ON_DEMAND';

export interface Tag {
  TagKey: string;
  TagValue: string;
}

export interface RotationSettings {
  Enabled: boolean;
  /** Days between automatic rotations while enabled. */
  PeriodInDays?: number;
  /** Epoch ms from which the next automatic rotation counts: the enable date or the last automatic rotation. */
  AnchorDate?: number;
}

export interface KeyRecord {
  KeyId: string;
  AccountId: string;
  Region: string;
  CreationDate: number;
  Description: string;
  KeyUsage: KeyUsage;
  KeySpec: KeySpec;
  Origin: Origin;
  KeyManager: KeyManager;
  KeyState: KeyState;
  /** Epoch ms at which a key pending deletion is deleted. */
  DeletionDate?: number;
  PendingDeletionWindowInDays?: number;
  MultiRegion: boolean;
  /**
   * A multi-Region key's place in its set, the same on every key of the set (kept so by the
   * commits that change the set): which Region holds the primary, and the Regions of the replicas.
   */
  MultiRegionConfiguration?: MultiRegionSet;
  /** Number of the current key material version (versions are numbered 1, 2, 3, …). */
  CurrentVersion: number;
  /** KeyMaterialId of the current version, written in the same commit that makes it current. */
  CurrentKeyMaterialId: string;
  /**
   * A rotation in progress: the version made but not yet current, because replicas in other
   * deployments do not all have it yet (no Region encrypts with a version another lacks).
   */
  PendingRotation?: { Version: number; KeyMaterialId: string; Type: RotationType; StartDate: number };
  Rotation: RotationSettings;
  OnDemandRotationCount: number;
  /**
   * Origin EXTERNAL: every key material imported (or expected) into the key, by KeyMaterialId.
   * A key without material yet has CurrentVersion 0; one of its materials is pending rotation
   * when its Version is above CurrentVersion.
   */
  Imported?: Record<string, ImportedMaterial>;
  /** The earliest ValidTo of the imported materials (epoch ms), kept so the hot path checks one number. */
  ImportValidTo?: number;
  Tags: Tag[];
  Policy: string;
  /** Grants on this key; committed with the key record, so they take effect atomically. */
  Grants?: GrantRecord[];
  /** Optimistic-concurrency revision: 1 for a new key, incremented by every commit that changes it. */
  Revision: number;
}

/** One imported key material of an EXTERNAL key (ImportKeyMaterial, DeleteImportedKeyMaterial, expiry). */
export interface ImportedMaterial {
  /** The key material version that holds it. */
  Version: number;
  ImportState: 'IMPORTED' | 'PENDING_IMPORT';
  ExpirationModel?: 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';
  /** Epoch ms at which it expires (KEY_MATERIAL_EXPIRES). */
  ValidTo?: number;
  Description?: string;
}

export interface MultiRegionSet {
  MultiRegionKeyType: 'PRIMARY' | 'REPLICA';
  PrimaryRegion: string;
  /** The replicas' Regions, in the order they were made. */
  ReplicaRegions: string[];
  /**
   * A count of the changes to what the set shares, kept when replicas live in other deployments:
   * on the primary, the count so far; on a replica, the last change it applied.
   */
  SharedSeq?: number;
  /**
   * On a primary: its replicas in other deployments (replication.ts), by Region, and what each
   * acknowledged: every version up to `Version`, and shared change `Seq`. Local replicas are
   * written in the primary's own commits and are not listed here.
   */
  Remote?: Record<string, { Version: number; Seq: number }>;
}

/** Key material as a store keeps it: wrapped bytes, or a non-extractable CryptoKey. */
/**
 * Raw material sealed with AES-256-GCM under a non-extractable key of its own (made for this one
 * material, kept beside it): for the operations that need the bytes for a moment (@noble), in a
 * store that keeps CryptoKeys. `data` is the 12-byte IV, the ciphertext and the tag.
 */
export interface SealedBytes {
  key: CryptoKey;
  data: Uint8Array;
}

export type StoredMaterial =
  | { kind: 'wrapped'; alg: string; data: Uint8Array }
  | { kind: 'cryptokey'; key: CryptoKey; sealed?: SealedBytes }
  /** One non-extractable CryptoKey per algorithm (WebCrypto binds an RSA key to one scheme and hash). */
  | { kind: 'cryptokeys'; keys: Record<string, CryptoKey>; sealed?: SealedBytes }
  /** Material WebCrypto cannot hold at all (secp256k1, ML-DSA, HMAC-SHA-224): only the sealed bytes. */
  | ({ kind: 'sealed' } & SealedBytes)
  /**
   * Imported key material that was deleted or expired: the version record stays (its
   * KeyMaterialId, for re-import), the bytes are gone.
   */
  | { kind: 'deleted' };

export interface MaterialVersion {
  KeyId: string;
  Version: number;
  /** AWS-style key material id: 64 hexadecimal characters. */
  KeyMaterialId: string;
  CreationDate: number;
  /** How this version came to be: the key's first material, or a rotation. */
  Origin: 'CREATE' | RotationType;
  Material: StoredMaterial;
  /** An asymmetric key's public key, DER SubjectPublicKeyInfo (public: kept as it is). */
  PublicKey?: Uint8Array;
}

export interface AliasRecord {
  AliasName: string;
  TargetKeyId: string;
  CreationDate: number;
  LastUpdatedDate: number;
}

export const GRANT_OPERATIONS = [
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'ReEncryptFrom',
  'ReEncryptTo',
  'Sign',
  'Verify',
  'GetPublicKey',
  'CreateGrant',
  'RetireGrant',
  'DescribeKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateMac',
  'VerifyMac',
  'DeriveSharedSecret',
] as const;
export type GrantOperation = (typeof GRANT_OPERATIONS)[number];

export interface GrantConstraints {
  EncryptionContextEquals?: Record<string, string>;
  EncryptionContextSubset?: Record<string, string>;
}

export interface GrantRecord {
  GrantId: string;
  KeyId: string;
  Name?: string;
  CreationDate: number;
  GranteePrincipal: string;
  RetiringPrincipal?: string;
  /** `arn:aws:iam::<account>:root` of the account that created the grant. */
  IssuingAccount: string;
  Operations: GrantOperation[];
  Constraints?: GrantConstraints;
}
