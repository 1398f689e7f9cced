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
import { errorResult, INTERNAL_MESSAGE, KmsError, MAX_BODY_BYTES, type Kms, type ProtocolResult } from '@edge-kms/core';
import { badTarget, createHostCheck, kResponse, originFormOf, refusal, refuse, RequestRefused, type TrackedSocket } from './http-guard.js';
import { readIncomingMessage } from './read-message.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

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

function answerFailure(res: ServerResponse, e: unknown): void {
  if (e instanceof RequestRefused) refuse(res, refusal(e));
  // The request stream failed: the client hung up (or timed out) while sending its body.
  else if (res.req.errored || res.req.destroyed) refuse(res, refusal(new KmsError('SerializationException', 'The request body could not be read.')));
  else answer(res, errorResult(new KmsError('KMSInternalException', INTERNAL_MESSAGE)));
}

export interface KmsListenerOptions {
  /**
   * Answer only Host headers that name loopback (localhost, 127.x.x.x, [::1]) or `allowedHosts`:
   * open mode, where no signature protects against DNS rebinding. Otherwise only the Host
   * header's syntax is checked.
   */
  restrictHosts?: boolean;
  /** Further host names (`name`, or `name:port`) to answer when hosts are restricted. */
  allowedHosts?: readonly string[];
}

/**
 * Every request passes the same checks first (http-guard.ts): a Host header it may answer, a
 * declared Content-Length within MAX_BODY_BYTES, a path as the target (absolute-form naming this
 * host is rewritten to its path), and a streamed (chunked) body only for POST /, whose reader
 * stops at the limit. Per request that is a comparison with the last accepted Host, a length
 * check and a look at the target; the checks that parse run only for values not seen before.
 */
export function createKmsListener(kms: Kms, fallback: Listener, options: KmsListenerOptions = {}): Listener {
  const checkHost = createHostCheck({ restrict: options.restrictHosts === true, allowedHosts: options.allowedHosts });
  let acceptedHost: string | undefined;
  return (req, res) => {
    const h = req.headers;
    const host = h.host;
    if (host === undefined || host !== acceptedHost) {
      const refusal = checkHost(host);
      if (refusal !== undefined) return refuse(res, refusal);
      acceptedHost = host;
    }
    const length = h['content-length'];
    if (length !== undefined && length.length > 6 && Number(length) > MAX_BODY_BYTES) {
      return refuse(res, refusal(new KmsError('SerializationException', `The request body exceeds ${MAX_BODY_BYTES} bytes.`)));
    }
    let url = req.url!;
    if (url !== '/') {
      if (url.charCodeAt(0) !== 0x2f) {
        const path = originFormOf(url, host);
        if (path === undefined) return refuse(res, badTarget());
        req.url = url = path;
      }
      // Only the KMS call (POST /) reads a streamed body with a limit: elsewhere, declare its length.
      if (url !== '/' && h['transfer-encoding'] !== undefined) {
        return refuse(res, refusal(new KmsError('SerializationException', 'A request body sent to this path needs a Content-Length header.', 411)));
      }
    }
    (req.socket as TrackedSocket)[kResponse] = res;
    if (req.method !== 'POST' || url !== '/' || h.origin !== undefined) return fallback(req, res);
    readIncomingMessage(req)
      .then((message) => kms.handleMessage(message, { sourceIp: req.socket.remoteAddress }))
      .then(
        (r) => answer(res, r),
        (e) => answerFailure(res, e),
      );
  };
}
