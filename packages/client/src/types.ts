/**
 * Typed inputs and outputs of the TrentService operations edge-kms serves (AWS's field names;
 * blobs are Uint8Array, timestamps Date). Fields AWS marks optional are optional here.
 */

export type EncryptionContext = Record<string, string>;
type Alg = 'SYMMETRIC_DEFAULT' | 'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256' | 'SM2PKE';
interface Tokens {
  GrantTokens?: string[];
}
interface Paged {
  Limit?: number;
  Marker?: string;
}
interface Page {
  NextMarker?: string;
  Truncated?: boolean;
}
interface KeyRef {
  KeyId: string;
}

export interface KeyMetadata {
  AWSAccountId?: string;
  KeyId: string;
  Arn?: string;
  CreationDate?: Date;
  Enabled?: boolean;
  Description?: string;
  KeyUsage?: string;
  KeyState?: 'Enabled' | 'Disabled' | 'PendingDeletion' | 'PendingReplicaDeletion' | 'PendingImport' | 'Unavailable' | 'Creating' | 'Updating';
  DeletionDate?: Date;
  PendingDeletionWindowInDays?: number;
  Origin?: string;
  KeyManager?: 'AWS' | 'CUSTOMER';
  CustomerMasterKeySpec?: string;
  KeySpec?: string;
  EncryptionAlgorithms?: string[];
  MacAlgorithms?: MacAlgorithm[];
  SigningAlgorithms?: string[];
  MultiRegion?: boolean;
  MultiRegionConfiguration?: {
    MultiRegionKeyType?: 'PRIMARY' | 'REPLICA';
    PrimaryKey?: MultiRegionKey;
    ReplicaKeys?: MultiRegionKey[];
  };
  CurrentKeyMaterialId?: string;
  /** Keys with imported key material (Origin EXTERNAL): whether and when the current material expires. */
  ExpirationModel?: ExpirationModel;
  ValidTo?: Date;
}

export type ExpirationModel = 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';

export interface MultiRegionKey {
  Arn?: string;
  Region?: string;
}

export type DataKeyPairSpec =
  | 'RSA_2048'
  | 'RSA_3072'
  | 'RSA_4096'
  | 'ECC_NIST_P256'
  | 'ECC_NIST_P384'
  | 'ECC_NIST_P521'
  | 'ECC_SECG_P256K1'
  | 'SM2'
  | 'ECC_NIST_EDWARDS25519';

export type MacAlgorithm = 'HMAC_SHA_224' | 'HMAC_SHA_256' | 'HMAC_SHA_384' | 'HMAC_SHA_512';

export interface Tag {
  TagKey: string;
  TagValue: string;
}

export interface Grant {
  KeyId?: string;
  GrantId?: string;
  Name?: string;
  CreationDate?: Date;
  GranteePrincipal?: string;
  RetiringPrincipal?: string;
  IssuingAccount?: string;
  Operations?: string[];
  Constraints?: { EncryptionContextEquals?: EncryptionContext; EncryptionContextSubset?: EncryptionContext };
}

