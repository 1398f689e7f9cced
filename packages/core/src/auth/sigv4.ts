/**
 * AWS Signature Version 4 verifier: turns a signed request into a Caller, or throws the KmsError
 * AWS would answer with. Both forms are accepted: the `Authorization` header and the query string
 * (presigned URL: X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires,
 * X-Amz-SignedHeaders, X-Amz-Signature, X-Amz-Security-Token).
 *
 * The checks run in the order AWS (Coral) runs them, so the same bad request gets the same error:
 * both forms present / none present, missing parameters, date format, time window, `host` signed,
 * algorithm, credential shape, credential scope, access key, signature.
 *
 * Stricter than AWS, because a KMS request's meaning is in its headers and body (our rule; the
 * AWS SDKs, the CLI and boto3 always satisfy it): the header carrying the date (X-Amz-Date, or
 * Date) and X-Amz-Target must be signed, so a signature cannot be replayed later or re-aimed at
 * another operation; the payload hash always covers the body (UNSIGNED-PAYLOAD is refused, also
 * in a presigned URL, where AWS accepts it); and X-Amz-Expires is capped at 15 minutes by default
 * (`maxPresignExpiresSeconds`), not AWS's seven days.
 *
 * The canonical request follows the AWS specification (and what aws4fetch, botocore and the AWS
 * SDK v3 send): the path as received is normalized and each segment URI-encoded once more (the
 * "double encoding" of non-S3 services); the query is decoded and re-encoded with RFC 3986 rules,
 * sorted by key then value; header values are trimmed with inner runs of spaces collapsed.
 *
 * Web APIs only (crypto.subtle for SHA-256 and HMAC, or the injected CryptoProvider).
 *
 * The per-request path is kept short, because it runs on every call: the usual Authorization form
 * is matched by one regular expression (anything else takes the general parser), and what only
 * depends on the credential scope or the signed-header list (both the same on every request of a
 * client on a day) is computed once and remembered in small bounded maps. Nothing derived from a
 * request's signature, body or date is remembered.
 */
import { constantTimeEqualStrings, utf8, wipe } from '../bytes.js';
import { systemClock, type Clock } from '../clock.js';
import { DEFAULT_ACCOUNT_ID } from '../engine-config.js';
import { KmsError } from '../errors.js';
import { webCryptoProvider, type CryptoProvider } from '../crypto-provider.js';
import type { Caller, IdentityLookup, RequestLike } from './types.js';
import {
  checkCredential,
  checkTime,
  DEFAULT_MAX_SKEW_MS,
  displayName,
  headerNotSignedMessage,
  HOST_NOT_SIGNED_MESSAGE,
  incomplete,
  invalid,
  MAX_PRESIGN_EXPIRES_SECONDS,
  mismatch,
  MISSING_AUTHENTICATION_TOKEN_MESSAGE,
  parseHeaderClaim,
  parseQueryClaim,
  QUERY,
  type Scope,
  type SignatureClaim,
  SIGV4_ALGORITHM,
  TERMINATOR,
  unrecognized,
  UNSIGNED_PAYLOAD,
  UNSIGNED_PAYLOAD_REFUSED_MESSAGE,
} from './sigv4-claim.js';
import { canonicalHeaderValue, canonicalQuery, canonicalUri, queryParamIgnoringCase, simpleUrl } from './sigv4-canonical.js';
export { canonicalHeaderValue, canonicalQuery, canonicalUri, uriEncode } from './sigv4-canonical.js';
export {
  DEFAULT_MAX_SKEW_MS,
  formatAmzDate,
  headerNotSignedMessage,
  HOST_NOT_SIGNED_MESSAGE,
  MAX_PRESIGN_EXPIRES_SECONDS,
  MISSING_AUTHENTICATION_TOKEN_MESSAGE,
  parseAmzDate,
  SIGNATURE_MISMATCH_MESSAGE,
  SIGV4_ALGORITHM,
  UNRECOGNIZED_CLIENT_MESSAGE,
  UNSIGNED_PAYLOAD,
  UNSIGNED_PAYLOAD_REFUSED_MESSAGE,
} from './sigv4-claim.js';

