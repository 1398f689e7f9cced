/**
 * createKms: the engine behind one object. `execute` runs an operation in process (blobs as
 * Uint8Array, dates as Date); `handle` is the TrentService wire protocol as one pure
 * Request -> Response function; `runMaintenance` rotates due keys and deletes keys whose waiting
 * period is over (the Node timer and the Worker's cron trigger call it).
 */
import type { OperationContext } from './auth/authorize.js';
import { createSigV4Verifier } from './auth/sigv4.js';
import { systemClock } from './clock.js';
import type { Caller, Identity, IdentityLookup, RequestLike } from './auth/types.js';
import { defaultKeyPolicy, Engine, isDeletionDue, isRotationDue, type KmsOptions as EngineOptions } from './engine.js';
import { isUuid, randomUuid } from './bytes.js';
import { keyMetadata } from './metadata.js';
import { checkGrantTokens } from './operations/grants/grant-tokens.js';
import { internalError, isKmsError, KmsError } from './errors.js';
import { isOperationName, OPERATIONS, type OperationName } from './operations/index.js';
import type { Output } from './operations/common.js';
import {
  handleProtocolMessage,
  handleProtocolRequest,
  type HandleOptions,
  type ProtocolMessage,
  type ProtocolResult,
  type ProtocolService,
} from './protocol.js';
import { InputReader } from './validate.js';
import { symmetricFamily } from './key-specs/index.js';
import { createRequestQuotas, type RequestQuotaOptions } from './quotas.js';

/**
 * How requests to `handle` are authenticated.
 * - `none` (default): no signature needed; every request acts as the account root.
 * - `open`: development mode; any well-formed SigV4 signature is accepted (dummy credentials work)
 *   and the request acts as the account root.
 * - `verify`: SigV4 is verified against the identities; the request acts as that principal.
 */
export type AuthenticationOptions = { mode: 'none' } | { mode: 'open' } | { mode: 'verify'; identities: Identity[] | IdentityLookup };

export interface KmsOptions extends EngineOptions {
  authentication?: AuthenticationOptions;
  /**
   * Request-rate quotas per identity and operation (AWS's published quotas by default; see
   * quotas.ts), answered with ThrottlingException. Off unless given; `true` is AWS's defaults.
   * Only calls with a caller (over the wire) count.
   */
  requestQuotas?: boolean | RequestQuotaOptions;
}

export type { HandleOptions };

export interface MaintenanceReport {
  rotated: string[];
  deleted: string[];
}

export interface Kms extends ProtocolService {
  readonly accountId: string;
  readonly region: string;
  readonly engine: Engine;
  /** How `handle` authenticates requests (see AuthenticationOptions). */
  readonly authenticationMode: AuthenticationOptions['mode'];
  /** The principal requests act as when no signature names one (`none` and `open` modes). */
  readonly rootCaller: Caller;
  /**
   * Runs one operation in process. Throws KmsError. Without `context.caller` the call is trusted
   * (no key policy is evaluated); with one, it is authorized as over the wire.
   */
  execute(operation: OperationName | string, input?: unknown, context?: OperationContext): Promise<Output>;
  /** The TrentService JSON 1.1 protocol: one Request in, one Response out. */
  handle(request: Request, options?: HandleOptions): Promise<Response>;
  /** The same protocol over plain data, for shells that avoid building fetch Requests (Node). */
  handleMessage(message: ProtocolMessage, options?: HandleOptions): Promise<ProtocolResult>;
  /** Authenticates a request (SigV4 per the authentication mode); throws KmsError. */
  authenticate(request: RequestLike, body: Uint8Array, options?: HandleOptions): Promise<Caller>;
  /** Rotates every key whose automatic rotation is due and deletes keys whose deletion is due. */
  runMaintenance(): Promise<MaintenanceReport>;
  /** The KMS's clock (a test clock in test mode): what shells show as the KMS's time. */
  now(): number;
  /** Logs an unexpected error (the `onInternalError` option; console.error by default). */
  onInternalError(error: unknown): void;
  /** Removes every key, version and alias (test mode). */
  reset(): Promise<void>;
  /**
   * Creates a symmetric customer managed key with given key material (and optionally a given key
   * id and alias), for reproducible tests and fixtures. The material is sealed like any other.
   */
  seedKey(options: SeedKeyOptions): Promise<Output>;
}

export interface SeedKeyOptions {
  KeyMaterial: Uint8Array;
  KeyId?: string;
  Description?: string;
  AliasName?: string;
}

