/**
 * Test page: an in-process edge-kms whose keys live in IndexedDB (createIdbStore) and a namespace
 * whose records live in IndexedDB (createIdbRecordStore), exposed on `window.nsPage` so that a
 * Playwright test can start a key change, reload the page in the middle of it, and look again.
 */
import { createKmsClient, openNamespace, type Namespace, type RecordStore } from '@edge-kms/client';
import { createKms } from '@edge-kms/core';
import { createIdbRecordStore, createIdbStore } from '@edge-kms/idb';
import { recordId, recordText } from '../records.js';

const NS = 'reload';
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

const ready = (async () => {
  const kms = createKmsClient({ kms: createKms({ store: await createIdbStore({ name: 'ns-reload-keys' }) }) });
  const store = await createIdbRecordStore({ name: 'ns-reload-records' });
  return { kms, store };
})();

async function records(store: RecordStore, ns: Namespace | undefined, count: number) {
  const out: Record<string, { keyId: string; body: string; wrappedKey: string; readable?: boolean }> = {};
  for (let i = 0; i < count; i++) {
    const id = recordId(i);
    const r = await store.getRecord(NS, id);
    if (!r) continue;
    out[id] = { keyId: r.keyId, body: hex(r.body), wrappedKey: hex(r.wrappedKey) };
    if (ns) out[id].readable = (await ns.getText(id)) === recordText(i);
  }
  return out;
}

const errorName = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: Error) => e.name,
  );

let moving = 0;

const api = {
  /** Creates the two keys and the namespace, puts `count` records; returns the keys and the records as stored. */
  async setup(count: number) {
    const { kms, store } = await ready;
    const oldKey = (await kms.createKey({ Description: 'old' })).KeyMetadata;
    const newKey = (await kms.createKey({ Description: 'new' })).KeyMetadata;
    const ns = await openNamespace({ name: NS, kms, store, keyId: oldKey.KeyId, chunkSize: 256 });
    for (let i = 0; i < count; i++) await ns.put(recordId(i), recordText(i));
    return { oldKey: { id: oldKey.KeyId, arn: oldKey.Arn! }, newKey: { id: newKey.KeyId, arn: newKey.Arn! }, records: await records(store, undefined, count) };
  },
  /** Starts changeKey and returns at once; each record takes a few ms more (a slower KMS). */
  async startChange(newKeyId: string) {
    const { kms, store } = await ready;
    const ns = await openNamespace({ name: NS, kms, store });
    void ns
      .changeKey(newKeyId, {
        concurrency: 4,
        beforeRecord: async () => {
          moving++;
          await new Promise((r) => setTimeout(r, 5));
        },
        onProgress: (p) => ((window as unknown as { lastProgress: unknown }).lastProgress = p),
      })
      .then(
        () => (document.title = 'change finished'),
        (e) => (document.title = `change failed: ${e}`),
      );
  },
  moving: () => moving,
  /** The namespace as the reloaded page finds it, without resuming the change. */
  async inspect(count: number) {
    const { kms, store } = await ready;
    const ns = await openNamespace({ name: NS, kms, store, resume: false });
    return {
      pendingChange: (await ns.pendingChange()) ?? null,
      keyId: await ns.keyId(),
      count: await store.count(NS),
      records: await records(store, ns, count),
      putNew: await errorName(ns.put('new-record', 'x')),
      overwrite: await errorName(ns.put(recordId(0), 'overwrite')),
      remove: await errorName(ns.delete(recordId(1))),
    };
  },
  /** Opens the namespace normally (which finishes an interrupted change). */
  async resume(count: number) {
    const { kms, store } = await ready;
    const progress: number[] = [];
    const ns = await openNamespace({ name: NS, kms, store, onProgress: (p) => progress.push(p.done) });
    return { progress, pendingChange: (await ns.pendingChange()) ?? null, keyId: await ns.keyId(), records: await records(store, ns, count) };
  },
  /** Disables the old key, then reads every record and writes one. */
  async disableOldAndRead(oldKeyId: string, count: number) {
    const { kms, store } = await ready;
    await kms.disableKey({ KeyId: oldKeyId });
    const ns = await openNamespace({ name: NS, kms, store });
    const rs = await records(store, ns, count);
    await ns.put('after', 'writable again');
    return { records: rs, after: await ns.getText('after'), oldKeyState: (await kms.describeKey({ KeyId: oldKeyId })).KeyMetadata.KeyState };
  },
};

(window as unknown as { nsPage: typeof api }).nsPage = api;
document.title = 'ready';
