/**
 * Request-rate quotas (optional): AWS KMS throttles each account's requests per second, per quota
 * (https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html, "Request quotas
 * for each AWS KMS API operation"). The cryptographic operations share quotas by the type of the
 * KMS key used: one for symmetric encryption and HMAC keys (Region-dependent), one for RSA keys,
 * one for elliptic-curve (and SM2) keys, one for ML-DSA keys; GenerateDataKeyPair and
 * GenerateDataKeyPairWithoutPlaintext share a quota per KeyPairSpec asked for; every other
 * operation has its own. edge-kms takes AWS's published defaults as its starting point and counts
 * them per identity (the caller's principal ARN; or per account, as AWS does), each quota a token
 * bucket that holds one second of requests (at least one) and refills at the quota's rate. A
 * request over its quota is refused with AWS's ThrottlingException and AWS's message before it
 * has changed anything.
 *
 * When the quota is known: most requests are counted as kms.execute receives them (countRequest).
 * Encrypt, Decrypt, ReEncrypt, Sign and Verify count against the quota of their key's type, known
 * only once the key is found: engine.resolve reports each key it finds for such a request
 * (keyResolved), which takes that key's quota then, before the operation uses the key (once per
 * quota per request: a ReEncrypt between two symmetric keys is one symmetric request). Decrypt and
 * ReEncrypt without a (source) KeyId can only be of a symmetric ciphertext, and are counted at once.
 *
 * Off by default. Requests in process without a caller (`kms.execute` trusted calls) are never
 * counted; requests over the wire are.
 */
import { systemClock, type Clock } from './clock.js';
import { KmsError } from './errors.js';

export const THROTTLING_MESSAGE = 'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.';

/** The quota the cryptographic operations on symmetric encryption and HMAC keys share. */
export const CRYPTOGRAPHIC_QUOTA = 'cryptographic';
/** The quotas the cryptographic operations on asymmetric keys share, by the key's type. */
export const CRYPTOGRAPHIC_RSA_QUOTA = 'cryptographic-rsa';
export const CRYPTOGRAPHIC_ECC_QUOTA = 'cryptographic-ecc';
export const CRYPTOGRAPHIC_ML_DSA_QUOTA = 'cryptographic-ml-dsa';

/** AWS's "Cryptographic operations (symmetric) request rate": symmetric encryption and HMAC keys. */
const CRYPTOGRAPHIC_OPERATIONS = new Set([
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateMac',
  'GenerateRandom',
  'ReEncrypt',
  'VerifyMac',
]);

/** The operations whose quota is that of the type of the key they use (symmetric, RSA, ECC, ML-DSA). */
const KEY_TYPE_OPERATIONS = new Set(['Decrypt', 'Encrypt', 'ReEncrypt', 'Sign', 'Verify']);

/** The operations whose quota is that of the KeyPairSpec they ask for: `GenerateDataKeyPair:<spec>`. */
const KEY_PAIR_OPERATIONS = new Set(['GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext']);

/**
 * AWS's defaults of the quotas that depend on the key type or the key pair asked for (requests per
 * second), from the "Request quotas" page of the AWS KMS Developer Guide (URL above):
 * - "Cryptographic operations (RSA) request rate": 1,000 (shared) for RSA KMS keys (Decrypt,
 *   Encrypt, ReEncrypt, Sign, Verify). The page's revision that lists ML-DSA keys (2025) says
 *   1,000; earlier revisions said 500.
 * - "Cryptographic operations (ECC) request rate": 1,000 (shared) for elliptic curve (ECC) and SM2
 *   KMS keys (Sign, Verify, DeriveSharedSecret; SM2 also Encrypt, Decrypt, ReEncrypt); same
 *   revision; earlier ones said 300. Ed25519 and secp256k1 keys are ECC keys here.
 * - "Cryptographic operations (ML-DSA) request rate": 1,000 (shared) for ML-DSA KMS keys (Sign,
 *   Verify); same revision.
 * - HMAC keys have no quota of their own: GenerateMac and VerifyMac are in the symmetric one.
 * - "GenerateDataKeyPair (<KeyPairSpec>) request rate", each for both GenerateDataKeyPair and
 *   GenerateDataKeyPairWithoutPlaintext: RSA_2048 1, RSA_3072 0.5 (1 in each 2-second interval),
 *   RSA_4096 0.1 (1 in each 10-second interval), ECC_NIST_P256 25, ECC_NIST_P384 10, ECC_NIST_P521 5,
 *   ECC_SECG_P256K1 25. These are the numbers in the page's revisions from 2020 on that were
 *   checked; the newest revision's table was not seen in full. SM2 (China Regions only) and
 *   ECC_NIST_EDWARDS25519 pairs are left unlimited, since their AWS numbers are not known here
 *   (name them in `rates` to limit them).
 */
