/**
 * @edge-kms/client/jwt: JSON Web Tokens (compact JWS, RFC 7515 and 7519) signed and verified with
 * KMS keys, on WebCrypto only (no JOSE library at run time). Its own module, imported by nothing
 * else in the package: a bundle that does not import `@edge-kms/client/jwt` does not carry it.
 *
 * | alg            | KMS key (KeySpec, KeyUsage)                | signed by                          | verified by                        |
 * |----------------|--------------------------------------------|------------------------------------|------------------------------------|
 * | ES256          | ECC_NIST_P256, SIGN_VERIFY                 | Sign ECDSA_SHA_256                 | WebCrypto (GetPublicKey) or Verify |
 * | ES384          | ECC_NIST_P384, SIGN_VERIFY                 | Sign ECDSA_SHA_384                 | WebCrypto (GetPublicKey) or Verify |
 * | ES512          | ECC_NIST_P521, SIGN_VERIFY                 | Sign ECDSA_SHA_512                 | WebCrypto (GetPublicKey) or Verify |
 * | ES256K         | ECC_SECG_P256K1, SIGN_VERIFY               | Sign ECDSA_SHA_256                 | Verify (WebCrypto has no secp256k1)|
 * | EdDSA, Ed25519 | ECC_NIST_EDWARDS25519, SIGN_VERIFY         | Sign ED25519_SHA_512               | WebCrypto (GetPublicKey) or Verify |
 * | RS256/384/512  | RSA_2048/3072/4096, SIGN_VERIFY            | Sign RSASSA_PKCS1_V1_5_SHA_256/…   | WebCrypto (GetPublicKey) or Verify |
 * | PS256/384/512  | RSA_2048/3072/4096, SIGN_VERIFY            | Sign RSASSA_PSS_SHA_256/…          | WebCrypto (GetPublicKey) or Verify |
 * | HS256/384/512  | HMAC_256/384/512, GENERATE_VERIFY_MAC      | GenerateMac                        | VerifyMac                          |
 *
 * KMS signs the JWS signing input itself (`base64url(header).base64url(payload)`, MessageType RAW:
 * KMS hashes it), so a token's signing input is at most 4096 bytes, KMS's limit for a RAW message.
 * ECDSA signatures come from KMS DER-encoded and are converted to JOSE's fixed-size r‖s (64, 96
 * and 132 bytes), and back for KMS Verify. RSA signatures are as long as the modulus (256, 384 or
 * 512 bytes); PSS uses a salt as long as the hash, as KMS and RFC 7518 do.
 *
 * ES256 and ES256K share KMS's ECDSA_SHA_256, so KMS alone cannot tell a P-256 key from a
 * secp256k1 one: signing ES256K and verifying either through KMS Verify first learn the key's spec
 * (DescribeKey, once per key). An RSA key signs six JWS algorithms: verifyJwt wants `options.alg`
 * for it (a TypeError otherwise), since the key cannot say which one its tokens use.
 *
 * Verification refuses algorithm confusion: the header's `alg` must be one of `options.alg` when
 * given, and must fit the key (its KeySpec, from GetPublicKey or DescribeKey) in any case; `none`
 * is never accepted. The signature is checked before the claims; `exp` and `nbf` are checked when
 * present, `iss`, `aud`, `sub`, `typ`, the token's age and required claims when asked, as jose's
 * jwtVerify does. Errors are JwtError with jose's codes (`ERR_JWS_SIGNATURE_VERIFICATION_FAILED`,
 * `ERR_JWT_EXPIRED`, …); KMS's own errors (NotFoundException, DisabledException, …) propagate
 * unchanged.
 *
 * Public keys and key specs are cached per client and key id; a key's public key never changes (KMS
 * does not rotate asymmetric keys), but an alias may be moved to another key, so answers for alias
 * names are kept for 5 minutes only. clearJwtKeyCache forgets them.
 */
import { b64decode, b64encode } from './base64.js';
import type { InputOf, KeyMetadata, OutputOf } from './types.js';

/** The JWS algorithms signJwt and verifyJwt implement. `Ed25519` is RFC 9864's name for EdDSA with Ed25519. */
export type JwtAlgorithm =
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'ES256K'
  | 'EdDSA'
  | 'Ed25519'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'HS256'
  | 'HS384'
  | 'HS512';

/** What signJwt and verifyJwt need of a KMS client: `createKmsClient(…)` and `createMrkAwareKms(…)` have it. */
export interface JwtKms {
  sign(input: InputOf<'Sign'>): Promise<Pick<OutputOf<'Sign'>, 'Signature'>>;
  verify(input: InputOf<'Verify'>): Promise<Pick<OutputOf<'Verify'>, 'SignatureValid'>>;
  getPublicKey(input: InputOf<'GetPublicKey'>): Promise<Pick<OutputOf<'GetPublicKey'>, 'PublicKey' | 'KeySpec' | 'KeyUsage'>>;
  generateMac(input: InputOf<'GenerateMac'>): Promise<Pick<OutputOf<'GenerateMac'>, 'Mac'>>;
  verifyMac(input: InputOf<'VerifyMac'>): Promise<Pick<OutputOf<'VerifyMac'>, 'MacValid'>>;
  describeKey(input: InputOf<'DescribeKey'>): Promise<{ KeyMetadata: Pick<KeyMetadata, 'KeySpec' | 'KeyUsage'> }>;
}

