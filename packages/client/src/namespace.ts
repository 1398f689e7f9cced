/**
 * Encrypted namespaces: a named set of records, each encrypted with envelope encryption under the
 * namespace's KMS key, whose key can be changed without touching the data.
 *
 * changeKey(newKey) re-wraps every record's data key with ReEncrypt (the plaintext data key never
 * leaves KMS) and rewrites only the records' key sections. While it runs the namespace is locked
 * in the store: writes and another changeKey are refused, reads keep working (each record says
 * which key wrapped it). An interrupted change resumes when changeKey is called again or the
 * namespace is opened. Changing from a customer managed key to an AWS managed key is refused, and
 * so is a target key that is disabled or pending deletion, before anything is touched.
 */
import type { KmsClient } from './client.js';
import { decryptBytes, encryptBytes, joinMessage, splitMessage, type DataKeyCache } from './envelope.js';
import { NamespaceLockedError } from './errors.js';
import { RecordStoreConflict, type NamespaceMeta, type RecordStore } from './record-store.js';
import type { EncryptionContext, KeyMetadata } from './types.js';

export interface ChangeKeyProgress {
  done: number;
  total: number;
  recordsPerSecond: number;
  /** Estimated seconds left. */
  etaSeconds: number;
}

export interface NamespaceOptions {
  name: string;
  kms: KmsClient;
  store: RecordStore;
  /** The KMS key for a new namespace (ignored when the namespace exists). */
  keyId?: string;
  /** Added to every record's encryption context (which always holds the namespace and record id). */
  encryptionContext?: EncryptionContext;
  chunkSize?: number;
  cache?: DataKeyCache;
  /** Finish an interrupted key change on open (default true). */
  resume?: boolean;
  onProgress?: (p: ChangeKeyProgress) => void;
}

export interface ChangeKeyOptions {
  onProgress?: (p: ChangeKeyProgress) => void;
  /** ReEncrypt calls in flight (default 16). */
  concurrency?: number;
  /** Called before each record is re-wrapped (tests use it to interrupt a change). */
  beforeRecord?: (id: string) => void | Promise<void>;
}

export interface Namespace {
  readonly name: string;
  /** The namespace's current KMS key (ARN). */
  keyId(): Promise<string>;
  /** The change in progress, if any (the namespace is locked while there is one). */
  pendingChange(): Promise<NamespaceMeta['change']>;
  put(id: string, data: Uint8Array | string): Promise<void>;
  get(id: string): Promise<Uint8Array | undefined>;
  getText(id: string): Promise<string | undefined>;
  delete(id: string): Promise<void>;
  list(options?: { after?: string; limit?: number }): Promise<string[]>;
  changeKey(newKeyId: string, options?: ChangeKeyOptions): Promise<void>;
}

const locked = (ns: string, change: NonNullable<NamespaceMeta['change']>) =>
  new NamespaceLockedError(
    `Namespace ${ns} is locked: its key is being changed from ${change.from} to ${change.to}. Reads work; writes wait until the change completes.`,
  );

