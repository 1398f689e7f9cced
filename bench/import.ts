/**
 * Section 10 of `npm run bench` (node --import tsx bench/run.ts; alone: `npm run bench --
 * --only=import`): importing key material, keys with Origin EXTERNAL (issue 18). In process, two
 * cores side by side: `createKms()` (WebCrypto only) and `createKms({ crypto:
 * createNodeCryptoProvider() })` (what the Node server runs), memory store. The issue sets no goal:
 * every row is information.
 *   1. GetParametersForImport latency per WrappingKeySpec (RSA_2048, RSA_3072, RSA_4096):
 *        - warm: the pool of pre-generated pairs (POOL_SIZE 2 per size, packages/core/src/imports.ts)
 *          is full when the call starts;
 *        - cold: `clearWrappingKeyPools()` right before the call, so the pair is generated on the
 *          spot.
 *      Before every sample the bench waits until the pools are full again
 *      (whenWrappingKeyPoolsFull in packages/core/src/imports.ts). That wait after each call is
 *      the background refill the call started, which
 *      is also reported: the time one pair takes to generate. The samples alternate between the
 *      two cores (the wrapping key pair and its PKCS#8 import are crypto.subtle calls in both:
 *      the provider takes no part) and take turns between the keys the imports below use.
 *   2. Bursts of GetParametersForImport: 5 RSA_4096 calls one after another, each awaited, from a
 *      full pool; 5 RSA_4096 calls at once from a full pool; 5 calls at once from an empty pool
 *      (RSA_2048: the gate counts generations, not bits, and RSA_2048 keeps the run short). Per
 *      call latency and any ThrottlingException from the gate.
 *   3. ImportKeyMaterial latency: 32 symmetric bytes with RSAES_OAEP_SHA_256 under RSA_2048 and
 *      RSA_4096, an RSA_2048 private key (PKCS#8) with RSA_AES_KEY_WRAP_SHA_256 under RSA_4096, an
 *      ECC_NIST_P256 private key (PKCS#8) with RSAES_OAEP_SHA_256 under RSA_3072. One EXTERNAL key
 *      per case and core, one import token each (from part 1: a token can be used again within
 *      its 24 hours); after the first import, every sample is DeleteImportedKeyMaterial and the
 *      material wrapped afresh (both untimed), then the timed ImportKeyMaterial of the same
 *      material again (EXISTING_KEY_MATERIAL). So only ImportKeyMaterial is timed, with no key
 *      generation running behind it (fresh keys per sample would need a fresh token each, whose
 *      pool refill would run during the timed import). Beside it, for reference, bare
 *      `crypto.subtle.decrypt` RSA-OAEP of one block under a private key of the wrapping size:
 *      the private-key operation every import pays.
 *   4. What a full pool holds: POOL_SIZE pairs per size, each a PKCS#8 private key and an SPKI
 *      public key, their byte lengths taken from pairs made by the same `generateKeyPair` call.
 */
import { createKms, type Kms } from '@edge-kms/core';
import { createNodeCryptoProvider } from '@edge-kms/node/crypto';
import { clearWrappingKeyPools, whenWrappingKeyPoolsFull } from '../packages/core/src/imports.js';
import { generateKeyPair } from '../packages/core/src/key-specs/asymmetric.js';
import { testMaterial, wrapKeyMaterial, type MaterialSpec, type WrappingAlgorithm } from '../test/helpers/import-wrap.js';
import { fmt, log, median, percentile, table, type Goal } from './lib.js';

type Spec = 'RSA_2048' | 'RSA_3072' | 'RSA_4096';
const SPECS: Spec[] = ['RSA_2048', 'RSA_3072', 'RSA_4096'];
const BITS: Record<Spec, number> = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 };

/** POOL_SIZE and RSA_QUEUE_LIMIT of the core (not exported): pairs kept per size, generations in the gate at once. */
const POOL_SIZE = 2;
const GATE_LIMIT = 4;

