/**
 * Fuzz: random sequences of TrentService calls on one seeded KMS, with near-valid and hostile
 * member values, through kms.handle (and kms.handleMessage), checking every property of
 * harness.ts on every call: nothing escapes, AWS-shaped answers with 4xx for client faults,
 * the model's output shapes, and a store unchanged by failures and reads.
 *
 * Run: npx vitest run --project e2e test/fuzz/operations.test.ts
 * Long: EDGE_KMS_FUZZ_RUNS=20000 npx vitest run --project e2e test/fuzz/  (or FUZZ=long)
 * Replay a failure: EDGE_KMS_FUZZ_SEED=<seed> EDGE_KMS_FUZZ_PATH=<path> (both printed by fast-check).
 */
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import { fcParams, Harness, printSummary, runs, testTimeout, type Signer } from './harness.js';
import { stepArb, type Step } from './requests.js';

async function play(steps: [Step, Signer?][], verify = false): Promise<void> {
  const h = await Harness.create({ verify });
  for (const [step, signer] of steps) {
    if (step.kind === 'tick') h.tick(step.days);
    else if (step.kind === 'maintenance') await h.maintenance();
    else await h.call(step.op, step.input, step.slot, step.via, step.target, signer);
  }
}

/** Mostly alice (the keys' account, grantee of the seeded grants), then carol (another account), then broken signatures. */
const signerArb = fc.oneof(
  { weight: 5, arbitrary: fc.constant<Signer>('alice') },
  { weight: 3, arbitrary: fc.constant<Signer>('carol') },
  { weight: 1, arbitrary: fc.constantFrom<Signer>('alice-bad-signature', 'carol-presigned', 'unsigned') },
);

// A short run stops starting new sequences after this long (a slow shared machine), a long run never.
const TIME_CAP_MS = 10_000;
const VERIFY_TIME_CAP_MS = 6_000;

describe('fuzz: operation sequences over the protocol function', () => {
  afterAll(printSummary);

  it('no exception, AWS-shaped answers, model output shapes, failures and reads leave the store unchanged', {
    retry: 0,
    timeout: testTimeout(TIME_CAP_MS),
  }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          stepArb.map((s): [Step] => [s]),
          { minLength: 1, maxLength: 30 },
        ),
        (steps) => play(steps),
      ),
      fcParams(runs(400, 20_000), TIME_CAP_MS),
    );
  });

  it('the same, SigV4-verified: as a principal of the account, of another account, and with broken signatures', {
    retry: 0,
    timeout: testTimeout(VERIFY_TIME_CAP_MS),
  }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(stepArb, signerArb), { minLength: 1, maxLength: 30 }), (steps) => play(steps, true)),
      fcParams(runs(200, 5000), VERIFY_TIME_CAP_MS),
    );
  });
});
