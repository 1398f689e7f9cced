/**
 * Issue 14 ("Also"), crash consistency of the whole server over HTTP: the real server (`npm start`'s
 * program, see below) runs a concurrent write load of CreateKey, Encrypt, GenerateDataKey,
 * RotateKeyOnDemand and CreateAlias from the AWS SDK v3 client. It is killed with SIGKILL at a random
 * moment, restarted on the same data directory, and checked. This repeats for several cycles, and
 * the set of acknowledged writes keeps growing, so every later cycle also checks that earlier writes
 * survived every crash since.
 *
 * "Acknowledged" means the server answered 200. A call still in flight when the kill lands may or
 * may not have happened. Such calls are only checked for not producing anything we did not ask for.
 * After each restart:
 *  - every acknowledged key exists (ListKeys, DescribeKey) and is Enabled; no more keys exist than
 *    CreateKey calls were sent;
 *  - every key's material history is whole: ListKeyRotations ALL_KEY_MATERIAL lists the original
 *    and then only ON_DEMAND rotations, with distinct KeyMaterialIds, the last one CURRENT and equal
 *    to DescribeKey's CurrentKeyMaterialId. The count of rotations is at least the number
 *    acknowledged and at most the number sent;
 *  - every acknowledged alias resolves to its key (ListAliases and DescribeKey by alias). Every alias
 *    that exists, acknowledged or not, points at the key its CreateAlias named;
 *  - every acknowledged ciphertext (Encrypt, by key id or by alias, with or without an encryption
 *    context; GenerateDataKey) decrypts to its plaintext with the same KeyId. The KeyMaterialId it
 *    decrypts under is one of the key's materials, and not older than the rotations acknowledged
 *    before the Encrypt was sent. It is the KeyMaterialId GenerateDataKey answered, and the same one
 *    it decrypted under after earlier crashes.
 *
 * About the program under test. `npm start` is `tsx packages/node/src/cli.ts`. The tsx CLI
 * (node_modules/tsx/dist/cli.mjs) does not run the file itself: it spawns
 * `node --require tsx/dist/preflight.cjs --import tsx/dist/loader.mjs packages/node/src/cli.ts`
 * as a child process and relays signals to it. test/helpers/server.ts spawns
 * `node --import tsx packages/node/src/cli.ts`, and the package `tsx` resolves to that same
 * dist/loader.mjs (its package.json exports "." → ./dist/loader.mjs). So it is the same Node, the
 * same loader and the same cli.ts with the same environment. Only the wrapper is missing (preflight.cjs
 * handles the relay and warnings). The wrapper has to go because SIGKILL cannot be relayed: killing
 * the tsx parent would orphan the server and leave it running, while here SIGKILL reaches the
 * server itself, as a crash would.
 *
 * This tests a process crash. Whatever the process wrote before it died is in the OS page cache and
 * survives. It does not test power loss (fsync), which needs a VM or a fault-injecting file system.
 *
 * Each run logs its seed. The seed fixes the random choices (operations, keys, plaintexts, kill
 * delays) but not the interleaving on the machine. To replay the choices:
 *   CRASH_SEED=<seed> npx vitest run --project e2e test/e2e/crash-consistency.test.ts
 */
import type { KMS, ListAliasesCommandOutput, ListKeysCommandOutput } from '@aws-sdk/client-kms';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnKmsServer, type KmsServer } from '../helpers/server.js';

const CYCLES = 6;
const WORKERS = 6;
/** The kill lands this long after the load starts (uniform)… */
const KILL_MIN_MS = 150;
const KILL_MAX_MS = 900;
/** …and not before this many writes of the cycle were acknowledged. */
const MIN_ACKED_PER_CYCLE = 20;
const ALIAS_PREFIX = 'alias/crash/';

const SEED = process.env.CRASH_SEED ? Number(process.env.CRASH_SEED) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

