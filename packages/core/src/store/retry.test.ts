/**
 * The one retry policy: conflicts are retried (64 times after the first attempt by default, with
 * the random backoff between), any other error ends at once. Run: npx vitest run packages/core/src/store/retry.test.ts
 */
import { describe, expect, it, vi } from 'vitest';
import { KmsError, StoreConflictError } from '../errors.js';
import { commitBackoff, COMMIT_RETRIES, retryOnConflict } from './retry.js';

const noWait = async () => undefined;

describe('retryOnConflict', () => {
  it('answers the first attempt that does not conflict, counting attempts from 0', async () => {
    const seen: number[] = [];
    const out = await retryOnConflict(
      async (attempt) => {
        seen.push(attempt);
        if (attempt < 3) throw new StoreConflictError();
        return 'done';
      },
      { backoff: noWait },
    );
    expect(out).toBe('done');
    expect(seen).toEqual([0, 1, 2, 3]);
  });

  it('gives up after COMMIT_RETRIES (64) retries, throwing the last conflict', async () => {
    expect(COMMIT_RETRIES).toBe(64);
    let attempts = 0;
    const waits: number[] = [];
    const err = await retryOnConflict(
      () => {
        attempts++;
        throw new StoreConflictError(`conflict ${attempts}`);
      },
      { backoff: async (a) => void waits.push(a) },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreConflictError);
    expect((err as Error).message).toBe('conflict 65');
    expect(attempts).toBe(65);
    expect(waits).toEqual(Array.from({ length: 64 }, (_, i) => i));
  });

  it('takes another number of retries', async () => {
    let attempts = 0;
    await expect(
      retryOnConflict(
        () => {
          attempts++;
          throw new StoreConflictError();
        },
        { retries: 16, backoff: noWait },
      ),
    ).rejects.toBeInstanceOf(StoreConflictError);
    expect(attempts).toBe(17);
  });

  it('does not retry any other error', async () => {
    let attempts = 0;
    const boom = new KmsError('NotFoundException', 'gone');
    await expect(
      retryOnConflict(() => {
        attempts++;
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(attempts).toBe(1);
  });

  it('waits by default a random time up to min(50, 2^attempt) ms, at most 32 ms', async () => {
    vi.useFakeTimers();
    try {
      const random = vi.spyOn(Math, 'random').mockReturnValue(0.999);
      const delays: number[] = [];
      const timeout = vi.spyOn(globalThis, 'setTimeout');
      for (const attempt of [0, 1, 4, 5, 9, 63]) {
        const p = commitBackoff(attempt);
        delays.push(timeout.mock.calls.at(-1)![1] as number);
        vi.runAllTimers();
        await p;
      }
      expect(delays.map((d) => Math.round(d / 0.999))).toEqual([1, 2, 16, 32, 32, 32]);
      random.mockRestore();
      timeout.mockRestore();
    } finally {
      vi.useRealTimers();
    }
  });
});
