/**
 * Errors from KMS, as classes that carry AWS's exception names: `err.name` is the exception
 * (`NotFoundException`, …), and each common exception has its own class for `instanceof`.
 */

export class KmsClientError extends Error {
  /** HTTP status, when the error came over the wire. */
  readonly status?: number;
  readonly requestId?: string;
  constructor(name: string, message: string, status?: number, requestId?: string) {
    super(message);
    this.name = name;
    this.status = status;
    this.requestId = requestId;
  }
}

/** A class for one AWS exception: constructed with the message only (the name is fixed). */
export interface KmsErrorClass {
  new (message: string, status?: number, requestId?: string): KmsClientError;
  readonly prototype: KmsClientError;
}

function named(name: string): KmsErrorClass {
  // Set the name explicitly: minifiers rename classes.
  return class extends KmsClientError {
    constructor(message: string, status?: number, requestId?: string) {
      super(name, message, status, requestId);
    }
  };
}

export const NotFoundException = named('NotFoundException');
export const DisabledException = named('DisabledException');
export const KMSInvalidStateException = named('KMSInvalidStateException');
export const InvalidCiphertextException = named('InvalidCiphertextException');
export const IncorrectKeyException = named('IncorrectKeyException');
export const AccessDeniedException = named('AccessDeniedException');
export const LimitExceededException = named('LimitExceededException');
export const ValidationException = named('ValidationException');
export const ThrottlingException = named('ThrottlingException');
export const UnsupportedOperationException = named('UnsupportedOperationException');
export const KMSInternalException = named('KMSInternalException');
export const DependencyTimeoutException = named('DependencyTimeoutException');
export const AlreadyExistsException = named('AlreadyExistsException');
export const InvalidArnException = named('InvalidArnException');
/** Authentication: the signature does not match (wrong secret), is incomplete, the access key is unknown, or none was sent. */
export const InvalidSignatureException = named('InvalidSignatureException');
export const IncompleteSignatureException = named('IncompleteSignatureException');
export const UnrecognizedClientException = named('UnrecognizedClientException');
export const MissingAuthenticationTokenException = named('MissingAuthenticationTokenException');

const CLASSES: Record<string, KmsErrorClass> = {
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
};

/** Builds the error for an AWS exception name (`__type` may carry a namespace prefix). */
export function kmsClientError(type: string, message: string, status?: number, requestId?: string): KmsClientError {
  const name = type.slice(type.lastIndexOf('#') + 1).split(':')[0]!;
  const C = CLASSES[name];
  return C ? new C(message, status, requestId) : new KmsClientError(name, message, status, requestId);
}

/** Errors raised by the envelope format and namespaces, not by KMS. */
export class EnvelopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvelopeError';
  }
}

export class NamespaceLockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NamespaceLockedError';
  }
}