/** JWT claims (RFC 7519 section 4.1) and any others. NumericDates are seconds since the epoch. */
export interface JwtPayload {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  jti?: string;
  nbf?: number;
  exp?: number;
  iat?: number;
  [claim: string]: unknown;
}

/** The JWS protected header. */
export interface JwtHeader {
  alg: string;
  typ?: string;
  kid?: string;
  cty?: string;
  crit?: string[];
  [parameter: string]: unknown;
}

export interface SignJwtOptions {
  /** The KMS key: key id, key ARN, alias name or alias ARN. */
  keyId: string;
  alg: JwtAlgorithm;
  /** The claims set. Copied, never changed. */
  payload: JwtPayload;
  /**
   * More protected header parameters (`kid`, `cty`, …). `alg` is `options.alg` (a different one is
   * refused); `typ` is `'JWT'` unless given here (`typ: undefined` leaves it out).
   */
  header?: Omit<JwtHeader, 'alg'> & { alg?: string };
  /** Sets `iat`: `true` for now, seconds since the epoch, a Date, or a time span from now (`'-5s'`). */
  issuedAt?: true | number | string | Date;
  /** Sets `exp`: seconds since the epoch, a Date, or a time span from now (`'2h'`, `'30 minutes'`, `'1d'`), as jose's setExpirationTime. */
  expirationTime?: number | string | Date;
  /** Sets `nbf`: seconds since the epoch, a Date, or a time span from now. */
  notBefore?: number | string | Date;
  /** "Now" for issuedAt, expirationTime and notBefore (default: the current time). */
  currentDate?: Date;
}

export interface VerifyJwtOptions {
  /** The KMS key the token must be signed with: key id, key ARN, alias name or alias ARN. */
  keyId: string;
  /**
   * The algorithms accepted (jose's `algorithms`). Without it, the one the key's spec implies
   * (learned once per key from DescribeKey: pass `alg` to spare that call and the permission).
   * Either way the header's alg must fit the key. Required for RSA keys, which sign RS256/384/512
   * and PS256/384/512 alike (a TypeError without it).
   */
  alg?: JwtAlgorithm | JwtAlgorithm[];
  /**
   * Who checks an ES*, EdDSA, RS*, PS* signature: `'local'` (default) WebCrypto with the key
   * GetPublicKey answers (cached; no KMS call per token), `'kms'` KMS Verify (every token a call; a
   * disabled or deleted key, or a key policy without kms:Verify, then fails). HS* tokens always go
   * to VerifyMac, and ES256K tokens always to KMS Verify (WebCrypto has no secp256k1); with `alg`
   * given, ES256 and ES256K tokens checked by KMS Verify also need the key's spec (DescribeKey,
   * once per key), since KMS's ECDSA_SHA_256 fits either curve.
   */
  via?: 'local' | 'kms';
  /** Accepted `iss` values. */
  issuer?: string | string[];
  /** Accepted audiences: one of them must be in `aud`. */
  audience?: string | string[];
  /** The `sub` required. */
  subject?: string;
  /** The `typ` header required (compared as media types: `JWT` matches `application/jwt`). */
  typ?: string;
  /** Leeway for `exp`, `nbf` and `iat`, in seconds or a time span (`'30s'`). */
  clockTolerance?: number | string;
  /** The oldest `iat` accepted, in seconds or a time span (`'1h'`); makes `iat` required. */
  maxTokenAge?: number | string;
  /** Claims that must be present. */
  requiredClaims?: string[];
  /** Extension header parameters this application understands, so that a `crit` naming them is accepted. */
  crit?: string[];
  /** "Now" (default: the current time). */
  currentDate?: Date;
}

export interface VerifiedJwt<P = JwtPayload> {
  payload: P & JwtPayload;
  protectedHeader: JwtHeader;
}

export type JwtErrorCode =
  | 'ERR_JWS_INVALID'
  | 'ERR_JWT_INVALID'
  | 'ERR_JOSE_ALG_NOT_ALLOWED'
  | 'ERR_JOSE_NOT_SUPPORTED'
  | 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'
  | 'ERR_JWT_EXPIRED'
  | 'ERR_JWT_CLAIM_VALIDATION_FAILED';

