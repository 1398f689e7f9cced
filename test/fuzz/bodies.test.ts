/**
 * Fuzz: request bodies and headers that are not well-formed requests (random bytes, invalid
 * UTF-8, truncated JSON, 5,000 and 100,000 nested arrays, bodies at the 1 MiB limit, odd
 * targets, methods, content types and Content-Length values) through kms.handle and
 * kms.handleMessage, with the properties of harness.ts: nothing escapes, AWS-shaped 4xx answers,
 * and the store unchanged.
 *
 * Run: npx vitest run --project e2e test/fuzz/bodies.test.ts
 * Long: EDGE_KMS_FUZZ_RUNS=20000 npx vitest run --project e2e test/fuzz/  (or FUZZ=long)
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { fcParams, Harness, printSummary, runs, testTimeout } from './harness.js';
import { bodyArb, targetArb } from './requests.js';

const TIME_CAP_MS = 6_000;
let h: Harness;

describe('fuzz: byte bodies and headers over the protocol function', () => {
  // One seeded KMS for all runs: a body that is not a request reaches no operation, and every
  // call is checked against a snapshot taken just before it, so runs do not depend on each other
  // beyond what they are allowed to change.
  beforeAll(async () => {
    h = await Harness.create();
  });
  afterAll(printSummary);

  it('random bodies, targets, methods and headers: no exception, AWS-shaped 4xx, store unchanged', {
    retry: 0,
    timeout: testTimeout(TIME_CAP_MS),
  }, async () => {
    const headers = fc.oneof(
      { weight: 6, arbitrary: fc.constant({}) },
      {
        weight: 1,
        arbitrary: fc.record(
          {
            'content-type': fc.constantFrom('application/x-amz-json-1.0', 'application/json', 'text/plain', ''),
            'content-length': fc.constantFrom('99999999', '1048577', '-1', 'abc', '0', '1e9'),
          },
          { requiredKeys: [] },
        ),
      },
    );
    const method = fc.oneof(
      { weight: 8, arbitrary: fc.constant('POST') },
      { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'OPTIONS', 'post', 'PATCH') },
    );
    await fc.assert(
      fc.asyncProperty(targetArb, bodyArb, fc.constantFrom('request' as const, 'message' as const), method, headers, async (target, body, via, m, extra) => {
        // fetch Requests cannot carry a GET body nor a non-Latin-1 header: those go through handleMessage.
        const viaUsed = m === 'POST' && !/[^\u0000-\u00ff]/.test(target ?? '') ? via : 'message';
        await h.send({ target, body: body.bytes(), via: viaUsed, method: m, headers: extra });
      }),
      fcParams(runs(1500, 20_000), TIME_CAP_MS),
    );
  });

  it('X-Amz-Target values no fetch Request can carry (lone surrogates, NUL, beyond Latin-1), through handleMessage', { retry: 0 }, async () => {
    for (const target of ['TrentService.\ud800', 'TrentService.Encrypt\u0000', 'TrentService.Ёncrypt', '\udfffTrentService.Encrypt', 'TrentService.😀']) {
      await h.send({ target, body: new TextEncoder().encode('{}'), via: 'message' });
    }
  });
});
