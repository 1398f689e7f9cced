/**
 * The edge-kms Worker. `fetch` serves the TrentService protocol through the Hono app; `scheduled`
 * (a Cron Trigger) rotates every key whose automatic rotation is due, deletes keys whose
 * deletion is due and expires imported key material; the Durable Object also sets its alarm for
 * the next of those, so they happen on time between cron runs.
 *
 * With the Durable Object store (the default) one object per account and region, named
 * "<account>:<region>", holds the keys and runs the KMS; the Worker forwards requests to it. With
 * KMS_STORE=kv the Worker runs the KMS itself over a KV namespace (see kv-store.ts for what that
 * store does and does not promise).
 */
import { DurableObject } from 'cloudflare:workers';
import { createKmsApp, testModeGuard, type KmsAppEnv } from '@edge-kms/hono';
import type { KmsStore } from '@edge-kms/core';
import { Hono } from 'hono';
import type { DurableObjectNamespaceLike, DurableObjectStorageLike, ExecutionContextLike, KVNamespaceLike, ScheduledControllerLike } from './cf-types.js';
import { buildKms, configurationErrorResponse, corsOrigins, type BuiltKms, type KmsEnv } from './config.js';
import { createDurableObjectStore } from './do-store.js';
import { createKvStore } from './kv-store.js';
import { handleStoreProxy } from './store-proxy.js';

export interface Env extends KmsEnv {
  KMS: DurableObjectNamespaceLike;
  KMS_KV?: KVNamespaceLike;
  /** 'durable-object' (default) or 'kv'. */
  KMS_STORE?: string;
}

/** The Worker's Hono apps: their bindings (`c.env`) are the Worker's Env. */
type WorkerApp = Hono<KmsAppEnv<Env>>;

interface Served extends BuiltKms {
  app: WorkerApp;
  store: KmsStore;
}

function serve(env: Env, built: BuiltKms, store: KmsStore, extraStores?: (n: number) => KmsStore): Served {
  const app = createKmsApp<Env>({
    kms: built.kms,
    testMode: env.KMS_TEST_MODE === '1',
    testClock: built.testClock,
    corsOrigins: corsOrigins(env),
    sourceIp: (c) => c.req.header('cf-connecting-ip'),
  });
  if (env.KMS_TEST_MODE === '1') {
    // The store proxy goes in front of the KMS app.
    const inner = app;
    const wrapper = new Hono<KmsAppEnv<Env>>();
    wrapper.use('/_edge-kms/store', testModeGuard(built.kms));
    wrapper.post('/_edge-kms/store', (c) => {
      const n = Number(c.req.query('instance') ?? '0');
      return handleStoreProxy(c.req.raw, n === 0 || !extraStores ? store : extraStores(n));
    });
    wrapper.all('*', (c) => inner.fetch(c.req.raw, c.env));
    return { ...built, app: wrapper, store };
  }
  return { ...built, app, store };
}

export class KmsDurableObject extends DurableObject<Env> {
  private served?: Promise<Served>;

  private ready(): Promise<Served> {
    this.served ??= (async () => {
      const store = createDurableObjectStore(this.ctx.storage as unknown as DurableObjectStorageLike);
      return serve(this.env, await buildKms(this.env, store), store);
    })();
    this.served.catch(() => (this.served = undefined));
    return this.served;
  }

  async fetch(request: Request): Promise<Response> {
    try {
      const { app } = await this.ready();
      const response = await app.fetch(request, this.env);
      // A call that can bring maintenance forward (an import's expiry, a deletion, a rotation
      // schedule; the test clock moved) sets the object's alarm for it.
      const target = request.headers.get('x-amz-target') ?? '';
      if (SCHEDULES.has(target.slice(target.indexOf('.') + 1)) || new URL(request.url).pathname === '/_edge-kms/clock') await this.schedule();
      return response;
    } catch (e) {
      return configurationErrorResponse(e);
    }
  }

  /** Rotates due keys, deletes due keys and expires imported key material (called by the Worker's cron trigger). */
  async maintenance(): Promise<{ rotated: string[]; deleted: string[]; expired: string[] }> {
    const { kms } = await this.ready();
    const report = await kms.runMaintenance();
    await this.schedule();
    return report;
  }

  /** The alarm: maintenance when it is due, without waiting for the cron trigger. */
  async alarm(): Promise<void> {
    await this.maintenance();
  }

  /** Sets the alarm to the next maintenance (nextMaintenance on the KMS's clock, which a test clock may run ahead of wall time). */
  private async schedule(): Promise<void> {
    const storage = this.ctx.storage as unknown as DurableObjectStorageLike;
    if (!storage.setAlarm || !storage.getAlarm) return;
    const { kms } = await this.ready();
    const next = await kms.nextMaintenance();
    if (next === undefined) return;
    // At least a second ahead: an alarm never spins on something maintenance could not do.
    const at = Date.now() + Math.max(1000, next - kms.now());
    const current = await storage.getAlarm();
    if (current === null || at < current) await storage.setAlarm(at);
  }
}

/** The operations after which the Durable Object's alarm is set again. */
const SCHEDULES = new Set([
  'CreateKey',
  'ImportKeyMaterial',
  'ScheduleKeyDeletion',
  'EnableKeyRotation',
  'ReplicateKey',
  'CancelKeyDeletion',
  'DisableKeyRotation',
]);

let kvServed: Promise<Served> | undefined;
const kvStores = new Map<number, KmsStore>();

function kvReady(env: Env): Promise<Served> {
  kvServed ??= (async () => {
    if (!env.KMS_KV) throw new Error('KMS_STORE=kv needs a KV namespace bound as KMS_KV');
    const kv = env.KMS_KV;
    const store = createKvStore(kv);
    // In test mode, further independent store instances stand for other isolates writing at once.
    const extra = (n: number) => {
      let s = kvStores.get(n);
      if (!s) kvStores.set(n, (s = createKvStore(kv)));
      return s;
    };
    return serve(env, await buildKms(env, store), store, extra);
  })();
  kvServed.catch(() => (kvServed = undefined));
  return kvServed;
}

function objectFor(env: Env) {
  const name = `${env.KMS_ACCOUNT_ID || '111122223333'}:${env.KMS_REGION || 'us-east-1'}`;
  return env.KMS.get(env.KMS.idFromName(name));
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (env.KMS_STORE === 'kv') {
      try {
        const { app } = await kvReady(env);
        return await app.fetch(request, env);
      } catch (e) {
        return configurationErrorResponse(e);
      }
    }
    return objectFor(env).fetch(request);
  },

  async scheduled(_controller: ScheduledControllerLike, env: Env, ctx: ExecutionContextLike): Promise<void> {
    const run = async () => {
      const report = env.KMS_STORE === 'kv' ? await (await kvReady(env)).kms.runMaintenance() : await objectFor(env).maintenance();
      console.log('edge-kms maintenance:', JSON.stringify(report));
    };
    ctx.waitUntil(run());
  },
};
