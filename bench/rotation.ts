/**
 * Goal 3, rotation costs (part of `npm run bench`, i.e. node --import tsx bench/run.ts), with the
 * in-process engine on the memory store and on the LMDB store with root-key wrapping (what the
 * Node server runs):
 *   - Decrypt of a ciphertext made under version 1 vs one made under the current version of a
 *     key with 1,000 versions (createKms({onDemandRotationLimit: 2000}), 999 rotations): ops/s
 *     in interleaved rounds, median; they should match within noise.
 *   - RotateKeyOnDemand latency (median, p95) on a fresh key vs a key under which 100,000
 *     Encrypts were done (and the 1,000-version key), rotations interleaved across the keys.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKms, createRootKeyProtector, parseBlob, type Kms, type KmsOptions } from '@edge-kms/core';
import { createLmdbStore } from '@edge-kms/node';
import { fmt, interleavedRounds, log, median, pairedRatio, pct, percentile, repeat, table, timeOnce, type Goal } from './lib.js';

export interface RotationOptions {
  versions: number;
  encrypts: number;
  rotationSamples: number;
  decryptRounds: number;
  decryptRoundMs: number;
}

export const DEFAULT_ROTATION_OPTIONS: RotationOptions = { versions: 1000, encrypts: 100_000, rotationSamples: 200, decryptRounds: 40, decryptRoundMs: 60 };

/** Decrypt calls in flight (a few, so thread pool wake-up jitter averages out). */
const DECRYPT_CONCURRENCY = 8;
/** Decrypt may differ by this much (either way) and still count as equal. */
const DECRYPT_TOLERANCE = 0.15;
/** Rotation on the busy key may take this many times the fresh key's median and count as flat. */
const ROTATION_TOLERANCE = 1.25;

interface StoreSetup {
  name: string;
  options: () => Promise<{ options: KmsOptions; close: () => Promise<void> }>;
}

