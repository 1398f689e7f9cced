/**
 * Vitest projects: `unit` runs the tests beside the code in packages/*, `e2e` runs the
 * cross-package suites under test/ (real HTTP servers, real AWS SDK v3). Run all: `npx vitest run`.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
