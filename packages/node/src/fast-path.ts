/**
 * The Node server's request listener. KMS calls (POST /, no browser Origin) are answered straight
 * from node:http: the body is read from the IncomingMessage, the core's protocol function
 * (`kms.handleMessage`) answers, and the response is written with one writeHead/end. Everything
 * else (CORS preflights and browser calls, GET /, the playground, test-mode endpoints) goes to the
 * Hono app. Both paths run the same protocol function, so their answers are identical; the fast
 * path only skips building fetch Requests and Responses, which on Node 20 cost more than the KMS
 * work (bench/results.md).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_BODY_BYTES, type Kms } from '@edge-kms/core';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

function headerGetter(h: IncomingMessage['headers']) {
  return {
    get(name: string): string | null {
      const v = h[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
    },
  };
}

export function createKmsListener(kms: Kms, fallback: Listener): Listener {
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== '/' || req.headers.origin !== undefined) return fallback(req, res);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => {
      const buf = tooLarge ? Buffer.alloc(MAX_BODY_BYTES + 1) : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      kms
        .handleMessage(
          {
            method: 'POST',
            url: `http://${req.headers.host ?? 'localhost'}/`,
            headers: headerGetter(req.headers),
            body: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength),
          },
          { sourceIp: req.socket.remoteAddress },
        )
        .then((r) => {
          res.writeHead(r.status, r.headers);
          res.end(r.body);
        }, () => {
          res.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' });
          res.end('{"__type":"KMSInternalException","message":"An internal error occurred. Try again later."}');
        });
    });
    req.on('error', () => res.destroy());
  };
}
