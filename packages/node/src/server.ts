/**
 * The Node server: an edge-kms with the LMDB store and root-key wrapping, behind the Hono app,
 * on @hono/node-server, with a maintenance timer that rotates due keys and deletes due keys.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  createKms,
  createRootKeyProtector,
  createTestClock,
  systemClock,
  type Kms,
  type RotationPolicyName,
  type TestClock,
} from '@edge-kms/core';
import { createKmsApp } from '@edge-kms/hono';
import { serve, type ServerType } from '@hono/node-server';
import { createLmdbStore } from './lmdb-store.js';
import { loadRootKey } from './root-key.js';

export interface ServerOptions {
  port?: number;
  hostname?: string;
  dataDir?: string;
  accountId?: string;
  region?: string;
  rootKey?: string;
  testMode?: boolean;
  rotationPolicy?: RotationPolicyName;
  onDemandRotationLimit?: number;
  /** How often due rotations and deletions are applied; 0 turns the timer off. */
  maintenanceIntervalMs?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  kms: Kms;
  testClock?: TestClock;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const dataDir = resolve(options.dataDir ?? '.kms-data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const rootKey = loadRootKey(dataDir, options.rootKey);
  const protector = await createRootKeyProtector(rootKey);
  rootKey.fill(0);
  const store = createLmdbStore({ path: resolve(dataDir, 'kms.lmdb') });
  const testClock = options.testMode ? createTestClock(Date.now()) : undefined;
  const kms = createKms({
    store,
    protector,
    accountId: options.accountId,
    region: options.region,
    clock: testClock ?? systemClock,
    rotationPolicy: options.rotationPolicy,
    onDemandRotationLimit: options.onDemandRotationLimit,
  });
  const app = createKmsApp({ kms, testMode: options.testMode, testClock });
  const hostname = options.hostname ?? '127.0.0.1';
  const server: ServerType = await new Promise((resolveServer) => {
    const s = serve({ fetch: app.fetch, port: options.port ?? 4599, hostname }, () => resolveServer(s));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 4599);

  const interval = options.maintenanceIntervalMs ?? 60_000;
  let timer: ReturnType<typeof setInterval> | undefined;
  if (interval > 0) {
    await kms.runMaintenance();
    timer = setInterval(() => void kms.runMaintenance().catch((e) => console.error('maintenance failed:', e)), interval);
    timer.unref();
  }

  return {
    url: `http://${hostname === '0.0.0.0' ? '127.0.0.1' : hostname}:${port}`,
    port,
    kms,
    testClock,
    async close() {
      if (timer) clearInterval(timer);
      await new Promise<void>((r) => server.close(() => r()));
      await store.close?.();
    },
  };
}