export interface SigV4VerifierOptions {
  /**
   * The Regions served: the credential scope must name one. A name, or a test of a name (the
   * KMS's, which accepts every Region name unless `regions` restricts them).
   */
  region: string | ((region: string) => boolean);
  /** The signing name; default 'kms'. */
  service?: string;
  /**
   * 'verify': identities required, signatures checked. 'open': development mode, any well-formed
   * signature is accepted (no secret check), caller = openCaller.
   */
  mode: 'verify' | 'open';
  /** Required in verify mode. */
  lookup?: IdentityLookup;
  /** The caller returned in open mode (default: the root of the default account). */
  openCaller?: Caller;
  clock?: Clock;
  /** How far X-Amz-Date may be from the clock, either way. Default 15 minutes. */
  maxSkewMs?: number;
  /** SHA-256 and HMAC; WebCrypto by default. */
  crypto?: CryptoProvider;
  /**
   * Headers that must be in SignedHeaders, besides `host` and the header that carries the date.
   * Default `['x-amz-target']`: the operation is in X-Amz-Target, so a signature that does not
   * cover it could be re-aimed at another operation (every AWS SDK, the CLI and boto3 sign it).
   */
  requiredSignedHeaders?: readonly string[];
  /**
   * The longest X-Amz-Expires a presigned (query-string) request may have, in seconds. Default
   * 900 (15 minutes, the header form's clock-skew window): a presigned KMS request can be replayed
   * by whoever holds it until it expires.
   */
  maxPresignExpiresSeconds?: number;
}

/**
 * Verifies a request. `requiredSignedHeaders` overrides the verifier's option for this call (the
 * test-mode endpoints, whose signed path names what they do, have no X-Amz-Target).
 */
export type SigV4Verifier = (request: RequestLike, body: Uint8Array, requiredSignedHeaders?: readonly string[]) => Promise<Caller>;

/** edge-kms's default cap on X-Amz-Expires for KMS requests (SigV4VerifierOptions). */
export const DEFAULT_MAX_PRESIGN_EXPIRES_SECONDS = 900;

export const DEFAULT_REQUIRED_SIGNED_HEADERS: readonly string[] = ['x-amz-target'];

const HEX_SIGNATURE_RE = /^[0-9a-f]{64}$/;

/** A lowercase HTTP header name (RFC 9110 token). */
const HEADER_NAME_RE = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

const SIGNING_KEY_CACHE_SIZE = 64;

/** Entries in each of the verifier's small memo maps (credential scopes, signed-header lists). */
const MEMO_SIZE = 256;

async function hmacKey(raw: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', raw as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
}

async function hmac(key: CryptoKey, data: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, utf8(data) as BufferSource));
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
async function deriveSigningKey(secret: string, date: string, region: string, service: string): Promise<CryptoKey> {
  let raw = utf8(`AWS4${secret}`);
  for (const part of [date, region, service, TERMINATOR]) {
    const next = await hmac(await hmacKey(raw), part);
    wipe(raw);
    raw = next;
  }
  const key = await hmacKey(raw);
  wipe(raw);
  return key;
}

interface CachedKey {
  secret: string;
  key: Promise<CryptoKey>;
  /** The key once derived: later requests use it without waiting on a promise. */
  ready?: CryptoKey;
}

interface SignedHeaderList {
  names: string[];
  hasHost: boolean;
  /** The first required header (options.requiredSignedHeaders) missing from the list, if any. */
  missingRequired: string | undefined;
  hasAmzDate: boolean;
  hasDate: boolean;
  /** Every name is a lowercase header name. */
  wellFormed: boolean;
}

