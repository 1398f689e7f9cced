/**
 * createMrkAwareKms: one KmsClient over several Regional clients, nearest first, with the AWS
 * Encryption SDK's multi-Region key (MRK) awareness: decrypt near, fall back far. The envelope
 * functions (encrypt, decrypt, encryptBytes, decryptBytes, the streams, openNamespace) take it
 * unchanged. Its own module, imported by nothing on the envelope path: a bundle that does not
 * use it does not carry it.
 *
 * Routing. Decrypt, Encrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext and ReEncrypt look at
 * the keys they name (KeyId; ReEncrypt's SourceKeyId and DestinationKeyId):
 * - a multi-Region key (`arn:…:key/mrk-…`, or a bare `mrk-…` id; an alias never is) can be used in
 *   every Region of its set: each Regional client is asked in turn, nearest first, with every mrk
 *   ARN rewritten to that client's Region (same partition, account and key id; clients of another
 *   partition are skipped). A ciphertext names the key id and version, not the Region, so any
 *   replica decrypts it, and a Decrypt's KeyId must name the key of the Region asked.
 * - a single-Region key exists in one Region only: its ARN is never rewritten, and only the
 *   clients of its Region are asked (several clients may serve one Region).
 * - a key named without a Region (a bare UUID, an alias name) or not named (Decrypt without
 *   KeyId, ReEncrypt without SourceKeyId) may be single-Region: the call stays in the nearest
 *   client's Region, as with a single client, unless an ARN of the same call places it.
 * - a call that no client may serve (single-Region keys of two Regions in one ReEncrypt, a
 *   single-Region key of a Region no client is for, an mrk ARN of a partition no client is in)
 *   is refused with AllRegionsFailedError (no failures), no call made.
 * Every other operation goes to one client, without fallback: the client of the Region its
 * `KeyId` ARN names if there is one, else the nearest (CreateKey, ListKeys, … act in the nearest
 * Region). They are not all idempotent, and a replica is not its primary (DescribeKey of the
 * rewritten ARN would describe another key).
 *
 * Fallback. The ESDK's multi-keyring moves on after any error; here the next client is asked only
 * after a failure another Region could fix (isRegionalFailure):
 * - no answer: any error that is not a KMS error (fetch rejected, the timeoutMs deadline, a body
 *   that is not KMS's JSON);
 * - a 5xx (KMSInternalException, KeyUnavailableException, DependencyTimeoutException, a proxy's
 *   502/503) or throttling, once the client's own retries are spent;
 * - for a multi-Region key only, the state of that Region's replica, which is each key's own:
 *   NotFoundException (not replicated there, or deleted), DisabledException,
 *   KMSInvalidStateException (pending deletion, being created).
 * Anything else is KMS's answer about the request itself, and every Region would give it alike:
 * InvalidCiphertextException and IncorrectKeyException (the key material and the blob are the same
 * everywhere), AccessDeniedException (a deliberate decision about this caller: routing around it
 * would quietly void a denial), ValidationException, and the signature errors (this client's
 * credentials or Region are wrong: a configuration error to surface, not to route around). It is
 * thrown at once, unchanged (the same class a single client throws), so it is never buried under a
 * later Region's different answer; asking elsewhere would learn nothing new. `fallBackOn` replaces
 * the rule. When every client asked failed so, AllRegionsFailedError carries each Region's failure
 * in order.
 */
import { isRetryable, OPERATIONS, type KmsClient } from './client.js';
import { KmsClientError } from './errors.js';
import type { InputOf, OperationName, OutputOf } from './types.js';

/**
 * One Region's client: `client` must act in `region`: `createKmsClient({ region, … })` over HTTP
 * (it signs for its Region), `createKmsClient({ kms: kms.inRegion(region) })` in process (an
 * in-process client acts in its KMS's Region, whatever its `region` option says).
 */
export interface RegionalClient {
  region: string;
  client: KmsClient;
}

/** A Regional client that failed in a way another Region could fix, and the next one asked. */
export interface FallbackEvent {
  operation: OperationName;
  region: string;
  error: unknown;
  next: string;
}

export interface MrkAwareOptions {
  /**
   * Encrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext and ReEncrypt fall back like
   * Decrypt (default true). With false they use the first client that may use the key only: the
   * nearest for a multi-Region key.
   */
  encryptFallback?: boolean;
  /**
   * Gives up on a Regional client after this many ms (its whole call, its own retries included)
   * and asks the next: a Region that does not answer (a black-holed address) otherwise costs the
   * operating system's TCP timeout. The abandoned call is not aborted; a data key it returns late
   * is wiped. None by default.
   */
  timeoutMs?: number;
  /** Which failures move on to the next client (default isRegionalFailure). */
  fallBackOn?: (error: unknown, multiRegion: boolean) => boolean;
  /** Told each time a client fails and the next is asked (for logs and metrics). */
  onFallback?: (event: FallbackEvent) => void;
}