interface KeyModel {
  keyId: string;
  arn: string;
  cycle: number;
  /** RotateKeyOnDemand answered 200. */
  rotationsAcked: number;
  /** RotateKeyOnDemand sent (acknowledged, failed or in flight at the kill). */
  rotationsSent: number;
}

interface Sealed {
  what: string;
  keyId: string;
  blob: Uint8Array;
  plaintext: Uint8Array;
  context?: Record<string, string>;
  /** Rotations of the key acknowledged before the call was sent: its material is at least this version. */
  minVersion: number;
  /** GenerateDataKey's answered KeyMaterialId, or the one it decrypted under after an earlier crash. */
  keyMaterialId?: string;
}

/** Everything the server acknowledged (and sent), across all cycles. */
const freshModel = () => ({
  keys: new Map<string, KeyModel>(),
  createKeysSent: 0,
  /** alias name → key id, acknowledged. */
  aliases: new Map<string, string>(),
  /** alias name → key id, every CreateAlias sent. */
  aliasesSent: new Map<string, string>(),
  sealed: [] as Sealed[],
});
let model = freshModel();

type Op = 'CreateKey' | 'Encrypt' | 'EncryptViaAlias' | 'GenerateDataKey' | 'RotateKeyOnDemand' | 'CreateAlias';
const OPS: [Op, number][] = [
  ['CreateKey', 18],
  ['Encrypt', 26],
  ['EncryptViaAlias', 8],
  ['GenerateDataKey', 10],
  ['RotateKeyOnDemand', 22],
  ['CreateAlias', 16],
];
const OPS_TOTAL = OPS.reduce((n, [, w]) => n + w, 0);
function chooseOp(): Op {
  if (model.keys.size === 0) return 'CreateKey';
  let r = rand() * OPS_TOTAL;
  for (const [op, w] of OPS) if ((r -= w) < 0) return op === 'EncryptViaAlias' && model.aliases.size === 0 ? 'Encrypt' : op;
  return 'Encrypt';
}

interface CycleStats {
  acked: Record<Op, number>;
  ackedTotal: number;
  unknown: number;
  inFlightAtKill: number;
}

let counter = 0;

