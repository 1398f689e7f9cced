/**
 * Bundles the Worker (src/worker.ts and everything it imports) into one ES module for workerd.
 * Used by `npm run dev:worker` and the workerd tests; `wrangler deploy` bundles on its own.
 */
import { build } from 'esbuild';

export async function buildWorker(outfile: string): Promise<string> {
  await build({
    entryPoints: [new URL('../src/worker.ts', import.meta.url).pathname],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    external: ['cloudflare:workers'],
    logLevel: 'error',
  });
  return outfile;
}