export async function openNamespace(options: NamespaceOptions): Promise<Namespace> {
  const { name, kms, store } = options;
  if (!(await store.getMeta(name))) {
    if (!options.keyId) throw new Error(`Namespace ${name} does not exist; pass keyId to create it.`);
    const md = (await kms.describeKey({ KeyId: options.keyId })).KeyMetadata;
    try {
      await store.putMeta({ name, keyId: md.Arn ?? md.KeyId, version: 1 }, 0);
    } catch (e) {
      if (!(e instanceof RecordStoreConflict)) throw e; // created concurrently
    }
  }
  const context = (id: string): EncryptionContext => ({ ...options.encryptionContext, 'edge-kms:namespace': name, 'edge-kms:record': id });

  async function meta(): Promise<NamespaceMeta> {
    const m = await store.getMeta(name);
    if (!m) throw new Error(`Namespace ${name} is gone`);
    return m;
  }

  async function describe(keyId: string): Promise<KeyMetadata> {
    return (await kms.describeKey({ KeyId: keyId })).KeyMetadata;
  }

  async function run(change: NonNullable<NamespaceMeta['change']>, o: ChangeKeyOptions): Promise<void> {
    const total = await store.count(name);
    const started = Date.now();
    let done = 0;
    const report = () => {
      const secs = Math.max((Date.now() - started) / 1000, 1e-3);
      const rate = done / secs;
      (o.onProgress ?? options.onProgress)?.({ done, total, recordsPerSecond: rate, etaSeconds: rate > 0 ? (total - done) / rate : Infinity });
    };
    const one = async (id: string) => {
      await o.beforeRecord?.(id);
      const r = await store.getRecord(name, id);
      if (r && r.keyId !== change.to) {
        const ctx = context(id);
        const out = await kms.reEncrypt({
          CiphertextBlob: r.wrappedKey,
          SourceEncryptionContext: ctx,
          DestinationKeyId: change.to,
          DestinationEncryptionContext: ctx,
        });
        await store.rewrap(name, id, r.wrappedKey, { keyId: out.KeyId, wrappedKey: out.CiphertextBlob });
      }
      done++;
      if (done % 64 === 0 || done === total) report();
    };
    const concurrency = o.concurrency ?? 16;
    report();
    for (let after: string | undefined; ; ) {
      const ids = await store.listIds(name, { after, limit: 1024 });
      if (ids.length === 0) break;
      // `concurrency` re-wraps in flight at all times (a sliding window, not batches that wait for
      // their slowest member); after a failure no new record is started.
      let next = 0;
      let failed = false;
      const worker = async () => {
        while (!failed && next < ids.length) {
          try {
            await one(ids[next++]!);
          } catch (e) {
            failed = true;
            throw e;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
      after = ids[ids.length - 1];
    }
    const m = await meta();
    await store.putMeta({ name, keyId: change.to, version: m.version + 1 }, m.version);
    report();
  }

  const ns: Namespace = {
    name,
    keyId: async () => (await meta()).keyId,
    pendingChange: async () => (await meta()).change,

    async put(id, data) {
      const m = await meta();
      if (m.change) throw locked(name, m.change);
      const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
      const message = await encryptBytes(kms, bytes, { keyId: m.keyId, encryptionContext: context(id), chunkSize: options.chunkSize, cache: options.cache });
      const { keyId, wrappedKey, body } = splitMessage(message);
      try {
        await store.putRecord(name, { id, keyId, wrappedKey, body });
      } catch (e) {
        const now = await meta();
        if (e instanceof RecordStoreConflict && now.change) throw locked(name, now.change);
        throw e;
      }
    },

    async get(id) {
      const r = await store.getRecord(name, id);
      if (!r) return undefined;
      return (await decryptBytes(kms, joinMessage(r, r.body))).plaintext;
    },

    async getText(id) {
      const b = await ns.get(id);
      return b && new TextDecoder().decode(b);
    },

    async delete(id) {
      const m = await meta();
      if (m.change) throw locked(name, m.change);
      try {
        await store.deleteRecord(name, id);
      } catch (e) {
        const now = await meta();
        if (e instanceof RecordStoreConflict && now.change) throw locked(name, now.change);
        throw e;
      }
    },

    list: (o = {}) => store.listIds(name, { after: o.after, limit: o.limit ?? 1000 }),

    async changeKey(newKeyId, o = {}) {
      const m = await meta();
      const target = await describe(newKeyId);
      const to = target.Arn ?? target.KeyId;
      if (m.change) {
        if (m.change.to !== to) throw locked(name, m.change);
        return run(m.change, o); // resume
      }
      if (to === m.keyId) return;
      if (target.KeyState !== 'Enabled') {
        throw new NamespaceLockedError(
          `Cannot change namespace ${name} to ${to}: the key is ${target.KeyState === 'PendingDeletion' ? 'pending deletion' : (target.KeyState ?? 'unusable').toLowerCase()}. Nothing was changed.`,
        );
      }
      const current = await describe(m.keyId);
      if (current.KeyManager !== 'AWS' && target.KeyManager === 'AWS') {
        throw new NamespaceLockedError(
          `Cannot change namespace ${name} from a customer managed key to an AWS managed key (${to}). Create a new namespace under the AWS managed key instead. Nothing was changed.`,
        );
      }
      const change = { from: m.keyId, to, startedAt: Date.now() };
      try {
        await store.putMeta({ ...m, change, version: m.version + 1 }, m.version);
      } catch (e) {
        if (!(e instanceof RecordStoreConflict)) throw e;
        const now = await meta();
        if (now.change) throw locked(name, now.change);
        throw e;
      }
      await run(change, o);
    },
  };

  const pending = (await meta()).change;
  if (pending && options.resume !== false) await run(pending, {});
  return ns;
}