export interface ImportOptions {
  /**
   * GetParametersForImport samples per size (warm and cold); sampling of a size stops early once
   * `budgetMs` is spent and each kind has `minSamples` (a cold sample costs about three
   * generations of the machine's time: two before it answers and the refill after).
   */
  gpfi: Record<Spec, { warm: number; cold: number; budgetMs: number }>;
  minSamples: number;
  burstCalls: number;
  /** ImportKeyMaterial samples per case and core (after `importWarmup` untimed ones), and bare RSA-OAEP decrypts per size. */
  importSamples: number;
  importWarmup: number;
}

export const DEFAULT_IMPORT_OPTIONS: ImportOptions = {
  gpfi: {
    RSA_2048: { warm: 14, cold: 12, budgetMs: 10_000 },
    RSA_3072: { warm: 10, cold: 8, budgetMs: 15_000 },
    RSA_4096: { warm: 8, cold: 6, budgetMs: 30_000 },
  },
  minSamples: 5,
  burstCalls: 5,
  importSamples: 60,
  importWarmup: 5,
};

interface Core {
  name: string;
  kms: Kms;
}

interface ImportCase {
  name: string;
  keySpec: MaterialSpec;
  keyUsage?: string;
  algorithm: WrappingAlgorithm;
  wrapping: Spec;
}

const CASES: ImportCase[] = [
  {
    name: 'symmetric 32 bytes, RSAES_OAEP_SHA_256, RSA_2048 wrapping key',
    keySpec: 'SYMMETRIC_DEFAULT',
    algorithm: 'RSAES_OAEP_SHA_256',
    wrapping: 'RSA_2048',
  },
  {
    name: 'symmetric 32 bytes, RSAES_OAEP_SHA_256, RSA_4096 wrapping key',
    keySpec: 'SYMMETRIC_DEFAULT',
    algorithm: 'RSAES_OAEP_SHA_256',
    wrapping: 'RSA_4096',
  },
  {
    name: 'RSA_2048 private key (PKCS#8), RSA_AES_KEY_WRAP_SHA_256, RSA_4096 wrapping key',
    keySpec: 'RSA_2048',
    keyUsage: 'SIGN_VERIFY',
    algorithm: 'RSA_AES_KEY_WRAP_SHA_256',
    wrapping: 'RSA_4096',
  },
  {
    name: 'ECC_NIST_P256 private key (PKCS#8), RSAES_OAEP_SHA_256, RSA_3072 wrapping key',
    keySpec: 'ECC_NIST_P256',
    keyUsage: 'SIGN_VERIFY',
    algorithm: 'RSAES_OAEP_SHA_256',
    wrapping: 'RSA_3072',
  },
];

/** One EXTERNAL key of a case on one core, its material and (after part 1) an import token. */
interface Slot {
  core: Core;
  c: ImportCase;
  keyId: string;
  material: Uint8Array;
  token?: Uint8Array;
  publicKey?: Uint8Array;
}

interface GpfiOut {
  KeyId: string;
  ImportToken: Uint8Array;
  PublicKey: Uint8Array;
}

const rsaParams = (bits: number): RsaHashedKeyGenParams => ({
  name: 'RSA-OAEP',
  modulusLength: bits,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
});

/**
 * Waits until the wrapping-key pools are full again (the core's whenWrappingKeyPoolsFull: the
 * background refill is done). Returns the ms it took: after a warm call, the refill that call
 * started, i.e. one RSA key pair made by the pool's generator.
 */
async function settle(): Promise<number> {
  const start = performance.now();
  await whenWrappingKeyPoolsFull();
  return performance.now() - start;
}

async function gpfi(slot: Slot, spec: Spec): Promise<GpfiOut> {
  return (await slot.core.kms.execute('GetParametersForImport', {
    KeyId: slot.keyId,
    WrappingAlgorithm: slot.c.algorithm,
    WrappingKeySpec: spec,
  })) as unknown as GpfiOut;
}

function codeOf(e: unknown): string {
  return (e as { code?: string }).code ?? (e as Error).message;
}

