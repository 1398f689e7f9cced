/**
 * Shared pieces of the Node server's security suites (issue 14): raw HTTP/1.1 over net sockets
 * (from a chosen loopback source address: 127.0.0.2, 127.0.0.3, … count as distinct client IPs),
 * a parser for what comes back, SigV4-signed requests for any Host value, and the AWS error shape.
 */
import { connect, type Socket } from 'node:net';
import { AwsV4Signer } from 'aws4fetch';
import { expect } from 'vitest';
import { ALICE, REGION } from '../auth/support.js';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  json: Record<string, unknown> | undefined;
}

/** The first HTTP response in `text`, or undefined while it is incomplete. */
export function parseResponse(text: string): RawAnswer | undefined {
  let rest = text;
  // Interim 1xx answers (100 Continue) come before the real one.
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1]);
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    rest = rest.slice(end + 4);
    if (status >= 100 && status < 200) continue;
    const length = Number(headers['content-length'] ?? 0);
    if (Buffer.byteLength(rest) < length) return undefined;
    const body = Buffer.from(rest).subarray(0, length).toString();
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(body) as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    return { status, headers, body, json };
  }
}

export interface Conn {
  socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves when the server closed the connection (or it failed). */
  closed: Promise<void>;
  isClosed(): boolean;
  /** Resolves with the first complete response. */
  response(timeoutMs?: number): Promise<RawAnswer>;
}

/** A raw connection to the server, from `localAddress` (default 127.0.0.1). */
export function open(port: number, localAddress = '127.0.0.1'): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    let text = '';
    let done = false;
    const waiters: (() => void)[] = [];
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      text += d;
      for (const w of waiters.splice(0)) w();
    });
    const closed = new Promise<void>((r) => {
      socket.on('close', () => {
        done = true;
        for (const w of waiters.splice(0)) w();
        r();
      });
    });
    socket.on('error', () => undefined);
    const conn: Conn = {
      socket,
      received: () => text,
      closed,
      isClosed: () => done,
      response(timeoutMs = 10_000) {
        return new Promise((res, rej) => {
          const timer = setTimeout(() => rej(new Error(`no complete response within ${timeoutMs} ms; got ${JSON.stringify(text.slice(0, 300))}`)), timeoutMs);
          const check = (): void => {
            const r = parseResponse(text);
            if (r) {
              clearTimeout(timer);
              res(r);
            } else if (done) {
              clearTimeout(timer);
              rej(new Error(`connection closed without a complete response; got ${JSON.stringify(text.slice(0, 300))}`));
            } else waiters.push(check);
          };
          check();
        });
      },
    };
    socket.once('connect', () => resolve(conn));
    socket.once('error', reject);
  });
}

/** Sends `bytes` on a new connection and resolves with the first response. */
export async function exchange(port: number, bytes: string, localAddress?: string): Promise<RawAnswer & { conn: Conn }> {
  const conn = await open(port, localAddress);
  conn.socket.write(bytes);
  try {
    return { ...(await conn.response()), conn };
  } finally {
    conn.socket.destroy();
  }
}

/** Asserts AWS's JSON 1.1 error shape on a raw answer. */
export function expectAwsError(r: RawAnswer, type: string, status?: number): void {
  expect(r.json, r.body).toEqual({ __type: type, message: expect.any(String) });
  if (status !== undefined) expect(r.status, r.body).toBe(status);
  expect(r.status).toBeGreaterThanOrEqual(400);
  expect(r.status).toBeLessThan(500);
  expect(r.headers['content-type']).toBe('application/x-amz-json-1.1');
  expect(r.headers['x-amzn-errortype']).toBe(`${type}:`);
  expect(r.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
}

/** No stack trace in a server's output ("    at f (file:1:2)" lines). */
export function expectNoStackTrace(output: string): void {
  expect(output).not.toMatch(/^\s+at .+/m);
  expect(output).not.toMatch(/internal error/i);
}

/**
 * A TrentService request as raw HTTP/1.1, SigV4-signed (as alice unless told otherwise) for
 * `host`: the Host header the request carries, whatever address it is sent to.
 */
export async function signedRaw(
  host: string,
  operation: string,
  input: unknown,
  options: { accessKeyId?: string; secretAccessKey?: string; target?: string; extraHeaders?: Record<string, string> } = {},
): Promise<string> {
  const body = JSON.stringify(input);
  const signer = new AwsV4Signer({
    method: 'POST',
    url: `http://${host}/`,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${operation}` },
    body,
    accessKeyId: options.accessKeyId ?? ALICE.accessKeyId,
    secretAccessKey: options.secretAccessKey ?? ALICE.secretAccessKey,
    service: 'kms',
    region: REGION,
  });
  const signed = await signer.sign();
  let head = `POST ${options.target ?? '/'} HTTP/1.1\r\nHost: ${host}\r\n`;
  signed.headers.forEach((v, k) => {
    if (k !== 'host') head += `${k}: ${v}\r\n`;
  });
  for (const [k, v] of Object.entries(options.extraHeaders ?? {})) head += `${k}: ${v}\r\n`;
  return `${head}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
