/**
 * Test page: an app that calls AWS KMS with the AWS SDK for JavaScript v3, tested against
 * @edge-kms/msw in MSW's service worker, its keys kept in IndexedDB. `window.page.send(op, input)`
 * sends one command through the SDK (blobs as {$b64}, dates as epoch ms), so a Playwright test can
 * drive the page across reloads. `?db=<name>` picks the IndexedDB database.
 */
import * as sdk from '@aws-sdk/client-kms';
import { createIdbStore } from '@edge-kms/idb';
import { kmsHandlers } from '@edge-kms/msw';
import { setupWorker } from 'msw/browser';

const db = new URLSearchParams(location.search).get('db') ?? 'edge-kms-msw-page';

const mock = kmsHandlers({
  region: 'eu-west-1',
  store: createIdbStore({ name: db }),
  seed: [
    { KeyId: '5f1a8b2c-3d4e-4f60-8a9b-0c1d2e3f4a5b', AliasName: 'alias/seeded', KeyMaterial: new Uint8Array(32).fill(1) },
    { AliasName: 'alias/seeded-without-id', KeyMaterial: new Uint8Array(32).fill(2) },
  ],
});
const worker = setupWorker(...mock);
await worker.start({ onUnhandledRequest: 'bypass', quiet: true });

const kms = new sdk.KMSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIAMSWPAGETEST00000', secretAccessKey: 'page-secret' } });

const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

function wire(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $b64: b64(value) };
  if (value instanceof Date) return value.getTime();
  if (Array.isArray(value)) return value.map(wire);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, wire(v)]));
  return value;
}

function unwire(value: unknown): unknown {
  if (value && typeof value === 'object' && '$b64' in value) return unb64((value as { $b64: string }).$b64);
  if (Array.isArray(value)) return value.map(unwire);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwire(v)]));
  return value;
}

(window as unknown as { page: unknown }).page = {
  controller: () => navigator.serviceWorker.controller?.scriptURL ?? null,
  async send(operation: string, input: unknown) {
    const Command = (sdk as unknown as Record<string, new (input: unknown) => Parameters<sdk.KMSClient['send']>[0]>)[`${operation}Command`]!;
    try {
      const { $metadata, ...out } = (await kms.send(new Command(unwire(input)))) as unknown as Record<string, unknown>;
      return { ok: wire(out), attempts: ($metadata as { attempts?: number }).attempts };
    } catch (e) {
      return { error: (e as Error).name, message: (e as Error).message };
    }
  },
  advanceDays: (days: number) => mock.advanceDays(days),
  injectFault: (fault: Parameters<typeof mock.injectFault>[0]) => mock.injectFault(fault),
};
document.title = 'ready';
