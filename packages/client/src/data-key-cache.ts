/**
 * A cache of data keys for envelope encryption, under hard limits: a cached data key serves
 * messages only while it is younger than maxAgeMs and within maxMessages and maxBytes; a key
 * dropped (over a limit, evicted or cleared) is wiped.
 */

export interface DataKeyCacheOptions {
  /** How long a data key may be reused, ms. */
  maxAgeMs: number;
  /** Messages per data key. */
  maxMessages: number;
  /** Plaintext bytes per data key. */
  maxBytes: number;
  /** Entries kept (default 100). */
  capacity?: number;
}

interface CachedKey {
  keyId: string;
  plaintext: Uint8Array;
  wrapped: Uint8Array;
  created: number;
  messages: number;
  bytes: number;
}

export interface DataKeyCache {
  readonly options: DataKeyCacheOptions;
  /** Wipes every cached data key. */
  clear(): void;
  /** Entries currently held (for tests and metrics). */
  readonly size: number;
  /** @internal */
  take(id: string, bytes: number, now: number): CachedKey | undefined;
  /** @internal */
  put(id: string, entry: CachedKey): void;
}

export function createDataKeyCache(options: DataKeyCacheOptions): DataKeyCache {
  const entries = new Map<string, CachedKey>();
  const capacity = options.capacity ?? 100;
  const drop = (id: string) => {
    entries.get(id)?.plaintext.fill(0);
    entries.delete(id);
  };
  return {
    options,
    get size() {
      return entries.size;
    },
    clear() {
      for (const id of [...entries.keys()]) drop(id);
    },
    take(id, bytes, now) {
      const e = entries.get(id);
      if (!e) return undefined;
      if (now - e.created >= options.maxAgeMs || e.messages + 1 > options.maxMessages || e.bytes + bytes > options.maxBytes) {
        drop(id);
        return undefined;
      }
      e.messages++;
      e.bytes += bytes;
      return e;
    },
    put(id, entry) {
      if (entries.size >= capacity) drop(entries.keys().next().value!);
      entries.set(id, entry);
    },
  };
}
