/**
 * What a request says about its own SigV4 signature, read and checked before any cryptography:
 * the Authorization header or the query-string form, the date and its window, the credential
 * scope; AWS's constants and messages. Every check throws the KmsError AWS answers with.
 */
import { KmsError } from '../errors.js';
import type { RequestLike } from './types.js';

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export const DEFAULT_MAX_SKEW_MS = 15 * 60_000;

/** A presigned URL is valid for at most seven days (the signing key's lifetime), in AWS. */
export const MAX_PRESIGN_EXPIRES_SECONDS = 604_800;

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

/** A header name as AWS spells it in messages: X-Amz-Target for x-amz-target. */
export function displayName(lower: string): string {
  return lower.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

export const TERMINATOR = 'aws4_request';

export const AMZ_DATE_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

export const QUERY = {
  algorithm: 'X-Amz-Algorithm',
  credential: 'X-Amz-Credential',
  date: 'X-Amz-Date',
  expires: 'X-Amz-Expires',
  signedHeaders: 'X-Amz-SignedHeaders',
  signature: 'X-Amz-Signature',
  contentSha256: 'X-Amz-Content-Sha256',
} as const;

export function incomplete(message: string): KmsError {
  return new KmsError('IncompleteSignatureException', message);
}

export function invalid(message: string): KmsError {
  return new KmsError('InvalidSignatureException', message);
}

export function mismatch(): KmsError {
  return invalid(SIGNATURE_MISMATCH_MESSAGE);
}

export function unrecognized(): KmsError {
  return new KmsError('UnrecognizedClientException', UNRECOGNIZED_CLIENT_MESSAGE);
}

/** What the request says about its own signature, before anything is checked against it. */
export interface SignatureClaim {
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
  const real =
    t.getUTCFullYear() === y &&
    t.getUTCMonth() === mo - 1 &&
    t.getUTCDate() === d &&
    t.getUTCHours() === h &&
    t.getUTCMinutes() === mi &&
    t.getUTCSeconds() === se;
  return real ? ms : NaN;
}

/** Epoch ms -> YYYYMMDDTHHMMSSZ (seconds truncated). */
export function formatAmzDate(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/[-:]|\.\d{3}/g, '');
}

export function badDate(value: string): KmsError {
  return incomplete(`Date must be in ISO-8601 'basic format'. Got '${value}'. See http://en.wikipedia.org/wiki/ISO_8601`);
}

export function formatDuration(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min.` : `${ms / 1000} sec.`;
}

/** The Authorization header as every AWS SDK, the CLI and aws4fetch write it. */
export const USUAL_AUTHORIZATION_RE = /^(AWS4-HMAC-SHA256) Credential=([^\s,=]+), ?SignedHeaders=([^\s,=]+), ?Signature=([^\s,=]+)$/;

/** Authorization's scheme and key=value parameters (the first of a repeated key counts). */
export function parseAuthorizationParams(header: string): { algorithm: string; params: Map<string, string> } {
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
export function parseHeaderClaim(request: RequestLike, header: string): SignatureClaim {
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
export function parseQueryClaim(query: URLSearchParams, maxExpires: number): SignatureClaim {
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
export function checkTime(claim: SignatureClaim, now: number, maxSkewMs: number): void {
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

export interface Scope {
  accessKeyId: string;
  date: string;
  /** The Region the credential is scoped to (one the KMS serves). */
  region: string;
  /** date/region/service/aws4_request */
  scope: string;
}

export function checkCredential(claim: SignatureClaim, acceptRegion: (region: string) => boolean, service: string): Scope {
  const parts = claim.credential.split('/');
  if (parts.length !== 5) {
    throw incomplete(`Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${claim.credential}'`);
  }
  const [accessKeyId, date, scopeRegion, scopeService, terminator] = parts as [string, string, string, string, string];
  const errors: string[] = [];
  if (!acceptRegion(scopeRegion)) errors.push(`Credential should be scoped to a valid region, not '${scopeRegion}'.`);
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
  return { accessKeyId, date, region: scopeRegion, scope: parts.slice(1).join('/') };
}
