/**
 * Shared helpers for `npm run bench` (node --import tsx bench/run.ts): timing loops, interleaved
 * rounds, statistics and number formatting. Measures nothing by itself.
 */

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The middle value (the mean of the two middle values for an even count). */
export function median(xs: number[]): number {
  if (xs.length === 0) throw new RangeError('empty sample');
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100) of a non-empty sample. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) throw new RangeError('empty sample');
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/**
 * Runs `fn` for `ms` milliseconds with `concurrency` calls in flight (each worker awaits its call
 * before starting the next) and returns completed calls per second.
 */
export async function opsPerSecond(fn: () => Promise<unknown>, ms: number, concurrency: number): Promise<number> {
  let done = 0;
  const start = performance.now();
  const end = start + ms;
  const worker = async () => {
    while (performance.now() < end) {
      await fn();
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return done / ((performance.now() - start) / 1000);
}

export interface Case {
  name: string;
  fn: () => Promise<unknown>;
}

export interface RoundsOptions {
  /** Warm-up time per case before the first round (JIT, caches). */
  warmupMs: number;
  rounds: number;
  roundMs: number;
  concurrency: number;
}

/**
 * Interleaved rounds: every round runs each case once for `roundMs`, the order rotating from round
 * to round so no case always runs first or last. Returns every round's ops/s per case name;
 * take the median.
 */
export async function interleavedRounds(cases: Case[], o: RoundsOptions): Promise<Map<string, number[]>> {
  for (const c of cases) await opsPerSecond(c.fn, o.warmupMs, o.concurrency);
  const out = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let r = 0; r < o.rounds; r++) {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[(i + r) % cases.length]!;
      out.get(c.name)!.push(await opsPerSecond(c.fn, o.roundMs, o.concurrency));
    }
  }
  return out;
}

/**
 * The median over rounds of a[i] / b[i]: each ratio compares two runs made next to each other in
 * time, so a slow stretch of the machine (other processes) cancels out better than in a ratio of
 * medians.
 */
export function pairedRatio(results: Map<string, number[]>, a: string, b: string): number {
  const xs = results.get(a)!;
  const ys = results.get(b)!;
  return median(xs.map((x, i) => x / ys[i]!));
}

/** Milliseconds each call of `fn` took, one call at a time. */
export async function timeOnce(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** Runs `fn` `total` times with `concurrency` calls in flight (for setup work, not timing). */
export async function repeat(total: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < total) await fn(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** 12345.6 -> "12,346"; small numbers keep some precision. */
export function fmt(n: number, digits?: number): string {
  const d = digits ?? (Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2);
  return n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

export function pct(ratio: number): string {
  return `${fmt(ratio * 100, 1)}%`;
}

export const yesNo = (ok: boolean) => (ok ? '**yes**' : '**NO**');

/** A markdown table from a header row and data rows. */
export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** One line in a goals table, produced by each section. */
export interface Goal {
  goal: string;
  measured: string;
  met: boolean;
}

/** Progress to stderr, so stdout stays clean. */
export function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}
