/**
 * kmsHandlers(): MSW request handlers backed by a real edge-kms, serving the same protocol
 * function as the server, so the mock and the server cannot drift. Imports only from `msw`: use
 * the handlers with setupWorker (browser) or setupServer (Node), as you choose.
 *
 * Intercepted: POST https://kms.<region>.amazonaws.com/ for every region, the FIPS endpoints
 * (kms-fips.<region>.amazonaws.com), the China and GovCloud partitions, and any custom endpoint
 * URL given. Everything else is left alone (MSW passes it through, or warns as you configured).
 */
import {
  createKms,
  createMemoryStore,
  createTestClock,
  DAY_MS,
  errorResponse,
  isKmsError,
  KmsError,
  requestRegion,
  type Kms,
  type KmsErrorCode,
  type KmsOptions,
  type KmsStore,
  type RotationPolicyName,
  type SeedKeyOptions,
  type TestClock,
} from '@edge-kms/core';
import { delay, http, type RequestHandler } from 'msw';

export const AWS_KMS_ENDPOINT = /^https:\/\/kms(-fips)?\.[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d\.amazonaws\.com(\.cn)?\/?$/;

export interface Fault {
  /** Only requests for this operation (e.g. 'Encrypt'); all operations when absent. */
  operation?: string;
  /** Answer with this AWS exception instead of serving the request. */
  error?: Extract<KmsErrorCode, 'ThrottlingException' | 'DependencyTimeoutException' | 'KMSInternalException'> | KmsErrorCode;
  message?: string;
  /** Wait this long before answering (or before serving, with no error). */
  delayMs?: number;
  /** How many requests this fault applies to (default: every matching request until cleared). */
  times?: number;
}

export interface KmsMockOptions {
  accountId?: string;
  /**
   * The default Region (us-east-1 by default): where custom endpoints act when the request's
   * signature names no Region, and where in-process calls on `mock.kms` act. Every AWS endpoint
   * acts in its own Region (kms.eu-west-1.amazonaws.com -> eu-west-1), each Region its own
   * keyspace, as in AWS; multi-Region keys replicate between them.
   */
  region?: string;
  /** Restrict the Regions served (every AWS Region by default); others are refused as AWS does. */
  regions?: string[];
  /** Where keys live: memory by default; pass createIdbStore() from @edge-kms/idb to survive reloads. */
  store?: KmsStore | Promise<KmsStore>;
  /** The clock the KMS reads; a test clock by default, so tests can move time forward. */
  clock?: TestClock;
  /** Keys with fixed key material, created on first use and again after reset(). */
  seed?: SeedKeyOptions[];
  /** Further endpoint URLs to intercept (for SDK clients configured with a custom endpoint). */
  endpoints?: string[];
  rotationPolicy?: RotationPolicyName;
  onDemandRotationLimit?: number;
  /**
   * Throttle like AWS: request-rate quotas per identity and operation (`true` for AWS's published
   * quotas, or e.g. `{ rates: { CreateKey: 1 } }`), answered with AWS's ThrottlingException. Off
   * by default; injectFault() throttles on demand instead.
   */
  requestQuotas?: KmsOptions['requestQuotas'];
  /** Use your own edge-kms instead (the other KMS options are then ignored). */
  kms?: Kms;
}

export interface KmsMock extends Array<RequestHandler> {
  /** The edge-kms behind the handlers (acting in the default Region; for in-process checks and seedKey). */
  readonly kms: Promise<Kms>;
  /** The same edge-kms acting in one Region (`kms.inRegion(region)`). */
  kmsFor(region: string): Promise<Kms>;
  readonly clock: TestClock;
  /** Moves the clock forward and runs the rotations and deletions that became due. */
  advanceDays(days: number): Promise<void>;
  /** Removes every key, alias and version, then re-creates the seeded keys. */
  reset(): Promise<void>;
  /** Makes matching requests fail or slow down (for testing retry logic). */
  injectFault(fault: Fault): void;
  clearFaults(): void;
}

export function kmsHandlers(options: KmsMockOptions = {}): KmsMock {
  const clock = options.clock ?? createTestClock(Date.now());
  // One KMS behind every endpoint, each Region its own keyspace of its store.
  // The seeded keys of each Region, made on the Region's first use (and again after reset()).
  let instance: { kms: Promise<Kms>; seeded: Map<string, Promise<void>> } | undefined;
  const getInstance = () =>
    (instance ??= {
      kms: (async () => {
        if (options.kms) return options.kms;
        const store = await (options.store ?? createMemoryStore());
        return createKms({
          store,
          clock,
          accountId: options.accountId,
          region: options.region,
          regions: options.regions,
          rotationPolicy: options.rotationPolicy,
          onDemandRotationLimit: options.onDemandRotationLimit,
          requestQuotas: options.requestQuotas,
          onInternalError: (e) => console.error('[edge-kms mock] internal error:', e),
        });
      })(),
      seeded: new Map(),
    });

  /**
   * Creates the seeded keys that are not there yet. A persistent store (IndexedDB across a page
   * reload) already holds them: a seed is there when its KeyId is, or, for a seed without a KeyId,
   * when its alias is (seeding that one again failed on the existing alias). Asked through
   * DescribeKey, in process and trusted, like any other caller of the KMS.
   */
  async function seed(kms: Kms): Promise<void> {
    const present = async (s: SeedKeyOptions): Promise<boolean> => {
      const ref = s.KeyId ?? s.AliasName;
      if (ref === undefined) return false;
      try {
        await kms.execute('DescribeKey', { KeyId: ref });
        return true;
      } catch (e) {
        // Not there (NotFoundException), or not a valid reference: seedKey says which.
        if (isKmsError(e) && e.code !== 'KMSInternalException') return false;
        throw e;
      }
    };
    for (const s of options.seed ?? []) {
      if (await present(s)) continue;
      try {
        await kms.seedKey(s);
      } catch (e) {
        // Another tab on the same IndexedDB store seeded it at the same moment.
        if (!(await present(s))) throw e;
      }
    }
  }

  /** The KMS, acting in `region` (default: its default Region), with that Region's seeded keys made. */
  const ready = async (region?: string): Promise<Kms> => {
    const i = getInstance();
    const kms = await i.kms;
    const r = region ?? kms.region;
    const view = kms.inRegion(r);
    let seeding = i.seeded.get(r);
    if (!seeding) i.seeded.set(r, (seeding = seed(view)));
    try {
      await seeding;
    } catch (e) {
      // Not cached: the next request tries again instead of failing forever.
      if (i.seeded.get(r) === seeding) i.seeded.delete(r);
      throw e;
    }
    return region === undefined ? kms : view;
  };

  /** The Region of an AWS endpoint's host; undefined for a custom endpoint. */
  const regionOf = (url: string) => /^https:\/\/kms(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com/.exec(url)?.[1];

  const faults: (Fault & { left: number })[] = [];

  function takeFault(operation: string): Fault | undefined {
    const i = faults.findIndex((f) => f.operation === undefined || f.operation === operation);
    if (i < 0) return undefined;
    const f = faults[i]!;
    if (--f.left <= 0) faults.splice(i, 1);
    return f;
  }

  const custom = new Set((options.endpoints ?? []).map((e) => new URL(e).href));
  const matches = (url: string) => AWS_KMS_ENDPOINT.test(url) || custom.has(url) || custom.has(new URL(url).href);

  const handler = http.post(
    ({ request }) => matches(request.url),
    async ({ request }) => {
      const target = request.headers.get('x-amz-target') ?? '';
      const fault = takeFault(target.replace(/^TrentService\./, ''));
      if (fault?.delayMs) await delay(fault.delayMs);
      if (fault?.error) return errorResponse(new KmsError(fault.error as KmsErrorCode, fault.message ?? defaultFaultMessage(fault.error)));
      // The Region: the AWS endpoint's, else the one the request's signature names, else the default.
      const region = regionOf(request.url) ?? requestRegion(request.url, request.headers.get('authorization'));
      let kms: Kms;
      try {
        kms = await ready(region);
      } catch (e) {
        if (isKmsError(e)) return errorResponse(e);
        throw e;
      }
      return kms.handle(request, region === undefined ? {} : { region });
    },
  );

  const mock = [handler] as unknown as KmsMock;
  Object.defineProperties(mock, {
    kms: { get: () => ready() },
    kmsFor: { value: (region: string) => ready(region) },
    clock: { value: clock },
    advanceDays: {
      value: async (days: number) => {
        clock.advance(days * DAY_MS);
        await (await ready()).runMaintenance();
      },
    },
    reset: {
      value: async () => {
        faults.length = 0;
        const i = getInstance();
        const kms = await i.kms;
        await kms.reset();
        i.seeded.clear();
        await ready();
      },
    },
    injectFault: {
      // `times: 0` applies to no request (it used to apply to one).
      value: (f: Fault) => void ((f.times ?? 1) > 0 && faults.push({ ...f, left: f.times ?? Infinity })),
    },
    clearFaults: { value: () => void (faults.length = 0) },
  });
  return mock;
}

function defaultFaultMessage(code: string): string {
  if (code === 'ThrottlingException') return 'Rate exceeded';
  if (code === 'DependencyTimeoutException') return 'The system timed out while trying to fulfill the request.';
  return 'An internal error occurred. Try again later.';
}
