/**
 * createKmsClient: a small TrentService client. Over HTTP it signs with SigV4 (aws4fetch) and
 * speaks AWS JSON 1.1, so it works unchanged against edge-kms and AWS KMS; given an in-process
 * edge-kms (`kms`), it calls it directly with no network and no serialization. Retries throttling
 * and 5xx answers only, with full-jitter exponential backoff.
 */
import { AwsV4Signer } from 'aws4fetch';
import { b64decode, b64encode } from './base64.js';
import { KmsClientError, kmsClientError } from './errors.js';
import type { InputOf, KmsOperations, OperationName, OutputOf } from './types.js';

/** What the client needs of an in-process edge-kms (`createKms()` from @edge-kms/core). */
export interface InProcessKms {
  execute(operation: string, input?: unknown): Promise<Record<string, unknown>>;
}

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface KmsClientOptions {
  /** TrentService endpoint; default https://kms.<region>.amazonaws.com/. */
  endpoint?: string;
  region?: string;
  credentials?: Credentials | (() => Promise<Credentials>);
  /** Call this in-process edge-kms instead of a URL. */
  kms?: InProcessKms;
  /** Attempts per call, retries included (default 3). */
  maxAttempts?: number;
  /** Base and cap of the backoff, in ms (default 50 and 2000). */
  retryBaseMs?: number;
  retryCapMs?: number;
  fetch?: typeof fetch;
}

type Methods = { [O in OperationName as Uncapitalize<O>]: (input: InputOf<O>) => Promise<OutputOf<O>> };

export interface KmsClient extends Methods {
  send<O extends OperationName>(operation: O, input: InputOf<O>): Promise<OutputOf<O>>;
}

const BLOBS = new Set([
  'CiphertextBlob',
  'Plaintext',
  'PublicKey',
  'Signature',
  'Mac',
  'PrivateKeyCiphertextBlob',
  'PrivateKeyPlaintext',
  'CiphertextForRecipient',
  'SharedSecret',
]);
const DATES = new Set([
  'CreationDate',
  'DeletionDate',
  'ValidTo',
  'NextRotationDate',
  'RotationDate',
  'LastUpdatedDate',
  'OnDemandRotationStartDate',
  'ImportDate',
]);

function fromWire(value: unknown, key = ''): unknown {
  if (typeof value === 'string' && BLOBS.has(key)) return b64decode(value);
  if (typeof value === 'number' && DATES.has(key)) return new Date(value * 1000);
  if (Array.isArray(value)) return value.map((v) => fromWire(v));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k in value) out[k] = fromWire((value as Record<string, unknown>)[k], k);
    return out;
  }
  return value;
}

const toWire = (input: unknown) => JSON.stringify(input ?? {}, (_k, v) => (v instanceof Uint8Array ? b64encode(v) : v));

const RETRYABLE = new Set(['ThrottlingException', 'ThrottledException', 'TooManyRequestsException', 'RequestLimitExceeded']);

export function isRetryable(e: unknown): boolean {
  return e instanceof KmsClientError && (RETRYABLE.has(e.name) || (e.status !== undefined && e.status >= 500));
}

/** Every operation the client has a method for (`client.createKey`, …). */
export const OPERATIONS: readonly OperationName[] = [
  'CreateKey',
  'DescribeKey',
  'ListKeys',
  'Encrypt',
  'Decrypt',
  'ReEncrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateRandom',
  'EnableKey',
  'DisableKey',
  'ScheduleKeyDeletion',
  'CancelKeyDeletion',
  'CreateAlias',
  'UpdateAlias',
  'DeleteAlias',
  'ListAliases',
  'TagResource',
  'UntagResource',
  'ListResourceTags',
  'UpdateKeyDescription',
  'EnableKeyRotation',
  'DisableKeyRotation',
  'GetKeyRotationStatus',
  'RotateKeyOnDemand',
  'ListKeyRotations',
  'GetKeyPolicy',
  'PutKeyPolicy',
  'ListKeyPolicies',
  'CreateGrant',
  'ListGrants',
  'ListRetirableGrants',
  'RetireGrant',
  'RevokeGrant',
  'ReplicateKey',
  'UpdatePrimaryRegion',
  'GenerateMac',
  'VerifyMac',
  'Sign',
  'Verify',
  'GetPublicKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'DeriveSharedSecret',
];

export function createKmsClient(options: KmsClientOptions = {}): KmsClient {
  const region = options.region ?? 'us-east-1';
  const endpoint = options.endpoint ?? `https://kms.${region}.amazonaws.com/`;
  const maxAttempts = options.maxAttempts ?? 3;
  const base = options.retryBaseMs ?? 50;
  const cap = options.retryCapMs ?? 2000;
  const doFetch = options.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));

  async function once(operation: string, input: unknown): Promise<unknown> {
    if (options.kms) {
      try {
        return await options.kms.execute(operation, input);
      } catch (e) {
        const err = e as { code?: string; message?: string; status?: number };
        if (typeof err.code === 'string') throw kmsClientError(err.code, err.message ?? '', err.status);
        throw e;
      }
    }
    const c = typeof options.credentials === 'function' ? await options.credentials() : options.credentials;
    if (!c) throw kmsClientError('MissingAuthenticationTokenException', 'No credentials: pass `credentials` to createKmsClient.');
    const signed = await new AwsV4Signer({
      url: endpoint,
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${operation}` },
      body: toWire(input),
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
      service: 'kms',
      region,
    }).sign();
    const res = await doFetch(signed.url.toString(), { method: 'POST', headers: signed.headers, body: signed.body as string });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      if (text) body = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      // A proxy or load balancer in front of KMS may answer an error with HTML or plain text: keep
      // the status (so a 502/503 is still retried). A success that is not JSON is an error.
      if (res.ok) throw e;
      body = { message: text.slice(0, 200) };
    }
    if (!res.ok) {
      const type = (body.__type as string) ?? res.headers.get('x-amzn-errortype') ?? `Http${res.status}`;
      throw kmsClientError(type, String(body.message ?? body.Message ?? res.statusText), res.status, res.headers.get('x-amzn-requestid') ?? undefined);
    }
    return fromWire(body);
  }

  async function send<O extends OperationName>(operation: O, input: InputOf<O>): Promise<OutputOf<O>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await once(operation, input)) as OutputOf<O>;
      } catch (e) {
        if (attempt >= maxAttempts || !isRetryable(e)) throw e;
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(cap, base * 2 ** attempt)));
      }
    }
  }

  const client = { send } as KmsClient;
  for (const op of OPERATIONS) {
    (client as unknown as Record<string, unknown>)[op[0]!.toLowerCase() + op.slice(1)] = (input: InputOf<typeof op>) => send(op, input);
  }
  return client;
}

export type { KmsOperations };