interface Samples {
  warm: number[];
  cold: number[];
  /** The background refill after each call (one pair generated), ms. */
  refill: number[];
  /** Per core name: warm and cold samples. */
  byCore: Map<string, { warm: number[]; cold: number[] }>;
  spkiBytes: number;
}

/**
 * Part 1 for one size: cold and warm samples taking turns (a cold one first: it also fills a pool
 * that was never used), each after the gate went idle, over `slots` in turn.
 */
async function sampleGpfi(spec: Spec, slots: Slot[], o: ImportOptions): Promise<Samples> {
  const want = o.gpfi[spec];
  const out: Samples = { warm: [], cold: [], refill: [], byCore: new Map(), spkiBytes: 0 };
  // Each kind takes its own turn over the slots, so warm and cold samples both alternate between the cores.
  const next = { warm: 0, cold: 0 };
  const start = performance.now();
  const done = (kind: 'warm' | 'cold') => out[kind].length >= want[kind] || (out[kind].length >= o.minSamples && performance.now() - start > want.budgetMs);
  const one = async (kind: 'warm' | 'cold') => {
    const slot = slots[next[kind]++ % slots.length]!;
    if (kind === 'cold') clearWrappingKeyPools();
    const t = performance.now();
    const r = await gpfi(slot, spec);
    const ms = performance.now() - t;
    out[kind].push(ms);
    const core = out.byCore.get(slot.core.name) ?? { warm: [], cold: [] };
    core[kind].push(ms);
    out.byCore.set(slot.core.name, core);
    slot.token = r.ImportToken;
    slot.publicKey = r.PublicKey;
    out.spkiBytes = r.PublicKey.length;
    out.refill.push(await settle());
  };
  await settle();
  // A cold sample comes first: it also makes the pool of a size never asked for (or cleared since),
  // and its refill fills it for the warm sample after it.
  while (!done('cold') || !done('warm')) {
    if (!done('cold')) await one('cold');
    if (!done('warm')) await one('warm');
  }
  log(
    `import: GetParametersForImport ${spec}: warm p50 ${fmt(median(out.warm), 1)} ms (${out.warm.length}), cold p50 ${fmt(median(out.cold))} ms (${out.cold.length}), one pair ${fmt(median(out.refill))} ms`,
  );
  return out;
}

interface BurstCall {
  ms: number;
  error?: string;
}

/** `calls` GetParametersForImport of one size, one after another or all at once; the gate idle before and after. */
async function burst(spec: Spec, slots: Slot[], calls: number, together: boolean, fromEmpty: boolean): Promise<BurstCall[]> {
  // From a full pool: the caller has just sampled this size, so its pool exists and is full once the gate is idle.
  await settle();
  if (fromEmpty) clearWrappingKeyPools();
  const timed = async (i: number): Promise<BurstCall> => {
    const t = performance.now();
    try {
      await gpfi(slots[i % slots.length]!, spec);
      return { ms: performance.now() - t };
    } catch (e) {
      return { ms: performance.now() - t, error: codeOf(e) };
    }
  };
  const out: BurstCall[] = [];
  if (together) out.push(...(await Promise.all(Array.from({ length: calls }, (_, i) => timed(i)))));
  else for (let i = 0; i < calls; i++) out.push(await timed(i));
  await settle();
  return out;
}

async function createSlot(core: Core, c: ImportCase, material: Uint8Array): Promise<Slot> {
  const created = (await core.kms.execute('CreateKey', {
    Origin: 'EXTERNAL',
    KeySpec: c.keySpec,
    ...(c.keyUsage && { KeyUsage: c.keyUsage }),
  })) as { KeyMetadata: { KeyId: string } };
  return { core, c, keyId: created.KeyMetadata.KeyId, material };
}

function importInput(slot: Slot, again: boolean): Record<string, unknown> {
  return {
    KeyId: slot.keyId,
    ImportToken: slot.token,
    EncryptedKeyMaterial: wrapKeyMaterial(slot.publicKey!, slot.c.algorithm, slot.material),
    ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
    // ImportType is for symmetric keys only; the others re-import without it.
    ...(again && slot.c.keySpec === 'SYMMETRIC_DEFAULT' && { ImportType: 'EXISTING_KEY_MATERIAL' }),
  };
}

