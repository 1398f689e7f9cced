/**
 * Every environment variable the Node server reads is documented in the README's configuration
 * table, and the README documents none that the server does not read (a security setting that is
 * not written down is one nobody sets). Run: npx vitest run --project e2e test/node-security/readme-settings.test.ts
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/server.js';

const read = (p: string) => readFileSync(join(REPO_ROOT, p), 'utf8');

it('README "Server configuration" lists exactly the variables packages/node/src/cli.ts reads', () => {
  const cli = read('packages/node/src/cli.ts');
  const code = cli.replace(/\/\*[\s\S]*?\*\//g, '');
  const used = new Set([...code.matchAll(/process\.env\.([A-Z_]+)|(?:intEnv|env)\('([A-Z_]+)'\)/g)].map((m) => m[1] ?? m[2]!));
  const readme = read('README.md');
  const section = readme.slice(readme.indexOf('## Server configuration'), readme.indexOf('### Authentication, key policies and grants'));
  const documented = new Set([...section.matchAll(/^\| `([A-Z_]+)[`=]/gm)].map((m) => m[1]!));
  for (const m of section.matchAll(/^\| `[A-Z_]+` \/ `([A-Z_]+)`/gm)) documented.add(m[1]!);
  expect(used.size).toBeGreaterThan(10);
  expect([...used].filter((v) => !documented.has(v)).sort()).toEqual([]);
  expect([...documented].filter((v) => !used.has(v)).sort()).toEqual([]);
});
