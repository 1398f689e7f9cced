/**
 * @edge-kms/hono: a Hono app around the core's protocol function. POST / serves TrentService;
 * in test mode a few extra endpoints under /_edge-kms/ reset state, move the clock and run
 * maintenance. Unknown errors become a bare KMSInternalException; internals are logged only.
 * Optionally GET /playground/* serves the playground page.
 */
import {
  errorResponse,
  fromBase64,
  INTERNAL_MESSAGE,
  isKmsError,
  KmsError,
  PEER_PATH,
  toWire,
  type Kms,
  type ProtocolMessage,
  type TestClock,
} from '@edge-kms/core';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

export { createPeerSigner } from './peer-signer.js';

/** The headers AWS SDKs send from a browser, which a CORS preflight must allow. */
export const CORS_ALLOW_HEADERS = [
  'authorization',
  'content-type',
  'x-amz-date',
  'x-amz-target',
  'x-amz-user-agent',
  'x-amz-security-token',
  'x-amz-content-sha256',
  'amz-sdk-invocation-id',
  'amz-sdk-request',
];
export const CORS_EXPOSE_HEADERS = ['x-amzn-requestid', 'x-amzn-errortype'];

/**
 * The app's Hono environment: the bindings (`c.env`) of the runtime that serves it, typed by that
 * shell (the Worker's Env, @hono/node-server's HttpBindings, …). The app itself reads none of
 * them and sets no per-request variables; the shell's own options (readMessage, sourceIp,
 * playground) may read its bindings, typed.
 */
export interface KmsAppEnv<Bindings extends object = object> {
  Bindings: Bindings;
}

export interface KmsAppOptions<Bindings extends object = object> {
  kms: Kms;
  /** Adds /_edge-kms/reset, /_edge-kms/clock, /_edge-kms/seed and /_edge-kms/maintenance. Off by default. */
  testMode?: boolean;
  /** The clock that /_edge-kms/clock moves (test mode only). */
  testClock?: TestClock;
  /** Origins allowed to call from a browser (CORS); '*' for any. None by default. */
  corsOrigins?: string[] | '*';
  /**
   * Reads a request as plain data without building a fetch Request; the Node server passes one
   * that reads the IncomingMessage directly (a web Request costs more than the KMS work itself).
   */
  readMessage?: (c: Context<KmsAppEnv<Bindings>>) => Promise<ProtocolMessage>;
  /** The client's IP for aws:SourceIp, from the runtime (e.g. getConnInfo on Node). */
  sourceIp?: (c: Context<KmsAppEnv<Bindings>>) => string | undefined;
  /**
   * Serves the playground page beside the KMS: GET /playground/<path> is answered by this function
   * (`path` without the leading /playground/, '' for the page itself). The page then calls the KMS
   * at its own origin, with no CORS. The Node server passes one that reads the build from disk.
   */
  playground?: (path: string, c: Context<KmsAppEnv<Bindings>>) => Response | Promise<Response>;
}

function refused(message: string): Response {
  return errorResponse(new KmsError('AccessDeniedException', message));
}

/** The media type of a Content-Type header, lower case, without parameters. */
function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Guards the test-mode endpoints (/_edge-kms/*), which can wipe the KMS or move its clock, against
 * the web pages a developer has open: a page can send a "simple" cross-site request (a POST with
 * `Content-Type: text/plain`, no preflight) to localhost. Refused, with AccessDeniedException:
 * - a request whose Origin is not this server's own origin, or whose Sec-Fetch-Site says it comes
 *   from another site (whatever the CORS settings: a CORS origin may call the KMS API, not these);
 * - a POST whose Content-Type is not application/json (a browser must preflight that, and the
 *   preflight is not answered for another origin);
 * - when the KMS verifies signatures (identities configured), a request that is not SigV4-signed
 *   by an identity of the KMS's account (the signed path names the endpoint, so no X-Amz-Target).
 */
export function testModeGuard(kms: Kms): MiddlewareHandler {
  return async (c, next) => {
    const origin = c.req.header('origin');
    const own = new URL(c.req.url).origin;
    if (origin !== undefined && origin !== own) {
      return refused(`The test-mode endpoints answer only requests from their own origin, not from ${origin}.`);
    }
    const site = c.req.header('sec-fetch-site');
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      return refused(`The test-mode endpoints answer only same-origin requests (Sec-Fetch-Site: ${site}).`);
    }
    if (c.req.method === 'POST' && mediaType(c.req.header('content-type')) !== 'application/json') {
      return refused('The test-mode endpoints take POST requests with Content-Type: application/json only.');
    }
    if (kms.authenticationMode === 'verify') {
      const raw = c.req.raw;
      let body: Uint8Array;
      try {
        body = new Uint8Array(await raw.clone().arrayBuffer());
      } catch {
        return errorResponse(new KmsError('SerializationException', 'The request body could not be read.'));
      }
      try {
        const caller = await kms.authenticate({ method: raw.method, url: raw.url, headers: raw.headers }, body, { requiredSignedHeaders: [] });
        if (caller.accountId !== kms.accountId) {
          return refused(`User: ${caller.arn} is not authorized to use the test-mode endpoints of account ${kms.accountId}.`);
        }
      } catch (e) {
        if (isKmsError(e)) return errorResponse(e);
        throw e;
      }
    }
    return next();
  };
}