/** Part 3: per round, every case on both cores (the core order alternating) and the bare decrypt of its size. */
async function sampleImports(
  slots: Slot[],
  bare: Record<Spec, { key: CryptoKey; block: Uint8Array }>,
  o: ImportOptions,
): Promise<{ imports: Map<Slot, number[]>; bare: Map<Spec, number[]> }> {
  const ids = new Map<Slot, string>();
  for (const slot of slots) {
    const r = (await slot.core.kms.execute('ImportKeyMaterial', importInput(slot, false))) as { KeyMaterialId: string };
    ids.set(slot, r.KeyMaterialId);
    const d = (await slot.core.kms.execute('DescribeKey', { KeyId: slot.keyId })) as { KeyMetadata: { KeyState: string } };
    if (d.KeyMetadata.KeyState !== 'Enabled') throw new Error(`import: ${slot.c.name}: the key is ${d.KeyMetadata.KeyState} after ImportKeyMaterial`);
  }
  const imports = new Map<Slot, number[]>(slots.map((s) => [s, []]));
  const bareMs = new Map<Spec, number[]>(SPECS.map((s) => [s, []]));
  const sample = async (slot: Slot, record: boolean) => {
    await slot.core.kms.execute('DeleteImportedKeyMaterial', { KeyId: slot.keyId });
    const input = importInput(slot, true);
    const t = performance.now();
    const r = (await slot.core.kms.execute('ImportKeyMaterial', input)) as { KeyMaterialId: string };
    const ms = performance.now() - t;
    if (r.KeyMaterialId !== ids.get(slot)) throw new Error(`import: ${slot.c.name}: re-import gave material ${r.KeyMaterialId}, not ${ids.get(slot)}`);
    if (record) imports.get(slot)!.push(ms);
  };
  const bareOne = async (spec: Spec, record: boolean) => {
    const t = performance.now();
    await crypto.subtle.decrypt({ name: 'RSA-OAEP' }, bare[spec].key, bare[spec].block as BufferSource);
    if (record) bareMs.get(spec)!.push(performance.now() - t);
  };
  for (let round = 0; round < o.importWarmup + o.importSamples; round++) {
    const record = round >= o.importWarmup;
    for (let i = 0; i < CASES.length; i++) {
      const c = CASES[(i + round) % CASES.length]!;
      const pair = slots.filter((s) => s.c === c);
      for (const slot of round % 2 ? pair.reverse() : pair) await sample(slot, record);
    }
    for (const spec of SPECS) await bareOne(spec, record);
  }
  return { imports, bare: bareMs };
}

const ms = (x: number) => fmt(x, x >= 100 ? 0 : x >= 10 ? 1 : 2);
const p50p90 = (xs: number[]) => `${ms(median(xs))} / ${ms(percentile(xs, 90))}`;