export interface MrkAwareKms extends KmsClient {
  /** The clients' Regions, nearest first. */
  readonly regions: readonly string[];
}

export interface RegionFailure {
  region: string;
  error: unknown;
}

/** Every client that was asked failed in a way another Region could have fixed (or none could be asked). */
export class AllRegionsFailedError extends AggregateError {
  readonly operation: OperationName;
  /** The key the request named (KeyId, or ReEncrypt's SourceKeyId), as given. */
  readonly keyId: string | undefined;
  /** Each client asked, in order, and how it failed; empty when no client could use the key. */
  readonly failures: readonly RegionFailure[];
  constructor(operation: OperationName, keyId: string | undefined, failures: RegionFailure[], why: string) {
    const each = failures.map((f) => `${f.region}: ${describe(f.error)}`).join('; ');
    super(
      failures.map((f) => f.error),
      `${operation}${keyId ? ` with ${keyId}` : ''} failed: ${why}${each ? ` ${each}` : ''}`,
    );
    // Set the name explicitly: minifiers rename classes.
    this.name = 'AllRegionsFailedError';
    this.operation = operation;
    this.keyId = keyId;
    this.failures = failures;
  }
}

/** "TypeError: fetch failed (ECONNREFUSED)", "ThrottlingException: Rate exceeded". */
function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = (e as { cause?: { code?: unknown; message?: unknown } }).cause;
  const detail = cause && (typeof cause.code === 'string' ? cause.code : typeof cause.message === 'string' ? cause.message : undefined);
  return `${e.name}: ${e.message}${detail ? ` (${detail})` : ''}`;
}

/** A multi-Region key's replica in this Region is missing, disabled or not usable now; another may be. */
const REPLICA_STATE = new Set(['NotFoundException', 'DisabledException', 'KMSInvalidStateException', 'KeyUnavailableException']);

/**
 * The default fallback rule: true for failures another Region could fix. No answer at all (any
 * error that is not a KMS error: fetch rejected, a timeout, a body that is not JSON), 5xx and
 * throttling; and, when the key is multi-Region, the state of that Region's replica.
 */
export function isRegionalFailure(error: unknown, multiRegion: boolean): boolean {
  if (!(error instanceof KmsClientError)) return true;
  return isRetryable(error) || (multiRegion && REPLICA_STATE.has(error.name));
}

/** The key fields of the operations that may be served by any Region of a multi-Region key. */
const KEY_FIELDS: { [O in OperationName]?: readonly string[] } = {
  Decrypt: ['KeyId'],
  Encrypt: ['KeyId'],
  GenerateDataKey: ['KeyId'],
  GenerateDataKeyWithoutPlaintext: ['KeyId'],
  ReEncrypt: ['SourceKeyId', 'DestinationKeyId'],
};

const REGION_RE = /^[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}$/;
/** arn:<partition>:kms:<region>:<account>:<key|alias>/<id>. */
const ARN_RE = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;

interface ParsedRef {
  multiRegion: boolean;
  /** The ARN's partition and Region (undefined for a bare id or alias name). */
  partition?: string;
  region?: string;
}

/** The ESDK's rule: a multi-Region key is a `key/` resource (or bare id) starting with `mrk-`; an alias never is. */
function parseRef(ref: string): ParsedRef {
  const m = ARN_RE.exec(ref);
  if (m) return { multiRegion: m[4] === 'key' && m[5]!.startsWith('mrk-'), partition: m[1], region: m[2] };
  return { multiRegion: ref.startsWith('mrk-') };
}

/** The partition of a Region, as AWS assigns it. */
function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  return 'aws';
}

/** The same ARN in another Region: only the Region field changes. */
const inRegion = (arn: string, region: string) => arn.replace(/^(arn:[^:]+:kms:)[^:]+/, `$1${region}`);

interface Plan {
  attempts: { region: string; client: KmsClient; input: Record<string, unknown> }[];
  multiRegion: boolean;
  /** Why these clients (for AllRegionsFailedError's message). */
  why: string;
}

