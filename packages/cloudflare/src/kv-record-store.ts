/**
 * Namespace records in Workers KV. KV has no transactions: conditional writes are checked, then
 * written, serialized within this isolate only. Like the KV key store, it suits one writer at a
 * time (a namespace key change is one writer); what it guarantees even under races is that a
 * record is always readable, wrapped under either the old or the new key: a re-wrap writes a
 * complete record, and both keys stay able to decrypt until the change is done.
 */
import { RecordStoreConflict, sameBytes, type NamespaceMeta, type NamespaceRecord, type RecordStore } from '@edge-kms/client';
import type { KVNamespaceLike } from './cf-types.js';
import { decodeValue, encodeJson } from './json-bytes.js';

const encode = encodeJson;
const decode = decodeValue;

export function createKvRecordStore(kv: KVNamespaceLike, options: { prefix?: string } = {}): RecordStore {
  const p = options.prefix ?? 'ns/';
  const metaKey = (ns: string) => `${p}m/${ns}`;
  const recKey = (ns: string, id: string) => `${p}r/${ns}/${id}`;
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };
  const getMeta = async (ns: string) => decode<NamespaceMeta>(await kv.get(metaKey(ns), 'text'));
  const unlocked = async (ns: string) => {
    if ((await getMeta(ns))?.change) throw new RecordStoreConflict(`namespace ${ns} is locked`);
  };
  async function ids(ns: string): Promise<string[]> {
    const out: string[] = [];
    const prefix = `${p}r/${ns}/`;
    let cursor: string | undefined;
    do {
      const page = await kv.list({ prefix, cursor, limit: 1000 });
      for (const k of page.keys) out.push(k.name.slice(prefix.length));
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    return out.sort();
  }
  return {
    getMeta,
    putMeta: (meta, expectVersion) =>
      serialized(async () => {
        const cur = await getMeta(meta.name);
        if ((cur?.version ?? 0) !== expectVersion || meta.version !== expectVersion + 1) throw new RecordStoreConflict(`namespace ${meta.name} changed`);
        await kv.put(metaKey(meta.name), encode(meta));
      }),
    getRecord: async (ns, id) => decode<NamespaceRecord>(await kv.get(recKey(ns, id), 'text')),
    putRecord: (ns, record) =>
      serialized(async () => {
        await unlocked(ns);
        await kv.put(recKey(ns, record.id), encode(record));
      }),
    deleteRecord: (ns, id) =>
      serialized(async () => {
        await unlocked(ns);
        await kv.delete(recKey(ns, id));
      }),
    rewrap: (ns, id, from, to) =>
      serialized(async () => {
        const r = decode<NamespaceRecord>(await kv.get(recKey(ns, id), 'text'));
        if (!r || !sameBytes(r.wrappedKey, from)) throw new RecordStoreConflict(`record ${id} changed`);
        await kv.put(recKey(ns, id), encode({ ...r, keyId: to.keyId, wrappedKey: to.wrappedKey }));
      }),
    async listIds(ns, { after, limit }) {
      return (await ids(ns)).filter((i) => after === undefined || i > after).slice(0, limit);
    },
    count: async (ns) => (await ids(ns)).length,
  };
}
