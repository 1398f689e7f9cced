/**
 * SigV4's canonical request pieces, as the AWS specification, aws4fetch, botocore and the AWS SDK
 * v3 build them: the path of a non-S3 service (normalized, each segment encoded once more), the
 * query (decoded, RFC 3986-encoded, sorted), header values (trimmed, inner runs collapsed).
 */
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

export const CANONICAL_VALUE_RE = /^[!-~]+(?: [!-~]+)*$/;

export const SIMPLE_URL_RE = /^https?:\/\/([^/?#]+)\/$/;

/** Host and path of "<scheme>://<host>/" without a URL parser; undefined for any other URL. */
export function simpleUrl(url: string): { host: string; pathname: string } | undefined {
  const m = SIMPLE_URL_RE.exec(url);
  return m ? { host: m[1]!, pathname: '/' } : undefined;
}

/** A hoisted header keeps the case its signer gave it (the SDK v3 hoists `x-amz-content-sha256`). */
export function queryParamIgnoringCase(query: URLSearchParams, name: string): string | null {
  const lower = name.toLowerCase();
  for (const [k, v] of query) if (k.toLowerCase() === lower) return v;
  return null;
}
