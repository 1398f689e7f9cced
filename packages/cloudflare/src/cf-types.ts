/**
 * The few Cloudflare runtime types edge-kms uses, declared here so the package type-checks
 * without @cloudflare/workers-types and so the stores can be handed test doubles of the same shape.
 */

/** Durable Object storage (SQLite-backed), synchronous key-value API. */
export interface DurableObjectStorageLike {
  kv: {
    get<T = unknown>(key: string): T | undefined;
    put(key: string, value: unknown): void;
    delete(key: string): boolean;
    list<T = unknown>(options?: { start?: string; end?: string; prefix?: string; limit?: number }): Iterable<[string, T]>;
  };
  transactionSync<T>(fn: () => T): T;
  /** The object's one alarm (epoch ms of wall time), as Durable Object storage has it. */
  getAlarm?(): Promise<number | null>;
  setAlarm?(scheduledTime: number): Promise<void>;
}

export interface KVNamespaceLike {
  get(key: string, type: 'text'): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  list(options?: { prefix?: string; cursor?: string; limit?: number }): Promise<{
    keys: { name: string }[];
    list_complete: boolean;
    cursor?: string;
  }>;
}

export interface DurableObjectStubLike {
  fetch(request: Request): Promise<Response>;
  maintenance(): Promise<unknown>;
}

export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): DurableObjectStubLike;
}

export interface ScheduledControllerLike {
  cron: string;
  scheduledTime: number;
}

export interface ExecutionContextLike {
  waitUntil(p: Promise<unknown>): void;
}
