/**
 * The one error type of edge-kms. `code` (and `name`) is the exact AWS KMS exception name, set
 * explicitly so that minifiers cannot rename it; `status` is the HTTP status AWS answers with.
 */

export type KmsErrorCode =
  | 'AccessDeniedException'
  | 'AlreadyExistsException'
  | 'ConflictException'
  | 'DependencyTimeoutException'
  | 'DisabledException'
  | 'DryRunOperationException'
  | 'ExpiredImportTokenException'
  | 'IncompleteSignatureException'
  | 'InvalidGrantIdException'
  | 'InvalidGrantTokenException'
  | 'InvalidImportTokenException'
  | 'InvalidSignatureException'
  | 'MissingAuthenticationTokenException'
  | 'UnrecognizedClientException'
  | 'IncorrectKeyException'
  | 'IncorrectKeyMaterialException'
  | 'InvalidAliasNameException'
  | 'InvalidArnException'
  | 'InvalidCiphertextException'
  | 'InvalidKeyUsageException'
  | 'InvalidMarkerException'
  | 'KMSInternalException'
  | 'KMSInvalidMacException'
  | 'KMSInvalidSignatureException'
  | 'KMSInvalidStateException'
  | 'LimitExceededException'
  | 'MalformedPolicyDocumentException'
  | 'NotFoundException'
  | 'RequestTimeoutException'
  | 'SerializationException'
  | 'ServiceUnavailableException'
  | 'TagException'
  | 'ThrottlingException'
  | 'UnknownOperationException'
  | 'UnsupportedOperationException'
  | 'ValidationException';

const STATUS: Partial<Record<KmsErrorCode, number>> = {
  KMSInternalException: 500,
  DependencyTimeoutException: 503,
  MissingAuthenticationTokenException: 403,
  RequestTimeoutException: 408,
  ServiceUnavailableException: 503,
};

export class KmsError extends Error {
  readonly code: KmsErrorCode;
  readonly status: number;
  /**
   * `status` is the HTTP status AWS answers this error with unless given: a shell refusing a
   * request before the protocol runs (431, 411, …) says which.
   */
  constructor(code: KmsErrorCode, message: string, status?: number) {
    super(message);
    this.code = code;
    this.name = code;
    this.status = status ?? STATUS[code] ?? 400;
  }
}

export function kmsError(code: KmsErrorCode, message: string): KmsError {
  return new KmsError(code, message);
}

/** The single message of every decryption failure: no oracle. */
export const INVALID_CIPHERTEXT_MESSAGE = 'The ciphertext is invalid or was not encrypted under a KMS key of this account and region.';
export const INTERNAL_MESSAGE = 'An internal error occurred. Try again later.';

export function invalidCiphertext(): KmsError {
  return new KmsError('InvalidCiphertextException', INVALID_CIPHERTEXT_MESSAGE);
}

export function internalError(): KmsError {
  return new KmsError('KMSInternalException', INTERNAL_MESSAGE);
}

export function isKmsError(e: unknown): e is KmsError {
  return e instanceof KmsError;
}

/** Thrown by a store when a commit's preconditions no longer hold; the engine retries. */
export class StoreConflictError extends Error {
  constructor(message = 'store commit conflict') {
    super(message);
    this.name = 'StoreConflictError';
  }
}
