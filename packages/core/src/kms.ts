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
import { defaultKeyPolicy, Engine, isDeletionDue, isRotationDue, nextRotationDate, type KmsOptions as EngineOptions } from './engine.js';
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
import { isImportExpiryDue } from './imported-material.js';
import { operationEnded, operationStarted } from './crypto-provider.js';
import { symmetricFamily } from './key-specs/index.js';
import { countRequest, createRequestQuotas, type RequestQuotaOptions, type RequestQuotas } from './quotas.js';
import { createCryptoKeyProtector } from './material.js';
import { isAwsRegion, isRegionName, partitionOf, requestRegion } from './regions.js';
import { createMemoryStore } from './store/memory-store.js';
import { migrateLegacyRecords, regionsIn, scopeStore } from './store/region-scope.js';
import type { KmsStore, StoreWrite } from './store/types.js';
import { DEFAULT_ACCOUNT_ID, DEFAULT_REGION } from './engine-config.js';
import { createReplication, type PeerOptions, type PeerSigner, type Replication } from './replication.js';
import { detachRemoteReplicas, hasRemoteReplicas, type RegionalSet } from './multi-region.js';

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
  /**
   * Other deployments holding replicas of this deployment's multi-Region keys, or primaries of
   * its replicas (replication.ts). Their Regions are not served here.
   */
  peers?: PeerOptions[];
  /** The fetch the peer channel uses (tests); the global fetch by default. */
  peerFetch?: typeof fetch;
  /** Signs peer requests with SigV4; required with `peers` (`createPeerSigner` from @edge-kms/hono). */
  peerSigner?: PeerSigner;
}

export type { HandleOptions };

export interface MaintenanceReport {
  rotated: string[];
  deleted: string[];
  /** Keys whose imported key material expired (and was deleted) in this run. */
  expired: string[];
}

