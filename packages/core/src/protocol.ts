/**
 * The TrentService wire protocol (AWS JSON 1.1): `X-Amz-Target: TrentService.<Operation>`, a JSON
 * body, blobs as base64 and timestamps as epoch seconds. Errors answer in AWS's shape,
 * `{"__type": "<Exception>", "message": "…"}`, with the status AWS uses. Anything unexpected is
 * logged through onInternalError and answered as KMSInternalException with a fixed message.
 */
import { randomUuid, toBase64 } from './bytes.js';
import { internalError, isKmsError, KmsError } from './errors.js';
import type { HandleOptions, Kms } from './kms.js';
import { fromUtf8 } from './bytes.js';

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
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWire(v);
    return out;
  }
  return value;
}

function headers(requestId: string): Headers {
  return new Headers({ 'content-type': CONTENT_TYPE, 'x-amzn-requestid': requestId });
}

export function errorResponse(error: KmsError, requestId: string = randomUuid()): Response {
  const h = headers(requestId);
  h.set('x-amzn-errortype', `${error.code}:`);
  return new Response(JSON.stringify({ __type: error.code, message: error.message }), { status: error.status, headers: h });
}

/** The operation named by X-Amz-Target, or a KmsError. */
export function operationOf(request: Request): string {
  const target = request.headers.get('x-amz-target');
  if (!target) throw new KmsError('UnknownOperationException', 'Missing X-Amz-Target header.');
  if (!target.startsWith(TARGET_PREFIX)) throw new KmsError('UnknownOperationException', `Unknown operation ${target}`);
  return target.slice(TARGET_PREFIX.length);
}

export async function readBody(request: Request): Promise<Uint8Array> {
  const length = Number(request.headers.get('content-length') ?? '0');
  if (length > MAX_BODY_BYTES) throw new KmsError('SerializationException', `The request body exceeds ${MAX_BODY_BYTES} bytes.`);
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.length > MAX_BODY_BYTES) throw new KmsError('SerializationException', `The request body exceeds ${MAX_BODY_BYTES} bytes.`);
  return bytes;
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

export async function handleProtocolRequest(kms: Kms, request: Request, options: HandleOptions = {}): Promise<Response> {
  const requestId = randomUuid();
  try {
    if (request.method !== 'POST') throw new KmsError('UnknownOperationException', `The TrentService protocol expects POST, got ${request.method}.`);
    const bytes = await readBody(request);
    // Authentication comes first: an unsigned or badly signed request learns nothing else.
    const caller = await kms.authenticate(request, bytes, options);
    const operation = operationOf(request);
    const body = parseJsonBody(bytes);
    const output = await kms.execute(operation, body, { caller });
    return new Response(JSON.stringify(toWire(output)), { status: 200, headers: headers(requestId) });
  } catch (e) {
    if (isKmsError(e)) return errorResponse(e, requestId);
    kms.engine.onInternalError(e);
    return errorResponse(internalError(), requestId);
  }
}