const AWS_KEY_TYPE_RATES: Record<string, number> = {
  [CRYPTOGRAPHIC_RSA_QUOTA]: 1000,
  [CRYPTOGRAPHIC_ECC_QUOTA]: 1000,
  [CRYPTOGRAPHIC_ML_DSA_QUOTA]: 1000,
  'GenerateDataKeyPair:RSA_2048': 1,
  'GenerateDataKeyPair:RSA_3072': 0.5,
  'GenerateDataKeyPair:RSA_4096': 0.1,
  'GenerateDataKeyPair:ECC_NIST_P256': 25,
  'GenerateDataKeyPair:ECC_NIST_P384': 10,
  'GenerateDataKeyPair:ECC_NIST_P521': 5,
  'GenerateDataKeyPair:ECC_SECG_P256K1': 25,
};

/** The shared cryptographic quota of a key spec: symmetric and HMAC keys share the symmetric one. */
export function cryptographicQuotaOf(keySpec: string): string {
  if (keySpec.startsWith('RSA_')) return CRYPTOGRAPHIC_RSA_QUOTA;
  if (keySpec.startsWith('ECC_') || keySpec === 'SM2') return CRYPTOGRAPHIC_ECC_QUOTA;
  if (keySpec.startsWith('ML_DSA_')) return CRYPTOGRAPHIC_ML_DSA_QUOTA;
  return CRYPTOGRAPHIC_QUOTA;
}

/**
 * The quota a request counts against. `spec`: for Encrypt, Decrypt, ReEncrypt, Sign and Verify
 * the KeySpec of the key used (a symmetric key when not given); for GenerateDataKeyPair and
 * GenerateDataKeyPairWithoutPlaintext the KeyPairSpec asked for.
 */
export function quotaOf(operation: string, spec?: string): string {
  if (KEY_TYPE_OPERATIONS.has(operation)) return spec === undefined ? CRYPTOGRAPHIC_QUOTA : cryptographicQuotaOf(spec);
  if (KEY_PAIR_OPERATIONS.has(operation)) return `GenerateDataKeyPair:${spec ?? ''}`;
  if (operation === 'DeriveSharedSecret') return CRYPTOGRAPHIC_ECC_QUOTA; // ECC and SM2 keys only
  return CRYPTOGRAPHIC_OPERATIONS.has(operation) ? CRYPTOGRAPHIC_QUOTA : operation;
}

/** AWS's default request quotas (requests per second) of the operations that have their own. */
const AWS_OPERATION_RATES: Record<string, number> = {
  CancelKeyDeletion: 5,
  CreateAlias: 5,
  CreateGrant: 50,
  CreateKey: 5,
  DeleteAlias: 15,
  DeleteImportedKeyMaterial: 15,
  DescribeKey: 2000,
  DisableKey: 5,
  DisableKeyRotation: 5,
  EnableKey: 5,
  EnableKeyRotation: 15,
  GetKeyPolicy: 1000,
  GetKeyRotationStatus: 1000,
  GetParametersForImport: 1,
  GetPublicKey: 2000,
  ImportKeyMaterial: 15,
  ListAliases: 500,
  ListGrants: 100,
  ListKeyPolicies: 100,
  ListKeys: 500,
  ListKeyRotations: 100,
  ListResourceTags: 2000,
  ListRetirableGrants: 100,
  PutKeyPolicy: 15,
  ReplicateKey: 5,
  RetireGrant: 50,
  RevokeGrant: 50,
  RotateKeyOnDemand: 5,
  ScheduleKeyDeletion: 15,
  TagResource: 10,
  UntagResource: 5,
  UpdateAlias: 5,
  UpdateKeyDescription: 5,
  UpdatePrimaryRegion: 5,
};

