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
import { INTERNAL_MESSAGE, type Kms } from '@edge-kms/core';
import { BodyTooLarge, readIncomingMessage } from './read-message.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

function answerError(res: ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': `${type}:` });
  res.end(JSON.stringify({ __type: type, message }));
}

export function createKmsListener(kms: Kms, fallback: Listener): Listener {
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== '/' || req.headers.origin !== undefined) return fallback(req, res);
    readIncomingMessage(req)
      .then((message) => kms.handleMessage(message, { sourceIp: req.socket.remoteAddress }))
      .then(
        (r) => {
          res.writeHead(r.status, r.headers);
          res.end(r.body);
        },
        (e) => {
          if (e instanceof BodyTooLarge) answerError(res, 400, 'SerializationException', e.message);
          else if (!res.headersSent) answerError(res, 500, 'KMSInternalException', INTERNAL_MESSAGE);
        },
      );
  };
}
