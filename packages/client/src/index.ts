/**
 * @edge-kms/client: a small TrentService client (SigV4 over fetch, or an in-process edge-kms),
 * streaming envelope encryption, encrypted namespaces whose KMS key can be changed, and
 * multi-Region-key-aware routing over several Regional clients (createMrkAwareKms, also at
 * `@edge-kms/client/mrk-aware`; tree-shaken away when unused).
 */
export { createKmsClient, isRetryable, type KmsClient, type KmsClientOptions, type Credentials, type InProcessKms } from './client.js';
export {
  KmsClientError,
  kmsClientError,
  type KmsErrorClass,
  EnvelopeError,
  NamespaceLockedError,
  NotFoundException,
  DisabledException,
  KMSInvalidStateException,
  InvalidCiphertextException,
  IncorrectKeyException,
  AccessDeniedException,
  LimitExceededException,
  ValidationException,
  ThrottlingException,
  UnsupportedOperationException,
  KMSInternalException,
  DependencyTimeoutException,
  AlreadyExistsException,
  InvalidArnException,
  InvalidSignatureException,
  IncompleteSignatureException,
  UnrecognizedClientException,
  MissingAuthenticationTokenException,
} from './errors.js';
export {
  encrypt,
  decrypt,
  encryptBytes,
  decryptBytes,
  encryptStream,
  decryptStream,
  createDataKeyCache,
  splitMessage,
  joinMessage,
  encodeContext,
  maxEncryptedLength,
  DEFAULT_CHUNK_SIZE,
  type EncryptOptions,
  type EncryptBytesOptions,
  type DecryptBytesOptions,
  type Decrypted,
  type DataKeyCache,
  type DataKeyCacheOptions,
  type KeySection,
} from './envelope.js';
export { openNamespace, type Namespace, type NamespaceOptions, type ChangeKeyOptions, type ChangeKeyProgress } from './namespace.js';
export {
  createMemoryRecordStore,
  RecordStoreConflict,
  sameBytes,
  type RecordStore,
  type NamespaceRecord,
  type NamespaceMeta,
  type KeyChange,
} from './record-store.js';
export {
  createMrkAwareKms,
  isRegionalFailure,
  AllRegionsFailedError,
  type MrkAwareKms,
  type MrkAwareOptions,
  type RegionalClient,
  type RegionFailure,
  type FallbackEvent,
} from './mrk-aware.js';
export type { KmsOperations, OperationName, InputOf, OutputOf, KeyMetadata, EncryptionContext, Tag, Grant } from './types.js';
