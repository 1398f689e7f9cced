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
import { DEFAULT_ACCOUNT_ID } from '../engine.js';
import { KmsError } from '../errors.js';
import { webCryptoProvider, type CryptoProvider } from '../crypto-provider.js';
import type { Caller, IdentityLookup, RequestLike } from './types.js';

export interface SigV4VerifierOptions {
  /** The KMS's region; the credential scope must name it. */
  region: string;
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

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const DEFAULT_MAX_SKEW_MS = 15 * 60_000;
/** A presigned URL is valid for at most seven days (the signing key's lifetime), in AWS. */
export const MAX_PRESIGN_EXPIRES_SECONDS = 604_800;
/** edge-kms's default cap on X-Amz-Expires for KMS requests (SigV4VerifierOptions). */
export const DEFAULT_MAX_PRESIGN_EXPIRES_SECONDS = 900;
export const DEFAULT_REQUIRED_SIGNED_HEADERS: readonly string[] = ['x-amz-target'];

export const MISSING_AUTHENTICATION_TOKEN_MESSAGE = 'Missing Authentication Token';
export const UNRECOGNIZED_CLIENT_MESSAGE = 'The security token included in the request is invalid.';
export const SIGNATURE_MISMATCH_MESSAGE =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
export const HOST_NOT_SIGNED_MESSAGE = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.";
export const UNSIGNED_PAYLOAD_REFUSED_MESSAGE =
  'A presigned KMS request must sign the SHA-256 of its body: UNSIGNED-PAYLOAD is not accepted, since it would let anyone holding the URL send any request body.';

/** The message for a header that must be signed but is not in SignedHeaders. */
export function headerNotSignedMessage(header: string): string {
  return `'${header}' must be a 'SignedHeader' in the AWS Authorization.`;
}

const TERMINATOR = 'aws4_request';
const AMZ_DATE_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const HEX_SIGNATURE_RE = /^[0-9a-f]{64}$/;
/** A lowercase HTTP header name (RFC 9110 token). */
const HEADER_NAME_RE = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const SIGNING_KEY_CACHE_SIZE = 64;
/** Entries in each of the verifier's small memo maps (credential scopes, signed-header lists). */
const MEMO_SIZE = 256;
const SIMPLE_URL_RE = /^https?:\/\/([^/?#]+)\/$/;

const QUERY = {
  algorithm: 'X-Amz-Algorithm',
  credential: 'X-Amz-Credential',
  date: 'X-Amz-Date',
  expires: 'X-Amz-Expires',
  signedHeaders: 'X-Amz-SignedHeaders',
  signature: 'X-Amz-Signature',
  contentSha256: 'X-Amz-Content-Sha256',
} as const;

function incomplete(message: string): KmsError {
  return new KmsError('IncompleteSignatureException', message);
}

function invalid(message: string): KmsError {
  return new KmsError('InvalidSignatureException', message);
}

function mismatch(): KmsError {
  return invalid(SIGNATURE_MISMATCH_MESSAGE);
}

function unrecognized(): KmsError {
  return new KmsError('UnrecognizedClientException', UNRECOGNIZED_CLIENT_MESSAGE);
}

/** What the request says about its own signature, before anything is checked against it. */
interface SignatureClaim {
  form: 'header' | 'query';
  algorithm: string;
  credential: string;
  signedHeaders: string;
  signature: string;
  /** YYYYMMDDTHHMMSSZ: X-Amz-Date, or the Date header converted. */
  amzDate: string;
  dateMs: number;
  /** Query form only: X-Amz-Expires in seconds. */
  expiresSeconds?: number;
  /** Header form: the header the date came from, which must be signed. */
  dateHeader?: 'x-amz-date' | 'date';
}

// The last date parsed: clients send the same X-Amz-Date for every request within a second.
let lastAmzDate = '';
let lastAmzDateMs = NaN;

/** Parses YYYYMMDDTHHMMSSZ strictly (a real calendar date); NaN when malformed. */
export function parseAmzDate(s: string): number {
  if (s === lastAmzDate) return lastAmzDateMs;
  const ms = parseAmzDateUncached(s);
  lastAmzDate = s;
  lastAmzDateMs = ms;
  return ms;
}

function parseAmzDateUncached(s: string): number {
  const m = AMZ_DATE_RE.exec(s);
  if (!m) return NaN;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, se);
  // A real calendar date: Date.UTC rolls 2024-02-30 over into March, so check it round-trips.
  const t = new Date(ms);
  const real = t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && t.getUTCHours() === h && t.getUTCMinutes() === mi && t.getUTCSeconds() === se;
  return real ? ms : NaN;
}

/** Epoch ms -> YYYYMMDDTHHMMSSZ (seconds truncated). */
export function formatAmzDate(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/[-:]|\.\d{3}/g, '');
}

function badDate(value: string): KmsError {
  return incomplete(`Date must be in ISO-8601 'basic format'. Got '${value}'. See http://en.wikipedia.org/wiki/ISO_8601`);
}

function formatDuration(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min.` : `${ms / 1000} sec.`;
}

/** The Authorization header as every AWS SDK, the CLI and aws4fetch write it. */
const USUAL_AUTHORIZATION_RE = /^(AWS4-HMAC-SHA256) Credential=([^\s,=]+), ?SignedHeaders=([^\s,=]+), ?Signature=([^\s,=]+)$/;

/** Authorization's scheme and key=value parameters (the first of a repeated key counts). */
function parseAuthorizationParams(header: string): { algorithm: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  const usual = USUAL_AUTHORIZATION_RE.exec(header);
  if (usual) {
    params.set('Credential', usual[2]!).set('SignedHeaders', usual[3]!).set('Signature', usual[4]!);
    return { algorithm: usual[1]!, params };
  }
  const m = /^(\S+)(?:\s+([\s\S]*))?$/.exec(header);
  const algorithm = m?.[1] ?? '';
  const rest = m?.[2] ?? '';
  // Only an AWS4 scheme is parsed as key=value pairs; another scheme (Bearer, Basic, …) is simply
  // missing every SigV4 parameter, as AWS reports it.
  if (algorithm.startsWith('AWS4-')) {
    for (const piece of rest.split(/[,\s]+/)) {
      if (!piece) continue;
      const eq = piece.indexOf('=');
      if (eq < 0) {
        throw incomplete(`'${piece}' not a valid key=value pair (missing equal-sign) in Authorization header: '${header}'.`);
      }
      const key = piece.slice(0, eq);
      if (!params.has(key)) params.set(key, piece.slice(eq + 1));
    }
  }
  return { algorithm, params };
}

/** The Authorization header form. */
function parseHeaderClaim(request: RequestLike, header: string): SignatureClaim {
  const { algorithm, params } = parseAuthorizationParams(header);
  const missing: string[] = [];
  for (const p of ['Credential', 'Signature', 'SignedHeaders']) {
    if (!params.get(p)) missing.push(`Authorization header requires '${p}' parameter.`);
  }
  const amzDate = request.headers.get('x-amz-date');
  const httpDate = request.headers.get('date');
  if (amzDate === null && httpDate === null) {
    missing.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  if (missing.length) throw incomplete(`${missing.join(' ')} Authorization=${header}`);

  let date: string;
  let dateMs: number;
  if (amzDate !== null) {
    dateMs = parseAmzDate(amzDate);
    if (Number.isNaN(dateMs)) throw badDate(amzDate);
    date = amzDate;
  } else {
    // RFC 7231 IMF-fixdate (or the obsolete forms Date.parse understands); signed as its
    // ISO-8601 basic equivalent, as botocore does.
    dateMs = Date.parse(httpDate!);
    if (Number.isNaN(dateMs)) throw badDate(httpDate!);
    date = formatAmzDate(dateMs);
    dateMs = parseAmzDate(date);
  }
  return {
    form: 'header',
    algorithm,
    credential: params.get('Credential')!,
    signedHeaders: params.get('SignedHeaders')!,
    signature: params.get('Signature')!,
    amzDate: date,
    dateMs,
    dateHeader: amzDate !== null ? 'x-amz-date' : 'date',
  };
}

/** The query-string (presigned) form. */
function parseQueryClaim(query: URLSearchParams, maxExpires: number): SignatureClaim {
  const missing: string[] = [];
  for (const p of [QUERY.algorithm, QUERY.credential, QUERY.signature, QUERY.signedHeaders, QUERY.date]) {
    if (!query.get(p)) missing.push(`AWS query-string parameters must include '${p}'.`);
  }
  if (missing.length) throw incomplete(`${missing.join(' ')} Re-examine the query-string parameters.`);
  const amzDate = query.get(QUERY.date)!;
  const dateMs = parseAmzDate(amzDate);
  if (Number.isNaN(dateMs)) throw badDate(amzDate);
  const claim: SignatureClaim = {
    form: 'query',
    algorithm: query.get(QUERY.algorithm)!,
    credential: query.get(QUERY.credential)!,
    signedHeaders: query.get(QUERY.signedHeaders)!,
    signature: query.get(QUERY.signature)!,
    amzDate,
    dateMs,
  };
  const expires = query.get(QUERY.expires);
  if (expires !== null) {
    if (!/^-?\d+$/.test(expires)) throw incomplete('X-Amz-Expires should be a number.');
    const n = Number(expires);
    if (n < 0) throw incomplete('X-Amz-Expires must be non-negative.');
    if (n > MAX_PRESIGN_EXPIRES_SECONDS) {
      throw incomplete(`X-Amz-Expires must be less than a week (in seconds) that is ${MAX_PRESIGN_EXPIRES_SECONDS}.`);
    }
    if (n > maxExpires) {
      throw incomplete(`X-Amz-Expires must be at most ${maxExpires} seconds: this KMS limits how long a presigned request can be replayed.`);
    }
    claim.expiresSeconds = n;
  }
  return claim;
}

/**
 * The request date must be within maxSkew of now, either way. A presigned URL with X-Amz-Expires
 * is instead valid from (date - maxSkew) until (date + expires).
 */
function checkTime(claim: SignatureClaim, now: number, maxSkewMs: number): void {
  // No closures here or on the rest of the per-request path: under tsx (npm start) esbuild's
  // keepNames gives every named closure an Object.defineProperty call each time it is created.
  const pastWindow = claim.expiresSeconds !== undefined ? claim.expiresSeconds * 1000 : maxSkewMs;
  if (claim.dateMs < now - pastWindow) {
    throw invalid(
      `Signature expired: ${claim.amzDate} is now earlier than ${formatAmzDate(now - pastWindow)} (${formatAmzDate(now)} - ${formatDuration(pastWindow)})`,
    );
  }
  if (claim.dateMs > now + maxSkewMs) {
    throw invalid(
      `Signature not yet current: ${claim.amzDate} is still later than ${formatAmzDate(now + maxSkewMs)} (${formatAmzDate(now)} + ${formatDuration(maxSkewMs)})`,
    );
  }
}

interface Scope {
  accessKeyId: string;
  date: string;
  /** date/region/service/aws4_request */
  scope: string;
}

function checkCredential(claim: SignatureClaim, region: string, service: string): Scope {
  const parts = claim.credential.split('/');
  if (parts.length !== 5) {
    throw incomplete(
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${claim.credential}'`,
    );
  }
  const [accessKeyId, date, scopeRegion, scopeService, terminator] = parts as [string, string, string, string, string];
  const errors: string[] = [];
  if (scopeRegion !== region) errors.push(`Credential should be scoped to a valid region, not '${scopeRegion}'.`);
  if (scopeService !== service) errors.push(`Credential should be scoped to correct service: '${service}'.`);
  if (terminator !== TERMINATOR) {
    errors.push(`Credential should be scoped with a valid terminator: '${TERMINATOR}', not '${terminator}'.`);
  }
  const expectedDate = claim.amzDate.slice(0, 8);
  if (date !== expectedDate) {
    errors.push(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${date}' != '${expectedDate}', from '${claim.amzDate}'.`,
    );
  }
  if (errors.length) throw invalid(errors.join(' '));
  if (!accessKeyId) throw unrecognized();
  return { accessKeyId, date, scope: parts.slice(1).join('/') };
}

