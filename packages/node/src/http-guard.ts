/**
 * What the Node server checks before a request reaches the KMS or the Hono app, and how it
 * refuses: every refusal is the core's error answer (`errorResult`: `{"__type", "message"}`,
 * `x-amzn-errortype`, `x-amzn-requestid`, content-type application/x-amz-json-1.1), also for
 * requests node:http cannot parse (the same answer as raw HTTP/1.1 text written to the socket).
 *
 * - The Host header: in open mode (no identities) only loopback names (`localhost`, `127.x.x.x`,
 *   `[::1]`, any port) and an allow-list are answered, so that a web page cannot reach the KMS
 *   through DNS rebinding (its requests carry the attacker's host name). In verify mode the SigV4
 *   signature covers the host, so only the syntax is checked, unless an allow-list is configured.
 * - The request target: absolute-form (`POST http://127.0.0.1/ HTTP/1.1`) naming the Host header's
 *   own authority is rewritten to its path; anything else that is not a path is refused.
 * - Parser errors and timeouts (`clientError`): 400/408/431 with an AWS-shaped body, then close.
 * - A refused request's connection is closed after the answer, and what the client is still
 *   sending is read and dropped for a moment first (a "lingering close"): closing a socket with
 *   unread data makes the kernel send a reset, which can destroy the answer before the client
 *   reads it.
 */
import { maxHeaderSize, STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { errorResult, KmsError, type KmsErrorCode, type ProtocolResult } from '@edge-kms/core';

/** The response in flight (or the last one) on a connection: set by the request listener. */
export const kResponse = Symbol('edge-kms.response');
export type TrackedSocket = Socket & { [kResponse]?: ServerResponse };

/**
 * A request refused before the KMS sees it (its body too large, its URL not valid, …): a KmsError
 * that carries the status to answer with.
 */
export class RequestRefused extends KmsError {}

/** The answer to a refused request (`errorResult`, with `connection: close`: the connection is closed after it). */
export function refusal(error: KmsError): ProtocolResult {
  const r = errorResult(error);
  return { status: r.status, headers: { ...r.headers, connection: 'close' }, body: r.body };
}

/** An error answer as a whole HTTP/1.1 response that closes the connection, for a socket without a ServerResponse. */
export function rawResponse(r: ProtocolResult): string {
  let head = `HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? 'Error'}\r\n`;
  for (const [name, value] of Object.entries(r.headers)) if (name !== 'connection') head += `${name}: ${value}\r\n`;
  return `${head}content-length: ${Buffer.byteLength(r.body)}\r\nconnection: close\r\n\r\n${r.body}`;
}

/** `rawResponse` of the error `code` with `message`, answered with `status`. */
export function rawAwsError(status: number, code: KmsErrorCode, message: string): string {
  return rawResponse(errorResult(new KmsError(code, message, status)));
}

// ---------------------------------------------------------------------------------------------
// Host header

export interface HostCheckOptions {
  /** Answer only loopback names and `allowedHosts` (open mode, or an allow-list configured). */
  restrict: boolean;
  /** Further names (`name` for any port, or `name:port`). */
  allowedHosts?: readonly string[];
}

/** DNS names, IPv4 and bracketed IPv6, with an optional port: what a Host header may hold. */
const HOST_SYNTAX = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::[0-9]{1,5})?$/;
const LOOPBACK_V4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** The Host value as the WHATWG URL parser sees it (lowercase, IPv4 and IPv6 normalized). */
function parseHost(host: string): URL | undefined {
  if (host.length > 255 || !HOST_SYNTAX.test(host)) return undefined;
  try {
    return new URL(`http://${host}/`);
  } catch {
    return undefined;
  }
}

export function isLoopbackName(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || LOOPBACK_V4.test(hostname);
}

/**
 * Normalizes allow-list entries (`name` or `name:port`); throws for an entry that is not one.
 */
export function normalizeAllowedHosts(entries: readonly string[]): string[] {
  return entries.map((entry) => {
    const url = parseHost(entry.trim());
    if (!url) throw new Error(`Allowed host ${JSON.stringify(entry)} is not a host name (name, or name:port).`);
    return url.host;
  });
}

/**
 * A check of the Host header: undefined when the request may go on, else the answer to send.
 * Accepted values are remembered (at most 64), so a client's Host costs a Set lookup after the
 * first request; refusals are not remembered.
 */
