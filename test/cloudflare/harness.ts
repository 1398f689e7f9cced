/** Starts the edge-kms Worker in workerd (Miniflare) for the tests in test/cloudflare. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorker, type RunningWorker } from '../../packages/cloudflare/scripts/miniflare.js';

export const ROOT_KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => 0xa0 ^ i)).toString('base64');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function worker(options: { persistDir?: string; bindings?: Record<string, string>; outDir?: string; port?: number } = {}): Promise<RunningWorker> {
  const out = options.outDir ?? options.persistDir ?? tempDir('edge-kms-worker-');
  return startWorker({
    persistDir: options.persistDir,
    port: options.port,
    outfile: join(out, 'worker.js'),
    bindings: { KMS_ROOT_KEY: ROOT_KEY, KMS_ALLOW_OPEN: '1', KMS_TEST_MODE: '1', ...options.bindings },
  });
}
