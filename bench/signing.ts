/**
 * Section 9 of `npm run bench` (node --import tsx bench/run.ts; alone: `npm run bench --
 * --only=signing`): signing keys and HMAC keys (issue 17).
 *   1. In process: `createKms({ crypto: createNodeCryptoProvider() })` (memory store, open
 *      authentication so the protocol function can be called too), a 256-byte message:
 *        - core: `kms.execute('Sign' | 'Verify' | 'GenerateMac', …)`;
 *        - protocol: `kms.handleMessage` with a SigV4-signed TrentService request, JSON body and
 *          base64 blobs, as bench/oracle.ts does (what a server does per request, minus HTTP);
 *        - bare: `crypto.subtle.sign` / `verify` on the core's own key: the private (or HMAC)
 *          CryptoKey the core opened, read through `kms.engine.currentMaterial`, and the public
 *          key from GetPublicKey imported with `crypto.subtle.importKey('spki', …)`. Should that
 *          internal route ever fail, bare falls back to a generated key of the same algorithm
 *          and curve, and the output says so;
 *        - node:crypto: `crypto.sign` / `verify` / `createHmac` on the same key
 *          (`KeyObject.from(cryptoKey)`), for information: what a provider path for signing
 *          would be up against.
 *      ECDSA P-256 (ECDSA_SHA_256), Ed25519 (ED25519_SHA_512), RSA-2048
 *      (RSASSA_PKCS1_V1_5_SHA_256, only when CreateKey RSA_2048 succeeds: otherwise listed as not
 *      yet implemented) and HMAC_256 (HMAC_SHA_256, information). Interleaved rounds after a
 *      warm-up, ops/s medians, ratios the medians of per-round ratios; 1 and 32 calls in flight
 *      (the protocol and node:crypto cases at 1 only).
 *   2. HTTP: wrk (-t1 -c32, bench/post.lua) POSTs one SigV4-signed TrentService.Sign (P-256, and
 *      RSA-2048 when edge-kms has it) and GenerateMac (HMAC_256) to the real Node server
 *      (bench/http.ts startEdgeKms: `node --import tsx packages/node/src/cli.ts`, LMDB store) and
 *      to moto_server (which signs with ECC_NIST_P256 and RSA keys and MACs with HMAC keys, but
 *      has no ECC_NIST_EDWARDS25519: Ed25519 runs on edge-kms alone). Both servers start once and
 *      idle while the other is loaded; every round runs each call on edge-kms and moto next to
 *      each other, in alternating order.
 */
