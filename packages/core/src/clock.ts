/**
 * Time comes from one injectable clock, so tests (and the MSW mock) can move through years of
 * automatic rotations in milliseconds.
 */

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface TestClock extends Clock {
  set(epochMs: number): void;
  advance(ms: number): void;
  advanceDays(days: number): void;
}

export const DAY_MS = 86_400_000;

export function createTestClock(start: number | Date = Date.now()): TestClock {
  let t = typeof start === 'number' ? start : start.getTime();
  return {
    now: () => t,
    set: (ms) => {
      t = ms;
    },
    advance: (ms) => {
      t += ms;
    },
    advanceDays: (days) => {
      t += days * DAY_MS;
    },
  };
}
