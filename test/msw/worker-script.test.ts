/**
 * MSW's service worker comes from one place: every mockServiceWorker.js in the repository is the
 * installed msw's own file (node_modules/msw/lib/mockServiceWorker.js), copied by
 * `node scripts/msw-init.mjs` (`msw init <dir> --no-save` for each directory that serves it). After
 * an msw upgrade this fails until the script has been run, so no page serves an old worker to a
 * new msw. Run: npx vitest run --project e2e test/msw/worker-script.test.ts
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/server.js';

const WORKER = 'mockServiceWorker.js';
const SKIP = new Set(['node_modules', '.git', 'dist', 'artifacts']);

/** Every mockServiceWorker.js under `dir`, outside node_modules and build output. */
function copiesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return SKIP.has(e.name) ? [] : copiesUnder(join(dir, e.name));
    return e.name === WORKER ? [join(dir, e.name)] : [];
  });
}

const installed = join(dirname(createRequire(join(REPO_ROOT, 'package.json')).resolve('msw/package.json')), 'lib', WORKER);

describe('mockServiceWorker.js', () => {
  const copies = ['packages', 'playground', 'test']
    .flatMap((d) => copiesUnder(join(REPO_ROOT, d)))
    .map((f) => relative(REPO_ROOT, f))
    .sort();

  it('the copies are the ones scripts/msw-init.mjs writes: test/msw/public (browser tests) and playground/public', () => {
    expect(copies).toEqual(['playground/public/mockServiceWorker.js', 'test/msw/public/mockServiceWorker.js']);
  });

  it.each(copies)('%s is the installed msw worker (after an msw upgrade: node scripts/msw-init.mjs)', (copy) => {
    expect(readFileSync(join(REPO_ROOT, copy)).equals(readFileSync(installed))).toBe(true);
  });

  it('node scripts/msw-init.mjs --check agrees', () => {
    const r = spawnSync(process.execPath, ['scripts/msw-init.mjs', '--check'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });
});
