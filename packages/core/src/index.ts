/**
 * @edge-kms/core: a WebCrypto-only KMS engine that speaks the AWS KMS (TrentService) protocol.
 * Every export is named here.
 */
export {
  createKms,
  regionNotServed,
  type Kms,
  type KmsOptions,
  type AuthenticationOptions,
  type HandleOptions,
  type MaintenanceReport,
  type SeedKeyOptions,
} from './kms.js';
export {
  Engine,
  DEFAULT_ACCOUNT_ID,
  DEFAULT_REGION,
  DEFAULT_ON_DEMAND_ROTATION_LIMIT,
  DEFAULT_ROTATION_PERIOD_DAYS,
  ROTATION_POLICIES,
  defaultKeyPolicy,
  isRotationDue,
  isDeletionDue,
  nextRotationDate,
  type RotationPolicy,
  type RotationPolicyName,
} from './engine.js';
export { KmsError, StoreConflictError, isKmsError, kmsError, INVALID_CIPHERTEXT_MESSAGE, INTERNAL_MESSAGE, type KmsErrorCode } from './errors.js';
export { operationsInFlight, webCryptoProvider, type CryptoProvider, type SignParams } from './crypto-provider.js';
export { createTestClock, systemClock, DAY_MS, type Clock, type TestClock } from './clock.js';
export { createMemoryStore, deepFreeze } from './store/memory-store.js';
export { scopeStore, regionPrefix, regionsIn, migrateLegacyRecords, type RegionStore } from './store/region-scope.js';
export { AWS_REGIONS, isAwsRegion, isRegionName, partitionOf, requestRegion } from './regions.js';
export { InputReader } from './validate.js';
export { createReplication, parsePeers, PEER_PATH, type PeerOptions, type PeerSigner, type Replication } from './replication.js';
export { isPrimary, isReplica, type RegionalSet } from './multi-region.js';
export { commitWrites, applyWrites, type SyncView } from './store/apply.js';
export {
  checkWrites,
  checkWritesAsync,
  readPreconditionView,
  type PreconditionView,
  type PreconditionReader,
  type CheckWritesOptions,
} from './store/preconditions.js';
export { retryOnConflict, commitBackoff, COMMIT_RETRIES, type RetryOptions } from './store/retry.js';
export { createOrderedKvStore, versionKey, type OrderedKv, type OrderedKvStoreOptions } from './store/ordered-kv-store.js';
export type { KmsStore, StoreWrite, ListPage } from './store/types.js';
export {
  createCryptoKeyProtector,
  createRootKeyProtector,
  ROOT_WRAP_ALG,
  type MaterialProtector,
  type MaterialContext,
} from './material.js';
export type {
  AliasRecord,
  KeyRecord,
  KeyState,
  KeySpec,
  KeyUsage,
  MaterialVersion,
  StoredMaterial,
  RotationType,
  Tag,
  GrantRecord,
  GrantConstraints,
  GrantOperation,
  MultiRegionSet,
} from './model.js';
export {
  parseBlob,
  sealBlob,
  openBlob,
  encodeHeader,
  encodeEncryptionContext,
  BLOB_OVERHEAD,
  HEADER_LENGTH,
  type ParsedBlob,
} from './ciphertext.js';
export {
  CONTENT_TYPE,
  MAX_BODY_BYTES,
  toWire,
  errorResponse,
  errorResult,
  handleProtocolRequest,
  handleProtocolMessage,
  type ProtocolMessage,
  type ProtocolResult,
  type ProtocolService,
} from './protocol.js';
export type { Caller, Identity, IdentityLookup, RequestLike } from './auth/types.js';
export { parseIdentities } from './auth/identities.js';
export { parsePolicy, evaluatePolicy, MAX_POLICY_BYTES, type Policy } from './auth/policy.js';
export { globMatch } from './auth/glob.js';
export {
  createRequestQuotas,
  parseRequestQuotas,
  awsCryptographicRate,
  THROTTLING_MESSAGE,
  CRYPTOGRAPHIC_QUOTA,
  type RequestQuotas,
  type RequestQuotaOptions,
} from './quotas.js';
export { authorize, isAllowed, type OperationContext, type AccessRequest } from './auth/authorize.js';
export { OPERATIONS, OPERATION_NAMES, isOperationName, type OperationName, type OperationHandler } from './operations/index.js';
export { toBase64, fromBase64, toHex, fromHex, constantTimeEqual, wipe, randomBytes, utf8, fromUtf8, isWellFormed } from './bytes.js';
export {
  createSigV4Verifier,
  DEFAULT_MAX_PRESIGN_EXPIRES_SECONDS,
  UNSIGNED_PAYLOAD_REFUSED_MESSAGE,
  type SigV4Verifier,
  type SigV4VerifierOptions,
} from './auth/sigv4.js';
