/**
 * Vitest projects: `unit` runs the tests beside the code in packages/*, `e2e` runs the
 * cross-package suites under test/ (real HTTP servers, real AWS SDK v3, real workerd), `browser`
 * runs *.browser.test.ts in real Chromium (Vitest browser mode, Playwright provider).
 * Run all: `npx vitest run`.
 */
import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';

/** Debian's Chromium; browsers are never downloaded here. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const BROWSER_TESTS = ['packages/*/src/**/*.browser.test.ts', 'test/**/*.browser.test.ts'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
          exclude: BROWSER_TESTS,
          environment: 'node',
        },
      },
      {
        test: {
          name: 'e2e',
          // These suites drive real processes, servers, workerd and Chromium on a shared 2-core
          // machine: a failure is retried once, so that only failures that repeat fail the run.
          retry: 1,
          include: ['test/**/*.test.ts'],
          exclude: BROWSER_TESTS,
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Serves test/msw/public/mockServiceWorker.js (MSW's service worker, from `npx msw init`)
        // at /mockServiceWorker.js, where setupWorker().start() registers it with scope `/`.
        publicDir: 'test/msw/public',
        test: {
          name: 'browser',
          retry: 1,
          include: BROWSER_TESTS,
          testTimeout: 60_000,
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({ launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS } }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
});
