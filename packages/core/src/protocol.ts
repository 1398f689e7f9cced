/**
 * The TrentService wire protocol (AWS JSON 1.1): `X-Amz-Target: TrentService.<Operation>`, a JSON
 * body, blobs as base64 and timestamps as epoch seconds. Errors answer in AWS's shape,
 * `{"__type": "<Exception>", "message": "…"}`, with the status AWS uses. Anything unexpected is
 * logged through onInternalError and answered as KMSInternalException with a fixed message.
 *
 * This module knows the KMS only through the narrow port below (ProtocolService), which the Kms
 * implements: imports run one way, kms.ts -> protocol.ts. Every error response of every shell
 * (Node, Hono, the Worker, the MSW mock) is built by `errorResult`/`errorResponse` here, so they
 * carry the same headers.
 */
import { fromUtf8, randomUuid, toBase64 } from './bytes.js';
import { internalError, isKmsError, KmsError } from './errors.js';
import type { Caller, RequestLike } from './auth/types.js';

export interface HandleOptions {
  /** The client's address, when the runtime knows it (aws:SourceIp). */
  sourceIp?: string;
  /**
   * Headers a SigV4 signature must cover besides `host` and the date; default `x-amz-target`
   * (the operation). The test-mode endpoints pass `[]`: their signed path names what they do.
   */
  requiredSignedHeaders?: readonly string[];
  /**
   * The Region the request is for, when the shell knows it and nothing is verified (the MSW mock:
   * the endpoint's host). A verifying KMS takes it from the SigV4 credential scope.
   */
  region?: string;
}

/** What the protocol needs of a KMS: authenticate a request, run an operation, log a fault. */
export interface ProtocolService {
  authenticate(request: RequestLike, body: Uint8Array, options?: HandleOptions): Promise<Caller>;
  execute(operation: string, input: unknown, context: { caller: Caller }): Promise<unknown>;
  onInternalError(error: unknown): void;
}

export const CONTENT_TYPE = 'application/x-amz-json-1.1';
const TARGET_PREFIX = 'TrentService.';
/** AWS KMS requests are small; anything larger is refused before parsing. */
export const MAX_BODY_BYTES = 1 << 20;

/** Blobs to base64 and Dates to epoch seconds, recursively. */
export function toWire(value: unknown): unknown {
  if (value instanceof Uint8Array) return toBase64(value);
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (value && typeof value === 'object') {
    // No prototype: a member named "__proto__" (a context key in a grant constraint) is a member.
    const out: Record<string, unknown> = Object.create(null);
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWire(v);
    return out;
  }
  return value;
}

const JSON_HEADERS = (requestId: string): Record<string, string> => ({ 'content-type': CONTENT_TYPE, 'x-amzn-requestid': requestId });

/** One protocol exchange without the fetch API: what a runtime shell reads and writes. */
export interface ProtocolMessage extends RequestLike {
  body: Uint8Array;
}

export interface ProtocolResult {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * An error in AWS's JSON 1.1 shape: `{"__type", "message"}` with content-type,
 * x-amzn-requestid and x-amzn-errortype, and the error's status.
 */
export function errorResult(error: KmsError, requestId: string = randomUuid()): ProtocolResult {
  return {
    status: error.status,
    headers: { ...JSON_HEADERS(requestId), 'x-amzn-errortype': `${error.code}:` },
    body: JSON.stringify({ __type: error.code, message: error.message }),
  };
}

export function errorResponse(error: KmsError, requestId: string = randomUuid()): Response {
  const r = errorResult(error, requestId);
  return new Response(r.body, { status: r.status, headers: r.headers });
}

/** The operation named by X-Amz-Target, or a KmsError. */
export function operationOf(request: RequestLike): string {
  const target = request.headers.get('x-amz-target');
  if (!target) throw new KmsError('UnknownOperationException', 'Missing X-Amz-Target header.');
  if (!target.startsWith(TARGET_PREFIX)) throw new KmsError('UnknownOperationException', `Unknown operation ${target}`);
  return target.slice(TARGET_PREFIX.length);
}

export async function readBody(request: Request): Promise<Uint8Array> {
  const length = Number(request.headers.get('content-length') ?? '0');
  if (length > MAX_BODY_BYTES) throw new KmsError('SerializationException', `The request body exceeds ${MAX_BODY_BYTES} bytes.`);
  return new Uint8Array(await request.arrayBuffer());
}

export function parseJsonBody(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = fromUtf8(bytes);
  } catch {
    throw new KmsError('SerializationException', 'The request body is not valid UTF-8.');
  }
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new KmsError('SerializationException', 'The request body is not valid JSON.');
  }
}

/** The protocol over a message: authenticate, parse, run, answer. Never throws. */
export async function handleProtocolMessage(kms: ProtocolService, message: ProtocolMessage, options: HandleOptions = {}): Promise<ProtocolResult> {
  const requestId = randomUuid();
  try {
    if (message.method !== 'POST') throw new KmsError('UnknownOperationException', `The TrentService protocol expects POST, got ${message.method}.`);
    if (message.body.length > MAX_BODY_BYTES) throw new KmsError('SerializationException', `The request body exceeds ${MAX_BODY_BYTES} bytes.`);
    // Authentication comes first: an unsigned or badly signed request learns nothing else.
    const caller = await kms.authenticate(message, message.body, options);
    const operation = operationOf(message);
    const output = await kms.execute(operation, parseJsonBody(message.body), { caller });
    return { status: 200, headers: JSON_HEADERS(requestId), body: JSON.stringify(toWire(output)) };
  } catch (e) {
    if (isKmsError(e)) return errorResult(e, requestId);
    kms.onInternalError(e);
    return errorResult(internalError(), requestId);
  }
}

/** The protocol as one pure function: Request in, Response out. */
export async function handleProtocolRequest(kms: ProtocolService, request: Request, options: HandleOptions = {}): Promise<Response> {
  let body: Uint8Array;
  try {
    body = await readBody(request);
  } catch (e) {
    return errorResponse(isKmsError(e) ? e : new KmsError('SerializationException', 'The request body could not be read.'));
  }
  const r = await handleProtocolMessage(kms, { method: request.method, url: request.url, headers: request.headers, body }, options);
  return new Response(r.body, { status: r.status, headers: r.headers });
}
