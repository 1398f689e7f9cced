/**
 * Reads a KMS request straight from Node's IncomingMessage, without building a fetch Request:
 * on Node 20 a web Request and its body stream cost more than the KMS work itself (see
 * bench/results.md). The message carries what the protocol needs: method, URL, a header getter
 * and the body bytes (at most MAX_BODY_BYTES; a larger body rejects with BodyTooLarge).
 */
import type { IncomingMessage } from 'node:http';
import { MAX_BODY_BYTES, type ProtocolMessage } from '@edge-kms/core';
import type { Context } from 'hono';

export class BodyTooLarge extends Error {}

const UPPER = /[A-Z]/;

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
  const url = `http://${h.host ?? 'localhost'}${incoming.url ?? '/'}`;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    incoming.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    incoming.on('end', () => {
      if (size > MAX_BODY_BYTES) return reject(new BodyTooLarge(`The request body exceeds ${MAX_BODY_BYTES} bytes.`));
      const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      resolve({ method: incoming.method ?? 'GET', url, headers, body: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) });
    });
    incoming.on('error', reject);
  });
}

/** The same, for the Hono app's `readMessage` option. */
export function readIncoming(c: Context): Promise<ProtocolMessage> {
  return readIncomingMessage((c.env as { incoming: IncomingMessage }).incoming);
}