export function createMrkAwareKms(clients: readonly RegionalClient[], options: MrkAwareOptions = {}): MrkAwareKms {
  if (!Array.isArray(clients) || clients.length === 0)
    throw new TypeError(`"clients" expected at least one { region, client }, got ${clients?.length ?? clients}`);
  for (const [i, c] of clients.entries()) {
    if (typeof c?.region !== 'string' || !REGION_RE.test(c.region)) throw new TypeError(`"clients[${i}].region" expected an AWS Region name, got ${c?.region}`);
    if (typeof c.client?.send !== 'function') throw new TypeError(`"clients[${i}].client" expected a KmsClient (createKmsClient)`);
  }
  const list = clients.map((c) => ({ region: c.region, client: c.client }));
  const near = list[0]!;
  const regions = Object.freeze(list.map((c) => c.region));
  const fallBackOn = options.fallBackOn ?? isRegionalFailure;
  const timeoutMs = options.timeoutMs;
  if (timeoutMs !== undefined && !(timeoutMs > 0)) throw new TypeError(`"timeoutMs" expected a positive number of ms, got ${timeoutMs}`);

  function plan(operation: OperationName, fields: readonly string[], input: Record<string, unknown>): Plan {
    /** The Region a single-Region key's ARN confines the call to, and why. */
    let pin: string | undefined;
    let pinnedBy = '';
    /** Why a key named without its Region (or not named) confines the call to the nearest Region, unless an ARN confines it. */
    let unplaced = '';
    let partition: string | undefined;
    let conflict = '';
    const rewrite: string[] = [];
    for (const field of fields) {
      const ref = input[field];
      if (typeof ref !== 'string') {
        unplaced ||= `without ${field} the key may be single-Region, so only the nearest Region, ${near.region}, is used`;
        continue;
      }
      const parsed = parseRef(ref);
      if (parsed.multiRegion) {
        if (parsed.partition === undefined) continue; // a bare mrk- id: the same in every Region
        if (partition !== undefined && partition !== parsed.partition) conflict = `it names keys of two partitions (${partition}, ${parsed.partition}).`;
        partition ??= parsed.partition;
        rewrite.push(field);
      } else if (parsed.region === undefined) {
        unplaced ||= `${ref} names no Region and no multi-Region key, so only the nearest Region, ${near.region}, is used`;
      } else if (pin !== undefined && pin !== parsed.region) {
        conflict = `it names single-Region keys of two Regions (${pin}, ${parsed.region}), which no one call can use.`;
      } else {
        pin = parsed.region;
        pinnedBy ||= `${ref} is a single-Region key, used in ${pin} only`;
      }
    }
    if (pin === undefined && unplaced) {
      pin = near.region;
      pinnedBy = unplaced;
    }
    let eligible = conflict
      ? []
      : list.filter((c) => (pin === undefined || c.region === pin) && (partition === undefined || partitionOf(c.region) === partition));
    if (operation !== 'Decrypt' && options.encryptFallback === false) eligible = eligible.slice(0, 1);
    const attempts = eligible.map((c) => {
      if (rewrite.length === 0) return { ...c, input };
      const changed = { ...input };
      for (const field of rewrite) changed[field] = inRegion(input[field] as string, c.region);
      return { ...c, input: changed };
    });
    const clientsAre = `(clients: ${regions.join(', ')})`;
    let why: string;
    if (conflict) why = conflict;
    else if (pin !== undefined) why = `${pinnedBy}${attempts.length === 0 ? `, and no client is for ${pin} ${clientsAre}.` : ':'}`;
    else why = attempts.length === 0 ? `no client is in the key's partition, ${partition} ${clientsAre}.` : 'every Region asked failed:';
    return { attempts, multiRegion: pin === undefined, why };
  }

  /** The client's answer within timeoutMs; a data key answered after the deadline is wiped. */
  function within<T>(call: Promise<T>, region: string): Promise<T> {
    if (timeoutMs === undefined) return call;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let late = false;
    call.then(
      (out) => {
        if (late) (out as { Plaintext?: Uint8Array }).Plaintext?.fill(0);
      },
      () => undefined,
    );
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        late = true;
        reject(new DOMException(`${region} did not answer within ${timeoutMs} ms`, 'TimeoutError'));
      }, timeoutMs);
    });
    return Promise.race([call, deadline]).finally(() => clearTimeout(timer));
  }

  async function send<O extends OperationName>(operation: O, input: InputOf<O>): Promise<OutputOf<O>> {
    const fields = KEY_FIELDS[operation];
    const given = (input ?? {}) as Record<string, unknown>;
    if (!fields) {
      const keyId = given.KeyId;
      const region = typeof keyId === 'string' ? parseRef(keyId).region : undefined;
      return (list.find((c) => c.region === region) ?? near).client.send(operation, input);
    }
    const p = plan(operation, fields, given);
    const failures: RegionFailure[] = [];
    for (let i = 0; i < p.attempts.length; i++) {
      const a = p.attempts[i]!;
      try {
        return await within(a.client.send(operation, a.input as InputOf<O>), a.region);
      } catch (error) {
        if (!fallBackOn(error, p.multiRegion)) throw error;
        failures.push({ region: a.region, error });
        const next = p.attempts[i + 1];
        if (next) options.onFallback?.({ operation, region: a.region, error, next: next.region });
      }
    }
    const keyId = (given[fields[0]!] ?? given[fields[1]!]) as string | undefined;
    throw new AllRegionsFailedError(operation, keyId, failures, p.why);
  }

  const kms = { send, regions } as unknown as MrkAwareKms;
  for (const op of OPERATIONS) {
    (kms as unknown as Record<string, unknown>)[op[0]!.toLowerCase() + op.slice(1)] = (input: InputOf<typeof op>) => send(op, input);
  }
  return kms;
}