export function createSigV4Verifier(options: SigV4VerifierOptions): SigV4Verifier {
  const acceptRegion = typeof options.region === 'string' ? (r: string) => r === options.region : options.region;
  const service = options.service ?? 'kms';
  const mode = options.mode;
  const clock = options.clock ?? systemClock;
  const maxSkewMs = options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  const lookup = options.lookup;
  const provider = options.crypto ?? webCryptoProvider;
  const required = options.requiredSignedHeaders ?? DEFAULT_REQUIRED_SIGNED_HEADERS;
  const maxExpires = Math.min(options.maxPresignExpiresSeconds ?? DEFAULT_MAX_PRESIGN_EXPIRES_SECONDS, MAX_PRESIGN_EXPIRES_SECONDS);
  if (mode !== 'verify' && mode !== 'open') throw new TypeError(`sigv4: unknown mode ${String(mode)}`);
  if (mode === 'verify' && !lookup) throw new TypeError('sigv4: verify mode needs an identity lookup');
  const openCaller: Caller = options.openCaller ?? {
    accountId: DEFAULT_ACCOUNT_ID,
    arn: `arn:aws:iam::${DEFAULT_ACCOUNT_ID}:root`,
  };

  // Signing keys per (access key id, date, region, service), remembered with the secret they were
  // derived from: a rotated secret misses. Bounded, least recently used first out.
  const keys = new Map<string, CachedKey>();
  function signingKey(accessKeyId: string, secret: string, date: string, region: string): CryptoKey | Promise<CryptoKey> {
    const id = `${accessKeyId}\n${date}\n${region}`;
    const hit = keys.get(id);
    if (hit) {
      if (hit.secret === secret) {
        // Least recently used first out; moving an entry that is already the newest is skipped.
        if (keys.size > 1) {
          keys.delete(id);
          keys.set(id, hit);
        }
        return hit.ready ?? hit.key;
      }
      keys.delete(id);
    }
    const key = deriveSigningKey(secret, date, region, service);
    const entry: CachedKey = { secret, key };
    keys.set(id, entry);
    key.then(
      (k) => (entry.ready = k),
      () => {
        if (keys.get(id) === entry) keys.delete(id);
      },
    );
    while (keys.size > SIGNING_KEY_CACHE_SIZE) keys.delete(keys.keys().next().value!);
    return key;
  }

  // What depends only on a credential and its date (the scope check), or only on a signed-header
  // list, is the same on every request of a client on a day: computed once, remembered (bounded).
  const scopes = new Map<string, Scope>();
  function scopeOf(claim: SignatureClaim): Scope {
    const id = `${claim.credential} ${claim.amzDate.slice(0, 8)}`;
    let scope = scopes.get(id);
    if (!scope) {
      scope = checkCredential(claim, acceptRegion, service); // throws for a bad scope: not remembered
      if (scopes.size >= MEMO_SIZE) scopes.clear();
      scopes.set(id, scope);
    }
    return scope;
  }
  const headerLists = new Map<string, SignedHeaderList>();
  function signedHeaderList(list: string): SignedHeaderList {
    let parsed = headerLists.get(list);
    if (!parsed) {
      const names = list.split(';');
      const lower = new Set(names.map((h) => h.toLowerCase()));
      parsed = {
        names,
        hasHost: lower.has('host'),
        missingRequired: required.find((h) => !lower.has(h)),
        hasAmzDate: lower.has('x-amz-date'),
        hasDate: lower.has('date'),
        wellFormed: names.every((h) => HEADER_NAME_RE.test(h)),
      };
      if (headerLists.size >= MEMO_SIZE) headerLists.clear();
      headerLists.set(list, parsed);
    }
    return parsed;
  }

  const NO_QUERY = new URLSearchParams();
  return async function verifySigV4(request: RequestLike, body: Uint8Array, requiredHere?: readonly string[]): Promise<Caller> {
    // Parse the URL only when it has a query (the presigned form); KMS calls are POST /.
    const query = request.url.includes('?') ? new URL(request.url).searchParams : NO_QUERY;
    const authorization = request.headers.get('authorization') || null;
    const queryParam = query === NO_QUERY ? null : query.has(QUERY.algorithm) ? QUERY.algorithm : query.has(QUERY.signature) ? QUERY.signature : null;

    if (authorization !== null && queryParam !== null) {
      throw invalid(`Found both '${queryParam}' as a query-string param and 'Authorization' as HTTP header.`);
    }
    if (authorization === null && queryParam === null) {
      throw new KmsError('MissingAuthenticationTokenException', MISSING_AUTHENTICATION_TOKEN_MESSAGE);
    }
    const claim = authorization !== null ? parseHeaderClaim(request, authorization) : parseQueryClaim(query, maxExpires);

    checkTime(claim, clock.now(), maxSkewMs);

    const signed = signedHeaderList(claim.signedHeaders);
    if (!signed.hasHost) throw invalid(HOST_NOT_SIGNED_MESSAGE);
    // The date and the operation are signed too, so that a signature cannot be replayed later or
    // re-aimed at another operation. (In the query form the date is in the signed query.)
    if (claim.dateHeader === 'x-amz-date' && !signed.hasAmzDate) throw invalid(headerNotSignedMessage('X-Amz-Date'));
    if (claim.dateHeader === 'date' && !signed.hasDate) throw invalid(headerNotSignedMessage('Date'));
    const missing = requiredHere === undefined ? signed.missingRequired : requiredHere.find((h) => !signed.names.includes(h));
    if (missing !== undefined) throw invalid(headerNotSignedMessage(displayName(missing)));

    if (claim.algorithm !== SIGV4_ALGORITHM) {
      throw incomplete(`Unsupported AWS 'algorithm': '${claim.algorithm}' (only ${SIGV4_ALGORITHM} for now).`);
    }

    const scope = scopeOf(claim);

    if (mode === 'open') {
      if (!HEX_SIGNATURE_RE.test(claim.signature)) throw mismatch();
      return { ...openCaller, accessKeyId: openCaller.accessKeyId ?? scope.accessKeyId, region: scope.region };
    }

    const found = lookup!(scope.accessKeyId);
    const identity = found instanceof Promise ? await found : found;
    if (!identity || identity.accessKeyId !== scope.accessKeyId || !identity.secretAccessKey) throw unrecognized();

    // Payload hash: x-amz-content-sha256 (header, or hoisted into the query of a presigned URL)
    // when present, and then it must be the body's. The signature always covers the body: AWS
    // accepts UNSIGNED-PAYLOAD in a presigned URL, which would make a leaked URL good for any body.
    const bodyHashed = provider.sha256Hex(body);
    const bodyHash = typeof bodyHashed === 'string' ? bodyHashed : await bodyHashed;
    const claimedHash = request.headers.get('x-amz-content-sha256') ?? (claim.form === 'query' ? queryParamIgnoringCase(query, QUERY.contentSha256) : null);
    let payloadHash: string;
    if (claimedHash === null) {
      payloadHash = bodyHash;
    } else if (claimedHash === UNSIGNED_PAYLOAD) {
      if (claim.form !== 'query') throw mismatch();
      throw invalid(UNSIGNED_PAYLOAD_REFUSED_MESSAGE);
    } else if (claimedHash.toLowerCase() === bodyHash) {
      payloadHash = claimedHash;
    } else {
      throw mismatch();
    }

    if (!signed.wellFormed) throw mismatch();
    // KMS requests go to "<scheme>://<host>/": read host and path without a URL parser then.
    const url = simpleUrl(request.url) ?? new URL(request.url);
    let canonicalHeaders = '';
    for (const name of signed.names) {
      const value = request.headers.get(name) ?? (name === 'host' ? url.host : null);
      if (value === null) throw mismatch();
      canonicalHeaders += `${name}:${canonicalHeaderValue(value)}\n`;
    }
    const pathname = url.pathname;
    const canonicalQueryString = query === NO_QUERY ? '' : canonicalQuery(query, claim.form === 'query' ? QUERY.signature : undefined);
    const prefix = `${request.method.toUpperCase()}\n${canonicalUri(pathname)}\n${canonicalQueryString}\n${canonicalHeaders}\n${claim.signedHeaders}`;

    const cachedKey = signingKey(scope.accessKeyId, identity.secretAccessKey, scope.date, scope.region);
    const key = cachedKey instanceof Promise ? await cachedKey : cachedKey;
    const hashed = provider.sha256Hex(`${prefix}\n${payloadHash}`);
    const stringToSign = `${SIGV4_ALGORITHM}\n${claim.amzDate}\n${scope.scope}\n${typeof hashed === 'string' ? hashed : await hashed}`;
    const mac = provider.hmacSha256Hex(key, stringToSign);
    if (!constantTimeEqualStrings(typeof mac === 'string' ? mac : await mac, claim.signature)) throw mismatch();
    return { accountId: identity.accountId, arn: identity.arn, accessKeyId: identity.accessKeyId, region: scope.region };
  };
}
