/**
 * The one retry policy of every writer: read, decide, commit, and when the commit is refused with
 * StoreConflictError (a concurrent writer committed first) do it all again from a fresh read,
 * after a short random wait so that colliding writers spread out. Any other error ends at once.
 */
import { StoreConflictError } from '../errors.js';

/** Further attempts after the first before a conflict is given up on and thrown. */
export const COMMIT_RETRIES = 64;

export interface RetryOptions {
  /** Further attempts after the first (default COMMIT_RETRIES: 65 attempts in all). */
  retries?: number;
  /** Waits before the next attempt after a conflict on attempt `attempt` (0-based); default commitBackoff. */
  backoff?: (attempt: number) => Promise<void>;
}

/** Up to 32 ms, random: min(50, 2^min(attempt, 5)) ms times a uniform [0, 1). */
export function commitBackoff(attempt: number): Promise<void> {
  const ms = Math.min(50, 1 << Math.min(attempt, 5)) * Math.random();
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Runs `fn` (given the attempt number, from 0) until it returns, retrying it while it throws
 * StoreConflictError, at most `retries` times. `fn` must read afresh on every attempt.
 */
export async function retryOnConflict<T>(fn: (attempt: number) => Promise<T> | T, options?: RetryOptions): Promise<T> {
  const retries = options?.retries ?? COMMIT_RETRIES;
  const backoff = options?.backoff ?? commitBackoff;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (!(e instanceof StoreConflictError) || attempt >= retries) throw e;
      await backoff(attempt);
    }
  }
}