/** A token refused or a JWT that cannot be made, with jose's error codes. */
export class JwtError extends Error {
  readonly code: JwtErrorCode;
  /** For ERR_JWT_EXPIRED and ERR_JWT_CLAIM_VALIDATION_FAILED: the claim, why, and the verified claims set. */
  readonly claim?: string;
  readonly reason?: 'missing' | 'invalid' | 'check_failed';
  readonly payload?: JwtPayload;
  constructor(
    code: JwtErrorCode,
    message: string,
    details: { claim?: string; reason?: 'missing' | 'invalid' | 'check_failed'; payload?: JwtPayload; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'JwtError';
    this.code = code;
    this.claim = details.claim;
    this.reason = details.reason;
    this.payload = details.payload;
  }
}

// ---------------------------------------------------------------- algorithms

interface AlgSpec {
  kind: 'ecdsa' | 'eddsa' | 'rsa' | 'hmac';
  /** The KMS key specs the algorithm needs. */
  keySpecs: readonly string[];
  /** KMS's SigningAlgorithm or MacAlgorithm. */
  kmsAlg: string;
  /** Signature length: 2 × the scalar for ECDSA, 64 for Ed25519, the MAC length for HMAC; 0 for RSA (the modulus length, per key). */
  sigBytes: number;
  hash?: string;
  /** WebCrypto's algorithm for the public key; none for ES256K (no secp256k1 in WebCrypto: KMS Verify checks it). */
  webcrypto?: 'ECDSA' | 'Ed25519' | 'RSASSA-PKCS1-v1_5' | 'RSA-PSS';
}

const ecdsa = (bits: number, keySpec: string, sigBytes: number, webcrypto?: 'ECDSA'): AlgSpec => ({
  kind: 'ecdsa',
  keySpecs: [keySpec],
  kmsAlg: `ECDSA_SHA_${bits}`,
  sigBytes,
  hash: `SHA-${bits}`,
  webcrypto,
});
/** RSA signature lengths, the modulus in bytes. */
const RSA_BYTES: Record<string, number> = { RSA_2048: 256, RSA_3072: 384, RSA_4096: 512 };
const rsa = (bits: number, pss: boolean): AlgSpec => ({
  kind: 'rsa',
  keySpecs: Object.keys(RSA_BYTES),
  kmsAlg: `RSASSA_${pss ? 'PSS' : 'PKCS1_V1_5'}_SHA_${bits}`,
  sigBytes: 0,
  hash: `SHA-${bits}`,
  webcrypto: pss ? 'RSA-PSS' : 'RSASSA-PKCS1-v1_5',
});
const hmac = (bits: number): AlgSpec => ({ kind: 'hmac', keySpecs: [`HMAC_${bits}`], kmsAlg: `HMAC_SHA_${bits}`, sigBytes: bits / 8 });
const ED25519: AlgSpec = { kind: 'eddsa', keySpecs: ['ECC_NIST_EDWARDS25519'], kmsAlg: 'ED25519_SHA_512', sigBytes: 64, webcrypto: 'Ed25519' };

const ALGS: Record<JwtAlgorithm, AlgSpec> = {
  ES256: ecdsa(256, 'ECC_NIST_P256', 64, 'ECDSA'),
  ES384: ecdsa(384, 'ECC_NIST_P384', 96, 'ECDSA'),
  ES512: ecdsa(512, 'ECC_NIST_P521', 132, 'ECDSA'),
  ES256K: ecdsa(256, 'ECC_SECG_P256K1', 64),
  EdDSA: ED25519,
  Ed25519: ED25519,
  RS256: rsa(256, false),
  RS384: rsa(384, false),
  RS512: rsa(512, false),
  PS256: rsa(256, true),
  PS384: rsa(384, true),
  PS512: rsa(512, true),
  HS256: hmac(256),
  HS384: hmac(384),
  HS512: hmac(512),
};

/** WebCrypto's named curves of the ECDSA key specs. */
const CURVES: Record<string, string> = { ECC_NIST_P256: 'P-256', ECC_NIST_P384: 'P-384', ECC_NIST_P521: 'P-521' };

const has = (o: object, k: string) => Object.hasOwn(o, k);

/**
 * A KMS signing algorithm that keys of different specs accept (ECDSA_SHA_256: P-256 and secp256k1):
 * KMS signs and verifies it with either, so the key's spec must be checked apart.
 */
const sharedKmsAlg = (spec: AlgSpec) => Object.values(ALGS).some((o) => o.kmsAlg === spec.kmsAlg && o.keySpecs[0] !== spec.keySpecs[0]);

function algSpec(alg: unknown, where: string): AlgSpec {
  if (typeof alg === 'string' && has(ALGS, alg)) return ALGS[alg as JwtAlgorithm];
  if (alg === 'none') throw new JwtError('ERR_JOSE_ALG_NOT_ALLOWED', `alg "none" (an unsecured JWT) is never accepted (${where}).`);
  throw new JwtError('ERR_JOSE_NOT_SUPPORTED', `alg ${JSON.stringify(alg)} is not supported (${where}); supported: ${Object.keys(ALGS).join(', ')}.`);
}

/** The algorithms a key spec signs with, for messages. */
const algsOfSpec = (keySpec: string | undefined) => (Object.keys(ALGS) as JwtAlgorithm[]).filter((a) => ALGS[a].keySpecs.includes(keySpec!));

const usageOf = (spec: AlgSpec) => (spec.kind === 'hmac' ? 'GENERATE_VERIFY_MAC' : 'SIGN_VERIFY');

const fitsKey = (spec: AlgSpec, keySpec: string | undefined, keyUsage: string | undefined) => spec.keySpecs.includes(keySpec!) && keyUsage === usageOf(spec);

const orList = (items: readonly string[]) => (items.length > 1 ? `${items.slice(0, -1).join(', ')} or ${items.at(-1)}` : (items[0] ?? ''));

function keyMismatch(keyId: string, alg: string, keySpec: string | undefined, keyUsage: string | undefined, spec: AlgSpec): JwtError {
  const fits = keyUsage === 'SIGN_VERIFY' || keyUsage === 'GENERATE_VERIFY_MAC' ? algsOfSpec(keySpec) : [];
  return new JwtError(
    'ERR_JOSE_ALG_NOT_ALLOWED',
    `alg ${alg} does not fit KMS key ${keyId}: the key is ${keySpec ?? 'of an unknown spec'} with usage ${keyUsage ?? 'unknown'}${fits.length ? `, for ${orList(fits)}` : ''}; ${alg} needs an ${orList(spec.keySpecs)} key with usage ${usageOf(spec)}.`,
  );
}

/** A signature of the length `alg` makes (for RSA: of one of the RSA key sizes, or of `keySpec`'s when known). */
function lengthFits(spec: AlgSpec, n: number, keySpec?: string): boolean {
  if (spec.kind !== 'rsa') return n === spec.sigBytes;
  return keySpec === undefined ? Object.values(RSA_BYTES).includes(n) : RSA_BYTES[keySpec] === n;
}

// ---------------------------------------------------------------- base64url, JSON

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

const b64url = (b: Uint8Array) => b64encode(b).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** Strict base64url: the URL-safe alphabet, no padding, and the canonical encoding only (no spare bits set). */
function fromB64url(s: string, what: string): Uint8Array {
  let bytes: Uint8Array | undefined;
  if (/^[A-Za-z0-9_-]*$/.test(s) && s.length % 4 !== 1) {
    try {
      bytes = b64decode(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
    } catch {
      bytes = undefined;
    }
  }
  if (!bytes || b64url(bytes) !== s) throw new JwtError('ERR_JWS_INVALID', `Invalid JWS: the ${what} is not base64url.`);
  return bytes;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJsonObject(bytes: Uint8Array, code: JwtErrorCode, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(strictDecoder.decode(bytes));
  } catch (cause) {
    throw new JwtError(code, `Invalid ${what}: not UTF-8 JSON.`, { cause });
  }
  if (!isObject(value)) throw new JwtError(code, `Invalid ${what}: not a JSON object.`);
  return value;
}

// ---------------------------------------------------------------- ECDSA signature encodings

/** KMS's DER ECDSA-Sig-Value (SEQUENCE { INTEGER r, INTEGER s }) to JOSE's r‖s of `size` bytes each. */
export function derToJose(der: Uint8Array, size: number): Uint8Array {
  const fail = (): never => {
    throw new JwtError('ERR_JWS_INVALID', 'KMS answered an ECDSA signature that is not DER.');
  };
  let i = 0;
  if (der[i++] !== 0x30) fail();
  let len = der[i++] ?? fail();
  if (len === 0x81) len = der[i++] ?? fail();
  else if (len > 0x80) fail();
  if (i + len !== der.length) fail();
  const out = new Uint8Array(2 * size);
  for (const at of [0, size]) {
    if (der[i++] !== 0x02) fail();
    const n = der[i++] ?? fail();
    if (n === 0 || n > 0x7f || i + n > der.length) fail();
    let v = der.subarray(i, i + n);
    i += n;
    while (v.length > 1 && v[0] === 0) v = v.subarray(1);
    if (v.length > size) fail();
    out.set(v, at + size - v.length);
  }
  if (i !== der.length) fail();
  return out;
}

/** JOSE's r‖s to DER, for KMS Verify. */
export function joseToDer(raw: Uint8Array): Uint8Array {
  const size = raw.length / 2;
  const int = (b: Uint8Array) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const v = b.subarray(i);
    return (v[0]! & 0x80 ? [0x02, v.length + 1, 0] : [0x02, v.length]).concat(Array.from(v));
  };
  const body = int(raw.subarray(0, size)).concat(int(raw.subarray(size)));
  return Uint8Array.from((body.length > 0x7f ? [0x30, 0x81, body.length] : [0x30, body.length]).concat(body));
}

// ---------------------------------------------------------------- time

const MULTIPLIERS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31557600 };
const SPAN = /^(\+|-)? ?(\d+|\d+\.\d+) ?(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w|years?|yrs?|y)(?: (ago|from now))?$/i;

