#!/usr/bin/env node
// Lint rule: no import cycles anywhere in packages/*/src (tests beside the code are exempt). Every
// import and re-export counts, `import type` too: a cycle of types is still two modules that
// cannot be understood one without the other. Imports of @edge-kms/* packages resolve through
// their package.json exports. Prints each cycle and exits 1. Run: npm run lint
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const repo = new URL('..', import.meta.url).pathname;
const packagesDir = join(repo, 'packages');

/** @edge-kms/<name>[/<subpath>] -> source file, from each package's exports map. */
const packageEntries = new Map();
for (const name of readdirSync(packagesDir)) {
  const pj = join(packagesDir, name, 'package.json');
  if (!existsSync(pj)) continue;
  const pkg = JSON.parse(readFileSync(pj, 'utf8'));
  const exportsMap = typeof pkg.exports === 'string' ? { '.': pkg.exports } : (pkg.exports ?? {});
  for (const [sub, target] of Object.entries(exportsMap)) {
    const file = typeof target === 'string' ? target : (target.import ?? target.default ?? target.types);
    if (typeof file !== 'string' || !file.endsWith('.ts')) continue;
    packageEntries.set(sub === '.' ? pkg.name : `${pkg.name}/${sub.replace(/^\.\//, '')}`, resolve(packagesDir, name, file));
  }
}

const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('.d.ts')) files.push(p);
  }
}
for (const name of readdirSync(packagesDir)) if (existsSync(join(packagesDir, name, 'src'))) walk(join(packagesDir, name, 'src'));

const SPEC = /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm;
function resolveSpec(from, spec) {
  if (spec.startsWith('.')) {
    const base = resolve(dirname(from), spec);
    for (const c of [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, join(base, 'index.ts')]) if (existsSync(c) && statSync(c).isFile()) return c;
    return undefined;
  }
  return packageEntries.get(spec);
}

const graph = new Map();
for (const f of files) {
  const deps = new Set();
  for (const m of readFileSync(f, 'utf8').matchAll(SPEC)) {
    const target = resolveSpec(f, m[1] ?? m[2]);
    if (target && target !== f) deps.add(target);
  }
  graph.set(
    f,
    [...deps].filter((d) => graph.has(d) || files.includes(d)),
  );
}

// Tarjan's strongly connected components: every component with more than one module is a cycle.
let index = 0;
const stack = [];
const state = new Map();
const cycles = [];
function connect(v) {
  const s = { index, low: index, onStack: true };
  index++;
  state.set(v, s);
  stack.push(v);
  for (const w of graph.get(v) ?? []) {
    const t = state.get(w);
    if (!t) {
      connect(w);
      s.low = Math.min(s.low, state.get(w).low);
    } else if (t.onStack) s.low = Math.min(s.low, t.index);
  }
  if (s.low === s.index) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      state.get(w).onStack = false;
      component.push(w);
    } while (w !== v);
    if (component.length > 1) cycles.push(component);
  }
}
for (const f of files) if (!state.has(f)) connect(f);

if (cycles.length) {
  console.error(`import cycles in packages/*/src (${cycles.length}):`);
  for (const c of cycles)
    console.error(
      `  ${c
        .map((f) => relative(repo, f))
        .sort()
        .join('\n    <-> ')}`,
    );
  process.exit(1);
}
console.log(`no import cycles in ${files.length} source files`);