export function createHostCheck(options: HostCheckOptions): (host: string | undefined) => ProtocolResult | undefined {
  const allowed = new Set(normalizeAllowedHosts(options.allowedHosts ?? []));
  const accepted = new Set<string>();
  const { restrict } = options;
  return (host) => {
    if (host !== undefined && accepted.has(host)) return undefined;
    if (host === undefined || host === '') return refusal(new KmsError('SerializationException', 'The request has no Host header.'));
    const url = parseHost(host);
    if (!url) return refusal(new KmsError('SerializationException', 'The Host header is not a valid host name.'));
    if (restrict && !isLoopbackName(url.hostname) && !allowed.has(url.hostname) && !allowed.has(url.host)) {
      return refusal(
        new KmsError(
          'AccessDeniedException',
          `Host ${JSON.stringify(host)} is not allowed: this server answers only loopback names (localhost, 127.0.0.1, [::1]) ` +
            'and the names in KMS_ALLOWED_HOSTS, so that no web page can reach it through DNS rebinding.',
          403,
        ),
      );
    }
    if (accepted.size >= 64) accepted.clear();
    accepted.add(host);
    return undefined;
  };
}

// ---------------------------------------------------------------------------------------------
// Request target

const ABSOLUTE = /^http:\/\//i;

/**
 * The origin-form (path and query) of an absolute-form request target that names the Host
 * header's own authority (RFC 9112 §3.2.2: what a client sends to a proxy), or undefined: the
 * target is refused. `*` (asterisk-form), authority-form, https: and user info are never answered.
 */
export function originFormOf(target: string, host: string | undefined): string | undefined {
  if (host === undefined || !ABSOLUTE.test(target)) return undefined;
  const own = parseHost(host);
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return undefined;
  }
  if (!own || url.username !== '' || url.password !== '' || url.host !== own.host) return undefined;
  return url.pathname + url.search;
}

export const BAD_TARGET_MESSAGE = 'The request target must be a path (e.g. "/"), or an http URL naming the host of the Host header.';

export function badTarget(): ProtocolResult {
  return refusal(new KmsError('SerializationException', BAD_TARGET_MESSAGE));
}

// ---------------------------------------------------------------------------------------------
// Closing a refused request's connection

/** How long a refused request's connection keeps reading (and dropping) what the client sends. */
export const LINGER_MS = 1000;

function destroySocket(socket: Socket): void {
  socket.destroy();
}

/**
 * After `res` (which carries `connection: close`) is written: node:http ends the connection
 * and destroys it once the FIN is out (`destroySoon`). Instead, keep reading and dropping what
 * the client still sends (node's parser discards the rest of the request's body) until the
 * client closes, or LINGER_MS at most.
 */
export function lingerAfter(res: ServerResponse): void {
  const socket = res.socket;
  if (!socket) return;
  res.once('finish', () => {
    if (socket.destroyed) return;
    socket.removeListener('finish', socket.destroy);
    if (socket.writable) socket.end();
    const timer = setTimeout(destroySocket, LINGER_MS, socket);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
}

/** Writes a refusal (which carries `connection: close`) now and closes the connection after it. */
export function refuse(res: ServerResponse, r: ProtocolResult): void {
  if (res.headersSent || res.destroyed) return;
  lingerAfter(res);
  res.writeHead(r.status, { ...r.headers, 'content-length': Buffer.byteLength(r.body) });
  res.end(r.body);
}

// ---------------------------------------------------------------------------------------------
// Requests node:http cannot parse, and timeouts

export interface ClientErrorOptions {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

function describe(error: Error & { code?: string }, o: ClientErrorOptions): KmsError {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new KmsError('SerializationException', `The request line and headers exceed ${maxHeaderSize} bytes.`, 431);
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new KmsError('SerializationException', 'The chunk extensions of the request body are too large.');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new KmsError(
        'RequestTimeoutException',
        `The request was not received in time (headers within ${o.headersTimeoutMs} ms, the whole request within ${o.requestTimeoutMs} ms).`,
      );
    default: {
      const code = typeof error.code === 'string' && /^HPE_[A-Z_]+$/.test(error.code) ? ` (${error.code})` : '';
      return new KmsError('SerializationException', `The request is not valid HTTP/1.1${code}.`);
    }
  }
}

/**
 * The server's `clientError` listener: node:http could not parse a request (or it timed out).
 * An AWS-shaped answer is written when the socket can take one (no answer of ours has started on
 * it), then the connection is closed. Nothing is logged: these are the client's errors.
 */
export function createClientErrorListener(options: ClientErrorOptions): (error: Error & { code?: string }, socket: Duplex) => void {
  return (error, socket) => {
    const res = (socket as TrackedSocket)[kResponse];
    const answering = res !== undefined && !res.writableFinished && res.headersSent;
    if (socket.writable && !answering && error.code !== 'ECONNRESET' && error.code !== 'EPIPE') {
      socket.write(rawResponse(errorResult(describe(error, options))));
    }
    socket.destroy();
  };
}
