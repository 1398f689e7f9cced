/**
 * Test page: exposes an edge-kms backed by IndexedDB on `window.edgeKms`, so a Playwright test can
 * drive it across reloads and from two pages at once.
 */
import { createKms, fromBase64, toBase64, type Kms } from '@edge-kms/core';
import { createIdbStore } from '@edge-kms/idb';

const ready = (async () => {
  const store = await createIdbStore({ name: 'edge-kms-page-test' });
  return createKms({ store });
})();

function wire(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $b64: toBase64(value) };
  if (value instanceof Date) return value.getTime();
  if (Array.isArray(value)) return value.map(wire);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, wire(v)]));
  return value;
}

function unwire(value: unknown): unknown {
  if (value && typeof value === 'object' && '$b64' in (value as object)) return fromBase64((value as { $b64: string }).$b64);
  if (Array.isArray(value)) return value.map(unwire);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwire(v)]));
  return value;
}

(window as unknown as { edgeKms: unknown }).edgeKms = {
  async call(op: string, input: unknown) {
    const kms: Kms = await ready;
    try {
      return { ok: wire(await kms.execute(op, unwire(input))) };
    } catch (e) {
      return { error: (e as { code?: string }).code ?? String(e) };
    }
  },
  async race(op: string, input: unknown, count: number) {
    const kms: Kms = await ready;
    const results = await Promise.allSettled(Array.from({ length: count }, () => kms.execute(op, unwire(input))));
    return results.map((r) => (r.status === 'fulfilled' ? 'ok' : ((r.reason as { code?: string }).code ?? 'error')));
  },
};
document.title = 'ready';