export function createKms(options: KmsOptions = {}): Kms {
  const engine = new Engine(options);

  const rootCaller: Caller = { accountId: engine.accountId, arn: `arn:${engine.partition}:iam::${engine.accountId}:root` };
  const auth = options.authentication ?? { mode: 'none' };
  const verifier =
    auth.mode === 'none'
      ? undefined
      : createSigV4Verifier({
          region: engine.region,
          mode: auth.mode,
          // Clients sign with the real time: X-Amz-Date is checked against the system clock, not
          // the engine's clock (a test clock may be frozen or moved years ahead).
          clock: systemClock,
          crypto: engine.crypto,
          openCaller: rootCaller,
          lookup:
            auth.mode === 'verify'
              ? typeof auth.identities === 'function'
                ? auth.identities
                : (
                    (byId) => (id: string) =>
                      byId.get(id)
                  )(new Map(auth.identities.map((i) => [i.accessKeyId, i])))
              : undefined,
        });

  async function authenticate(request: RequestLike, body: Uint8Array, handleOptions: HandleOptions = {}): Promise<Caller> {
    const caller = verifier ? await verifier(request, body, handleOptions.requiredSignedHeaders) : rootCaller;
    return {
      ...caller,
      sourceIp: handleOptions.sourceIp,
      secureTransport: request.url.startsWith('https:'),
    };
  }

  const quotas = options.requestQuotas ? createRequestQuotas(engine.region, options.requestQuotas === true ? {} : options.requestQuotas) : undefined;

  async function execute(operation: string, input?: unknown, context: OperationContext = {}): Promise<Output> {
    if (!isOperationName(operation)) {
      throw new KmsError('UnknownOperationException', `Unknown operation ${operation}`);
    }
    if (quotas && context.caller) quotas.take(operation, context.caller);
    try {
      const reader = InputReader.from(input);
      const tokens = reader.raw.GrantTokens;
      if (Array.isArray(tokens) && tokens.every((t) => typeof t === 'string')) checkGrantTokens(tokens as string[]);
      return await OPERATIONS[operation](engine, reader, context);
    } catch (e) {
      if (isKmsError(e)) throw e;
      engine.onInternalError(e);
      throw internalError();
    }
  }

  async function runMaintenance(): Promise<MaintenanceReport> {
    const report: MaintenanceReport = { rotated: [], deleted: [] };
    for (let after: string | undefined; ; ) {
      const page = await engine.store.listKeys({ after, limit: 500 });
      const now = engine.now();
      for (const key of page.items) {
        try {
          if (isDeletionDue(key, now)) {
            if (await engine.deleteIfDue(key.KeyId)) report.deleted.push(key.KeyId);
          } else if (isRotationDue(key, now)) {
            if (await engine.rotate(key.KeyId, 'AUTOMATIC')) report.rotated.push(key.KeyId);
          }
        } catch (e) {
          engine.onInternalError(e);
        }
      }
      if (!page.next) break;
      after = page.next;
    }
    return report;
  }

  const kms: Kms = {
    accountId: engine.accountId,
    region: engine.region,
    engine,
    authenticationMode: auth.mode,
    rootCaller,
    execute,
    authenticate,
    handle: (request, handleOptions) => handleProtocolRequest(kms, request, handleOptions),
    handleMessage: (message, handleOptions) => handleProtocolMessage(kms, message, handleOptions),
    runMaintenance,
    now: () => engine.now(),
    onInternalError: (e) => engine.onInternalError(e),
    reset: () => engine.store.clear(),
    async seedKey(seed) {
      // Seeded keys are symmetric encryption keys; their family says what material is valid.
      const invalid =
        seed.KeyMaterial instanceof Uint8Array ? symmetricFamily.checkMaterial('SYMMETRIC_DEFAULT', seed.KeyMaterial) : '"KeyMaterial" expected 32 bytes';
      if (invalid) throw new KmsError('ValidationException', invalid);
      if (seed.KeyId !== undefined && !isUuid(seed.KeyId)) throw new KmsError('ValidationException', `"KeyId" expected a UUID, got ${seed.KeyId}`);
      if (seed.AliasName !== undefined && !/^alias\/[a-zA-Z0-9/_-]+$/.test(seed.AliasName)) {
        throw new KmsError('InvalidAliasNameException', `Invalid alias name ${seed.AliasName}`);
      }
      const keyId = seed.KeyId ?? randomUuid();
      const now = engine.now();
      const key = await engine.createKey(
        {
          Description: seed.Description ?? '',
          KeyUsage: 'ENCRYPT_DECRYPT',
          KeySpec: 'SYMMETRIC_DEFAULT',
          Origin: 'AWS_KMS',
          KeyManager: 'CUSTOMER',
          KeyState: 'Enabled',
          MultiRegion: false,
          Rotation: { Enabled: false },
          Tags: [],
          Policy: defaultKeyPolicy(engine.accountId, engine.partition),
        },
        seed.AliasName
          ? [{ type: 'putAlias', alias: { AliasName: seed.AliasName, TargetKeyId: keyId, CreationDate: now, LastUpdatedDate: now }, expectTarget: null }]
          : [],
        keyId,
        seed.KeyMaterial,
      );
      return { KeyMetadata: keyMetadata(engine, key) };
    },
  };
  return kms;
}
