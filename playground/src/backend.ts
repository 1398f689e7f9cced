/**
 * Where the playground's KMS lives. By default entirely in this tab: MSW's service worker answers
 * https://kms.us-east-1.amazonaws.com/ with a real edge-kms (kmsHandlers from @edge-kms/msw) whose
 * keys live in IndexedDB, so they survive a reload, on a test clock the page can move forward.
 * Or any TrentService URL (`?endpoint=…`, e.g. `/` for the `npm start` server that serves this
 * page). Either way the page talks to it through @edge-kms/client, which signs with SigV4 like
 * any AWS SDK: the mock sees exactly the requests AWS would.
 *
 * Every AWS Region is served from the same KMS, each its own keyspace: a client signs for one
 * Region (its SigV4 credential scope, and in the mock its kms.<region>.amazonaws.com host), so
 * the page keeps one client per Region it reads (`kmsIn`), the page's own Region first.
 */
import { createKmsClient, type KmsClient, type RecordStore } from '@edge-kms/client';
import { createTestClock } from '@edge-kms/core';
import { createIdbRecordStore, createIdbStore } from '@edge-kms/idb';
import { kmsHandlers } from '@edge-kms/msw';
import { setupWorker } from 'msw/browser';

export const REGION = 'us-east-1';
/** The Regions the page offers to replicate a multi-Region key to (any AWS Region would do). */
export const REPLICA_REGIONS = ['eu-west-1', 'ap-southeast-2', 'us-west-2', 'eu-central-1', 'ap-northeast-1', 'sa-east-1'];
/** The on-demand rotation quota shown in the page (AWS's original one, edge-kms's default). */
export const ON_DEMAND_LIMIT = 10;

const CLOCK_OFFSET = 'edge-kms-playground:clock-offset-ms';
const CREDENTIALS = 'edge-kms-playground:credentials';

export interface MockControls {
  /** Milliseconds since the epoch on the mock's clock. */
  now(): number;
  /** Moves the clock forward; due rotations and deletions happen. */
  advanceDays(days: number): Promise<void>;
  /** Deletes every key and namespace record, and puts the clock back to now. */
  reset(): Promise<void>;
}

export interface Backend {
  mode: 'mock' | 'remote';
  /** The TrentService URL requests go to. */
  endpoint: string;
  /** The page's Region: where it creates and lists keys. */
  region: string;
  /** A client for the page's Region. */
  kms: KmsClient;
  /** A client that signs for `region` (the same endpoint in remote mode; kms.<region>.amazonaws.com in the mock). */
  kmsIn(region: string): KmsClient;
  /** Where namespace records live (IndexedDB, one database per endpoint). */
  records: RecordStore;
  /** Only in mock mode. */
  mock?: MockControls;
}

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Credentials for remote mode (edge-kms in open mode accepts any; a real AWS endpoint does not). */
export function loadCredentials(): Credentials {
  try {
    const saved = JSON.parse(sessionStorage.getItem(CREDENTIALS) ?? 'null') as Credentials | null;
    if (saved?.accessKeyId && saved.secretAccessKey) return saved;
  } catch {
    // fall through to the defaults
  }
  return { accessKeyId: 'playground', secretAccessKey: 'playground' };
}

export function saveCredentials(c: Credentials): void {
  sessionStorage.setItem(CREDENTIALS, JSON.stringify(c));
}

/** The remote endpoint asked for in the page's URL (`?endpoint=/` means this page's server). */
export function requestedEndpoint(): string | undefined {
  const e = new URLSearchParams(location.search).get('endpoint');
  return e ? new URL(e, location.href).href : undefined;
}

export async function connect(): Promise<Backend> {
  const endpoint = requestedEndpoint();
  return endpoint ? connectRemote(endpoint) : connectMock();
}

/** One client per Region, made on first use. */
function regionalClients(make: (region: string) => KmsClient): (region: string) => KmsClient {
  const clients = new Map<string, KmsClient>();
  return (region) => {
    let client = clients.get(region);
    if (!client) clients.set(region, (client = make(region)));
    return client;
  };
}

async function connectRemote(endpoint: string): Promise<Backend> {
  const kmsIn = regionalClients((region) => createKmsClient({ endpoint, region, credentials: async () => loadCredentials() }));
  const records = await createIdbRecordStore({ name: `edge-kms-playground-namespaces ${endpoint}` });
  return { mode: 'remote', endpoint, region: REGION, kms: kmsIn(REGION), kmsIn, records };
}

async function connectMock(): Promise<Backend> {
  const clock = createTestClock(Date.now() + Number(localStorage.getItem(CLOCK_OFFSET) ?? 0));
  const saveClock = () => localStorage.setItem(CLOCK_OFFSET, String(clock.now() - Date.now()));
  const mock = kmsHandlers({ store: createIdbStore({ name: 'edge-kms-playground' }), clock, region: REGION });
  const worker = setupWorker(...mock);
  await worker.start({
    serviceWorker: { url: `${import.meta.env.BASE_URL}mockServiceWorker.js` },
    onUnhandledRequest: 'bypass',
    quiet: true,
  });
  const records = await createIdbRecordStore({ name: 'edge-kms-playground-namespaces' });
  // The default endpoint, https://kms.<region>.amazonaws.com/: the service worker answers every Region's.
  const kmsIn = regionalClients((region) => createKmsClient({ region, credentials: { accessKeyId: 'playground', secretAccessKey: 'playground' } }));
  return {
    mode: 'mock',
    endpoint: `https://kms.${REGION}.amazonaws.com/`,
    region: REGION,
    kms: kmsIn(REGION),
    kmsIn,
    records,
    mock: {
      now: () => clock.now(),
      async advanceDays(days) {
        await mock.advanceDays(days);
        saveClock();
      },
      async reset() {
        await mock.reset();
        await records.db.clear('records');
        await records.db.clear('meta');
        clock.set(Date.now());
        saveClock();
      },
    },
  };
}