/** A time span in seconds, as jose reads it: `'2h'`, `'30 minutes'`, `'-5s'`, `'1 day ago'`. */
function seconds(span: string | number, what: string): number {
  if (typeof span === 'number') {
    if (!Number.isFinite(span)) throw new TypeError(`${what}: not a finite number of seconds`);
    return span;
  }
  const m = typeof span === 'string' ? SPAN.exec(span) : null;
  if (!m || (m[1] && m[4])) throw new TypeError(`${what}: invalid time span ${JSON.stringify(span)}`);
  const s = Math.round(Number.parseFloat(m[2]!) * MULTIPLIERS[m[3]![0]!.toLowerCase()]!);
  return m[1] === '-' || m[4]?.toLowerCase() === 'ago' ? -s : s;
}

const epoch = (d: Date) => Math.floor(d.getTime() / 1000);

function numericDate(value: number | string | Date, now: number, what: string): number {
  if (value instanceof Date) value = epoch(value);
  else if (typeof value === 'string') value = now + seconds(value, what);
  if (!Number.isFinite(value)) throw new TypeError(`${what}: not a finite NumericDate`);
  return value;
}

function nowOf(currentDate: Date | undefined): number {
  const now = epoch(currentDate ?? new Date());
  if (!Number.isFinite(now)) throw new TypeError('currentDate: not a valid Date');
  return now;
}