export interface KmsOperations {
  CreateKey: [
    {
      Description?: string;
      KeyUsage?: string;
      KeySpec?: string;
      Origin?: string;
      Policy?: string;
      BypassPolicyLockoutSafetyCheck?: boolean;
      Tags?: Tag[];
      MultiRegion?: boolean;
    },
    { KeyMetadata: KeyMetadata },
  ];
  DescribeKey: [KeyRef & Tokens, { KeyMetadata: KeyMetadata }];
  ListKeys: [Paged, Page & { Keys: { KeyId: string; KeyArn: string }[] }];
  Encrypt: [
    KeyRef & Tokens & { Plaintext: Uint8Array; EncryptionContext?: EncryptionContext; EncryptionAlgorithm?: Alg; DryRun?: boolean },
    { CiphertextBlob: Uint8Array; KeyId: string; EncryptionAlgorithm: Alg },
  ];
  Decrypt: [
    Tokens & { CiphertextBlob: Uint8Array; EncryptionContext?: EncryptionContext; KeyId?: string; EncryptionAlgorithm?: Alg; DryRun?: boolean },
    { KeyId: string; Plaintext: Uint8Array; EncryptionAlgorithm: Alg; KeyMaterialId?: string },
  ];
  ReEncrypt: [
    Tokens & {
      CiphertextBlob: Uint8Array;
      SourceEncryptionContext?: EncryptionContext;
      SourceKeyId?: string;
      DestinationKeyId: string;
      DestinationEncryptionContext?: EncryptionContext;
      DryRun?: boolean;
    },
    { CiphertextBlob: Uint8Array; SourceKeyId: string; KeyId: string; SourceKeyMaterialId?: string; DestinationKeyMaterialId?: string },
  ];
  GenerateDataKey: [
    KeyRef & Tokens & { EncryptionContext?: EncryptionContext; NumberOfBytes?: number; KeySpec?: 'AES_256' | 'AES_128'; DryRun?: boolean },
    { CiphertextBlob: Uint8Array; Plaintext: Uint8Array; KeyId: string; KeyMaterialId?: string },
  ];
  GenerateDataKeyWithoutPlaintext: [
    KeyRef & Tokens & { EncryptionContext?: EncryptionContext; NumberOfBytes?: number; KeySpec?: 'AES_256' | 'AES_128'; DryRun?: boolean },
    { CiphertextBlob: Uint8Array; KeyId: string; KeyMaterialId?: string },
  ];
  GenerateRandom: [{ NumberOfBytes: number }, { Plaintext: Uint8Array }];
  EnableKey: [KeyRef, object];
  DisableKey: [KeyRef, object];
  ScheduleKeyDeletion: [KeyRef & { PendingWindowInDays?: number }, { KeyId: string; DeletionDate?: Date; KeyState: string; PendingWindowInDays: number }];
  CancelKeyDeletion: [KeyRef, { KeyId: string }];
  CreateAlias: [{ AliasName: string; TargetKeyId: string }, object];
  UpdateAlias: [{ AliasName: string; TargetKeyId: string }, object];
  DeleteAlias: [{ AliasName: string }, object];
  ListAliases: [
    Paged & { KeyId?: string },
    Page & { Aliases: { AliasName: string; AliasArn: string; TargetKeyId?: string; CreationDate?: Date; LastUpdatedDate?: Date }[] },
  ];
  TagResource: [KeyRef & { Tags: Tag[] }, object];
  UntagResource: [KeyRef & { TagKeys: string[] }, object];
  ListResourceTags: [KeyRef & Paged, Page & { Tags: Tag[] }];
  UpdateKeyDescription: [KeyRef & { Description: string }, object];
  EnableKeyRotation: [KeyRef & { RotationPeriodInDays?: number }, object];
  DisableKeyRotation: [KeyRef, object];
  GetKeyRotationStatus: [
    KeyRef,
    { KeyId: string; KeyRotationEnabled: boolean; RotationPeriodInDays?: number; NextRotationDate?: Date; OnDemandRotationStartDate?: Date },
  ];
  RotateKeyOnDemand: [KeyRef, { KeyId: string }];
  ListKeyRotations: [
    KeyRef & Paged & { IncludeKeyMaterial?: 'ALL_KEY_MATERIAL' | 'ROTATIONS_ONLY' },
    Page & {
      Rotations: {
        KeyId: string;
        KeyMaterialId?: string;
        KeyMaterialState?: 'CURRENT' | 'NON_CURRENT' | 'PENDING_ROTATION' | 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION';
        KeyMaterialDescription?: string;
        ImportState?: 'IMPORTED' | 'PENDING_IMPORT';
        ExpirationModel?: ExpirationModel;
        ValidTo?: Date;
        RotationDate?: Date;
        RotationType?: 'AUTOMATIC' | 'ON_DEMAND';
      }[];
    },
  ];
  GetKeyPolicy: [KeyRef & { PolicyName?: string }, { Policy: string; PolicyName: string }];
  PutKeyPolicy: [KeyRef & { Policy: string; PolicyName?: string; BypassPolicyLockoutSafetyCheck?: boolean }, object];
  ListKeyPolicies: [KeyRef & Paged, Page & { PolicyNames: string[] }];
  CreateGrant: [
    KeyRef & Tokens & { GranteePrincipal: string; RetiringPrincipal?: string; Operations: string[]; Constraints?: Grant['Constraints']; Name?: string },
    { GrantToken: string; GrantId: string },
  ];
  ListGrants: [KeyRef & Paged & { GrantId?: string; GranteePrincipal?: string }, Page & { Grants: Grant[] }];
  ListRetirableGrants: [Paged & { RetiringPrincipal: string }, Page & { Grants: Grant[] }];
  RetireGrant: [{ GrantToken?: string; KeyId?: string; GrantId?: string }, object];
  RevokeGrant: [KeyRef & { GrantId: string }, object];
  ReplicateKey: [
    KeyRef & { ReplicaRegion: string; Policy?: string; BypassPolicyLockoutSafetyCheck?: boolean; Description?: string; Tags?: Tag[] },
    { ReplicaKeyMetadata: KeyMetadata; ReplicaPolicy: string; ReplicaTags: Tag[] },
  ];
  UpdatePrimaryRegion: [KeyRef & { PrimaryRegion: string }, object];
  GetParametersForImport: [
    KeyRef & {
      WrappingAlgorithm: 'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256' | 'RSA_AES_KEY_WRAP_SHA_1' | 'RSA_AES_KEY_WRAP_SHA_256' | 'RSAES_PKCS1_V1_5' | 'SM2PKE';
      WrappingKeySpec: 'RSA_2048' | 'RSA_3072' | 'RSA_4096' | 'SM2';
    },
    { KeyId: string; ImportToken: Uint8Array; PublicKey: Uint8Array; ParametersValidTo: Date },
  ];
  ImportKeyMaterial: [
    KeyRef & {
      ImportToken: Uint8Array;
      EncryptedKeyMaterial: Uint8Array;
      ValidTo?: Date;
      ExpirationModel?: ExpirationModel;
      ImportType?: 'NEW_KEY_MATERIAL' | 'EXISTING_KEY_MATERIAL';
      KeyMaterialDescription?: string;
      KeyMaterialId?: string;
    },
    { KeyId: string; KeyMaterialId: string },
  ];
  DeleteImportedKeyMaterial: [KeyRef & { KeyMaterialId?: string }, { KeyId: string; KeyMaterialId: string }];
  Sign: [
    KeyRef & Tokens & { Message: Uint8Array; MessageType?: 'RAW' | 'DIGEST' | 'EXTERNAL_MU'; SigningAlgorithm: string; DryRun?: boolean },
    { KeyId: string; Signature: Uint8Array; SigningAlgorithm: string },
  ];
  Verify: [
    KeyRef &
      Tokens & { Message: Uint8Array; MessageType?: 'RAW' | 'DIGEST' | 'EXTERNAL_MU'; Signature: Uint8Array; SigningAlgorithm: string; DryRun?: boolean },
    { KeyId: string; SignatureValid: boolean; SigningAlgorithm: string },
  ];
  GetPublicKey: [
    KeyRef & Tokens,
    {
      KeyId: string;
      PublicKey: Uint8Array;
      KeySpec: string;
      CustomerMasterKeySpec?: string;
      KeyUsage: string;
      SigningAlgorithms?: string[];
      EncryptionAlgorithms?: string[];
      KeyAgreementAlgorithms?: string[];
    },
  ];
  DeriveSharedSecret: [
    KeyRef & Tokens & { KeyAgreementAlgorithm: 'ECDH'; PublicKey: Uint8Array; DryRun?: boolean },
    { KeyId: string; SharedSecret: Uint8Array; KeyAgreementAlgorithm: 'ECDH'; KeyOrigin: string },
  ];
  GenerateDataKeyPair: [
    KeyRef & Tokens & { KeyPairSpec: DataKeyPairSpec; EncryptionContext?: EncryptionContext; DryRun?: boolean },
    {
      PrivateKeyCiphertextBlob: Uint8Array;
      PrivateKeyPlaintext: Uint8Array;
      PublicKey: Uint8Array;
      KeyId: string;
      KeyPairSpec: DataKeyPairSpec;
      KeyMaterialId?: string;
    },
  ];
  GenerateDataKeyPairWithoutPlaintext: [
    KeyRef & Tokens & { KeyPairSpec: DataKeyPairSpec; EncryptionContext?: EncryptionContext; DryRun?: boolean },
    { PrivateKeyCiphertextBlob: Uint8Array; PublicKey: Uint8Array; KeyId: string; KeyPairSpec: DataKeyPairSpec; KeyMaterialId?: string },
  ];
  GenerateMac: [
    KeyRef & Tokens & { Message: Uint8Array; MacAlgorithm: MacAlgorithm; DryRun?: boolean },
    { Mac: Uint8Array; MacAlgorithm: MacAlgorithm; KeyId: string },
  ];
  VerifyMac: [
    KeyRef & Tokens & { Message: Uint8Array; MacAlgorithm: MacAlgorithm; Mac: Uint8Array; DryRun?: boolean },
    { KeyId: string; MacValid: boolean; MacAlgorithm: MacAlgorithm },
  ];
}

export type OperationName = keyof KmsOperations;
export type InputOf<O extends OperationName> = KmsOperations[O][0];
export type OutputOf<O extends OperationName> = KmsOperations[O][1];
