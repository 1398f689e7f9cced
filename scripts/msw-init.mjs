/**
 * MSW's service worker (mockServiceWorker.js) comes from one place, the installed msw package:
 * `msw init` copies it into each directory that serves it at the root.
 *   - test/msw/public: the Vitest browser project's publicDir, and the idb-reload page (test/msw)
 *   - playground/public: the playground's in-browser KMS (served at /playground/mockServiceWorker.js)
 *
 *   node scripts/msw-init.mjs           # after an msw upgrade: copy the installed worker into both
 *   node scripts/msw-init.mjs --check   # exit 1 if a copy differs from the installed msw's own file
 *
 * test/msw/worker-script.test.ts runs the same check in `npm test`, so an msw upgrade that is not
 * followed by this script fails the tests instead of serving an old worker to a new msw.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The directories that serve the worker, relative to the repository root. */
export const WORKER_DIRECTORIES = ['test/msw/public', 'playground/public'];
export const WORKER_FILE = 'mockServiceWorker.js';

const mswRoot = () => dirname(createRequire(join(REPO_ROOT, 'package.json')).resolve('msw/package.json'));

/** The worker the installed msw ships (what `msw init` copies). */
export function installedWorkerPath() {
  return join(mswRoot(), 'lib', WORKER_FILE);
}

/** The directories (relative) whose copy is missing or differs from the installed worker. */
export function staleCopies() {
  const installed = readFileSync(installedWorkerPath());
  return WORKER_DIRECTORIES.filter((dir) => {
    try {
      return !readFileSync(join(REPO_ROOT, dir, WORKER_FILE)).equals(installed);
    } catch {
      return true;
    }
  });
}

function init() {
  const cli = join(mswRoot(), 'cli', 'index.js');
  // `--no-save`: package.json is left alone (and msw does not ask whether to save the directory).
  for (const dir of WORKER_DIRECTORIES) execFileSync(process.execPath, [cli, 'init', dir, '--no-save'], { cwd: REPO_ROOT, stdio: 'inherit' });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const stale = staleCopies();
    if (stale.length > 0) {
      console.error(`${stale.map((d) => `${d}/${WORKER_FILE}`).join(', ')}: not the installed msw's worker. Run: node scripts/msw-init.mjs`);
      process.exit(1);
    }
    console.log(`${WORKER_DIRECTORIES.map((d) => `${d}/${WORKER_FILE}`).join(', ')}: the installed msw's worker`);
  } else {
    init();
  }
}