export interface Kms extends ProtocolService {
  readonly accountId: string;
  /** The default Region (see KmsOptions.region). */
  readonly region: string;
  /** The Regions served, when restricted (KmsOptions.regions); every Region name otherwise. */
  readonly regions: readonly string[] | undefined;
  /** The default Region's engine. */
  readonly engine: Engine;
  /** A Region's engine; throws AWS's error for a Region that is not served. */
  engineFor(region: string): Engine;
  /** The store every Region's keyspace lives in. */
  readonly store: KmsStore;
  /**
   * This KMS acting in one Region: `execute`, `seedKey` and `engine` act there by default (the
   * same keys, the same store; throws for a Region that is not served).
   */
  inRegion(region: string): Kms;
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
  /**
   * When runMaintenance next has something to do, on the KMS's clock: the earliest automatic
   * rotation, deletion or imported-material expiry of any key (undefined: nothing scheduled).
   * For shells that wake themselves (a Durable Object's alarm).
   */
  nextMaintenance(): Promise<number | undefined>;
  /** The KMS's clock (a test clock in test mode): what shells show as the KMS's time. */
  now(): number;
  /** Logs an unexpected error (the `onInternalError` option; console.error by default). */
  onInternalError(error: unknown): void;
  /** Removes every key, version and alias (test mode). */
  reset(): Promise<void>;
  /** The peer endpoint (POST /_edge-kms-peer/v1), when peers are configured. */
  readonly handlePeer?: (request: Request) => Promise<Response>;
  /** Replication to peer deployments, when configured. */
  readonly replication?: Replication;
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

/** AWS's answer to a request for a Region the KMS does not serve. */
export function regionNotServed(region: string): KmsError {
  return new KmsError('InvalidSignatureException', `Credential should be scoped to a valid region, not '${region}'.`);
}

export function createKms(options: KmsOptions = {}): Kms {
  const defaultRegion = options.region ?? DEFAULT_REGION;
  if (!isRegionName(defaultRegion)) throw new TypeError(`"region" expected an AWS Region name, got ${defaultRegion}`);
  const allowed = options.regions ? new Set(options.regions) : undefined;
  for (const r of allowed ?? []) if (!isRegionName(r)) throw new TypeError(`"regions" expected AWS Region names, got ${r}`);
  if (allowed && !allowed.has(defaultRegion)) throw new TypeError(`"regions" must include the default region ${defaultRegion}`);
  const peerRegions = new Set((options.peers ?? []).flatMap((p) => p.regions));
  // Without `regions`, the AWS Regions AWS has (a name each client could mean): a mistyped or
  // invented Region name is refused rather than made into a new, empty keyspace.
  const serves = (region: string) => (allowed ? allowed.has(region) : region === defaultRegion || isAwsRegion(region)) && !peerRegions.has(region);
  const store = options.store ?? createMemoryStore();
  const protector = options.protector ?? createCryptoKeyProtector();
  // One engine per Region, made on first use, each over its Region's keyspace of the one store.
  const engines = new Map<string, Engine>();
  const regional: RegionalSet<Engine> & { remote?: Replication } = {
    engineFor: (region: string) => engineOf(region),
    /** One commit over several Regions' writes: atomic where the store is. */
    commit: (byRegion: Map<string, StoreWrite[]>) => {
      const all: StoreWrite[] = [];
      for (const [region, writes] of byRegion) all.push(...scopedOf(region).physical(writes));
      return store.commit(all);
    },
    serves,
  };
  const scoped = new Map<string, ReturnType<typeof scopeStore>>();
  function scopedOf(region: string) {
    let s = scoped.get(region);
    if (!s) scoped.set(region, (s = scopeStore(store, region)));
    return s;
  }
  function engineOf(region: string): Engine {
    let e = engines.get(region);
    if (!e) {
      e = new Engine({ ...options, region, partition: options.partition ?? partitionOf(region), store: scopedOf(region), protector }, regional);
      engines.set(region, e);
    }
    return e;
  }
  function engineFor(region: string): Engine {
    // Checked first: an engine made for a peer's Region (to build its ARNs) is not served here.
    if (!serves(region)) throw regionNotServed(region);
    return engineOf(region);
  }
  if (options.peers?.length) {
    if (peerRegions.has(defaultRegion)) throw new TypeError(`the default region ${defaultRegion} is served by a peer`);
    if (!options.peerSigner) throw new TypeError('"peers" need a "peerSigner" (createPeerSigner from @edge-kms/hono)');
    regional.remote = createReplication({
      peers: options.peers,
      accountId: options.accountId ?? DEFAULT_ACCOUNT_ID,
      engineFor: engineOf,
      servesLocally: serves,
      onError: (e) => defaultEngine.onInternalError(e),
      fetch: options.peerFetch,
      sign: options.peerSigner,
    });
  }
  const defaultEngine = engineOf(defaultRegion);
  const engine = defaultEngine;

  // Records of a store written before Regions existed move into the default Region, once, before
  // the first operation; until then every operation waits for it.
  let migrated = false;
  let migration: Promise<void> | undefined;
  const ready = (): Promise<void> | undefined => {
    if (migrated) return undefined;
    return (migration ??= migrateLegacyRecords(store, defaultRegion, isRegionName).then(
      () => {
        migrated = true;
      },
      (e) => {
        migration = undefined;
        throw e;
      },
    ));
  };

  const rootCaller: Caller = { accountId: engine.accountId, arn: `arn:${engine.partition}:iam::${engine.accountId}:root` };
  const auth = options.authentication ?? { mode: 'none' };
  const verifier =
    auth.mode === 'none'
      ? undefined
      : createSigV4Verifier({
          region: serves,
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
    // The Region: the verified credential scope; without verification the one the shell knows
    // (the MSW mock: the endpoint's host), else the one the request names.
    const region = verifier ? caller.region : (handleOptions.region ?? requestRegion(request.url, request.headers.get('authorization')));
    if (region !== undefined && !serves(region)) throw regionNotServed(region);
    return {
      ...caller,
      region,
      sourceIp: handleOptions.sourceIp,
      secureTransport: request.url.startsWith('https:'),
    };
  }

  const quotaOptions = options.requestQuotas === true ? {} : options.requestQuotas || undefined;
  const quotas = new Map<string, RequestQuotas>();
  const quotasOf = (region: string) => {
    let q = quotas.get(region);
    if (!q) quotas.set(region, (q = createRequestQuotas(region, quotaOptions)));
    return q;
  };

  async function execute(operation: string, input?: unknown, context: OperationContext = {}): Promise<Output> {
    if (!isOperationName(operation)) {
      throw new KmsError('UnknownOperationException', `Unknown operation ${operation}`);
    }
    const region = context.region ?? context.caller?.region;
    const engine = region === undefined ? defaultEngine : engineFor(region);
    if (quotaOptions && context.caller) {
      // Counted now, or (by the key's type) when engine.resolve finds the key: see quotas.ts.
      context = { ...context, caller: countRequest(quotasOf(engine.region), operation, context.caller, input) };
    }
    operationStarted();
    try {
      const waiting = ready();
      if (waiting) await waiting;
      const reader = InputReader.from(input);
      const tokens = reader.raw.GrantTokens;
      if (Array.isArray(tokens) && tokens.every((t) => typeof t === 'string')) checkGrantTokens(tokens as string[]);
      return await OPERATIONS[operation](engine, reader, context);
    } catch (e) {
      if (isKmsError(e)) throw e;
      engine.onInternalError(e);
      throw internalError();
    } finally {
      operationEnded();
    }
  }

  async function runMaintenance(): Promise<MaintenanceReport> {
    const report: MaintenanceReport = { rotated: [], deleted: [], expired: [] };
    await ready();
    const regions = await regionsIn(store);
    for (const region of regions) await maintainRegion(engineOf(region), report);
    // Whatever replicas in other deployments still lack (a peer that was down) is sent again.
    if (regional.remote) await regional.remote.deliverAll(regions.map(engineOf));
    return report;
  }

  async function nextMaintenance(): Promise<number | undefined> {
    await ready();
    let next: number | undefined;
    const earliest = (t: number | undefined) => {
      if (t !== undefined && (next === undefined || t < next)) next = t;
    };
    for (const region of await regionsIn(store)) {
      const engine = engineOf(region);
      for (let after: string | undefined; ; ) {
        const page = await engine.store.listKeys({ after, limit: 500 });
        for (const key of page.items) {
          if (key.DeletionDate !== undefined) earliest(key.DeletionDate);
          earliest(nextRotationDate(key));
          earliest(key.ImportValidTo);
        }
        if (!page.next) break;
        after = page.next;
      }
    }
    return next;
  }

  async function maintainRegion(engine: Engine, report: MaintenanceReport): Promise<void> {
    for (let after: string | undefined; ; ) {
      const page = await engine.store.listKeys({ after, limit: 500 });
      const now = engine.now();
      engine.importTokens.sweep(now);
      for (const key of page.items) {
        try {
          if (isDeletionDue(key, now)) {
            if (await engine.deleteIfDue(key.KeyId)) report.deleted.push(key.KeyId);
          } else if (isRotationDue(key, now)) {
            if (await engine.rotate(key.KeyId, 'AUTOMATIC')) report.rotated.push(key.KeyId);
          } else if (isImportExpiryDue(key, now)) {
            if (await engine.expireImports(key.KeyId)) report.expired.push(key.KeyId);
          } else if (hasRemoteReplicas(key) && !regional.remote) {
            // Replicas in other deployments, and no peers configured any more: they leave the set
            // (each keeps what it has; this primary keeps every version), and a pending rotation
            // completes.
            engine.onInternalError(new Error(`edge-kms: KMS_PEERS is empty; ${key.KeyId}'s replicas in other deployments leave its set`));
            await engine.mutateKey(key.KeyId, (k) => ({ next: detachRemoteReplicas(k), result: undefined }));
          }
        } catch (e) {
          engine.onInternalError(e);
        }
      }
      if (!page.next) break;
      after = page.next;
    }
  }

  const kms: Kms = {
    accountId: engine.accountId,
    region: engine.region,
    regions: options.regions,
    engine,
    engineFor,
    store,
    authenticationMode: auth.mode,
    rootCaller,
    execute,
    authenticate,
    handle: (request, handleOptions) => handleProtocolRequest(kms, request, handleOptions),
    handleMessage: (message, handleOptions) => handleProtocolMessage(kms, message, handleOptions),
    runMaintenance,
    nextMaintenance,
    now: () => engine.now(),
    onInternalError: (e) => engine.onInternalError(e),
    handlePeer: regional.remote && ((request) => regional.remote!.handle(request)),
    replication: regional.remote,
    async reset() {
      await store.clear();
      for (const e of engines.values()) e.forgetAllMaterial();
    },
    inRegion(region) {
      let view = views.get(region);
      if (!view) {
        const e = engineFor(region);
        view = {
          ...kms,
          region,
          engine: e,
          // The Region a verified request is signed for wins; else this view's.
          execute: (operation, input, context = {}) => execute(operation, input, { ...context, region: context.region ?? context.caller?.region ?? region }),
          handle: (request, o) => handleProtocolRequest(view!, request, { region, ...o }),
          handleMessage: (message, o) => handleProtocolMessage(view!, message, { region, ...o }),
          seedKey: (seed) => seedKeyIn(e, seed),
        };
        views.set(region, view);
      }
      return view;
    },
    seedKey: (seed) => seedKeyIn(defaultEngine, seed),
  };
  const views = new Map<string, Kms>([[defaultRegion, kms]]);

  async function seedKeyIn(engine: Engine, seed: SeedKeyOptions): Promise<Output> {
    await ready();
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
  }
  return kms;
}
