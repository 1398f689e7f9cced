/**
 * Runs the edge-kms Worker in workerd through Miniflare, with Durable Object and KV state
 * persisted in a directory. Shared by `npm run dev:worker` and the workerd tests.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Miniflare } from 'miniflare';
import { buildWorker } from './build.js';

export interface WorkerOptions {
  /** Where Durable Object and KV state persist; undefined keeps state in memory. */
  persistDir?: string;
  /** Bundle location (defaults inside persistDir or a temp dir). */
  outfile: string;
  port?: number;
  bindings: Record<string, string>;
}

export interface RunningWorker {
  url: string;
  mf: Miniflare;
  scheduled(): Promise<void>;
  dispose(): Promise<void>;
}

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const scriptPath = await buildWorker(options.outfile);
  if (options.persistDir) mkdirSync(options.persistDir, { recursive: true });
  const mf = new Miniflare({
    modules: true,
    scriptPath,
    modulesRoot: dirname(scriptPath),
    compatibilityDate: '2025-04-01',
    durableObjects: { KMS: { className: 'KmsDurableObject', useSQLite: true } },
    kvNamespaces: ['KMS_KV'],
    bindings: options.bindings,
    durableObjectsPersist: options.persistDir ? join(options.persistDir, 'do') : false,
    kvPersist: options.persistDir ? join(options.persistDir, 'kv') : false,
    host: '127.0.0.1',
    port: options.port ?? 0,
  });
  const url = (await mf.ready).toString().replace(/\/$/, '');
  return {
    url,
    mf,
    async scheduled() {
      // Miniflare's Fetcher has scheduled() at run time; its typings omit it.
      const worker = (await mf.getWorker()) as unknown as { scheduled(o: { cron: string }): Promise<unknown> };
      await worker.scheduled({ cron: '*/10 * * * *' });
    },
    dispose: () => mf.dispose(),
  };
}