import { createHmac, KeyObject, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { createKms, toBase64, type Kms, type ProtocolMessage } from '@edge-kms/core';
import { createNodeCryptoProvider } from '@edge-kms/node/crypto';
import { call, signed, startEdgeKms, startMoto, wrk, type BenchRequest, type Child, type WrkResult } from './http.js';
import { fmt, interleavedRounds, log, median, pairedRatio, pct, table, type Case, type Goal } from './lib.js';
import { signedHeaders } from './sigv4.js';

export interface SigningOptions {
  warmupMs: number;
  rounds: number;
  roundMs: number;
  concurrencies: number[];
  messageBytes: number;
  /** wrk: rounds of runs per call and server, whole seconds each, warm-up seconds, connections. */
  httpRounds: number;
  httpSeconds: number;
  httpWarmupSeconds: number;
  httpConnections: number;
}

export const DEFAULT_SIGNING_OPTIONS: SigningOptions = {
  warmupMs: 200,
  rounds: 12,
  roundMs: 60,
  concurrencies: [1, 32],
  messageBytes: 256,
  httpRounds: 3,
  httpSeconds: 1,
  httpWarmupSeconds: 1,
  httpConnections: 32,
};

/** Issue 17: core Sign and Verify at this share of bare WebCrypto or more. */
const IN_PROCESS_GOAL = 0.8;
/** Issue 17: HTTP Sign at this multiple of moto_server's req/s or more. */
const HTTP_GOAL = 20;

interface SigningSpec {
  name: string;
  keySpec: string;
  algorithm: string;
  /** WebCrypto's sign/verify parameters and key-generation algorithm (the fallback key). */
  params: AlgorithmIdentifier | EcdsaParams;
  generate: EcKeyGenParams | RsaHashedKeyGenParams | Algorithm;
  /** node:crypto's digest name for crypto.sign (null: Ed25519 hashes itself). */
  nodeHash: string | null;
  /** Is the wire signature DER (ECDSA), while WebCrypto speaks r ‖ s? */
  der: boolean;
  /** Does moto_server sign with it? */
  moto: boolean;
}

const SIGNING: SigningSpec[] = [
  {
    name: 'ECDSA P-256',
    keySpec: 'ECC_NIST_P256',
    algorithm: 'ECDSA_SHA_256',
    params: { name: 'ECDSA', hash: 'SHA-256' },
    generate: { name: 'ECDSA', namedCurve: 'P-256' },
    nodeHash: 'sha256',
    der: true,
    moto: true,
  },
  {
    name: 'Ed25519',
    keySpec: 'ECC_NIST_EDWARDS25519',
    algorithm: 'ED25519_SHA_512',
    params: { name: 'Ed25519' },
    generate: { name: 'Ed25519' },
    nodeHash: null,
    der: false,
    moto: false,
  },
  {
    name: 'RSA-2048',
    keySpec: 'RSA_2048',
    algorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
    params: { name: 'RSASSA-PKCS1-v1_5' },
    generate: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    nodeHash: 'sha256',
    der: false,
    moto: true,
  },
];

const PROTOCOL_URL = 'http://127.0.0.1:4599/';

/** A SigV4-signed protocol message for `kms.handleMessage` (open mode parses the signature, checks nothing). */
function protocolMessage(op: string, input: Record<string, unknown>): ProtocolMessage {
  const body = JSON.stringify(input);
  const headers = signedHeaders(PROTOCOL_URL, `TrentService.${op}`, body);
  return { method: 'POST', url: PROTOCOL_URL, headers: { get: (n: string) => headers[n.toLowerCase()] ?? null }, body: new TextEncoder().encode(body) };
}

async function viaProtocol(kms: Kms, message: ProtocolMessage): Promise<void> {
  const r = await kms.handleMessage(message);
  if (r.status !== 200) throw new Error(`handleMessage: ${r.status} ${r.body.slice(0, 200)}`);
}

/**
 * The private (or HMAC) CryptoKey the core signs with for `algorithm`: the current version's
 * material (internal: kms.engine), the per-algorithm variant where the core opens one per scheme
 * (RSA: WebCrypto binds a key to one scheme and hash), as packages/core's signingRequest picks
 * it. Undefined when that route fails or gives a key of another algorithm.
 */
async function coreKeyOf(kms: Kms, keyId: string, algorithm: string, webCryptoName: string): Promise<CryptoKey | undefined> {
  try {
    const m = (await kms.engine.currentMaterial(await kms.engine.resolve(keyId))) as { key: CryptoKey; variants?: Record<string, CryptoKey> };
    const key = m.variants?.[algorithm] ?? m.key;
    if (key.algorithm.name !== webCryptoName) throw new Error(`its CryptoKey is ${key.algorithm.name}, not ${webCryptoName}`);
    return key;
  } catch (e) {
    log(`signing: the core's own CryptoKey is not reachable (${(e as Error).message}); bare uses a generated key`);
    return undefined;
  }
}

interface Row {
  label: string;
  results: Map<string, number[]>;
  /** The label of a goal judged on core / bare, if any. */
  goal?: string;
}

interface Prepared {
  spec: SigningSpec;
  keyId: string;
  sameKey: boolean;
  sign: { core: Case; protocol: Case; bare: Case; node: Case };
  verify: { core: Case; protocol: Case; bare: Case; node: Case };
}

/** Creates the key; undefined (and the reason) when edge-kms does not implement the spec yet. */
async function prepareSigning(kms: Kms, spec: SigningSpec, message: Uint8Array): Promise<Prepared | { unsupported: string }> {
  let keyId: string;
  try {
    keyId = ((await kms.execute('CreateKey', { KeySpec: spec.keySpec, KeyUsage: 'SIGN_VERIFY' })) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
  } catch (e) {
    const err = e as { code?: string; message: string };
    return { unsupported: `CreateKey {KeySpec: '${spec.keySpec}', KeyUsage: 'SIGN_VERIFY'} answers ${err.code ?? 'an error'}: ${err.message}` };
  }
  const input = { KeyId: keyId, Message: message, SigningAlgorithm: spec.algorithm };
  const signature = ((await kms.execute('Sign', input)) as { Signature: Uint8Array }).Signature;
  const spki = ((await kms.execute('GetPublicKey', { KeyId: keyId })) as { PublicKey: Uint8Array }).PublicKey;

  const corePrivate = await coreKeyOf(kms, keyId, spec.algorithm, spec.generate.name);
  let privateKey: CryptoKey;
  let publicKey: CryptoKey;
  if (corePrivate) {
    privateKey = corePrivate;
    publicKey = await crypto.subtle.importKey('spki', spki as BufferSource, spec.generate, false, ['verify']);
  } else {
    const pair = (await crypto.subtle.generateKey(spec.generate, false, ['sign', 'verify'])) as CryptoKeyPair;
    privateKey = pair.privateKey;
    publicKey = pair.publicKey;
  }
  const nodePrivate = KeyObject.from(privateKey);
  const nodePublic = KeyObject.from(publicKey);
  const nodeKey = <K>(key: K) => (spec.der ? { key, dsaEncoding: 'der' as const } : key);
  // The cases must compute the same thing: the core's signature verifies under the key bare uses,
  // and bare's (through node:crypto, DER where the wire is DER) verifies in the core.
  const bareSig = new Uint8Array(await crypto.subtle.sign(spec.params, privateKey, message as BufferSource));
  const nodeSig = nodeSign(spec.nodeHash, message, nodeKey(nodePrivate));
  if (corePrivate) {
    if (!nodeVerify(spec.nodeHash, message, nodeKey(nodePublic), signature))
      throw new Error(`${spec.name}: the core's signature does not verify under its public key`);
    await kms.execute('Verify', { ...input, Signature: nodeSig }); // throws KMSInvalidSignatureException if not
  }
  if (!(await crypto.subtle.verify(spec.params, publicKey, bareSig as BufferSource, message as BufferSource)))
    throw new Error(`${spec.name}: bare does not verify`);

  const b64 = { KeyId: keyId, Message: toBase64(message), SigningAlgorithm: spec.algorithm };
  const signMsg = protocolMessage('Sign', b64);
  const verifyMsg = protocolMessage('Verify', { ...b64, Signature: toBase64(signature) });
  const verifyInput = { ...input, Signature: signature };
  return {
    spec,
    keyId,
    sameKey: corePrivate !== undefined,
    sign: {
      core: { name: 'core', fn: () => kms.execute('Sign', input) },
      protocol: { name: 'protocol', fn: () => viaProtocol(kms, signMsg) },
      bare: { name: 'bare', fn: () => crypto.subtle.sign(spec.params, privateKey, message as BufferSource) },
      node: { name: 'node', fn: async () => nodeSign(spec.nodeHash, message, nodeKey(nodePrivate)) },
    },
    verify: {
      core: { name: 'core', fn: () => kms.execute('Verify', verifyInput) },
      protocol: { name: 'protocol', fn: () => viaProtocol(kms, verifyMsg) },
      bare: { name: 'bare', fn: () => crypto.subtle.verify(spec.params, publicKey, bareSig as BufferSource, message as BufferSource) },
      node: { name: 'node', fn: async () => nodeVerify(spec.nodeHash, message, nodeKey(nodePublic), corePrivate ? signature : nodeSig) },
    },
  };
}

async function prepareMac(kms: Kms, message: Uint8Array): Promise<{ sameKey: boolean; cases: Prepared['sign'] }> {
  const keyId = ((await kms.execute('CreateKey', { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })) as { KeyMetadata: { KeyId: string } }).KeyMetadata
    .KeyId;
  const input = { KeyId: keyId, Message: message, MacAlgorithm: 'HMAC_SHA_256' };
  const mac = ((await kms.execute('GenerateMac', input)) as { Mac: Uint8Array }).Mac;
  const coreKey = await coreKeyOf(kms, keyId, 'HMAC_SHA_256', 'HMAC');
  const key = coreKey ?? (await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256', length: 256 }, false, ['sign']));
  const nodeKey = KeyObject.from(key);
  if (coreKey) {
    const bare = Buffer.from(await crypto.subtle.sign('HMAC', key, message as BufferSource));
    const node = createHmac('sha256', nodeKey).update(message).digest();
    if (!bare.equals(Buffer.from(mac)) || !node.equals(bare)) throw new Error('HMAC_256: core, bare and node:crypto MACs differ');
  }
  const msg = protocolMessage('GenerateMac', { KeyId: keyId, Message: toBase64(message), MacAlgorithm: 'HMAC_SHA_256' });
  return {
    sameKey: coreKey !== undefined,
    cases: {
      core: { name: 'core', fn: () => kms.execute('GenerateMac', input) },
      protocol: { name: 'protocol', fn: () => viaProtocol(kms, msg) },
      bare: { name: 'bare', fn: () => crypto.subtle.sign('HMAC', key, message as BufferSource) },
      node: { name: 'node', fn: async () => createHmac('sha256', nodeKey).update(message).digest() },
    },
  };
}

// ---------------------------------------------------------------- HTTP

interface HttpCall {
  name: string;
  /** Requests per server; moto's is undefined where moto cannot. */
  edge: BenchRequest;
  moto?: BenchRequest;
  goal: boolean;
}

/** Creates a key on a server, checks Sign (and Verify) or GenerateMac (and VerifyMac) answer, returns the request. */
async function httpRequestFor(url: string, what: SigningSpec | 'mac', message: string): Promise<BenchRequest> {
  if (what === 'mac') {
    const KeyId = ((await call(url, 'CreateKey', { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })) as { KeyMetadata: { KeyId: string } }).KeyMetadata
      .KeyId;
    const input = { KeyId, Message: message, MacAlgorithm: 'HMAC_SHA_256' };
    const r = await call(url, 'GenerateMac', input);
    if ((await call(url, 'VerifyMac', { ...input, Mac: r.Mac })).MacValid !== true) throw new Error(`VerifyMac on ${url} did not verify`);
    return signed(url, 'GenerateMac', input);
  }
  const KeyId = ((await call(url, 'CreateKey', { KeySpec: what.keySpec, KeyUsage: 'SIGN_VERIFY' })) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
  const input = { KeyId, Message: message, SigningAlgorithm: what.algorithm };
  const r = await call(url, 'Sign', input);
  if ((await call(url, 'Verify', { ...input, Signature: r.Signature })).SignatureValid !== true) throw new Error(`Verify on ${url} did not verify`);
  return signed(url, 'Sign', input);
}

interface HttpOutcome {
  rows: string[][];
  goals: Goal[];
  errors: number;
  /** Per call: edge-kms and moto req/s (medians), for the findings. */
  rps: Map<string, { edge: number; moto?: number }>;
}

async function runHttp(o: SigningOptions, specs: SigningSpec[], message: string): Promise<HttpOutcome> {
  log('signing: HTTP: starting edge-kms and moto_server');
  const servers: { edge: Child; moto?: Child } = { edge: await startEdgeKms(false) };
  try {
    servers.moto = await startMoto();
    const calls: HttpCall[] = [];
    for (const spec of specs) {
      calls.push({
        name: `Sign ${spec.name}`,
        edge: await httpRequestFor(servers.edge.url, spec, message),
        moto: spec.moto ? await httpRequestFor(servers.moto.url, spec, message) : undefined,
        goal: true,
      });
    }
    calls.push({
      name: 'GenerateMac HMAC_256',
      edge: await httpRequestFor(servers.edge.url, 'mac', message),
      moto: await httpRequestFor(servers.moto.url, 'mac', message),
      goal: false,
    });
    const run = (side: 'edge' | 'moto', c: HttpCall, seconds: number) => wrk(servers[side]!.url, c.name, c[side]!, seconds, o.httpConnections);
    const sides = (c: HttpCall) => (c.moto ? (['edge', 'moto'] as const) : (['edge'] as const));
    for (const c of calls) for (const side of sides(c)) await run(side, c, o.httpWarmupSeconds);
    const out = new Map<string, WrkResult[]>();
    for (let round = 0; round < o.httpRounds; round++) {
      for (const c of round % 2 ? [...calls].reverse() : calls) {
        for (const side of round % 2 ? [...sides(c)].reverse() : sides(c)) {
          const r = await run(side, c, o.httpSeconds);
          log(`signing: HTTP ${side === 'edge' ? 'edge-kms' : 'moto_server'} ${c.name}: ${fmt(r.rps)} req/s (p50 ${fmt(r.p50Ms)} ms)`);
          const key = `${side}/${c.name}`;
          out.set(key, [...(out.get(key) ?? []), r]);
        }
      }
    }
    const rows: string[][] = [];
    const goals: Goal[] = [];
    const rps: HttpOutcome['rps'] = new Map();
    for (const c of calls) {
      const edge = out.get(`edge/${c.name}`)!;
      const moto = out.get(`moto/${c.name}`);
      rps.set(c.name, { edge: median(edge.map((r) => r.rps)), moto: moto && median(moto.map((r) => r.rps)) });
      const ratio = moto ? median(edge.map((r, i) => r.rps / moto[i]!.rps)) : undefined;
      rows.push([
        c.name,
        fmt(median(edge.map((r) => r.rps))),
        moto ? fmt(median(moto.map((r) => r.rps))) : 'moto has no such key',
        ratio === undefined ? 'n/a' : `${fmt(ratio, 1)}x`,
        `${fmt(median(edge.map((r) => r.p50Ms)))} / ${moto ? fmt(median(moto.map((r) => r.p50Ms))) : 'n/a'}`,
        `${edge.map((r) => fmt(r.rps)).join(' / ')}${moto ? `; ${moto.map((r) => fmt(r.rps)).join(' / ')}` : ''}`,
      ]);
      if (c.goal && ratio !== undefined) {
        goals.push({ goal: `HTTP ${c.name}: edge-kms >= ${HTTP_GOAL}x moto_server req/s`, measured: `${fmt(ratio, 1)}x`, met: ratio >= HTTP_GOAL });
      }
    }
    const errors = [...out.values()].flat().reduce((n, r) => n + r.errors, 0);
    return { rows, goals, errors, rps };
  } finally {
    await Promise.all([servers.edge.stop(), servers.moto?.stop()]);
  }
}

// ---------------------------------------------------------------- the section

export async function runSigningBench(o: SigningOptions = DEFAULT_SIGNING_OPTIONS): Promise<{ markdown: string; goals: Goal[] }> {
  const kms = createKms({ authentication: { mode: 'open' }, crypto: createNodeCryptoProvider() });
  const message = crypto.getRandomValues(new Uint8Array(o.messageBytes));
  const goals: Goal[] = [];
  const notes: string[] = [];
  const prepared: Prepared[] = [];
  for (const spec of SIGNING) {
    const p = await prepareSigning(kms, spec, message);
    if ('unsupported' in p) {
      log(`signing: ${spec.name}: not yet implemented (${p.unsupported})`);
      notes.push(`${spec.name} (${spec.keySpec}, ${spec.algorithm}) is not measured: not yet implemented in edge-kms. ${p.unsupported}`);
      goals.push({
        goal: `${spec.name} Sign and Verify in process >= ${pct(IN_PROCESS_GOAL)} of bare WebCrypto; HTTP Sign >= ${HTTP_GOAL}x moto_server`,
        measured: `not yet implemented (CreateKey ${spec.keySpec} refused)`,
        met: false,
      });
    } else {
      prepared.push(p);
    }
  }
  const mac = await prepareMac(kms, message);

  const rows: Row[] = [];
  const first = o.concurrencies[0];
  const casesAt = (c: Prepared['sign'], concurrency: number) => (concurrency === first ? [c.core, c.protocol, c.bare, c.node] : [c.core, c.bare]);
  for (const concurrency of o.concurrencies) {
    const todo: [string, Prepared['sign'], boolean][] = [
      ...prepared.flatMap((p) => [
        [`${p.spec.name} Sign`, p.sign, true] as [string, Prepared['sign'], boolean],
        [`${p.spec.name} Verify`, p.verify, true] as [string, Prepared['sign'], boolean],
      ]),
      ['HMAC_256 GenerateMac (information)', mac.cases, false],
    ];
    for (const [name, cases, isGoal] of todo) {
      const label = `${name}, ${concurrency} in flight`;
      const results = await interleavedRounds(casesAt(cases, concurrency), { ...o, concurrency });
      const m = (k: string) => (results.has(k) ? median(results.get(k)!) : undefined);
      log(
        `signing: ${label}: core ${fmt(m('core')!)}, bare ${fmt(m('bare')!)} ops/s (${pct(pairedRatio(results, 'core', 'bare'))})${results.has('protocol') ? `, protocol ${fmt(m('protocol')!)}, node:crypto ${fmt(m('node')!)}` : ''}`,
      );
      rows.push({ label, results, goal: isGoal ? label : undefined });
    }
  }
  for (const r of rows) {
    if (!r.goal) continue;
    const ratio = pairedRatio(r.results, 'core', 'bare');
    goals.push({ goal: `In-process ${r.goal}: core >= ${pct(IN_PROCESS_GOAL)} of bare WebCrypto`, measured: pct(ratio), met: ratio >= IN_PROCESS_GOAL });
  }

  const http = await runHttp(
    o,
    prepared.map((p) => p.spec),
    toBase64(message),
  );
  goals.push(...http.goals);

  const us = (opsPerS: number | undefined) => (opsPerS === undefined ? 'n/a' : fmt(1e6 / opsPerS, 1));
  const tableRows = rows.map((r) => {
    const m = (k: string) => (r.results.has(k) ? median(r.results.get(k)!) : undefined);
    const ratio = (k: string) => (r.results.has(k) ? pct(pairedRatio(r.results, k, 'bare')) : 'n/a');
    const opt = (k: string) => (m(k) === undefined ? 'n/a' : fmt(m(k)!));
    return [
      r.label,
      fmt(m('core')!),
      fmt(m('bare')!),
      ratio('core'),
      opt('protocol'),
      ratio('protocol'),
      opt('node'),
      ratio('node'),
      `${us(m('core'))} / ${us(m('bare'))}`,
    ];
  });
  const allSame = prepared.every((p) => p.sameKey) && mac.sameKey;
  const findings = signingFindings(rows, http, first, o.concurrencies[o.concurrencies.length - 1]);
  const markdown = [
    `In process: \`createKms({ crypto: createNodeCryptoProvider() })\` (memory store, open authentication), a ${o.messageBytes}-byte message; ${o.rounds} interleaved rounds of ${o.roundMs} ms per case after ${o.warmupMs} ms warm-up; ops/s are medians over rounds, "/ bare" the median of the per-round ratios. **core**: \`kms.execute('Sign' | 'Verify' | 'GenerateMac', …)\`; **protocol**: \`kms.handleMessage\` with a SigV4-signed TrentService request (JSON, base64 blobs); **bare**: \`crypto.subtle.sign\` / \`verify\` ${allSame ? "on the core's own key (the CryptoKey it opened, read through `kms.engine.currentMaterial`; the public key from GetPublicKey, imported as SPKI)" : "on a generated key of the same algorithm and curve (the core's own CryptoKey was not reachable through `kms.engine`)"}, signatures as WebCrypto gives them (r ‖ s for ECDSA; the core converts to and from DER); **node:crypto** (information): \`crypto.sign\` / \`verify\` / \`createHmac\` on the same key through \`KeyObject.from\`. The protocol and node:crypto cases run at ${first} in flight only. Before timing, the core's signatures are checked to verify under bare's public key and node:crypto's to verify in the core (and the three MACs to be equal).`,
    '',
    table(
      [
        'call, calls in flight',
        'core ops/s',
        'bare WebCrypto ops/s',
        'core / bare',
        'protocol ops/s',
        'protocol / bare',
        'node:crypto ops/s',
        'node:crypto / bare',
        'µs/call core / bare',
      ],
      tableRows,
    ),
    '',
    `HTTP: wrk -t1 -c${o.httpConnections} -d${o.httpSeconds}s, ${o.httpRounds} rounds after ${o.httpWarmupSeconds} s of warm-up per call and server; the real Node server (\`startEdgeKms\`: \`packages/node/src/cli.ts\`, LMDB store, open mode) and moto_server, each started once, one loaded at a time, the edge-kms and moto runs of a call next to each other in every round (the order alternating). Every request is SigV4-signed (bench/sigv4.ts), a ${o.messageBytes}-byte message; each server's Sign was checked with its own Verify (GenerateMac with VerifyMac) first. req/s are medians over rounds, "edge / moto" the median of the per-round ratios.`,
    '',
    table(['call', 'edge-kms req/s', 'moto_server req/s', 'edge / moto', 'p50 ms edge / moto', 'per round req/s (edge; moto)'], http.rows),
    '',
    `Socket errors or timeouts over all wrk runs: ${http.errors}. moto_server has no ECC_NIST_EDWARDS25519 keys, so Ed25519 runs on edge-kms alone.`,
    ...notes.map((n) => `\nNote: ${n}`),
    ...(findings.length ? ['', 'Findings:', '', ...findings.map((f) => `- ${f}`)] : []),
  ].join('\n');
  return { markdown, goals };
}

/**
 * What the numbers say where a goal is missed: the core's extra time per call, what node:crypto
 * does on the same key, and for HTTP the machine's own signing ceiling (bare WebCrypto with every
 * core busy, no HTTP at all) against moto.
 */
function signingFindings(rows: Row[], http: HttpOutcome, first: number | undefined, most: number | undefined): string[] {
  const out: string[] = [];
  const m = (r: Row, k: string) => (r.results.has(k) ? median(r.results.get(k)!) : undefined);
  const missed = rows.filter((r) => r.goal && pairedRatio(r.results, 'core', 'bare') < IN_PROCESS_GOAL);
  if (missed.length) {
    const extra = missed.map((r) => `${r.label} +${fmt(1e6 / m(r, 'core')! - 1e6 / m(r, 'bare')!, 1)} µs`).join(', ');
    out.push(
      `Core below ${pct(IN_PROCESS_GOAL)} of bare: ${extra} per call over the bare call (wall time; at ${most} in flight the core's main-thread JavaScript competes with the crypto worker threads for the cores). That is the operation around the signature: input checks, resolve, key policy, \`familyOf(spec).signing(spec)\` (ecc.ts builds a fresh \`how\` table with object spreads on every Sign and Verify: it could be built once per spec, as rsa.ts's is), DER conversion (\`p1363ToDer\`), the ARN.`,
    );
  }
  const nodeRows = rows.filter((r) => r.results.has('node') && m(r, 'node')! > m(r, 'bare')!);
  if (nodeRows.length) {
    out.push(
      `Bare WebCrypto is not the fastest way to sign on Node: node:crypto on the same key (\`KeyObject.from\`) at ${first} in flight runs at ${nodeRows.map((r) => `${pct(pairedRatio(r.results, 'node', 'bare'))} (${r.label.split(',')[0]!.replace(' (information)', '')})`).join(', ')} of bare. Sign, Verify, GenerateMac and VerifyMac call \`crypto.subtle\` directly (packages/core/src/operations/asymmetric/sign.ts, verify.ts, mac/generate-mac.ts, mac/verify-mac.ts), not the injected CryptoProvider that already routes AES-GCM and HMAC-SHA256 (SigV4) to node:crypto; \`sign\` / \`verify\` / \`hmac\` methods on CryptoProvider (node:crypto: a KeyObject per CryptoKey in a WeakMap, \`dsaEncoding: 'der'\`, which would also drop the DER conversion) would put the core above bare WebCrypto rather than below it.`,
    );
  }
  for (const r of http.goals.filter((g) => !g.met)) {
    const name = /^HTTP (.*): edge-kms/.exec(r.goal)?.[1];
    const rps = name ? http.rps.get(name) : undefined;
    const bareRow = rows.find((row) => name && row.label === `${name.replace(/^Sign /, '')} Sign, ${most} in flight`);
    if (!rps?.moto || !bareRow) continue;
    const ceiling = m(bareRow, 'bare')!;
    const oneRow = rows.find((row) => row.label === bareRow.label.replace(`, ${most} in flight`, `, ${first} in flight`));
    const oneUs = oneRow ? 1e6 / m(oneRow, 'bare')! : Number.NaN;
    out.push(
      `HTTP ${name} below ${HTTP_GOAL}x moto: edge-kms answers ${fmt(rps.edge)} req/s; bare WebCrypto alone, with no HTTP, parsing or wrk, signs ${fmt(ceiling)}/s on this machine at ${most} in flight, which is ${fmt(ceiling / rps.moto, 1)}x moto's ${fmt(rps.moto)} req/s (edge-kms over HTTP reached ${pct(rps.edge / ceiling)} of it). ${ceiling / rps.moto < HTTP_GOAL ? `The private-key operation itself, not edge-kms, bounds the ratio: one signature costs ${fmt(oneUs, 0)} µs (bare, ${first} in flight) against the ${fmt(1e6 / rps.moto, 0)} µs per request of moto's throughput, so ${HTTP_GOAL}x would need more than this machine's cores even with no server around the signature.` : 'The machine signs fast enough for the goal: the time goes to the server around the signature (compare the GenerateMac row, where the operation costs next to nothing).'}`,
    );
  }
  return out;
}