const STORES: StoreSetup[] = [
  { name: 'memory', options: async () => ({ options: {}, close: async () => {} }) },
  {
    name: 'LMDB',
    options: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'edge-kms-bench-lmdb-'));
      const store = createLmdbStore({ path: join(dir, 'kms.lmdb') });
      const protector = await createRootKeyProtector(crypto.getRandomValues(new Uint8Array(32)));
      return {
        options: { store, protector },
        close: async () => {
          await store.close?.();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
];

async function createKey(kms: Kms): Promise<string> {
  const out = (await kms.execute('CreateKey', {})) as { KeyMetadata: { KeyId: string } };
  return out.KeyMetadata.KeyId;
}

const rotate = (kms: Kms, KeyId: string) => kms.execute('RotateKeyOnDemand', { KeyId });

async function encrypt(kms: Kms, KeyId: string, plaintext: Uint8Array): Promise<Uint8Array> {
  return (await kms.execute('Encrypt', { KeyId, Plaintext: plaintext })).CiphertextBlob as Uint8Array;
}

export async function runRotationBench(o: RotationOptions = DEFAULT_ROTATION_OPTIONS): Promise<{ markdown: string; goals: Goal[] }> {
  const decryptRows: string[][] = [];
  const rotationRows: string[][] = [];
  const goals: Goal[] = [];
  const setupNotes: string[] = [];

  for (const setup of STORES) {
    const { options, close } = await setup.options();
    try {
      const kms = createKms({ ...options, onDemandRotationLimit: 2000 });
      const plaintext = crypto.getRandomValues(new Uint8Array(64));

      // A key with o.versions versions, a ciphertext under the first and one under the last.
      const many = await createKey(kms);
      const oldBlob = await encrypt(kms, many, plaintext);
      let t = performance.now();
      for (let i = 1; i < o.versions; i++) await rotate(kms, many);
      const rotateSetupMs = performance.now() - t;
      const newBlob = await encrypt(kms, many, plaintext);
      if (parseBlob(oldBlob)?.version !== 1 || parseBlob(newBlob)?.version !== o.versions) throw new Error('unexpected ciphertext versions');

      log(`rotation/${setup.name}: Decrypt v1 vs v${o.versions}`);
      const results = await interleavedRounds(
        [
          { name: 'old', fn: () => kms.execute('Decrypt', { CiphertextBlob: oldBlob }) },
          { name: 'new', fn: () => kms.execute('Decrypt', { CiphertextBlob: newBlob }) },
        ],
        { warmupMs: 300, rounds: o.decryptRounds, roundMs: o.decryptRoundMs, concurrency: DECRYPT_CONCURRENCY },
      );
      const oldOps = median(results.get('old')!);
      const newOps = median(results.get('new')!);
      const ratio = pairedRatio(results, 'old', 'new');
      decryptRows.push([setup.name, fmt(oldOps), fmt(newOps), pct(ratio)]);
      goals.push({
        goal: `${setup.name} store: Decrypt under version 1 = under version ${o.versions} (within ±${DECRYPT_TOLERANCE * 100}%)`,
        measured: `v1 at ${pct(ratio)} of current`,
        met: Math.abs(ratio - 1) <= DECRYPT_TOLERANCE,
      });

      // A fresh key and a key that has done o.encrypts Encrypts.
      const fresh = await createKey(kms);
      const busy = await createKey(kms);
      t = performance.now();
      await repeat(o.encrypts, 32, () => encrypt(kms, busy, plaintext));
      const encryptSetupMs = performance.now() - t;
      setupNotes.push(
        `${setup.name}: ${o.versions - 1} rotations took ${fmt(rotateSetupMs / 1000, 1)} s; ${fmt(o.encrypts)} Encrypts (32 in flight) took ${fmt(encryptSetupMs / 1000, 1)} s.`,
      );

      log(`rotation/${setup.name}: RotateKeyOnDemand latency`);
      const warm = await createKey(kms);
      for (let i = 0; i < 20; i++) await rotate(kms, warm);
      const keys = { fresh, busy, many } as const;
      const samples: Record<keyof typeof keys, number[]> = { fresh: [], busy: [], many: [] };
      const names = Object.keys(keys) as (keyof typeof keys)[];
      for (let i = 0; i < o.rotationSamples; i++) {
        for (let j = 0; j < names.length; j++) {
          const name = names[(i + j) % names.length]!;
          samples[name].push(await timeOnce(() => rotate(kms, keys[name])));
        }
      }
      const freshMedian = median(samples.fresh);
      const label = { fresh: 'fresh key', busy: `after ${fmt(o.encrypts)} Encrypts`, many: `${fmt(o.versions)} versions` };
      for (const name of names) {
        const m = median(samples[name]);
        rotationRows.push([
          setup.name,
          label[name],
          fmt(m, 3),
          fmt(percentile(samples[name], 95), 3),
          name === 'fresh' ? '1.00x' : `${fmt(m / freshMedian, 2)}x`,
        ]);
      }
      const busyRatio = median(samples.busy) / freshMedian;
      goals.push({
        goal: `${setup.name} store: RotateKeyOnDemand after ${fmt(o.encrypts)} Encrypts does not grow (median <= ${ROTATION_TOLERANCE}x fresh key)`,
        measured: `${fmt(busyRatio, 2)}x (p95 ${fmt(percentile(samples.busy, 95), 3)} vs ${fmt(percentile(samples.fresh, 95), 3)} ms)`,
        met: busyRatio <= ROTATION_TOLERANCE,
      });
    } finally {
      await close();
    }
  }

  const markdown = [
    `Decrypt (64-byte plaintext, ${DECRYPT_CONCURRENCY} calls in flight): ${o.decryptRounds} interleaved rounds of ${o.decryptRoundMs} ms; ops/s are medians over rounds, v1 / current is the median of the per-round ratios.`,
    '',
    table(['store', `Decrypt v1 ops/s`, `Decrypt v${o.versions} (current) ops/s`, 'v1 / current'], decryptRows),
    '',
    `RotateKeyOnDemand through kms.execute, ${o.rotationSamples} samples per key, the keys taking turns (so each gains the same number of versions while sampled).`,
    '',
    table(['store', 'key', 'median ms', 'p95 ms', 'median vs fresh'], rotationRows),
    '',
    ...setupNotes.map((n) => `- Setup, ${n}`),
  ].join('\n');
  return { markdown, goals };
}