// ---------------------------------------------------------------- cache

/** The longest a key's answers are kept when it was named by an alias, which may be moved. */
const ALIAS_TTL_MS = 5 * 60_000;
const isAlias = (keyId: string) => keyId.startsWith('alias/') || /^arn:[^:]*:kms:[^:]*:[^:]*:alias\//.test(keyId);

interface KeyInfo {
  keySpec?: string;
  keyUsage?: string;
  /** The public key's SPKI (GetPublicKey answers only). */
  spki?: Uint8Array;
  /** The public key imported for WebCrypto, by algorithm and hash (an RSA key is imported once per scheme it verifies). */
  imported?: Map<string, Promise<CryptoKey>>;
}

let caches = new WeakMap<object, Map<string, { expires: number; info: Promise<KeyInfo> }>>();

function cached(kms: JwtKms, key: string, keyId: string, load: () => Promise<KeyInfo>): Promise<KeyInfo> {
  let cache = caches.get(kms);
  if (!cache) caches.set(kms, (cache = new Map()));
  const hit = cache.get(key);
  if (hit && hit.expires > Date.now()) return hit.info;
  const info = load();
  const entry = { expires: isAlias(keyId) ? Date.now() + ALIAS_TTL_MS : Number.POSITIVE_INFINITY, info };
  const map = cache;
  map.set(key, entry);
  // A failure is not kept: the next token asks again.
  info.catch(() => map.get(key) === entry && map.delete(key));
  return info;
}

/** Forgets the public keys and key specs learned from `kms`, or from every client when omitted. */
export function clearJwtKeyCache(kms?: JwtKms): void {
  if (kms) caches.delete(kms);
  else caches = new WeakMap();
}

const keySpecOf = (kms: JwtKms, keyId: string) =>
  cached(kms, `describe ${keyId}`, keyId, async () => {
    const { KeyMetadata } = await kms.describeKey({ KeyId: keyId });
    return { keySpec: KeyMetadata.KeySpec, keyUsage: KeyMetadata.KeyUsage };
  });

const publicKeyOf = (kms: JwtKms, keyId: string) =>
  cached(kms, `public ${keyId}`, keyId, async () => {
    const out = await kms.getPublicKey({ KeyId: keyId });
    return { keySpec: out.KeySpec, keyUsage: out.KeyUsage, spki: out.PublicKey, imported: new Map() };
  });

/** The key's public key as a WebCrypto key for `spec` (the key's spec fits `spec`: checked by the caller). */
function importedFor(info: KeyInfo, spec: AlgSpec): Promise<CryptoKey> {
  const name = spec.webcrypto!;
  const id = `${name} ${spec.hash ?? ''}`;
  const map = info.imported!;
  let key = map.get(id);
  if (!key) {
    const params = name === 'ECDSA' ? { name, namedCurve: CURVES[info.keySpec!]! } : name === 'Ed25519' ? { name } : { name, hash: spec.hash! };
    const p = crypto.subtle.importKey('spki', info.spki as BufferSource, params, false, ['verify']);
    map.set(id, (key = p));
    p.catch(() => map.get(id) === p && map.delete(id));
  }
  return key;
}

// ---------------------------------------------------------------- sign

/** KMS's limit for a RAW message to Sign, Verify, GenerateMac and VerifyMac. */
const MAX_MESSAGE_BYTES = 4096;

function tooLarge(n: number, operation: string): JwtError {
  return new JwtError(
    'ERR_JOSE_NOT_SUPPORTED',
    `The JWS signing input is ${n} bytes; KMS ${operation} takes messages of at most ${MAX_MESSAGE_BYTES} bytes (MessageType RAW). Make the header and claims smaller.`,
  );
}

const isKmsError = (e: unknown, ...names: string[]) => e instanceof Error && names.includes(e.name);

/**
 * Signs a JWT with a KMS key: a compact JWS `header.payload.signature`. The key must fit `alg`
 * (ES256: ECC_NIST_P256, …; RS256, PS256, …: an RSA key; HS256: HMAC_256, …), else KMS refuses it
 * (InvalidKeyUsageException). ES256K first asks DescribeKey (once per key) whether the key is
 * ECC_SECG_P256K1, since KMS would sign its ECDSA_SHA_256 with a P-256 key too.
 */