/** One client loop: sends writes one after another until `crashed()`; records what was acknowledged. */
async function worker(kms: KMS, cycle: number, crashed: () => boolean, stats: CycleStats, problems: string[], inFlight: { n: number }): Promise<void> {
  while (!crashed()) {
    const op = chooseOp();
    const n = ++counter;
    inFlight.n++;
    try {
      switch (op) {
        case 'CreateKey': {
          model.createKeysSent++;
          const md = (await kms.createKey({ Description: `crash ${SEED} cycle ${cycle} #${n}` })).KeyMetadata!;
          model.keys.set(md.KeyId!, { keyId: md.KeyId!, arn: md.Arn!, cycle, rotationsAcked: 0, rotationsSent: 0 });
          break;
        }
        case 'Encrypt':
        case 'EncryptViaAlias': {
          let key: KeyModel;
          let ref: string;
          if (op === 'EncryptViaAlias') {
            const [alias, keyId] = pick([...model.aliases]);
            key = model.keys.get(keyId)!;
            ref = alias;
          } else {
            key = pick([...model.keys.values()]);
            ref = rand() < 0.5 ? key.keyId : key.arn;
          }
          const plaintext = new Uint8Array(1 + Math.floor(rand() * 200)).map(() => Math.floor(rand() * 256));
          const context = rand() < 0.4 ? { cycle: String(cycle), n: String(n) } : undefined;
          const minVersion = key.rotationsAcked;
          const out = await kms.encrypt({ KeyId: ref, Plaintext: plaintext, EncryptionContext: context });
          if (out.KeyId !== key.arn) problems.push(`Encrypt #${n} with ${ref} answered KeyId ${out.KeyId}, expected ${key.arn}`);
          model.sealed.push({ what: `${op} #${n} (cycle ${cycle}, ${ref})`, keyId: key.keyId, blob: out.CiphertextBlob!, plaintext, context, minVersion });
          break;
        }
        case 'GenerateDataKey': {
          const key = pick([...model.keys.values()]);
          const minVersion = key.rotationsAcked;
          const out = await kms.generateDataKey({ KeyId: key.keyId, NumberOfBytes: 32 });
          if (out.KeyId !== key.arn) problems.push(`GenerateDataKey #${n} answered KeyId ${out.KeyId}, expected ${key.arn}`);
          if (!out.KeyMaterialId) problems.push(`GenerateDataKey #${n} answered no KeyMaterialId`);
          model.sealed.push({
            what: `GenerateDataKey #${n} (cycle ${cycle})`,
            keyId: key.keyId,
            blob: out.CiphertextBlob!,
            plaintext: out.Plaintext!,
            minVersion,
            keyMaterialId: out.KeyMaterialId,
          });
          break;
        }
        case 'RotateKeyOnDemand': {
          const key = pick([...model.keys.values()]);
          key.rotationsSent++;
          await kms.rotateKeyOnDemand({ KeyId: key.keyId });
          key.rotationsAcked++;
          break;
        }
        case 'CreateAlias': {
          const key = pick([...model.keys.values()]);
          const alias = `${ALIAS_PREFIX}c${cycle}-${n}`;
          model.aliasesSent.set(alias, key.keyId);
          await kms.createAlias({ AliasName: alias, TargetKeyId: rand() < 0.5 ? key.keyId : key.arn });
          model.aliases.set(alias, key.keyId);
          break;
        }
      }
      stats.acked[op]++;
      stats.ackedTotal++;
    } catch (e) {
      // Before the kill every call must succeed. After it, a failure means "may or may not have happened".
      if (!crashed()) problems.push(`${op} #${n} failed before the kill: ${(e as Error).name}: ${(e as Error).message}`);
      else stats.unknown++;
    } finally {
      inFlight.n--;
    }
  }
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

const errText = (e: unknown) => `${(e as Error).name}: ${(e as Error).message}`;

/** Checks everything in the model against the restarted server; returns the discrepancies. */
async function verify(kms: KMS): Promise<string[]> {
  const problems: string[] = [];

  // Keys.
  const listed = new Set<string>();
  let marker: string | undefined;
  do {
    const page: ListKeysCommandOutput = await kms.listKeys({ Limit: 1000, Marker: marker });
    for (const k of page.Keys ?? []) listed.add(k.KeyId!);
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  if (listed.size > model.createKeysSent) problems.push(`ListKeys lists ${listed.size} keys, but only ${model.createKeysSent} CreateKey calls were ever sent`);

  const materials = new Map<string, string[]>();
  await mapLimit([...model.keys.values()], 8, async (key) => {
    if (!listed.has(key.keyId)) problems.push(`acknowledged key ${key.keyId} (cycle ${key.cycle}) is missing from ListKeys`);
    try {
      const md = (await kms.describeKey({ KeyId: key.keyId })).KeyMetadata!;
      if (md.Arn !== key.arn) problems.push(`key ${key.keyId}: Arn ${md.Arn}, expected ${key.arn}`);
      if (md.KeyState !== 'Enabled' || md.Enabled !== true) problems.push(`key ${key.keyId}: KeyState ${md.KeyState}, Enabled ${md.Enabled}`);
      const rot = await kms.listKeyRotations({ KeyId: key.keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL', Limit: 1000 });
      const list = rot.Rotations ?? [];
      const ids = list.map((r) => r.KeyMaterialId!);
      materials.set(key.keyId, ids);
      const rotations = list.length - 1;
      if (rot.Truncated) problems.push(`key ${key.keyId}: ListKeyRotations truncated at 1000`);
      if (rotations < key.rotationsAcked) problems.push(`key ${key.keyId}: ${rotations} rotations, but ${key.rotationsAcked} were acknowledged`);
      if (rotations > key.rotationsSent) problems.push(`key ${key.keyId}: ${rotations} rotations, but only ${key.rotationsSent} were sent`);
      if (new Set(ids).size !== ids.length) problems.push(`key ${key.keyId}: duplicate KeyMaterialIds ${ids.join(',')}`);
      if (list[0]?.RotationType !== undefined) problems.push(`key ${key.keyId}: first material is a rotation (${list[0]?.RotationType})`);
      if (list.slice(1).some((r) => r.RotationType !== 'ON_DEMAND'))
        problems.push(`key ${key.keyId}: rotation types ${list.map((r) => r.RotationType).join(',')}`);
      const states = list.map((r) => r.KeyMaterialState);
      if (states.slice(0, -1).some((s) => s !== 'NON_CURRENT') || states.at(-1) !== 'CURRENT')
        problems.push(`key ${key.keyId}: material states ${states.join(',')}`);
      if (md.CurrentKeyMaterialId !== ids.at(-1))
        problems.push(`key ${key.keyId}: CurrentKeyMaterialId ${md.CurrentKeyMaterialId}, last listed material ${ids.at(-1)}`);
    } catch (e) {
      problems.push(`acknowledged key ${key.keyId} (cycle ${key.cycle}): ${errText(e)}`);
    }
  });

  // Aliases.
  const present = new Map<string, string>();
  marker = undefined;
  do {
    const page: ListAliasesCommandOutput = await kms.listAliases({ Limit: 100, Marker: marker });
    for (const a of page.Aliases ?? []) if (a.AliasName!.startsWith(ALIAS_PREFIX)) present.set(a.AliasName!, a.TargetKeyId!);
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  for (const [alias, target] of present) {
    const sent = model.aliasesSent.get(alias);
    if (sent === undefined) problems.push(`alias ${alias} exists, but was never created`);
    else if (sent !== target) problems.push(`alias ${alias} points at ${target}, but CreateAlias named ${sent}`);
  }
  await mapLimit([...model.aliases], 8, async ([alias, keyId]) => {
    if (present.get(alias) !== keyId) problems.push(`acknowledged alias ${alias} → ${keyId}: ListAliases has ${present.get(alias) ?? 'nothing'}`);
    try {
      const md = (await kms.describeKey({ KeyId: alias })).KeyMetadata!;
      if (md.KeyId !== keyId) problems.push(`DescribeKey ${alias}: key ${md.KeyId}, expected ${keyId}`);
    } catch (e) {
      problems.push(`DescribeKey ${alias} (acknowledged → ${keyId}): ${errText(e)}`);
    }
  });

  // Ciphertexts.
  await mapLimit(model.sealed, 8, async (s) => {
    const key = model.keys.get(s.keyId)!;
    try {
      const out = await kms.decrypt({ CiphertextBlob: s.blob, EncryptionContext: s.context });
      if (hex(out.Plaintext!) !== hex(s.plaintext)) problems.push(`${s.what}: decrypted to other plaintext`);
      if (out.KeyId !== key.arn) problems.push(`${s.what}: Decrypt KeyId ${out.KeyId}, expected ${key.arn}`);
      const ids = materials.get(s.keyId) ?? [];
      const version = ids.indexOf(out.KeyMaterialId!);
      if (version < 0) problems.push(`${s.what}: KeyMaterialId ${out.KeyMaterialId} is not among the key's materials ${ids.join(',')}`);
      else if (version < s.minVersion)
        problems.push(`${s.what}: sealed under material version ${version}, but ${s.minVersion} rotations were acknowledged before it was sent`);
      if (s.keyMaterialId !== undefined && out.KeyMaterialId !== s.keyMaterialId)
        problems.push(`${s.what}: decrypts under KeyMaterialId ${out.KeyMaterialId}, before under ${s.keyMaterialId}`);
      s.keyMaterialId ??= out.KeyMaterialId;
    } catch (e) {
      problems.push(`${s.what}: Decrypt failed: ${errText(e)}`);
    }
  });
  return problems;
}

describe('crash consistency of the server over HTTP', () => {
  let server: KmsServer | undefined;
  afterAll(async () => {
    await server?.dispose();
  });

  it(`every acknowledged write survives ${CYCLES} SIGKILLs under a concurrent write load`, async () => {
    console.log(`crash-consistency seed ${SEED} (replay the random choices with CRASH_SEED=${SEED})`);
    // A retry (the e2e project retries once) starts over: a new server, an empty model.
    await server?.dispose();
    model = freshModel();
    const t0 = performance.now();
    // Rotations are spread over keys anyway; the limit is raised so that RotateKeyOnDemand never
    // answers LimitExceededException, and every failure before the kill is a real one.
    server = await spawnKmsServer({ env: { KMS_ON_DEMAND_ROTATION_LIMIT: '1000000', KMS_PLAYGROUND: '0' } });
    console.log(`  server started in ${Math.round(performance.now() - t0)} ms`);

    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      const tc = performance.now();
      const kms = server.client();
      const stats: CycleStats = {
        acked: { CreateKey: 0, Encrypt: 0, EncryptViaAlias: 0, GenerateDataKey: 0, RotateKeyOnDemand: 0, CreateAlias: 0 },
        ackedTotal: 0,
        unknown: 0,
        inFlightAtKill: 0,
      };
      const loadProblems: string[] = [];
      const inFlight = { n: 0 };
      let crashed = false;
      const delay = Math.round(KILL_MIN_MS + rand() * (KILL_MAX_MS - KILL_MIN_MS));
      const loops = Array.from({ length: WORKERS }, () => worker(kms, cycle, () => crashed, stats, loadProblems, inFlight));
      const loadStart = performance.now();
      await sleep(delay);
      while (stats.ackedTotal < MIN_ACKED_PER_CYCLE && performance.now() - loadStart < 20_000) await sleep(5);
      const killedAt = Math.round(performance.now() - loadStart);
      stats.inFlightAtKill = inFlight.n;
      crashed = true;
      const pid = server.pid;
      const stopped = await server.restart('SIGKILL');
      await Promise.all(loops);
      kms.destroy();
      const restartedIn = Math.round(performance.now() - loadStart - killedAt);

      expect(stopped.signal, `the server (pid ${pid}) died of SIGKILL`).toBe('SIGKILL');
      expect(loadProblems, `seed ${SEED}, cycle ${cycle}: failures before the kill`).toEqual([]);
      expect(stats.ackedTotal, `seed ${SEED}, cycle ${cycle}: acknowledged writes`).toBeGreaterThanOrEqual(MIN_ACKED_PER_CYCLE);
      expect(stats.inFlightAtKill, `seed ${SEED}, cycle ${cycle}: calls in flight when the kill landed`).toBeGreaterThan(0);

      const tv = performance.now();
      const check = server.client();
      const problems = await verify(check);
      check.destroy();
      console.log(
        `  cycle ${cycle}: killed ${killedAt} ms into the load (drawn ${delay} ms) with ${stats.inFlightAtKill} calls in flight; ` +
          `acknowledged ${JSON.stringify(stats.acked)}; ${stats.unknown} unknown; restart ${restartedIn} ms; ` +
          `verified ${model.keys.size} keys, ${model.aliases.size} aliases, ${model.sealed.length} ciphertexts, ` +
          `${[...model.keys.values()].reduce((n, k) => n + k.rotationsAcked, 0)} rotations in ${Math.round(performance.now() - tv)} ms; ` +
          `cycle ${Math.round(performance.now() - tc)} ms`,
      );
      expect(problems, `seed ${SEED}, after crash ${cycle} (data dir ${server.dataDir})`).toEqual([]);
    }
    // The load covered every kind of write.
    expect(model.keys.size).toBeGreaterThan(0);
    expect(model.aliases.size).toBeGreaterThan(0);
    expect([...model.keys.values()].some((k) => k.rotationsAcked > 0)).toBe(true);
    expect(model.sealed.some((s) => s.minVersion > 0)).toBe(true);
    console.log(`  total ${Math.round(performance.now() - t0)} ms`);
  }, 60_000);
});
