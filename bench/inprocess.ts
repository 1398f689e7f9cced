/**
 * Goal 2, in-process overhead (part of `npm run bench`, i.e. node --import tsx bench/run.ts):
 * core Encrypt through kms.execute (memory store, the default CryptoKey protector) of a 64-byte
 * and a 4 KB plaintext against a bare WebCrypto AES-256-GCM encrypt of the same bytes
 * (crypto.subtle.encrypt with a fresh random 12-byte IV) in the same process. ops/s after a
 * warm-up, in interleaved rounds, median; one call at a time and 32 calls in flight.
 */
import { createKms } from '@edge-kms/core';
import { fmt, interleavedRounds, log, median, pairedRatio, pct, table, type Goal } from './lib.js';

export interface InProcessOptions {
  warmupMs: number;
  rounds: number;
  roundMs: number;
  concurrencies: number[];
}

export const DEFAULT_INPROCESS_OPTIONS: InProcessOptions = { warmupMs: 500, rounds: 30, roundMs: 80, concurrencies: [1, 32] };

export async function runInProcessBench(o: InProcessOptions = DEFAULT_INPROCESS_OPTIONS): Promise<{ markdown: string; goals: Goal[] }> {
  const kms = createKms();
  const { KeyMetadata } = (await kms.execute('CreateKey', {})) as { KeyMetadata: { KeyId: string } };
  const KeyId = KeyMetadata.KeyId;
  const bareKey = await crypto.subtle.importKey('raw', crypto.getRandomValues(new Uint8Array(32)), { name: 'AES-GCM' }, false, ['encrypt']);

  const rows: string[][] = [];
  const goals: Goal[] = [];
  for (const concurrency of o.concurrencies) {
    for (const size of [64, 4096]) {
      const plaintext = crypto.getRandomValues(new Uint8Array(size));
      const results = await interleavedRounds(
        [
          { name: 'core', fn: () => kms.execute('Encrypt', { KeyId, Plaintext: plaintext }) },
          { name: 'bare', fn: () => crypto.subtle.encrypt({ name: 'AES-GCM', iv: crypto.getRandomValues(new Uint8Array(12)) }, bareKey, plaintext) },
        ],
        { ...o, concurrency },
      );
      const core = median(results.get('core')!);
      const bare = median(results.get('bare')!);
      const ratio = pairedRatio(results, 'core', 'bare');
      const label = `${size === 64 ? '64 B' : '4 KB'}, ${concurrency} in flight`;
      log(`in-process: ${label}: core ${fmt(core)} ops/s, bare ${fmt(bare)} ops/s`);
      rows.push([label, fmt(core), fmt(bare), pct(ratio)]);
      goals.push({ goal: `In-process Encrypt ${label}: core >= 70% of bare WebCrypto`, measured: pct(ratio), met: ratio >= 0.7 });
    }
  }
  const markdown = [
    `${o.rounds} interleaved rounds of ${o.roundMs} ms per case after ${o.warmupMs} ms warm-up; ops/s are medians over rounds, core / bare is the median of the per-round ratios. Core: \`kms.execute('Encrypt', {KeyId, Plaintext})\` on the memory store. Bare: \`crypto.subtle.encrypt({name: 'AES-GCM', iv: <random 12 bytes>}, key, plaintext)\`.`,
    '',
    table(['plaintext, calls in flight', 'core ops/s', 'bare WebCrypto ops/s', 'core / bare'], rows),
  ].join('\n');
  return { markdown, goals };
}
