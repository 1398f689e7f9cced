/**
 * Reads a KMS request straight from Node's IncomingMessage, without building a fetch Request:
 * on Node 20 a web Request and its body stream cost more than the KMS work itself (see
 * bench/results.md). The message carries what the protocol needs: method, URL, a header getter
 * and the body bytes. A body over MAX_BODY_BYTES rejects with BodyTooLarge as soon as the limit
 * is passed (the rest is dropped unread into no buffer); a request whose URL cannot be built (no
 * path as its target, or a Host that is not a host name) rejects with RequestRefused.
 */
import type { IncomingMessage } from 'node:http';
import { MAX_BODY_BYTES, type ProtocolMessage } from '@edge-kms/core';
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import { BAD_TARGET_MESSAGE, lingerAfter, RequestRefused } from './http-guard.js';

export class BodyTooLarge extends RequestRefused {
  constructor() {
    super('SerializationException', `The request body exceeds ${MAX_BODY_BYTES} bytes.`);
  }
}

const UPPER = /[A-Z]/;
const ABSOLUTE = /^https?:\/\//i;

// The URL of the last POST / read, by its Host: the same string for every request of a client.
let lastHost: string | undefined;
let lastUrl = '';

/** `http://<host><target>` for a path target, the target itself in absolute-form; checked once per value. */
function urlOf(host: string | undefined, target: string): string {
  if (target === '/' && host === lastHost && host !== undefined) return lastUrl;
  let url: string;
  if (target.charCodeAt(0) === 0x2f) url = `http://${host ?? 'localhost'}${target}`;
  else if (ABSOLUTE.test(target)) url = target;
  else throw new RequestRefused('SerializationException', BAD_TARGET_MESSAGE);
  if (!URL.canParse(url)) throw new RequestRefused('SerializationException', 'The request URL is not valid (check the Host header and the path).');
  if (target === '/' && host !== undefined) {
    lastHost = host;
    lastUrl = url;
  }
  return url;
}

export function readIncomingMessage(incoming: IncomingMessage): Promise<ProtocolMessage> {
  const h = incoming.headers;
  const headers = {
    // Node lowercases header names. Names come here lowercase too (the core asks for literals and
    // for SignedHeaders entries it has checked): look them up as they are, and lowercase only a
    // name that has capitals, since lowercasing builds a new string whose property lookup costs
    // more than the rest of the lookup (several are made per request).
    // The headers object inherits from Object.prototype: a client may sign a header it calls
    // "constructor" or "__proto__", so only strings and arrays are header values.
    get(name: string): string | null {
      let v: unknown = h[name];
      if (v === undefined && UPPER.test(name)) v = h[name.toLowerCase()];
      return typeof v === 'string' ? v : Array.isArray(v) ? v.join(', ') : null;
    },
  };
  let url: string;
  try {
    url = urlOf(h.host, incoming.url ?? '/');
  } catch (e) {
    return Promise.reject(e);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    incoming.on('data', (chunk: Buffer) => {
      if (size > MAX_BODY_BYTES) return; // already refused: what still comes is dropped
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else {
        chunks.length = 0;
        reject(new BodyTooLarge());
      }
    });
    incoming.on('end', () => {
      if (size > MAX_BODY_BYTES) return;
      const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      resolve({ method: incoming.method ?? 'GET', url, headers, body: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) });
    });
    incoming.on('error', reject);
  });
}

/**
 * The same, for the Hono app's `readMessage` option, from @hono/node-server's bindings. A refused
 * request's connection is closed after the app's answer, as on the fast path.
 */
export function readIncoming(c: Context<{ Bindings: HttpBindings }>): Promise<ProtocolMessage> {
  const { incoming, outgoing } = c.env;
  return readIncomingMessage(incoming).catch((e: unknown) => {
    if (!outgoing.headersSent) {
      outgoing.setHeader('connection', 'close');
      lingerAfter(outgoing);
    }
    throw e;
  });
}
