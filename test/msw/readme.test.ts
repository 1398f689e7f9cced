/**
 * The examples in README.md ("Mocking KMS in browser tests") and packages/msw/README.md are the
 * test files that run (packages/msw/src/example.browser.test.ts in the browser project,
 * test/msw/example.test.ts here in Node): this checks that the READMEs show them exactly.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const codeBlocks = (markdown: string) => [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);

const BROWSER = 'packages/msw/src/example.browser.test.ts';
const NODE = 'test/msw/example.test.ts';

describe('README examples are the tested files', () => {
  it.each([
    ['README.md', [BROWSER, NODE]],
    ['packages/msw/README.md', [BROWSER]],
  ])('%s', (readme, examples) => {
    const blocks = codeBlocks(read(readme));
    for (const example of examples) expect(blocks).toContain(read(example));
  });

  it('the README section sits right after "Use it"', () => {
    const headings = [...read('README.md').matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(headings.indexOf('Mocking KMS in browser tests')).toBe(headings.indexOf('Use it') + 1);
  });

  it('the examples import the packages by name, as a user would', () => {
    for (const example of [BROWSER, NODE]) {
      expect(read(example)).not.toMatch(/from '\.{1,2}\//);
      expect(read(example)).toContain("from '@edge-kms/msw'");
    }
  });
});
