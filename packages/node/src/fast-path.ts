/**
 * The Node server's request listener. KMS calls (POST /, no browser Origin) are answered straight
 * from node:http: the body is read from the IncomingMessage, the core's protocol function
 * (`kms.handleMessage`) answers, and the response is written with one writeHead/end. Everything
 * else (CORS preflights and browser calls, GET /, the playground, test-mode endpoints) goes to the
 * Hono app. Both paths run the same protocol function, so their answers are identical; the fast
 * path only skips building fetch Requests and Responses, which on Node 20 cost more than the KMS
 * work (bench/results.md).
 *
 * Responses are written in batches, as Redis writes its replies: an answered request's response
 * waits in a queue that is flushed once per turn of the event loop (setImmediate, right after the
 * poll phase that read the requests), not one socket write as each request finishes. Every
 * request read in one poll phase is answered in the same burst of writes, so a client with many
 * connections is woken once for the burst instead of once per response; on a loaded server that
 * wake-up is the largest single cost of a KMS call (docs/decisions/0005-http-fast-path.md). A
 * response waits at most for the other requests of its own turn, and on an idle server it is
 * written in the same turn it was answered in.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { INTERNAL_MESSAGE, type Kms, type ProtocolResult } from '@edge-kms/core';
import { BodyTooLarge, readIncomingMessage } from './read-message.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

function errorResult(status: number, type: string, message: string): ProtocolResult {
  return {
    status,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': `${type}:` },
    body: JSON.stringify({ __type: type, message }),
  };
}

/** Responses answered in this turn of the event loop, written together by `flush`. */
const queue: { res: ServerResponse; result: ProtocolResult }[] = [];

function flush(): void {
  // Taken whole first: a write that throws must not keep the others from being written.
  const batch = queue.splice(0, queue.length);
  for (const { res, result } of batch) {
    try {
      write(res, result);
    } catch {
      // The connection is gone (the client hung up while its request was answered).
      res.destroy();
    }
  }
}

function write(res: ServerResponse, r: ProtocolResult): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number> = { ...r.headers, 'content-length': Buffer.byteLength(r.body) };
  res.writeHead(r.status, headers);
  res.end(r.body);
}

function answer(res: ServerResponse, result: ProtocolResult): void {
  queue.push({ res, result });
  if (queue.length === 1) setImmediate(flush);
}

export function createKmsListener(kms: Kms, fallback: Listener): Listener {
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== '/' || req.headers.origin !== undefined) return fallback(req, res);
    readIncomingMessage(req)
      .then((message) => kms.handleMessage(message, { sourceIp: req.socket.remoteAddress }))
      .then(
        (r) => answer(res, r),
        (e) => answer(res, e instanceof BodyTooLarge ? errorResult(400, 'SerializationException', e.message) : errorResult(500, 'KMSInternalException', INTERNAL_MESSAGE)),
      );
  };
}