export function createKmsApp<Bindings extends object = object>(options: KmsAppOptions<Bindings>): Hono<KmsAppEnv<Bindings>> {
  const { kms } = options;
  const app = new Hono<KmsAppEnv<Bindings>>();

  const origins = options.corsOrigins;
  if (origins && (origins === '*' || origins.length > 0)) {
    app.use(
      '*',
      cors({
        origin: origins === '*' ? '*' : origins,
        allowMethods: ['POST', 'GET', 'OPTIONS'],
        allowHeaders: CORS_ALLOW_HEADERS,
        exposeHeaders: CORS_EXPOSE_HEADERS,
        maxAge: 600,
      }),
    );
  }

  app.post('/', (c) => {
    let sourceIp: string | undefined;
    try {
      sourceIp = options.sourceIp?.(c);
    } catch {
      sourceIp = undefined;
    }
    if (!options.readMessage) return kms.handle(c.req.raw, { sourceIp });
    // A runtime shell that can read the request without a fetch Request (Node) answers faster.
    return options.readMessage(c).then(
      async (message) => {
        const r = await kms.handleMessage(message, { sourceIp });
        return c.body(r.body, r.status as 200, r.headers);
      },
      () => errorResponse(new KmsError('SerializationException', 'The request body could not be read.')),
    );
  });

  app.get('/', (c) => c.json({ service: 'edge-kms', protocol: 'TrentService (AWS JSON 1.1)', accountId: kms.accountId, region: kms.region }));

  // Peer deployments deliver multi-Region key material here (SigV4 under the link's derived
  // credentials, verified by the core; see @edge-kms/core replication.ts).
  const handlePeer = kms.handlePeer;
  if (handlePeer) app.post(PEER_PATH, (c) => handlePeer(c.req.raw));

  const playground = options.playground;
  if (playground) {
    app.get('/playground', (c) => c.redirect('/playground/'));
    app.get('/playground/*', (c) => playground(c.req.path.slice('/playground/'.length), c));
  }

  if (options.testMode) {
    app.use('/_edge-kms/*', testModeGuard(kms));
    app.post('/_edge-kms/reset', async (c) => {
      await kms.reset();
      return c.json({ reset: true });
    });
    app.post('/_edge-kms/seed', async (c) => {
      try {
        const body = (await c.req.json()) as { KeyMaterial?: string; KeyId?: string; Description?: string; AliasName?: string };
        const material = typeof body.KeyMaterial === 'string' ? fromBase64(body.KeyMaterial) : undefined;
        if (!material) throw new KmsError('ValidationException', '"KeyMaterial" expected base64 of 32 bytes');
        return c.json(toWire(await kms.seedKey({ ...body, KeyMaterial: material })) as object);
      } catch (e) {
        return errorResponse(isKmsError(e) ? e : new KmsError('SerializationException', 'The request body is not valid JSON.'));
      }
    });
    app.post('/_edge-kms/maintenance', async (c) => c.json(await kms.runMaintenance()));
    app.get('/_edge-kms/clock', (c) => c.json({ now: kms.now() }));
    app.post('/_edge-kms/clock', async (c) => {
      const clock = options.testClock;
      if (!clock) return errorResponse(new KmsError('UnsupportedOperationException', 'This server has no test clock.'));
      let body: { advanceDays?: unknown; advanceMs?: unknown; set?: unknown };
      try {
        body = (await c.req.json()) as typeof body;
      } catch {
        return errorResponse(new KmsError('SerializationException', 'The request body is not valid JSON.'));
      }
      if (typeof body.advanceDays === 'number') clock.advanceDays(body.advanceDays);
      if (typeof body.advanceMs === 'number') clock.advance(body.advanceMs);
      if (typeof body.set === 'number') clock.set(body.set);
      return c.json({ now: clock.now() });
    });
  }

  app.notFound(() => errorResponse(new KmsError('UnknownOperationException', 'Not found.')));
  app.onError((err) => {
    kms.onInternalError(err);
    return errorResponse(new KmsError('KMSInternalException', INTERNAL_MESSAGE));
  });
  return app;
}