export async function signJwt(kms: JwtKms, options: SignJwtOptions): Promise<string> {
  const { keyId, alg } = options;
  const spec = algSpec(alg, 'signJwt');
  const header = options.header ?? {};
  if (!isObject(header)) throw new TypeError('signJwt: header must be an object');
  if (header.alg !== undefined && header.alg !== alg) throw new TypeError(`signJwt: header.alg ${String(header.alg)} conflicts with alg ${alg}`);
  if (header.b64 !== undefined)
    throw new JwtError('ERR_JOSE_NOT_SUPPORTED', 'signJwt: the b64 header parameter (RFC 7797 unencoded payloads) is not supported.');
  if (header.crit !== undefined) {
    if (!Array.isArray(header.crit) || header.crit.length === 0 || header.crit.some((c) => typeof c !== 'string' || !has(header, c))) {
      throw new TypeError('signJwt: header.crit must be a non-empty array of names of parameters present in the header');
    }
  }
  if (!isObject(options.payload)) throw new TypeError('signJwt: payload must be a JSON object (the JWT claims set)');
  const payload: JwtPayload = { ...options.payload };
  const now = nowOf(options.currentDate);
  if (options.issuedAt !== undefined) payload.iat = options.issuedAt === true ? now : numericDate(options.issuedAt, now, 'issuedAt');
  if (options.notBefore !== undefined) payload.nbf = numericDate(options.notBefore, now, 'notBefore');
  if (options.expirationTime !== undefined) payload.exp = numericDate(options.expirationTime, now, 'expirationTime');
  for (const claim of ['iat', 'nbf', 'exp']) {
    const v = payload[claim];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) throw new TypeError(`signJwt: the "${claim}" claim must be a finite number`);
  }
  const { alg: _alg, ...rest } = header;
  const signingInput = `${b64url(encoder.encode(JSON.stringify({ alg, typ: 'JWT', ...rest })))}.${b64url(encoder.encode(JSON.stringify(payload)))}`;
  const message = encoder.encode(signingInput);
  if (message.length > MAX_MESSAGE_BYTES) throw tooLarge(message.length, spec.kind === 'hmac' ? 'GenerateMac' : 'Sign');
  if (alg === 'ES256K') {
    // KMS signs ECDSA_SHA_256 with a P-256 key as well: an ES256K token must not come from one.
    // (ES256 is spared the check and its call: an ES256 token from a secp256k1 key fails every verifier.)
    const info = await keySpecOf(kms, keyId);
    if (!fitsKey(spec, info.keySpec, info.keyUsage)) throw keyMismatch(keyId, alg, info.keySpec, info.keyUsage, spec);
  }
  let signature: Uint8Array;
  if (spec.kind === 'hmac') {
    signature = (await kms.generateMac({ KeyId: keyId, Message: message, MacAlgorithm: spec.kmsAlg as InputOf<'GenerateMac'>['MacAlgorithm'] })).Mac;
  } else {
    const { Signature } = await kms.sign({ KeyId: keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: spec.kmsAlg });
    signature = spec.kind === 'ecdsa' ? derToJose(Signature, spec.sigBytes / 2) : Signature;
  }
  if (!lengthFits(spec, signature.length)) {
    const needs = spec.kind === 'rsa' ? orList(Object.values(RSA_BYTES).map(String)) : spec.sigBytes;
    throw new JwtError('ERR_JWS_INVALID', `KMS answered a ${spec.kmsAlg} signature of ${signature.length} bytes; ${alg} needs ${needs}.`);
  }
  return `${signingInput}.${b64url(signature)}`;
}

// ---------------------------------------------------------------- verify

/** Standard header parameters a `crit` may not name (RFC 7515 section 4.1.11). */
const REGISTERED = new Set(['alg', 'jku', 'jwk', 'kid', 'x5u', 'x5c', 'x5t', 'x5t#S256', 'typ', 'cty', 'crit', 'enc', 'zip']);

function parseToken(token: unknown, crit: readonly string[]) {
  if (typeof token !== 'string') throw new JwtError('ERR_JWS_INVALID', 'Invalid JWT: not a string.');
  const parts = token.split('.');
  if (parts.length === 5) throw new JwtError('ERR_JWT_INVALID', 'Invalid JWT: five parts is an encrypted JWT (JWE), which verifyJwt does not decrypt.');
  if (parts.length !== 3) throw new JwtError('ERR_JWS_INVALID', `Invalid compact JWS: ${parts.length} parts; a JWT is header.payload.signature.`);
  const [h, p, s] = parts as [string, string, string];
  if (!h || !p) throw new JwtError('ERR_JWS_INVALID', `Invalid compact JWS: the ${h ? 'payload' : 'header'} is empty (detached payloads are not supported).`);
  const header = parseJsonObject(fromB64url(h, 'header'), 'ERR_JWS_INVALID', 'JWS protected header') as JwtHeader;
  if (typeof header.alg !== 'string' || !header.alg) throw new JwtError('ERR_JWS_INVALID', 'Invalid JWS protected header: "alg" is missing or not a string.');
  if (header.b64 !== undefined) throw new JwtError('ERR_JWS_INVALID', 'Invalid JWT: the b64 header parameter (RFC 7797 unencoded payloads) is not accepted.');
  if (header.crit !== undefined) {
    if (!Array.isArray(header.crit) || header.crit.length === 0 || header.crit.some((c) => typeof c !== 'string' || !c)) {
      throw new JwtError('ERR_JWS_INVALID', 'Invalid JWS protected header: "crit" must be a non-empty array of strings.');
    }
    for (const c of header.crit) {
      if (REGISTERED.has(c)) throw new JwtError('ERR_JWS_INVALID', `Invalid JWS protected header: "crit" may not name the registered parameter "${c}".`);
      if (!has(header, c)) throw new JwtError('ERR_JWS_INVALID', `Invalid JWS protected header: "crit" names "${c}", which is not in the header.`);
      if (!crit.includes(c)) throw new JwtError('ERR_JOSE_NOT_SUPPORTED', `The JWS header marks "${c}" critical, and it is not in options.crit.`);
    }
  }
  const signature = fromB64url(s, 'signature');
  return { header, payloadB64: p, signature, message: encoder.encode(`${h}.${p}`) };
}

