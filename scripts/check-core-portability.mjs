#!/usr/bin/env node
// Lint rule for packages/core: Web APIs only. No node: imports, require, Buffer, process or other
// Node globals in the core's sources (tests beside the code are exempt). Run: npm run lint
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../packages/core/src/', import.meta.url).pathname;
const rules = [
  [/from\s+['"]node:/, 'imports a node: module'],
  [/import\s*\(\s*['"]node:/, 'imports a node: module'],
  [/\brequire\s*\(/, 'uses require()'],
  [/\bBuffer\b/, 'uses Buffer'],
  [/\bprocess\./, 'uses process'],
  [/\b__dirname\b|\b__filename\b/, 'uses a CommonJS global'],
  [/\bsetImmediate\b/, 'uses setImmediate'],
  [/from\s+['"](fs|path|crypto|os|util|stream|http|https|net|child_process)['"]/, 'imports a Node built-in'],
];
const bad = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) {
      readFileSync(p, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const t = line.trim();
          if (t.startsWith('//') || t.startsWith('*') || t.startsWith('/*')) return;
          for (const [re, why] of rules) if (re.test(line)) bad.push(`${p}:${i + 1}: ${why}: ${line.trim()}`);
        });
    }
  }
}
walk(root);
if (bad.length) {
  console.error(`packages/core must use Web APIs only:\n${bad.join('\n')}`);
  process.exit(1);
}
console.log('core portability check: ok');