/** A hoisted header keeps the case its signer gave it (the SDK v3 hoists `x-amz-content-sha256`). */
function queryParamIgnoringCase(query: URLSearchParams, name: string): string | null {
  const lower = name.toLowerCase();
  for (const [k, v] of query) if (k.toLowerCase() === lower) return v;
  return null;
}

/** encodeURIComponent plus the RFC 3986 reserved characters it leaves alone. */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The canonical URI of a non-S3 service: the path as received (already percent-encoded once), with
 * empty and dot segments removed, each segment URI-encoded once more.
 */
export function canonicalUri(pathname: string): string {
  if (pathname === '/') return '/';
  const segments: string[] = [];
  for (const seg of pathname.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop();
    else segments.push(seg);
  }
  const trailing = segments.length > 0 && pathname.endsWith('/') ? '/' : '';
  return `/${segments.map(uriEncode).join('/')}${trailing}`;
}

/** Decoded pairs, re-encoded with RFC 3986 rules, sorted by key then value (byte order). */
export function canonicalQuery(query: URLSearchParams, exclude?: string): string {
  const pairs: [string, string][] = [];
  for (const [k, v] of query) {
    if (k === '' || k === exclude) continue;
    pairs.push([uriEncode(k), uriEncode(v)]);
  }
  pairs.sort(([k1, v1], [k2, v2]) => (k1 < k2 ? -1 : k1 > k2 ? 1 : v1 < v2 ? -1 : v1 > v2 ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** Trimall: no leading or trailing whitespace, inner runs of spaces and tabs collapsed to one space. */
export function canonicalHeaderValue(value: string): string {
  // Printable ASCII words separated by single spaces is already canonical (nearly every value).
  return CANONICAL_VALUE_RE.test(value) ? value : value.replace(/[\t ]+/g, ' ').trim();
}
const CANONICAL_VALUE_RE = /^[!-~]+(?: [!-~]+)*$/;

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
  const region = options.region;
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
  function signingKey(accessKeyId: string, secret: string, date: string): CryptoKey | Promise<CryptoKey> {
    const id = `${accessKeyId}\n${date}`;
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
      scope = checkCredential(claim, region, service); // throws for a bad scope: not remembered
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
      return { ...openCaller, accessKeyId: openCaller.accessKeyId ?? scope.accessKeyId };
    }

    const found = lookup!(scope.accessKeyId);
    const identity = found instanceof Promise ? await found : found;
    if (!identity || identity.accessKeyId !== scope.accessKeyId || !identity.secretAccessKey) throw unrecognized();

    // Payload hash: x-amz-content-sha256 (header, or hoisted into the query of a presigned URL)
    // when present, and then it must be the body's. The signature always covers the body: AWS
    // accepts UNSIGNED-PAYLOAD in a presigned URL, which would make a leaked URL good for any body.
    const bodyHashed = provider.sha256Hex(body);
    const bodyHash = typeof bodyHashed === 'string' ? bodyHashed : await bodyHashed;
    const claimedHash =
      request.headers.get('x-amz-content-sha256') ?? (claim.form === 'query' ? queryParamIgnoringCase(query, QUERY.contentSha256) : null);
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

    const cachedKey = signingKey(scope.accessKeyId, identity.secretAccessKey, scope.date);
    const key = cachedKey instanceof Promise ? await cachedKey : cachedKey;
    const hashed = provider.sha256Hex(`${prefix}\n${payloadHash}`);
    const stringToSign = `${SIGV4_ALGORITHM}\n${claim.amzDate}\n${scope.scope}\n${typeof hashed === 'string' ? hashed : await hashed}`;
    const mac = provider.hmacSha256Hex(key, stringToSign);
    if (!constantTimeEqualStrings(typeof mac === 'string' ? mac : await mac, claim.signature)) throw mismatch();
    return { accountId: identity.accountId, arn: identity.arn, accessKeyId: identity.accessKeyId };
  };
}

/** A header name as AWS spells it in messages: X-Amz-Target for x-amz-target. */
function displayName(lower: string): string {
  return lower.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

/** Host and path of "<scheme>://<host>/" without a URL parser; undefined for any other URL. */
function simpleUrl(url: string): { host: string; pathname: string } | undefined {
  const m = SIMPLE_URL_RE.exec(url);
  return m ? { host: m[1]!, pathname: '/' } : undefined;
}