const bad = () => new JwtError('ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'signature verification failed');

/** KMS refused the algorithm for the key (or, for GetPublicKey, the key has none): the same refusal as a local mismatch. */
async function kmsCall<T>(alg: string, keyId: string, call: () => Promise<T>, ...refusals: string[]): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (isKmsError(e, 'InvalidKeyUsageException', ...refusals)) {
      throw new JwtError('ERR_JOSE_ALG_NOT_ALLOWED', `alg ${alg} does not fit KMS key ${keyId}: ${(e as Error).message}`, { cause: e });
    }
    throw e;
  }
}

/**
 * Checks the signature (the header's alg is `spec`). `specChecked`: the key's spec is known to fit
 * already (verifyJwt without options.alg asked DescribeKey).
 */
async function checkSignature(
  kms: JwtKms,
  keyId: string,
  alg: string,
  spec: AlgSpec,
  via: 'local' | 'kms',
  specChecked: boolean,
  message: Uint8Array,
  signature: Uint8Array,
) {
  if (!lengthFits(spec, signature.length)) throw bad();
  if (spec.kind === 'hmac') {
    if (message.length > MAX_MESSAGE_BYTES) throw tooLarge(message.length, 'VerifyMac');
    const MacAlgorithm = spec.kmsAlg as InputOf<'VerifyMac'>['MacAlgorithm'];
    const valid = await kmsCall(alg, keyId, () =>
      kms.verifyMac({ KeyId: keyId, Message: message, MacAlgorithm, Mac: signature }).then(
        (r) => r.MacValid === true,
        (e) => (isKmsError(e, 'KMSInvalidMacException') ? false : Promise.reject(e)),
      ),
    );
    if (!valid) throw bad();
    return;
  }
  // WebCrypto has no secp256k1: ES256K tokens always go to KMS Verify.
  if (via === 'kms' || !spec.webcrypto) {
    if (message.length > MAX_MESSAGE_BYTES) throw tooLarge(message.length, 'Verify');
    if (!specChecked && sharedKmsAlg(spec)) {
      // KMS verifies ECDSA_SHA_256 with a P-256 key and a secp256k1 key alike: ES256 and ES256K need the key's spec.
      const info = await keySpecOf(kms, keyId);
      if (!fitsKey(spec, info.keySpec, info.keyUsage)) throw keyMismatch(keyId, alg, info.keySpec, info.keyUsage, spec);
    }
    const Signature = spec.kind === 'ecdsa' ? joseToDer(signature) : signature;
    const valid = await kmsCall(alg, keyId, () =>
      kms.verify({ KeyId: keyId, Message: message, MessageType: 'RAW', Signature, SigningAlgorithm: spec.kmsAlg }).then(
        (r) => r.SignatureValid === true,
        (e) => (isKmsError(e, 'KMSInvalidSignatureException') ? false : Promise.reject(e)),
      ),
    );
    if (!valid) throw bad();
    return;
  }
  // GetPublicKey of a symmetric or HMAC key is UnsupportedOperationException.
  const info = await kmsCall(alg, keyId, () => publicKeyOf(kms, keyId), 'UnsupportedOperationException');
  if (!fitsKey(spec, info.keySpec, info.keyUsage) || !info.spki) throw keyMismatch(keyId, alg, info.keySpec, info.keyUsage, spec);
  if (!lengthFits(spec, signature.length, info.keySpec)) throw bad();
  const publicKey = await importedFor(info, spec);
  const name = spec.webcrypto;
  // RSA-PSS: a salt as long as the hash (RFC 7518 section 3.5, and what KMS signs with).
  const params = name === 'ECDSA' ? { name, hash: spec.hash! } : name === 'RSA-PSS' ? { name, saltLength: Number(spec.hash!.slice(4)) / 8 } : { name };
  if (!(await crypto.subtle.verify(params, publicKey, signature as BufferSource, message as BufferSource))) throw bad();
}

const normalizeTyp = (t: string) => (t.includes('/') ? t.toLowerCase() : `application/${t.toLowerCase()}`);