export async function runImportBench(o: ImportOptions = DEFAULT_IMPORT_OPTIONS): Promise<{ markdown: string; goals: Goal[] }> {
  const started = performance.now();
  const cores: Core[] = [
    { name: 'createKms()', kms: createKms() },
    { name: 'node:crypto provider', kms: createKms({ crypto: createNodeCryptoProvider() }) },
  ];

  // Part 4 first (and a warm-up of the RSA code): one pair per size from the generator the pools use.
  await settle();
  const sizes = {} as Record<Spec, { pkcs8: number; spki: number }>;
  const bare = {} as Record<Spec, { key: CryptoKey; block: Uint8Array }>;
  for (const spec of SPECS) {
    const pair = await generateKeyPair(rsaParams(BITS[spec]), ['encrypt', 'decrypt']);
    sizes[spec] = { pkcs8: pair.pkcs8.length, spki: pair.spki.length };
    bare[spec] = {
      key: await crypto.subtle.importKey('pkcs8', pair.pkcs8 as BufferSource, { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['decrypt']),
      block: wrapKeyMaterial(pair.spki, 'RSAES_OAEP_SHA_256', crypto.getRandomValues(new Uint8Array(32))),
    };
  }

  const slots: Slot[] = [];
  for (const c of CASES) {
    const { material } = testMaterial(c.keySpec);
    for (const core of cores) slots.push(await createSlot(core, c, material));
  }
  // A size's slots with the cores alternating: core 1's first, core 2's first, core 1's second, …
  const slotsOf = (spec: Spec) => {
    const per = cores.map((core) => slots.filter((s) => s.c.wrapping === spec && s.core === core));
    return per[0]!.flatMap((s, i) => [s, ...per.slice(1).map((p) => p[i]!)]);
  };

  const gpfi = new Map<Spec, Samples>();
  for (const spec of SPECS) {
    log(`import: GetParametersForImport ${spec}`);
    gpfi.set(spec, await sampleGpfi(spec, slotsOf(spec), o));
  }
  for (const spec of SPECS) {
    if (gpfi.get(spec)!.spkiBytes !== sizes[spec].spki)
      throw new Error(`import: ${spec}: GetParametersForImport answered a ${gpfi.get(spec)!.spkiBytes}-byte public key, generateKeyPair ${sizes[spec].spki}`);
  }

  log(`import: bursts of ${o.burstCalls}`);
  const bursts: { label: string; calls: BurstCall[] }[] = [
    {
      label: `RSA_4096, one after another (each awaited), pool full`,
      calls: await burst('RSA_4096', slotsOf('RSA_4096'), o.burstCalls, false, false),
    },
    { label: `RSA_4096, all at once, pool full`, calls: await burst('RSA_4096', slotsOf('RSA_4096'), o.burstCalls, true, false) },
    { label: `RSA_2048, all at once, pool empty (cleared)`, calls: await burst('RSA_2048', slotsOf('RSA_2048'), o.burstCalls, true, true) },
  ];
  for (const b of bursts) log(`import: burst ${b.label}: ${b.calls.map((c) => `${fmt(c.ms, 0)} ms${c.error ? ` ${c.error}` : ''}`).join(', ')}`);

  log('import: ImportKeyMaterial');
  await settle();
  const imp = await sampleImports(slots, bare, o);
  const seconds = (performance.now() - started) / 1000;
  log(`import: done in ${fmt(seconds, 0)} s`);

  // ---------------------------------------------------------------- the tables

  const gpfiRows: string[][] = [];
  for (const spec of SPECS) {
    const s = gpfi.get(spec)!;
    // Per core only the count: the provider takes no part in GetParametersForImport, and a few samples' median per core is noise.
    const split = (kind: 'warm' | 'cold') => `${s[kind].length} (${cores.map((c) => s.byCore.get(c.name)?.[kind].length ?? 0).join(' + ')})`;
    gpfiRows.push(
      [`${spec}, warm pool`, split('warm'), p50p90(s.warm), ms(Math.max(...s.warm))],
      [`${spec}, cold (pool cleared right before)`, split('cold'), p50p90(s.cold), ms(Math.max(...s.cold))],
      [`${spec}: one pair generated (the refill after each call)`, String(s.refill.length), p50p90(s.refill), ms(Math.max(...s.refill))],
    );
  }
  const burstRows = bursts.map((b) => [
    b.label,
    ...b.calls.map((c) => (c.error ? `${ms(c.ms)} ${c.error}` : ms(c.ms))),
    String(b.calls.filter((c) => c.error === 'ThrottlingException').length),
  ]);
  const importRows = CASES.map((c) => {
    const of = slots.filter((s) => s.c === c);
    const xs = of.map((s) => imp.imports.get(s)!);
    return [c.name, String(xs[0]!.length), ...xs.map(p50p90), `${ms(median(imp.bare.get(c.wrapping)!))} (${c.wrapping})`];
  });
  const poolRows = SPECS.map((spec) => [
    spec,
    fmt(sizes[spec].pkcs8),
    fmt(sizes[spec].spki),
    fmt(sizes[spec].pkcs8 + sizes[spec].spki),
    fmt(POOL_SIZE * (sizes[spec].pkcs8 + sizes[spec].spki)),
  ]);
  const poolTotal = SPECS.reduce((n, spec) => n + POOL_SIZE * (sizes[spec].pkcs8 + sizes[spec].spki), 0);
  poolRows.push(['all three sizes', '', '', '', fmt(poolTotal)]);

  const findings = importFindings(gpfi, bursts, imp, slots, sizes, poolTotal);
  const markdown = [
    `Information only: the issue sets no goal. In process, memory store, two cores: \`createKms()\` (WebCrypto only) and \`createKms({ crypto: createNodeCryptoProvider() })\` (the Node server's). This part took ${fmt(seconds, 0)} s.`,
    '',
    `**GetParametersForImport** (RSAES_OAEP_SHA_256, or RSA_AES_KEY_WRAP_SHA_256 for the RSA key's token: the wrapping key pair is the same). Before every sample the bench waits until the pools are full again (\`whenWrappingKeyPoolsFull()\`, packages/core/src/imports.ts): after a warm call that wait is the pool's background refill, so the pool is full (${POOL_SIZE} pairs) when the next call starts. "Cold": \`clearWrappingKeyPools()\` (packages/core/src/imports.ts) right before the call. "One pair generated": the wait after each call until the gate was idle, i.e. the refill that call started: one RSA key pair made by the pool's generator. Samples alternate between the two cores (the pair's generation and PKCS#8 import are crypto.subtle calls in both; the provider takes no part); cold and warm samples take turns. ms:`,
    '',
    table(['GetParametersForImport', 'samples (createKms() + node:crypto provider)', 'p50 / p90 ms', 'max ms'], gpfiRows),
    '',
    `**Bursts** of ${o.burstCalls} GetParametersForImport calls, the gate idle before; ms per call in the order the calls were made, and how many the gate refused (ThrottlingException: it admits ${GATE_LIMIT} generations at once, the running one included, and the pool's refill counts as one). The gate counts generations, not bits: the empty-pool burst uses RSA_2048 to keep the run short, and RSA_4096 behaves alike, only slower.`,
    '',
    table(['burst', ...Array.from({ length: o.burstCalls }, (_, i) => `call ${i + 1}`), 'ThrottlingException'], burstRows),
    '',
    `**ImportKeyMaterial**: one EXTERNAL key per case and core, one import token each (from the GetParametersForImport samples above; a token can be used again within its 24 hours). After the first import, each sample is DeleteImportedKeyMaterial and the material wrapped again (test/helpers/import-wrap.ts \`wrapKeyMaterial\`; both untimed), then the timed ImportKeyMaterial of the same material (EXISTING_KEY_MATERIAL; every one checked to give back the first KeyMaterialId). So the timing is ImportKeyMaterial alone, with no RSA generation running behind it: a fresh key per sample needs a fresh token, and the pool refill that token starts would run during the timed import. A re-import finds the version record and replaces it where a first import puts a new one (one more memory-store read). ${o.importSamples} samples per case and core after ${o.importWarmup} untimed rounds, the cases taking turns and the core order alternating. "Bare": \`crypto.subtle.decrypt\` RSA-OAEP (SHA-256) of one block under a private key of the wrapping size, in the same rounds: the private-key operation every import pays.`,
    '',
    table(
      ['material, wrapping', 'samples per core', 'createKms() p50 / p90 ms', 'node:crypto provider p50 / p90 ms', 'bare RSA-OAEP decrypt p50 ms'],
      importRows,
    ),
    '',
    `**What a full pool holds** (information): ${POOL_SIZE} pairs per size (POOL_SIZE in packages/core/src/imports.ts), each the private key as PKCS#8 DER and the public key as SPKI DER, in Uint8Arrays; byte lengths of pairs made by the pools' own generator (\`generateKeyPair\`, RSA-OAEP, e = 65537; a PKCS#8 length can differ by a byte or two from pair to pair). The pools are per process (module state, shared by every Region and every \`createKms\`), and a size's pool exists only after the first GetParametersForImport of that size.`,
    '',
    table(['wrapping key', 'PKCS#8 bytes', 'SPKI bytes', 'one pair', `pool of ${POOL_SIZE}`], poolRows),
    ...(findings.length ? ['', 'Findings:', '', ...findings.map((f) => `- ${f}`)] : []),
  ].join('\n');
  return { markdown, goals: [] };
}

function importFindings(
  gpfi: Map<Spec, Samples>,
  bursts: { label: string; calls: BurstCall[] }[],
  imp: { imports: Map<Slot, number[]>; bare: Map<Spec, number[]> },
  slots: Slot[],
  sizes: Record<Spec, { pkcs8: number; spki: number }>,
  poolTotal: number,
): string[] {
  const out: string[] = [];
  const m = (spec: Spec, k: 'warm' | 'cold' | 'refill') => median(gpfi.get(spec)![k]);
  out.push(
    `With the pool, a GetParametersForImport costs ${SPECS.map((s) => `${ms(m(s, 'warm'))} ms (${s})`).join(', ')} at p50: importing the pooled PKCS#8 as a non-extractable CryptoKey and making the token. Without it (pool empty), ${SPECS.map((s) => `${ms(m(s, 'cold'))} ms (${s})`).join(', ')}: ${SPECS.map((s) => `${fmt(m(s, 'cold') / m(s, 'warm'), 0)}x`).join(', ')} the warm call. RSA generation on this machine is slow and spread wide (one pair: p50 ${SPECS.map((s) => `${ms(m(s, 'refill'))} ms`).join(', ')}; p90 ${SPECS.map((s) => `${ms(percentile(gpfi.get(s)!.refill, 90))} ms`).join(', ')}), so the pool is what keeps the call from waiting on it.`,
  );
  out.push(
    `An empty-pool call waits for one generation: \`wrappingPair\` (packages/core/src/imports.ts) generates the caller's pair first and refills the pool after it (the gate runs one generation at a time). Measured: cold p50 is ${SPECS.map((s) => `${fmt(m(s, 'cold') / m(s, 'refill'), 1)}x (${s})`).join(', ')} the p50 of one pair (a few samples of a wide spread: about 1x is what the code predicts; before this was fixed it was about 2x).`,
  );
  const seq = bursts[0]!.calls;
  const gen4096 = m('RSA_4096', 'refill');
  const slowSeq = seq.map((c, i) => ({ i, c })).filter(({ c }) => c.ms > 5 * m('RSA_4096', 'warm'));
  const together = bursts[1]!.calls;
  out.push(
    `The pool of ${POOL_SIZE} covers ${POOL_SIZE} calls in a row; its refill makes one pair at a time. ${bursts[0]!.label}: ${seq.map((c) => ms(c.ms)).join(', ')} ms: ${
      slowSeq.length
        ? `call${slowSeq.length === 1 ? '' : 's'} ${slowSeq.map(({ i }) => i + 1).join(' and ')} waited on generation (${slowSeq.map(({ c }) => `${fmt(c.ms / gen4096, 1)}x`).join(' and ')} the p50 of one RSA_4096 pair: the refill's generation, then its own, as a cold call; single generations spread wide here), and a call in between can find the pair the refill just finished`
        : 'no call waited on generation'
    }. All at once: ${together.map((c) => `${ms(c.ms)}${c.error ? ` ${c.error}` : ''}`).join(', ')} ms: the calls the pool could not serve wait in the gate one generation after another (the last ${fmt(Math.max(...together.map((c) => c.ms)) / gen4096, 1)}x the p50 of one pair).`,
  );
  const throttled = bursts.map((b) => ({ b, n: b.calls.filter((c) => c.error === 'ThrottlingException').length }));
  // What the gate's code predicts for calls all at once: requests hold its GATE_LIMIT places (a pool's background refill holds none).
  const expected = (calls: number, pooled: number) => Math.max(0, calls - pooled - GATE_LIMIT);
  const predicted = [expected(bursts[1]!.calls.length, POOL_SIZE), expected(bursts[2]!.calls.length, 0)];
  const asPredicted = throttled[0]!.n === 0 && throttled[1]!.n === predicted[0] && throttled[2]!.n === predicted[1];
  out.push(
    `ThrottlingException: ${throttled.map(({ b, n }) => `${n} of ${b.calls.length} (${b.label})`).join('; ')}. ${
      asPredicted
        ? `As the gate's code says: it admits ${GATE_LIMIT} requests' generations at once, the running one included (RSA_QUEUE_LIMIT ${GATE_LIMIT}), and a pool's background refill takes none of those places (it queues behind them and starts only while no request waits). So from a full pool ${POOL_SIZE + GATE_LIMIT} calls at once are served and the next is refused; from an empty pool (every size's pool until its first call after a start, or one a burst has just drained) ${GATE_LIMIT}: a client that asks for more tokens of one size at once right after the server started gets ThrottlingException for the rest (the AWS SDKs retry it). One after another, calls never reach the limit.`
        : `The gate's code (RSA_QUEUE_LIMIT ${GATE_LIMIT} requests, the running one counted, a background refill holding no place) predicts ${predicted[0]} refused from a full pool and ${predicted[1]} from an empty one, all at once, and none one after another: the measurement differs, so the gate or the pool changed since this section was written.`
    }`,
  );
  const p50Of = (pred: (s: Slot) => boolean) => slots.filter(pred).map((s) => median(imp.imports.get(s)!));
  const range = (xs: number[]) => {
    const [lo, hi] = [ms(Math.min(...xs)), ms(Math.max(...xs))];
    return lo === hi ? `${lo} ms` : `${lo}-${hi} ms`;
  };
  const sym = (spec: Spec) => p50Of((s) => s.c.wrapping === spec && s.c.keySpec === 'SYMMETRIC_DEFAULT');
  const rsa = p50Of((s) => s.c.keySpec === 'RSA_2048');
  const ecc = p50Of((s) => s.c.keySpec === 'ECC_NIST_P256');
  const bare = (spec: Spec) => median(imp.bare.get(spec)!);
  out.push(
    `ImportKeyMaterial (p50, the two cores) is the wrapping key's RSA-OAEP private-key operation and little else for symmetric material: ${range(sym('RSA_2048'))} under RSA_2048 and ${range(sym('RSA_4096'))} under RSA_4096, where the bare decrypt alone is ${ms(bare('RSA_2048'))} and ${ms(bare('RSA_4096'))} ms. Asymmetric material adds its checks (the public key derived from the private key, the key opened as its own kind): the RSA_2048 key under RSA_AES_KEY_WRAP_SHA_256 / RSA_4096 takes ${range(rsa)} (${ms(Math.min(...rsa) - bare('RSA_4096'))} ms or more beyond the bare RSA_4096 decrypt; the AES key wrap itself is small), the P-256 key under RSA_3072 ${range(ecc)} (bare RSA_3072 decrypt ${ms(bare('RSA_3072'))} ms). The two cores are alike: the provider only seals the material (one AES-GCM).`,
  );
  out.push(
    `What the pool costs: ${POOL_SIZE} pairs per size of PKCS#8 + SPKI bytes, ${SPECS.map((s) => `${fmt(POOL_SIZE * (sizes[s].pkcs8 + sizes[s].spki))} bytes (${s})`).join(', ')}: ${fmt(poolTotal)} bytes (${fmt(poolTotal / 1024, 1)} KiB) for all three sizes full, once per process; a size that is never asked for costs nothing. Beyond those bytes, keeping it full costs one background RSA generation per call served from it, on the same crypto threads and CPU as every other request (${ms(m('RSA_4096', 'refill'))} ms of one core per RSA_4096 call at p50 here), which the caller no longer waits for. (Not part of the pool: every token issued keeps its wrapping private key as a CryptoKey for 24 hours, up to 1,000 tokens per Region.)`,
  );
  return out;
}