/** AWS's shared quota for cryptographic operations on symmetric keys, by Region. */
export function awsCryptographicRate(region: string): number {
  if (['us-east-1', 'us-west-2', 'eu-west-1'].includes(region)) return 100_000;
  if (['us-east-2', 'ap-southeast-1', 'ap-southeast-2', 'ap-northeast-1', 'eu-central-1', 'eu-west-2'].includes(region)) return 20_000;
  return 10_000;
}

export interface RequestQuotaOptions {
  /**
   * Requests per second, by quota name. What is not given keeps AWS's default (times `scale`); 0
   * refuses every call of that quota. The names:
   * - `cryptographic`: the shared quota of the cryptographic operations on symmetric encryption
   *   and HMAC keys (Encrypt, Decrypt, ReEncrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext,
   *   GenerateMac, VerifyMac, GenerateRandom);
   * - `cryptographic-rsa`, `cryptographic-ecc`, `cryptographic-ml-dsa`: the shared quotas of the
   *   cryptographic operations on RSA keys (Encrypt, Decrypt, ReEncrypt, Sign, Verify), on
   *   elliptic-curve and SM2 keys (Sign, Verify, DeriveSharedSecret; SM2's Encrypt, Decrypt,
   *   ReEncrypt), on ML-DSA keys (Sign, Verify);
   * - `GenerateDataKeyPair:<KeyPairSpec>`, e.g. `GenerateDataKeyPair:RSA_4096`: GenerateDataKeyPair
   *   and GenerateDataKeyPairWithoutPlaintext asking for that kind of pair;
   * - any other operation's name, e.g. `CreateKey`: that operation.
   * Quotas AWS publishes no number for (or edge-kms does not know) are not limited unless named here.
   */
  rates?: Record<string, number>;
  /** Multiplies AWS's defaults (not `rates`), e.g. 0.01 to see throttling in a test. Default 1. */
  scale?: number;
  /** 'identity' (default): each principal ARN has its own buckets. 'account': one per account, as AWS counts. */
  per?: 'identity' | 'account';
  /** The clock the buckets refill by; the system clock by default (not the KMS's test clock). */
  clock?: Clock;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** At most this many buckets are kept; the oldest go first (a forgotten bucket starts full). */
const MAX_BUCKETS = 10_000;

type Who = { arn: string; accountId: string };

export interface RequestQuotas {
  /**
   * Takes one request of `operation` for `who` from its quota, or throws ThrottlingException.
   * `spec`: the KeySpec of the key used or the KeyPairSpec asked for (see quotaOf).
   */
  take(operation: string, who: Who, spec?: string): void;
}

export function createRequestQuotas(region: string, options: RequestQuotaOptions = {}): RequestQuotas {
  const scale = options.scale ?? 1;
  if (!(scale >= 0) || !Number.isFinite(scale)) throw new TypeError(`"scale" expected a non-negative number, got ${options.scale}`);
  const rates = new Map<string, number>(Object.entries({ ...AWS_OPERATION_RATES, ...AWS_KEY_TYPE_RATES }).map(([q, r]) => [q, r * scale]));
  rates.set(CRYPTOGRAPHIC_QUOTA, awsCryptographicRate(region) * scale);
  for (const [quota, rate] of Object.entries(options.rates ?? {})) {
    if (!(rate >= 0) || !Number.isFinite(rate)) throw new TypeError(`quota "${quota}" expected a non-negative number of requests per second, got ${rate}`);
    rates.set(quota, rate);
  }
  const clock = options.clock ?? systemClock;
  const perAccount = options.per === 'account';
  const buckets = new Map<string, Bucket>();

  return {
    take(operation, who, spec) {
      const quota = quotaOf(operation, spec);
      const rate = rates.get(quota);
      if (rate === undefined) return;
      // A bucket holds one second of requests, and at least one (a rate under 1/s still lets one
      // request through every 1/rate seconds).
      const capacity = rate === 0 ? 0 : Math.max(1, rate);
      const id = `${perAccount ? who.accountId : who.arn}\n${quota}`;
      const now = clock.now();
      let b = buckets.get(id);
      if (!b) {
        if (buckets.size >= MAX_BUCKETS) buckets.delete(buckets.keys().next().value!);
        buckets.set(id, (b = { tokens: capacity, at: now }));
      } else {
        // A quiet client may burst up to one bucket, no more.
        b.tokens = Math.min(capacity, b.tokens + (Math.max(0, now - b.at) * rate) / 1000);
        b.at = now;
      }
      if (b.tokens < 1) throw new KmsError('ThrottlingException', THROTTLING_MESSAGE);
      b.tokens -= 1;
    },
  };
}

/** What takes the key-type quota of a request still waiting for its key, by the request's caller object. */
const awaitingKey = new WeakMap<object, (keySpec: string) => void>();

/**
 * Counts one request as kms.execute receives it, before it runs (ThrottlingException when over
 * quota), and answers the caller to run it with: for Encrypt, Decrypt, ReEncrypt, Sign and Verify,
 * whose quota is their key's type, a copy of `caller` for which engine.resolve reports the keys it
 * finds (keyResolved), each key's quota taken then, once per quota for the request; else `caller`.
 */
export function countRequest<C extends Who>(quotas: RequestQuotas, operation: string, caller: C, input: unknown): C {
  const raw = (input !== null && typeof input === 'object' ? input : {}) as Record<string, unknown>;
  if (KEY_PAIR_OPERATIONS.has(operation)) {
    quotas.take(operation, caller, typeof raw.KeyPairSpec === 'string' ? raw.KeyPairSpec : undefined);
    return caller;
  }
  if (!KEY_TYPE_OPERATIONS.has(operation)) {
    quotas.take(operation, caller);
    return caller;
  }
  const taken = new Set<string>();
  const takeFor = (keySpec?: string) => {
    const quota = quotaOf(operation, keySpec);
    if (taken.has(quota)) return;
    quotas.take(operation, caller, keySpec);
    taken.add(quota);
  };
  // A ciphertext without a KeyId to decrypt it under is a symmetric one (asymmetric decryption
  // needs the KeyId): Decrypt looks its key up from the blob, and is counted now.
  const noSourceKey = operation === 'Decrypt' ? raw.KeyId == null : operation === 'ReEncrypt' && raw.SourceKeyId == null;
  if (noSourceKey) takeFor();
  if (operation === 'Decrypt' && noSourceKey) return caller;
  const own = { ...caller };
  awaitingKey.set(own, takeFor);
  return own;
}

/**
 * engine.resolve calls this with each key it finds for a caller (and with SYMMETRIC_DEFAULT before
 * it creates an AWS managed key): for a request countRequest left waiting for its key, that key's
 * quota is taken now, before the operation uses the key (ThrottlingException when over quota).
 */
export function keyResolved(caller: object | undefined, keySpec: string): void {
  if (caller !== undefined) awaitingKey.get(caller)?.(keySpec);
}

/**
 * Reads the KMS_REQUEST_QUOTAS setting of the Node server and the Worker: unset, '', '0' or 'off'
 * is off; 'aws', '1' or 'on' is AWS's defaults; otherwise a JSON object of RequestQuotaOptions
 * without the clock, e.g. `{"scale":0.1}` or `{"rates":{"cryptographic":500},"per":"account"}`.
 */
export function parseRequestQuotas(text: string | undefined): false | RequestQuotaOptions {
  const t = (text ?? '').trim();
  if (t === '' || t === '0' || t === 'off' || t === 'false') return false;
  if (t === 'aws' || t === '1' || t === 'on' || t === 'true') return {};
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    throw new TypeError(`KMS_REQUEST_QUOTAS must be off, aws, or a JSON object such as {"scale":0.1}; got ${t}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new TypeError('KMS_REQUEST_QUOTAS must be a JSON object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['rates', 'scale', 'per'].includes(k)) throw new TypeError(`KMS_REQUEST_QUOTAS has an unknown setting "${k}"`);
  if (o.per !== undefined && o.per !== 'identity' && o.per !== 'account') throw new TypeError('KMS_REQUEST_QUOTAS "per" must be "identity" or "account"');
  if (o.scale !== undefined && typeof o.scale !== 'number') throw new TypeError('KMS_REQUEST_QUOTAS "scale" must be a number');
  if (
    o.rates !== undefined &&
    (!o.rates || typeof o.rates !== 'object' || Array.isArray(o.rates) || Object.values(o.rates).some((r) => typeof r !== 'number'))
  ) {
    throw new TypeError('KMS_REQUEST_QUOTAS "rates" must map quota names to numbers');
  }
  // createRequestQuotas checks the numbers themselves.
  createRequestQuotas('us-east-1', o as RequestQuotaOptions);
  return o as RequestQuotaOptions;
}
