/**
 * Builds the playground with Vite (the same config as `npm run playground`), for `npm start` to
 * serve at /playground/. Offline and quick (a few seconds): everything comes from node_modules.
 * Vite is loaded only here, so a server that never builds the playground never loads it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export async function buildPlayground(outDir: string): Promise<void> {
  const { build } = await import('vite');
  await build({
    configFile: fileURLToPath(new URL('./vite.config.ts', import.meta.url)),
    logLevel: 'error',
    build: { outDir, emptyOutDir: true },
  });
}

/** Builds into a new temporary directory, removed when the process exits; resolves to it. */
export async function buildPlaygroundToTemp(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-kms-playground-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  await buildPlayground(dir);
  return dir;
}
