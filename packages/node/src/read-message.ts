/**
 * Reads a KMS request straight from Node's IncomingMessage, without building a fetch Request:
 * on Node 20 a web Request and its body stream cost more than the KMS work itself (see
 * bench/results.md). The message carries what the protocol needs: method, URL, a header getter
 * and the body bytes (at most MAX_BODY_BYTES).
 */
import type { IncomingMessage } from 'node:http';
import { MAX_BODY_BYTES, type ProtocolMessage } from '@edge-kms/core';
import type { Context } from 'hono';

export function readIncoming(c: Context): Promise<ProtocolMessage> {
  const incoming = (c.env as { incoming: IncomingMessage }).incoming;
  const h = incoming.headers;
  const headers = {
    get(name: string): string | null {
      const v = h[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
    },
  };
  const url = `http://${h.host ?? 'localhost'}${incoming.url ?? '/'}`;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    incoming.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        incoming.pause();
        reject(new Error('request body too large'));
        return;
      }
      chunks.push(chunk);
    });
    incoming.on('end', () => {
      const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      resolve({ method: incoming.method ?? 'GET', url, headers, body: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) });
    });
    incoming.on('error', reject);
  });
}