function checkClaims(header: JwtHeader, payload: JwtPayload, o: VerifyJwtOptions): void {
  const fail = (
    claim: string,
    message: string,
    reason: 'missing' | 'invalid' | 'check_failed' = 'check_failed',
    code: JwtErrorCode = 'ERR_JWT_CLAIM_VALIDATION_FAILED',
  ) => {
    throw new JwtError(code, message, { claim, reason, payload });
  };
  if (o.typ !== undefined && (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== normalizeTyp(o.typ))) {
    fail('typ', `unexpected "typ" JWT header value: ${JSON.stringify(header.typ)}, expected ${JSON.stringify(o.typ)}`);
  }
  const required = new Set(o.requiredClaims ?? []);
  if (o.issuer !== undefined) required.add('iss');
  if (o.subject !== undefined) required.add('sub');
  if (o.audience !== undefined) required.add('aud');
  if (o.maxTokenAge !== undefined) required.add('iat');
  for (const claim of required) if (!has(payload, claim)) fail(claim, `missing required "${claim}" claim`, 'missing');
  if (o.issuer !== undefined && !(Array.isArray(o.issuer) ? o.issuer : [o.issuer]).includes(payload.iss as string)) fail('iss', 'unexpected "iss" claim value');
  if (o.subject !== undefined && payload.sub !== o.subject) fail('sub', 'unexpected "sub" claim value');
  if (o.audience !== undefined) {
    const wanted = Array.isArray(o.audience) ? o.audience : [o.audience];
    const aud = payload.aud;
    const got = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a) => typeof a === 'string') : [];
    if (!wanted.some((a) => got.includes(a))) fail('aud', 'unexpected "aud" claim value');
  }
  const tolerance = o.clockTolerance === undefined ? 0 : seconds(o.clockTolerance, 'clockTolerance');
  const now = nowOf(o.currentDate);
  const date = (claim: 'iat' | 'nbf' | 'exp') => {
    const v = payload[claim];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) fail(claim, `"${claim}" claim must be a number`, 'invalid');
    return v as number | undefined;
  };
  const iat = date('iat');
  const nbf = date('nbf');
  const exp = date('exp');
  if (nbf !== undefined && nbf > now + tolerance) fail('nbf', '"nbf" claim timestamp check failed (the token is not valid yet)');
  if (exp !== undefined && exp <= now - tolerance) fail('exp', '"exp" claim timestamp check failed (the token has expired)', 'check_failed', 'ERR_JWT_EXPIRED');
  if (o.maxTokenAge !== undefined && iat !== undefined) {
    const max = seconds(o.maxTokenAge, 'maxTokenAge');
    const age = now - iat;
    if (age - tolerance > max) fail('iat', '"iat" claim timestamp check failed (too far in the past)', 'check_failed', 'ERR_JWT_EXPIRED');
    if (age < -tolerance) fail('iat', '"iat" claim timestamp check failed (it should be in the past)');
  }
}

/**
 * Verifies a JWT signed by a KMS key (by signJwt, or anything that signs with KMS): the token's
 * form, its `alg` against `options.alg` and the key, the signature, then the claims. Returns the
 * claims set and the protected header; throws JwtError when the token is refused.
 */
export async function verifyJwt<P = JwtPayload>(kms: JwtKms, token: string, options: VerifyJwtOptions): Promise<VerifiedJwt<P>> {
  const { keyId } = options;
  const via = options.via ?? 'local';
  if (via !== 'local' && via !== 'kms') throw new TypeError(`verifyJwt: via must be 'local' or 'kms', not ${JSON.stringify(via)}`);
  const allowed = options.alg === undefined ? undefined : Array.isArray(options.alg) ? options.alg : [options.alg];
  if (allowed) {
    if (allowed.length === 0) throw new TypeError('verifyJwt: alg must name at least one algorithm');
    for (const a of allowed) algSpec(a, 'verifyJwt options.alg');
  }
  if (options.clockTolerance !== undefined && seconds(options.clockTolerance, 'clockTolerance') < 0)
    throw new TypeError('clockTolerance: must not be negative');
  if (options.maxTokenAge !== undefined && seconds(options.maxTokenAge, 'maxTokenAge') < 0) throw new TypeError('maxTokenAge: must not be negative');
  nowOf(options.currentDate);
  const { header, payloadB64, signature, message } = parseToken(token, options.crit ?? []);
  const alg = header.alg;
  if (allowed && !(allowed as string[]).includes(alg)) {
    throw new JwtError('ERR_JOSE_ALG_NOT_ALLOWED', `alg ${JSON.stringify(alg)} is not allowed: verifyJwt accepts ${allowed.join(', ')} here.`);
  }
  const spec = algSpec(alg, 'the token header');
  if (!allowed) {
    // Only the key says which alg is right: a token may not choose (HS256 on an EC key, …).
    const info = await keySpecOf(kms, keyId);
    if (info.keySpec !== undefined && has(RSA_BYTES, info.keySpec) && info.keyUsage === 'SIGN_VERIFY') {
      // Six algorithms fit an RSA key: the application says which its tokens use, not the token.
      throw new TypeError(
        `verifyJwt: KMS key ${keyId} is an ${info.keySpec} key, which signs ${orList(algsOfSpec(info.keySpec))}: options.alg must name the one (or ones) its tokens use`,
      );
    }
    if (!fitsKey(spec, info.keySpec, info.keyUsage)) throw keyMismatch(keyId, alg, info.keySpec, info.keyUsage, spec);
  }
  await checkSignature(kms, keyId, alg, spec, via, !allowed, message, signature);
  const payload = parseJsonObject(fromB64url(payloadB64, 'payload'), 'ERR_JWT_INVALID', 'JWT claims set') as JwtPayload;
  checkClaims(header, payload, options);
  return { payload: payload as P & JwtPayload, protectedHeader: header };
}
