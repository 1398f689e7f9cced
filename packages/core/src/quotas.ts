/**
 * Request-rate quotas (optional): AWS KMS throttles each account's requests per second, per quota:
 * the cryptographic operations on symmetric keys share one quota, every other operation has its
 * own (https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html). edge-kms
 * takes AWS's published defaults as its starting point and counts them per identity (the caller's
 * principal ARN; or per account, as AWS does), each quota a token bucket that holds one second of
 * requests and refills at the quota's rate. A request over its quota is refused before it runs
 * with AWS's ThrottlingException and AWS's message, and changes nothing.
 *
 * Off by default. Requests in process without a caller (`kms.execute` trusted calls) are never
 * counted; requests over the wire are.
 */
import { systemClock, type Clock } from './clock.js';
import { KmsError } from './errors.js';

export const THROTTLING_MESSAGE = 'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.';

/** The quota the cryptographic operations on symmetric (and HMAC) keys share. */
export const CRYPTOGRAPHIC_QUOTA = 'cryptographic';

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
   * Requests per second, by quota: `cryptographic` for the shared quota of the cryptographic
   * operations, an operation name for the others. What is not given keeps AWS's default (times
   * `scale`); 0 refuses every call of that quota. Operations AWS publishes no quota for are not
   * limited unless named here.
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

export interface RequestQuotas {
  /** Takes one request of `operation` for `who`, or throws ThrottlingException. */
  take(operation: string, who: { arn: string; accountId: string }): void;
}

export function createRequestQuotas(region: string, options: RequestQuotaOptions = {}): RequestQuotas {
  const scale = options.scale ?? 1;
  if (!(scale >= 0) || !Number.isFinite(scale)) throw new TypeError(`"scale" expected a non-negative number, got ${options.scale}`);
  const rates = new Map<string, number>(Object.entries(AWS_OPERATION_RATES).map(([op, r]) => [op, r * scale]));
  rates.set(CRYPTOGRAPHIC_QUOTA, awsCryptographicRate(region) * scale);
  for (const [quota, rate] of Object.entries(options.rates ?? {})) {
    if (!(rate >= 0) || !Number.isFinite(rate)) throw new TypeError(`quota "${quota}" expected a non-negative number of requests per second, got ${rate}`);
    rates.set(quota, rate);
  }
  const clock = options.clock ?? systemClock;
  const perAccount = options.per === 'account';
  const buckets = new Map<string, Bucket>();

  return {
    take(operation, who) {
      const quota = CRYPTOGRAPHIC_OPERATIONS.has(operation) ? CRYPTOGRAPHIC_QUOTA : operation;
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
