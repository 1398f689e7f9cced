/**
 * Process accounting for `npm run bench` (node --import tsx bench/run.ts): CPU ticks of child
 * processes the bench starts but does not reap itself (Chromium's renderers), so run.ts can tell
 * them from other processes' load; the calling thread's CPU time and the kernel command line
 * (section 6's findings). Linux /proc; elsewhere everything reads 0 or nothing. Measures nothing by
 * itself. Kept apart from lib.ts, which is also bundled into the browser page.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/**
 * CPU clock ticks (user + system, own + waited-for children) of this process's live descendants
 * whose command name matches `comm` (Linux /proc; 0 elsewhere).
 */
export function descendantTicks(comm: RegExp): number {
  if (!existsSync('/proc/self/stat')) return 0;
  const procs = new Map<number, { ppid: number; ticks: number; comm: string }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const g = s
        .slice(s.lastIndexOf(')') + 2)
        .split(' ')
        .map(Number); // from field 3 (state) on
      procs.set(Number(d), { ppid: g[1]!, ticks: g[11]! + g[12]! + g[13]! + g[14]!, comm: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')) });
    } catch {
      /* gone meanwhile */
    }
  }
  let sum = 0;
  for (const p of procs.values()) {
    if (!comm.test(p.comm)) continue;
    let q = p.ppid;
    while (q && q !== process.pid) q = procs.get(q)?.ppid ?? 0;
    if (q === process.pid) sum += p.ticks;
  }
  return sum;
}

/** This process's waited-for children's CPU ticks (/proc/self/stat cutime + cstime). */
export function reapedChildTicks(): number {
  if (!existsSync('/proc/self/stat')) return 0;
  const s = readFileSync('/proc/self/stat', 'utf8');
  const g = s
    .slice(s.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  return g[13]! + g[14]!;
}

/**
 * CPU ticks of processes the bench started that ended without this process waiting for them
 * (Chromium's renderer and GPU processes are reaped by Chromium's zygote, not by us), so run.ts
 * does not count them as "other processes". Sections add to it.
 */
export const unreapedTicks = { value: 0 };

/** CPU time of the calling thread so far, ns (/proc/thread-self/schedstat); undefined off Linux. */
export function threadCpuNs(): number | undefined {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

/** The kernel command line (/proc/cmdline), split into words; empty off Linux. */
export function kernelCommandLine(): string[] {
  try {
    return readFileSync('/proc/cmdline', 'utf8').trim().split(/\s+/);
  } catch {
    return [];
  }
}
