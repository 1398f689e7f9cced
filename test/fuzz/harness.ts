/**
 * The fuzz harness: one KMS over a recording memory store and a frozen test clock, seeded with
 * real keys, aliases, grants and ciphertexts; a `world` of the ids it has made so far, which
 * request values refer to (values.ts Ref); and `send`, which puts one request through
 * `kms.handle` (or `kms.handleMessage`) and checks the properties of the suite:
 *
 *  1. nothing escapes: handle() resolves to a Response and never throws or rejects, and nothing
 *     reaches onInternalError (that is a 500, KMSInternalException, a crash on client input);
 *  2. every answer is AWS-shaped: `application/x-amz-json-1.1`, an `x-amzn-requestid`, a JSON
 *     object body; a failure has a 4xx status, a `__type` the model lists for that operation (or
 *     a generic protocol error, model.ts GENERIC_ERRORS), a string `message` without a stack
 *     trace, and the same name in `x-amzn-errortype`;
 *  3. a success has the model's output shape (model.ts checkShape);
 *  4. a failed call leaves the store as it was, and so does a successful read (Describe*, Get*,
 *     List*, Encrypt, Decrypt, ReEncrypt, GenerateDataKey*, GenerateRandom): every key record,
 *     version list and alias is compared before and after, and every write the call committed is
 *     accounted for (a write that no list shows, such as a version of a key that does not exist,
 *     is caught by the commit log). What a call may legitimately write, however it ends, is
 *     modelled exactly (see `unexplainedChanges`): applying what is due on a key it touches (an
 *     automatic rotation whose date has passed, a deletion whose waiting period is over: the
 *     engine applies them on first use), their effects on the other keys of a multi-Region set
 *     (a primary's due rotation reaches every replica; a deleted key leaves its set) and creating
 *     the AWS managed key of an `alias/aws/...` name the request names (AWS makes those on first
 *     use). The store compared is the raw one, every Region's keyspace (`~<region>/<id>`,
 *     region-scope.ts): a call may change nothing in any Region;
 *  5. no call takes longer than CALL_BUDGET_MS (a freeze, such as a backtracking pattern, is a
 *     denial of service).
 */
import { isDeepStrictEqual } from 'node:util';
import { AwsV4Signer } from 'aws4fetch';
import type fc from 'fast-check';
import {
  createKms,
  createMemoryStore,
  createTestClock,
  isDeletionDue,
  isRotationDue,
  regionPrefix,
  DAY_MS,
  type AliasRecord,
  type Identity,
  type KeyRecord,
  type Kms,
  type KmsStore,
  type MaterialVersion,
  type StoreWrite,
  type TestClock,
} from '@edge-kms/core';
import { abbreviate, allowedErrors, checkShape, MODEL, preview } from './model.js';
import { type Ref, resolveRefs, toJsonText } from './values.js';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';
export const keyArn = (id: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
export const aliasArn = (name: string, region = REGION) => `arn:aws:kms:${region}:${ACCOUNT}:${name}`;
/** The Region of the seeded multi-Region key's replica. */
export const REPLICA_REGION = 'eu-west-1';

/** The id under which the raw store keeps a Region's record (region-scope.ts): `~<region>/<id>`. */
export const physicalId = (id: string, region = REGION) => regionPrefix(region) + id;

/**
 * A raw store id split into its Region keyspace and the id that Region's view shows (key ids,
 * version key ids and alias names carry the prefix; an alias's TargetKeyId does not). An id
 * without a prefix (a record written before Regions existed) is in no Region.
 */
export function splitPhysical(physical: string): { region: string | undefined; prefix: string; id: string } {
  const m = /^~([^/]+)\//.exec(physical);
  return m ? { region: m[1]!, prefix: m[0], id: physical.slice(m[0].length) } : { region: undefined, prefix: '', id: physical };
}

// ---------------------------------------------------------------------------------------------
// Run configuration: a bounded run in `npm test`, a long one with EDGE_KMS_FUZZ_RUNS or FUZZ=long.

const envRuns = Number(process.env.EDGE_KMS_FUZZ_RUNS ?? '');
export const LONG = process.env.FUZZ === 'long' || (Number.isInteger(envRuns) && envRuns > 0);
/** The number of runs of a property: `short` in npm test, EDGE_KMS_FUZZ_RUNS (or `long`) in a long run. */
export function runs(short: number, long: number): number {
  if (Number.isInteger(envRuns) && envRuns > 0) return envRuns;
  return LONG ? long : short;
}
/** fast-check parameters: a replayable seed (printed on failure) and, in short runs, a time cap. */
export function fcParams(numRuns: number, shortTimeCapMs: number): fc.Parameters<unknown> {
  const seed = process.env.EDGE_KMS_FUZZ_SEED ? Number(process.env.EDGE_KMS_FUZZ_SEED) : undefined;
  const path = process.env.EDGE_KMS_FUZZ_PATH;
  return {
    numRuns,
    ...(seed !== undefined ? { seed } : {}),
    ...(path ? { path } : {}),
    // A short run stops starting new cases after its time cap (on a slow, shared machine), a long one never does.
    ...(LONG ? {} : { interruptAfterTimeLimit: shortTimeCapMs }),
  };
}
/** Vitest timeout of one property: its time cap plus room for shrinking a failure, or a day in a long run. */
export const testTimeout = (shortTimeCapMs: number) => (LONG ? 24 * 3600_000 : shortTimeCapMs + 45_000);
/** No call may take longer (EDGE_KMS_FUZZ_CALL_MS): a shared 2-core machine is slow, a freeze is slower. */
export const CALL_BUDGET_MS = Number(process.env.EDGE_KMS_FUZZ_CALL_MS ?? 5000);

// ---------------------------------------------------------------------------------------------
// KNOWN holes: a problem that matches one of these is counted, not failed, so that the other
// properties keep running while it is being fixed. Each one is reported; remove the entry once
// its fix is in (regressions.test.ts has the exact reproduction of each).

export interface KnownHole {
  id: string;
  matches(op: string, requestText: string, problems: string[]): boolean;
}
// None open now. Fixed: condition operators named "__proto__"/"constructor" (conditions.ts), and a
// "__proto__" grant constraint key dropped by toWire (protocol.ts): regressions.test.ts.
export const KNOWN: KnownHole[] = [];
export const knownHits = new Map<string, number>();

/**
 * Error names edge-kms answers with that the model does not list for that operation (nor as a
 * generic error). AWS's model lists are not complete, so some of these may be what AWS answers
 * too; each is reported for a decision (answer a listed error, or keep it and say why here).
 */
export const UNDECLARED_ERRORS: Record<string, readonly string[]> = {
  // KNOWN: edge-kms answers these where the model does not list them for the operation; reported.
  // - InvalidArnException for a malformed key ARN (`arn:aws:kms:us-east-1:111122223333:key/<id>/extra`,
  //   `arn:aws:kms::111122223333:key/<id>`) in the key-using operations whose model lists no InvalidArnException.
  // - UnsupportedOperationException for Recipient (attested enclaves) in Decrypt and GenerateDataKey,
  //   and for customer-key operations on an AWS managed key (`alias/aws/ebs`).
  // - InvalidAliasNameException from DeleteAlias and UpdateAlias for a name under `alias/aws/` or `alias/` alone
  //   (a name without `alias/` is AWS's ValidationException, alias-rules.ts).
  // - InvalidGrantTokenException from DescribeKey (every operation checks GrantTokens, kms.ts execute).
  Encrypt: ['InvalidArnException'],
  Decrypt: ['InvalidArnException', 'UnsupportedOperationException'],
  ReEncrypt: ['InvalidArnException', 'UnsupportedOperationException'],
  GenerateDataKey: ['InvalidArnException', 'UnsupportedOperationException'],
  GenerateDataKeyWithoutPlaintext: ['InvalidArnException'],
  GenerateMac: ['InvalidArnException'],
  GenerateDataKeyPair: ['InvalidArnException'],
  GenerateDataKeyPairWithoutPlaintext: ['InvalidArnException'],
  Sign: ['InvalidArnException'],
  DeriveSharedSecret: ['InvalidArnException', 'UnsupportedOperationException'],
  Verify: ['InvalidArnException'],
  VerifyMac: ['InvalidArnException'],
  CreateAlias: ['InvalidArnException', 'UnsupportedOperationException'],
  UpdateAlias: ['InvalidArnException', 'InvalidAliasNameException', 'UnsupportedOperationException'],
  DeleteAlias: ['InvalidAliasNameException'],
  DescribeKey: ['InvalidGrantTokenException'],
  CancelKeyDeletion: ['UnsupportedOperationException'],
  DisableKey: ['UnsupportedOperationException'],
  EnableKey: ['UnsupportedOperationException'],
  ScheduleKeyDeletion: ['UnsupportedOperationException'],
  UpdateKeyDescription: ['UnsupportedOperationException'],
  TagResource: ['UnsupportedOperationException'],
  UntagResource: ['UnsupportedOperationException'],
  CreateGrant: ['UnsupportedOperationException'],
};

/**
 * EDGE_KMS_FUZZ_DISCOVER=1: record every problem (one example per kind) instead of failing at the
 * first, and print them at the end: for finding all the holes of a run at once.
 */
export const DISCOVER = Boolean(process.env.EDGE_KMS_FUZZ_DISCOVER);
export const discovered = new Map<string, { count: number; example: string }>();

/** How calls ended, `Op: ok` or `Op: ErrorName`, for the summary a test prints (is the fuzz reaching deep code?). */
export const outcomes = new Map<string, number>();

/** A few lines: per operation, calls that succeeded and the errors seen most. */
export function outcomeSummary(): string {
  const byOp = new Map<string, { ok: number; all: number; errors: Map<string, number> }>();
  for (const [k, n] of outcomes) {
    const [op, how] = k.split(': ') as [string, string];
    const e = byOp.get(op) ?? { ok: 0, all: 0, errors: new Map() };
    e.all += n;
    if (how === 'ok') e.ok += n;
    else e.errors.set(how, (e.errors.get(how) ?? 0) + n);
    byOp.set(op, e);
  }
  return [...byOp]
    .sort((a, b) => b[1].all - a[1].all)
    .map(
      ([op, e]) =>
        `${op}: ${e.ok}/${e.all} ok; ${[...e.errors]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 4)
          .map(([t, n]) => `${t} ${n}`)
          .join(', ')}`,
    )
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// The store: a memory store whose commits are logged, and snapshots of everything it holds.

export interface RecordingStore {
  store: KmsStore;
  commits: StoreWrite[][];
}

export function createRecordingStore(): RecordingStore {
  const inner = createMemoryStore();
  const commits: StoreWrite[][] = [];
  const store: KmsStore = {
    getKey: (id) => inner.getKey(id),
    getKeyNow: (id) => inner.getKeyNow!(id),
    listKeys: (o) => inner.listKeys(o),
    getVersion: (id, v) => inner.getVersion(id, v),
    listVersions: (id, o) => inner.listVersions(id, o),
    getAlias: (n) => inner.getAlias(n),
    listAliases: (o) => inner.listAliases(o),
    async commit(writes) {
      await inner.commit(writes);
      commits.push(structuredCloneWrites(writes));
    },
    clear: () => inner.clear(),
  };
  return { store, commits };
}

/** Writes as logged: CryptoKeys kept by reference (they cannot be cloned everywhere), the rest copied. */
function structuredCloneWrites(writes: StoreWrite[]): StoreWrite[] {
  return writes.map((w) => (w.type === 'putVersion' || w.type === 'replaceVersion' ? { ...w, version: { ...w.version } } : structuredClone(w)));
}

interface VersionSnapshot {
  KeyId: string;
  Version: number;
  KeyMaterialId: string;
  CreationDate: number;
  Origin: string;
  /** `cryptokey #n` (the same CryptoKey object keeps its number) or `wrapped alg hex`. */
  Material: string;
}

export interface Snapshot {
  keys: Map<string, KeyRecord>;
  versions: Map<string, VersionSnapshot[]>;
  aliases: Map<string, AliasRecord>;
}

const cryptoKeyIds = new WeakMap<object, number>();
let nextCryptoKeyId = 1;
function materialOf(v: MaterialVersion): string {
  const m = v.Material;
  if (m.kind === 'wrapped') return `wrapped ${m.alg} ${Buffer.from(m.data).toString('hex')}`;
  if (m.kind === 'deleted') return 'deleted';
  const id = (key: CryptoKey) => {
    let n = cryptoKeyIds.get(key);
    if (n === undefined) cryptoKeyIds.set(key, (n = nextCryptoKeyId++));
    return n;
  };
  if (m.kind === 'cryptokeys')
    return `cryptokeys ${Object.entries(m.keys)
      .map(([alg, key]) => `${alg} #${id(key)}`)
      .join(' ')}`;
  return `cryptokey #${id(m.key)}`;
}

/** Every key record, every version of every key, every alias: of every Region, by raw store id. */
export async function snapshot(store: KmsStore): Promise<Snapshot> {
  const keys = new Map<string, KeyRecord>();
  const versions = new Map<string, VersionSnapshot[]>();
  const aliases = new Map<string, AliasRecord>();
  for (let after: string | undefined; ; ) {
    const page = await store.listKeys({ after, limit: 1000 });
    for (const k of page.items) keys.set(k.KeyId, structuredClone(k));
    if (!page.next) break;
    after = page.next;
  }
  for (const id of keys.keys()) {
    const list = await store.listVersions(id, { after: 0, limit: 100_000 });
    versions.set(
      id,
      list.map((v) => ({
        KeyId: v.KeyId,
        Version: v.Version,
        KeyMaterialId: v.KeyMaterialId,
        CreationDate: v.CreationDate,
        Origin: v.Origin,
        Material: materialOf(v),
      })),
    );
  }
  for (let after: string | undefined; ; ) {
    const page = await store.listAliases({ after, limit: 1000 });
    for (const a of page.items) aliases.set(a.AliasName, structuredClone(a));
    if (!page.next) break;
    after = page.next;
  }
  return { keys, versions, aliases };
}

function fieldsThatDiffer(a: object, b: object): string {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names]
    .filter((n) => !isDeepStrictEqual((a as Record<string, unknown>)[n], (b as Record<string, unknown>)[n]))
    .map((n) => `${n}: ${preview((a as Record<string, unknown>)[n], 80)} -> ${preview((b as Record<string, unknown>)[n], 80)}`)
    .join(', ');
}

function isDueRotation(kb: KeyRecord, ka: KeyRecord, vb: VersionSnapshot[], va: VersionSnapshot[], now: number): boolean {
  const nv = va[va.length - 1];
  if (!nv || va.length !== vb.length + 1 || !isDeepStrictEqual(va.slice(0, -1), vb)) return false;
  if (nv.Version !== kb.CurrentVersion + 1 || nv.Origin !== 'AUTOMATIC' || nv.CreationDate !== now) return false;
  const expected: KeyRecord = {
    ...kb,
    CurrentVersion: nv.Version,
    CurrentKeyMaterialId: nv.KeyMaterialId,
    Rotation: { ...kb.Rotation, AnchorDate: now },
    Revision: kb.Revision + 1,
  };
  return isDeepStrictEqual(ka, expected);
}

/** The key records of the other Regions' keys of `physical`'s multi-Region set, by raw store id, as `snap` holds them. */
function setMembers(snap: Snapshot, physical: string, key: KeyRecord): [string, KeyRecord][] {
  const set = key.MultiRegionConfiguration;
  if (!set) return [];
  const { region, id } = splitPhysical(physical);
  const out: [string, KeyRecord][] = [];
  for (const r of [set.PrimaryRegion, ...set.ReplicaRegions]) {
    if (r === region) continue;
    const other = snap.keys.get(physicalId(id, r));
    if (other) out.push([physicalId(id, r), other]);
  }
  return out;
}

/** A replica whose primary was due for its automatic rotation (in `before`): the primary's raw id. */
function duePrimaryOf(before: Snapshot, physical: string, key: KeyRecord, now: number): string | undefined {
  const set = key.MultiRegionConfiguration;
  if (set?.MultiRegionKeyType !== 'REPLICA') return undefined;
  const primary = physicalId(splitPhysical(physical).id, set.PrimaryRegion);
  const p = before.keys.get(primary);
  return p && isRotationDue(p, now) ? primary : undefined;
}

/**
 * A replica after its primary's due rotation: what the set shares is the primary's (rotation
 * state, current version, the set), the rest its own, one revision on; one new version, the
 * primary's new one.
 */
function isReplicaOfDueRotation(
  kb: KeyRecord,
  ka: KeyRecord,
  vb: VersionSnapshot[],
  va: VersionSnapshot[],
  pa: KeyRecord | undefined,
  pva: VersionSnapshot[],
): boolean {
  if (!pa) return false;
  const pv = pva[pva.length - 1];
  const nv = va[va.length - 1];
  if (!pv || !nv || va.length !== vb.length + 1 || !isDeepStrictEqual(va.slice(0, -1), vb)) return false;
  if (!isDeepStrictEqual({ ...nv, KeyId: '' }, { ...pv, KeyId: '' })) return false;
  const expected: KeyRecord = {
    ...kb,
    KeySpec: pa.KeySpec,
    KeyUsage: pa.KeyUsage,
    Origin: pa.Origin,
    CurrentVersion: pa.CurrentVersion,
    CurrentKeyMaterialId: pa.CurrentKeyMaterialId,
    Rotation: pa.Rotation,
    OnDemandRotationCount: pa.OnDemandRotationCount,
    MultiRegionConfiguration: { ...pa.MultiRegionConfiguration!, MultiRegionKeyType: 'REPLICA' },
    Revision: kb.Revision + 1,
  };
  return isDeepStrictEqual(ka, expected);
}

/**
 * A key of a multi-Region set after other keys of the set were deleted (their deletion due):
 * their Regions leave the set, one revision on; a primary waiting for its replicas
 * (PendingReplicaDeletion) whose last replica went starts its own waiting period now.
 */
function isLeftBySet(kb: KeyRecord, ka: KeyRecord, vb: VersionSnapshot[], va: VersionSnapshot[], goneRegions: ReadonlySet<string>, now: number): boolean {
  const set = kb.MultiRegionConfiguration;
  if (!set || goneRegions.size === 0 || !isDeepStrictEqual(va, vb)) return false;
  const replicas = set.ReplicaRegions.filter((r) => !goneRegions.has(r));
  let expected: KeyRecord = { ...kb, MultiRegionConfiguration: { ...set, ReplicaRegions: replicas }, Revision: kb.Revision + 1 };
  if (expected.KeyState === 'PendingReplicaDeletion' && set.MultiRegionKeyType === 'PRIMARY' && replicas.length === 0) {
    expected = { ...expected, KeyState: 'PendingDeletion', DeletionDate: now + (kb.PendingDeletionWindowInDays ?? 30) * DAY_MS };
  }
  return isDeepStrictEqual(ka, expected);
}

/**
 * What changed between two snapshots that a failed call (or a successful read) may not change.
 * Allowed, and only these:
 *  - a key whose deletion was due (`isDeletionDue` at `now`) is gone, with its versions and the
 *    aliases that pointed at it (the engine deletes due keys when it meets them, ListKeys included);
 *    the other keys of its multi-Region set drop its Region (see isLeftBySet);
 *  - a key whose automatic rotation was due (`isRotationDue`) has exactly one new AUTOMATIC
 *    version made now, is current on it, and its rotation is re-anchored at now; the replicas of
 *    a multi-Region primary get that version and the primary's shared properties with it;
 *  - a new AWS managed key (KeyManager AWS, one CREATE version) with a new `alias/aws/...` alias
 *    of its Region, whose alias name (in the default Region) or alias ARN is a string in the
 *    request: made on first reference, as AWS does.
 * Keys and aliases are compared by raw store id, so every Region's keyspace counts.
 * The test clock does not move during a call, so `now` is the time every such write carries.
 */
export function unexplainedChanges(before: Snapshot, after: Snapshot, now: number, referenced: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const deleted = new Set<string>();
  for (const [id, kb] of before.keys) {
    if (!after.keys.has(id) && isDeletionDue(kb, now)) deleted.add(id);
  }
  // The Regions that left each key's set: those of its set's keys deleted now.
  const goneFrom = (id: string, kb: KeyRecord) =>
    new Set(
      setMembers(before, id, kb)
        .filter(([m]) => deleted.has(m))
        .map(([m]) => splitPhysical(m).region!),
    );
  for (const [id, kb] of before.keys) {
    const ka = after.keys.get(id);
    const vb = before.versions.get(id) ?? [];
    const va = after.versions.get(id) ?? [];
    if (!ka) {
      if (!deleted.has(id)) out.push(`key ${id} was deleted`);
      continue;
    }
    if (isDeepStrictEqual(ka, kb) && isDeepStrictEqual(va, vb)) continue;
    if (isRotationDue(kb, now) && isDueRotation(kb, ka, vb, va, now)) continue;
    const primary = duePrimaryOf(before, id, kb, now);
    if (primary && isReplicaOfDueRotation(kb, ka, vb, va, after.keys.get(primary), after.versions.get(primary) ?? [])) continue;
    if (isLeftBySet(kb, ka, vb, va, goneFrom(id, kb), now)) continue;
    out.push(
      `key ${id} changed: ${fieldsThatDiffer(kb, ka) || 'record equal'}; versions ${vb.length} -> ${va.length}${isDeepStrictEqual(va.slice(0, vb.length), vb) ? '' : ' (old versions changed)'}`,
    );
  }
  const newAwsKeys = new Set<string>();
  for (const [id, ka] of after.keys) {
    if (before.keys.has(id)) continue;
    const va = after.versions.get(id) ?? [];
    // An alias's TargetKeyId is the id its Region's view shows: a key of the same Region.
    const aliases = [...after.aliases.values()].filter((a) => splitPhysical(a.AliasName).prefix + a.TargetKeyId === id && !before.aliases.has(a.AliasName));
    const alias = aliases[0] && splitPhysical(aliases[0].AliasName);
    const ok =
      ka.KeyManager === 'AWS' &&
      va.length === 1 &&
      va[0]!.Version === 1 &&
      va[0]!.Origin === 'CREATE' &&
      aliases.length === 1 &&
      alias?.id.startsWith('alias/aws/') &&
      ((alias.region === REGION && referenced.has(alias.id)) || (alias.region !== undefined && referenced.has(aliasArn(alias.id, alias.region))));
    if (ok) newAwsKeys.add(id);
    else
      out.push(`key ${id} was created (KeyManager ${ka.KeyManager}, ${va.length} versions, aliases ${aliases.map((a) => a.AliasName).join(', ') || 'none'})`);
  }
  for (const [name, ab] of before.aliases) {
    const aa = after.aliases.get(name);
    if (!aa) {
      if (!deleted.has(splitPhysical(name).prefix + ab.TargetKeyId)) out.push(`alias ${name} was deleted`);
    } else if (!isDeepStrictEqual(aa, ab)) out.push(`alias ${name} changed: ${fieldsThatDiffer(ab, aa)}`);
  }
  for (const [name, aa] of after.aliases) {
    if (!before.aliases.has(name) && !newAwsKeys.has(splitPhysical(name).prefix + aa.TargetKeyId)) out.push(`alias ${name} was created`);
  }
  return out;
}

/** Committed writes that none of the allowed effects explains (see unexplainedChanges). Ids are raw store ids. */
export function unexplainedWrites(commits: StoreWrite[][], before: Snapshot, now: number): string[] {
  const out: string[] = [];
  const due = (id: string, f: (k: KeyRecord, now: number) => boolean) => {
    const k = before.keys.get(id);
    return k !== undefined && f(k, now);
  };
  // A replica whose primary's automatic rotation was due; a key of a set one of whose keys' deletion was due.
  const replicaOfDue = (id: string) => {
    const k = before.keys.get(id);
    return k !== undefined && duePrimaryOf(before, id, k, now) !== undefined;
  };
  const inSetOfDueDeletion = (id: string) => {
    const k = before.keys.get(id);
    return k !== undefined && setMembers(before, id, k).some(([, m]) => isDeletionDue(m, now));
  };
  for (const writes of commits) {
    const newAws = new Set(
      writes.filter((w) => w.type === 'putKey' && w.expectRevision === 0 && w.key.KeyManager === 'AWS').map((w) => (w as { key: KeyRecord }).key.KeyId),
    );
    for (const w of writes) {
      const ok =
        (w.type === 'putKey' && (newAws.has(w.key.KeyId) || due(w.key.KeyId, isRotationDue) || replicaOfDue(w.key.KeyId) || inSetOfDueDeletion(w.key.KeyId))) ||
        (w.type === 'putVersion' &&
          ((w.version.Origin === 'AUTOMATIC' && (due(w.version.KeyId, isRotationDue) || replicaOfDue(w.version.KeyId))) ||
            (w.version.Version === 1 && newAws.has(w.version.KeyId)))) ||
        (w.type === 'putAlias' &&
          w.expectTarget === null &&
          splitPhysical(w.alias.AliasName).id.startsWith('alias/aws/') &&
          newAws.has(splitPhysical(w.alias.AliasName).prefix + w.alias.TargetKeyId)) ||
        (w.type === 'deleteKey' && due(w.keyId, isDeletionDue)) ||
        (w.type === 'deleteAlias' && due(splitPhysical(w.aliasName).prefix + w.expectTarget, isDeletionDue));
      if (!ok)
        out.push(
          `committed ${w.type} ${preview(w.type === 'putKey' ? w.key.KeyId : w.type === 'putVersion' || w.type === 'replaceVersion' ? `${w.version.KeyId}/${w.version.Version}` : w.type === 'putAlias' ? w.alias.AliasName : w.type === 'deleteKey' ? w.keyId : w.aliasName, 80)}`,
        );
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The world: ids the KMS has made, for requests to refer to.

export interface CiphertextEntry {
  blob: string;
  context: Record<string, string> | undefined;
  keyId: string;
}

export interface World {
  keys: string[];
  aliases: string[];
  aliasTarget: Map<string, string>;
  ciphertexts: CiphertextEntry[];
  grants: GrantEntry[];
  markers: string[];
}

export interface GrantEntry {
  id: string;
  token: string;
  keyId: string;
}

const CAP = 48;
function remember<T>(list: T[], v: T): void {
  if (list.some((x) => isDeepStrictEqual(x, v))) return;
  list.push(v);
  if (list.length > CAP) list.splice(list.length >> 1, 1); // keep the seeded entries at the front
}

/** A key id in a string: a UUID, or a multi-Region key's `mrk-` id. */
const UUID = /mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
const b64url = (s: string) => Buffer.from(s, 'latin1').toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

function flipBit(bytes: Buffer, at: number): Buffer {
  const b = Buffer.from(bytes);
  if (b.length > 0) b[at % b.length]! ^= 1 << (at % 8);
  return b;
}

/** A ref's value in the world; `slot` stands in for index -1. Variants make near-valid forms. */
export function lookup(world: World, ref: Ref, slot: number): unknown {
  const i = ref.index < 0 ? slot : ref.index;
  const pick = <T>(list: T[]): T | undefined => (list.length ? list[i % list.length] : undefined);
  const v = ref.variant;
  switch (ref.kind) {
    case 'keyRef':
    case 'cipherKey':
    case 'grantKey': {
      // cipherKey: the key of the ciphertext this call picks (Decrypt's KeyId, ReEncrypt's SourceKeyId);
      // grantKey: the key of the grant it picks (RevokeGrant, RetireGrant, ListGrants).
      const k =
        (ref.kind === 'cipherKey' ? pick(world.ciphertexts)?.keyId : ref.kind === 'grantKey' ? pick(world.grants)?.keyId : pick(world.keys)) ??
        '11111111-1111-4111-8111-111111111111';
      const alias = [...world.aliasTarget].find(([, t]) => t === k)?.[0];
      const forms: (() => string)[] = [
        () => k,
        () => keyArn(k),
        () => alias ?? k,
        () => (alias ? aliasArn(alias) : keyArn(k)),
        () => `arn:aws:kms:eu-west-1:${ACCOUNT}:key/${k}`,
        () => `arn:aws:kms:${REGION}:444455556666:key/${k}`,
        () => `arn:aws-cn:kms:${REGION}:${ACCOUNT}:key/${k}`,
        () => k.toUpperCase(),
        () => k.slice(0, -1),
        () => `${k} `,
        () => 'alias/aws/ebs',
        () => `alias/aws/fuzz${slot % 3}`,
        () => aliasArn(`alias/aws/fuzz${slot % 3}`),
        () => `arn:aws:kms:${REGION}:${ACCOUNT}:key/`,
        () => `arn:aws:kms:${REGION}:${ACCOUNT}:key/mrk-${'0'.repeat(32)}`,
        () => 'alias/does-not-exist',
        () => `arn:aws:kms:${REGION}:${ACCOUNT}:alias/`,
        () => '00000000-0000-4000-8000-000000000000',
        () => `${keyArn(k)}/extra`,
        () => `arn:aws:iam::${ACCOUNT}:root`,
        () => aliasArn(k),
        () => `alias/${k}`,
        () => k.replace(/-/g, ''),
        () => `arn:aws:kms:${REGION}:${ACCOUNT}:alias/aws/`,
        () => `arn:aws:kms::${ACCOUNT}:key/${k}`,
        () => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${k}\u0000`,
      ];
      return forms[v % forms.length]!();
    }
    case 'alias': {
      const a = pick(world.aliases) ?? 'alias/fuzz-0';
      const forms: (() => string)[] = [
        () => a,
        () => `alias/fuzz-new-${slot % 5}`,
        () => 'alias/aws/fuzz',
        () => 'alias/',
        () => 'alias',
        () => 'alias/a b',
        () => `alias/${'x'.repeat(251)}`,
        () => `alias/${'y'.repeat(250)}`,
        () => 'alias/aws',
        () => aliasArn(a),
        () => a.toUpperCase(),
        () => `${a}/`,
        () => 'alias/aws/ebs',
        () => 'alias//',
      ];
      return forms[v % forms.length]!();
    }
    case 'ciphertext': {
      const e = pick(world.ciphertexts);
      if (!e) return 'AQ==';
      const bytes = Buffer.from(e.blob, 'base64');
      const otherKey = world.keys[(i + 1) % Math.max(1, world.keys.length)] ?? e.keyId;
      const withVersion = (n: number) => {
        const b = Buffer.from(bytes);
        if (b.length >= 24) b.writeUInt32BE(n, 20);
        return b;
      };
      const forms: (() => Buffer | string)[] = [
        () => bytes,
        () => flipBit(bytes, 36 + (slot % Math.max(1, bytes.length - 36))),
        () => flipBit(bytes, slot % 36),
        () => bytes.subarray(0, 51),
        () => bytes.subarray(0, 20),
        () => Buffer.concat([bytes, Buffer.from([0])]),
        () => withVersion(2),
        () => withVersion(0),
        () => withVersion(0xffffffff),
        () => {
          const b = Buffer.from(bytes);
          if (b.length >= 20) Buffer.from(otherKey.replace(/-/g, ''), 'hex').copy(b, 4);
          return b;
        },
        () => e.blob.replace(/=+$/, ''),
        () => e.blob.replace(/\+/g, '-').replace(/\//g, '_'),
        () => `${e.blob}\n`,
        () => '',
        () => Buffer.alloc(6145, 0x45),
        () => Buffer.concat([bytes.subarray(0, 36), Buffer.alloc(1)]),
        () => withVersion(1),
      ];
      const out = forms[v % forms.length]!();
      return typeof out === 'string' ? out : out.toString('base64');
    }
    case 'context': {
      const e = pick(world.ciphertexts);
      const c = e?.context;
      const forms: (() => unknown)[] = [
        () => c,
        () => ({ ...c, extra: 'x' }),
        () => (c && Object.keys(c).length ? Object.fromEntries(Object.entries(c).map(([k, x], j) => [k, j === 0 ? `${x}!` : x])) : { k: 'v' }),
        () => ({}),
        () =>
          c && Object.keys(c).length ? Object.fromEntries(Object.entries(c).map(([k, x], j) => [k, j === 0 ? `\ud800${x.slice(1)}` : x])) : { k: '\ud800' },
        () =>
          c && Object.keys(c).length ? Object.fromEntries(Object.entries(c).map(([k, x], j) => [k, j === 0 ? `\ufffd${x.slice(1)}` : x])) : { k: '\ufffd' },
        () => ({ 'kms:EncryptionContext:path': 'a/b/reports', path: `${'/'.repeat(64)}reports` }),
      ];
      return forms[v % forms.length]!();
    }
    case 'grantId': {
      const g = pick(world.grants)?.id ?? '0'.repeat(64);
      const forms: (() => string)[] = [
        () => g,
        () => g.toUpperCase(),
        () => g.slice(0, 63),
        () => 'g'.repeat(64),
        () => '0'.repeat(64),
        () => `${g}a`,
        () => `${g.slice(0, 32)}`,
      ];
      return forms[v % forms.length]!();
    }
    case 'grantToken': {
      const t = pick(world.grants)?.token ?? 'AQ';
      const forms: (() => string)[] = [
        () => t,
        () => t.slice(0, -1) + (t.endsWith('A') ? 'B' : 'A'),
        () => t.slice(0, -1),
        () => `${t}=`,
        () => t.replace(/-/g, '+').replace(/_/g, '/'),
        () =>
          Buffer.concat([
            Buffer.from([1]),
            Buffer.from((world.keys[i % Math.max(1, world.keys.length)] ?? '11111111-1111-4111-8111-111111111111').replace(/-/g, ''), 'hex'),
            Buffer.alloc(48, 7),
          ]).toString('base64url'),
        () => 'x',
        () => Buffer.concat([Buffer.from([1]), Buffer.alloc(64, 0xff)]).toString('base64url'),
      ];
      return forms[v % forms.length]!();
    }
    case 'marker': {
      const m = pick(world.markers);
      const forms: (() => string)[] = [
        () => m ?? b64url('1'),
        () => b64url('alias/zzz'),
        () => b64url('999999'),
        () => '!!',
        () => b64url('-1'),
        () => 'é€',
        () => b64url('0'),
        () => b64url('00000000-0000-4000-8000-000000000000'),
        () => b64url('1e3'),
        () => b64url('\u00ff'),
        () => (m ?? '').slice(0, -1) || 'A',
      ];
      return forms[v % forms.length]!();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The harness.

export const GRANTEE = `arn:aws:iam::${ACCOUNT}:user/alice`;
export const RETIRER = `arn:aws:iam::${ACCOUNT}:role/retirer`;
export const OTHER_ACCOUNT = '444455556666';
export const CAROL_ROLE = `arn:aws:iam::${OTHER_ACCOUNT}:role/carol`;

/** The identities of a `verify` harness: alice in the keys' account (the grantee of the seeded grants), carol in another one. */
export const IDENTITIES: Record<'alice' | 'carol', Identity> = {
  alice: { accessKeyId: 'AKIAFUZZALICE0000001', secretAccessKey: 'fuzz/alice+secret000000000000000000000001', accountId: ACCOUNT, arn: GRANTEE },
  carol: {
    accessKeyId: 'ASIAFUZZCAROL0000003',
    secretAccessKey: 'fuzz/carol+secret000000000000000000000003',
    accountId: OTHER_ACCOUNT,
    arn: `arn:aws:sts::${OTHER_ACCOUNT}:assumed-role/carol/fuzz`,
  },
};
/** How a request to a `verify` harness is signed: as an identity, with a spoiled signature, or not at all. */
export type Signer = 'alice' | 'carol' | 'alice-bad-signature' | 'carol-presigned' | 'unsigned';

/** A key policy that keeps the account's root in charge and denies Encrypt and Decrypt unless a context path ends in /reports (the policy of issue 14's freeze). */
export const DENY_CRYPTO_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Sid: 'admin', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
    {
      Sid: 'deny-crypto',
      Effect: 'Deny',
      Principal: '*',
      Action: ['kms:Encrypt', 'kms:Decrypt'],
      Resource: '*',
      Condition: { StringNotLike: { 'kms:EncryptionContext:path': '*/*/reports' } },
    },
  ],
});

/** Operations that only read: on success too they may write nothing but the allowed effects. */
export const READ_OPERATIONS: ReadonlySet<string> = new Set([
  'DescribeKey',
  'GetKeyPolicy',
  'GetKeyRotationStatus',
  'ListAliases',
  'ListGrants',
  'ListKeyPolicies',
  'ListKeyRotations',
  'ListKeys',
  'ListResourceTags',
  'ListRetirableGrants',
  'GenerateRandom',
  'Encrypt',
  'Decrypt',
  'ReEncrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
]);

export interface Exchange {
  /** The X-Amz-Target header (null: none). */
  target: string | null;
  body: Uint8Array;
  /** `request`: kms.handle(new Request(…)); `message`: kms.handleMessage({…}). */
  via: 'request' | 'message';
  method?: string;
  headers?: Record<string, string>;
  /** A `verify` harness only: how to sign (default alice). */
  signer?: Signer;
}

export interface Answer {
  status: number;
  headers: { get(name: string): string | null };
  text: string;
  json: unknown;
}

const utf8 = new TextEncoder();
const FIXED_START = Date.UTC(2026, 0, 1);

export class Harness {
  readonly clock: TestClock = createTestClock(FIXED_START);
  readonly recording = createRecordingStore();
  readonly internalErrors: unknown[] = [];
  readonly kms: Kms;
  readonly world: World = { keys: [], aliases: [], aliasTarget: new Map(), ciphertexts: [], grants: [], markers: [] };
  /** Calls made, for the message of a failure. */
  readonly log: string[] = [];

  constructor(readonly verify = false) {
    this.kms = createKms({
      store: this.recording.store,
      clock: this.clock,
      onInternalError: (e) => this.internalErrors.push(e),
      ...(verify ? { authentication: { mode: 'verify' as const, identities: Object.values(IDENTITIES) } } : {}),
    });
  }

  /**
   * Fresh KMS, seeded: enabled, disabled, pending-deletion and policy-restricted keys, an AWS
   * managed key, a multi-Region primary with a replica, aliases, tags, grants (to alice and to
   * carol's role), a rotation, ciphertexts.
   * `verify`: requests are SigV4-verified against IDENTITIES and act as the signer.
   */
  static async create(options: { verify?: boolean } = {}): Promise<Harness> {
    const h = new Harness(options.verify ?? false);
    const kms = h.kms;
    const seed = async (n: number, alias?: string) => {
      const KeyId = `${String(n).repeat(8)}-${String(n).repeat(4)}-4${String(n).repeat(3)}-8${String(n).repeat(3)}-${String(n).repeat(12)}`;
      await kms.seedKey({ KeyId, KeyMaterial: new Uint8Array(32).fill(n), Description: `fuzz ${n}`, ...(alias ? { AliasName: alias } : {}) });
      remember(h.world.keys, KeyId);
      if (alias) h.noteAlias(alias, KeyId);
      return KeyId;
    };
    const encrypt = async (KeyId: string, context?: Record<string, string>) => {
      const out = (await kms.execute('Encrypt', { KeyId, Plaintext: new Uint8Array([1, 2, 3]), ...(context ? { EncryptionContext: context } : {}) })) as {
        CiphertextBlob: Uint8Array;
        KeyId: string;
      };
      remember(h.world.ciphertexts, { blob: Buffer.from(out.CiphertextBlob).toString('base64'), context, keyId: out.KeyId.match(UUID)![0] });
    };
    const k1 = await seed(1, 'alias/fuzz-1');
    const k2 = await seed(2, 'alias/fuzz-2');
    const k3 = await seed(3);
    const k4 = await seed(4, 'alias/fuzz-4');
    await kms.execute('CreateAlias', { AliasName: 'alias/fuzz-1b', TargetKeyId: k1 });
    h.noteAlias('alias/fuzz-1b', k1);
    await encrypt(k1, { purpose: 'fuzz' });
    await encrypt(k1);
    await kms.execute('TagResource', {
      KeyId: k1,
      Tags: [
        { TagKey: 'team', TagValue: 'fuzz' },
        { TagKey: 'env', TagValue: '' },
      ],
    });
    await kms.execute('EnableKeyRotation', { KeyId: k1, RotationPeriodInDays: 90 });
    await kms.execute('RotateKeyOnDemand', { KeyId: k1 });
    await encrypt(k1, { a: '1', b: '2', 'emoji-😀': 'value 𝄞' });
    await encrypt(k2, { purpose: 'disabled' });
    await kms.execute('DisableKey', { KeyId: k2 });
    await encrypt(k3);
    await kms.execute('ScheduleKeyDeletion', { KeyId: k3, PendingWindowInDays: 7 });
    await encrypt(k4, { path: 'a/b/reports' });
    await kms.execute('PutKeyPolicy', { KeyId: k4, Policy: DENY_CRYPTO_POLICY });
    const aws = (await kms.execute('DescribeKey', { KeyId: 'alias/aws/ebs' })) as { KeyMetadata: { KeyId: string } };
    remember(h.world.keys, aws.KeyMetadata.KeyId);
    h.noteAlias('alias/aws/ebs', aws.KeyMetadata.KeyId);
    await encrypt(aws.KeyMetadata.KeyId, { service: 'ebs' });
    // A multi-Region primary with a replica in REPLICA_REGION, rotating every 90 days: its
    // rotations (a due one too, on any call that meets it) reach the replica in the same commit.
    const mrk = ((await kms.execute('CreateKey', { MultiRegion: true, Description: 'fuzz mrk' })) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    await kms.execute('ReplicateKey', { KeyId: mrk, ReplicaRegion: REPLICA_REGION });
    await kms.execute('EnableKeyRotation', { KeyId: mrk, RotationPeriodInDays: 90 });
    remember(h.world.keys, mrk);
    await encrypt(mrk, { purpose: 'mrk' });
    // An HMAC key, for GenerateMac and VerifyMac (and every operation that must refuse it).
    const hmac = (
      (await kms.execute('CreateKey', { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC', Description: 'fuzz hmac' })) as { KeyMetadata: { KeyId: string } }
    ).KeyMetadata.KeyId;
    remember(h.world.keys, hmac);
    // A signing key, for Sign, Verify and GetPublicKey.
    const ecc = (
      (await kms.execute('CreateKey', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Description: 'fuzz ecc' })) as { KeyMetadata: { KeyId: string } }
    ).KeyMetadata.KeyId;
    remember(h.world.keys, ecc);
    const agreement = (
      (await kms.execute('CreateKey', { KeySpec: 'ECC_NIST_P384', KeyUsage: 'KEY_AGREEMENT', Description: 'fuzz ecdh' })) as {
        KeyMetadata: { KeyId: string };
      }
    ).KeyMetadata.KeyId;
    remember(h.world.keys, agreement);
    const gdk = (await kms.execute('GenerateDataKey', { KeyId: k1, KeySpec: 'AES_256', EncryptionContext: { dk: '1' } })) as { CiphertextBlob: Uint8Array };
    remember(h.world.ciphertexts, { blob: Buffer.from(gdk.CiphertextBlob).toString('base64'), context: { dk: '1' }, keyId: k1 });
    for (const input of [
      {
        KeyId: k1,
        GranteePrincipal: GRANTEE,
        RetiringPrincipal: RETIRER,
        Operations: ['Decrypt', 'Encrypt', 'RetireGrant', 'CreateGrant'],
        Name: 'fuzz-grant',
      },
      { KeyId: k1, GranteePrincipal: RETIRER, Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: { purpose: 'fuzz' } } },
      { KeyId: k4, GranteePrincipal: GRANTEE, RetiringPrincipal: GRANTEE, Operations: ['Encrypt'] },
      { KeyId: k1, GranteePrincipal: CAROL_ROLE, RetiringPrincipal: CAROL_ROLE, Operations: ['Decrypt', 'Encrypt', 'DescribeKey', 'GenerateDataKey'] },
    ]) {
      const g = (await kms.execute('CreateGrant', input)) as { GrantId: string; GrantToken: string };
      remember(h.world.grants, { id: g.GrantId, token: g.GrantToken, keyId: input.KeyId });
    }
    const page = (await kms.execute('ListAliases', { Limit: 2 })) as { NextMarker?: string };
    if (page.NextMarker) remember(h.world.markers, page.NextMarker);
    h.recording.commits.length = 0;
    return h;
  }

  noteAlias(name: string, target: string): void {
    remember(this.world.aliases, name);
    this.world.aliasTarget.set(name, target);
  }

  /** Moves the clock: keys whose rotation or deletion becomes due are processed on their next use (or by maintenance). */
  tick(days: number): void {
    this.clock.advance(Math.round(days * DAY_MS));
  }

  async maintenance(): Promise<void> {
    const before = this.internalErrors.length;
    await this.kms.runMaintenance();
    if (this.internalErrors.length > before) throw new Error(`runMaintenance logged an internal error: ${describeError(this.internalErrors[before])}`);
  }

  /** The JSON text of a request value tree, with its Refs resolved in this world. */
  requestText(input: unknown, slot: number): string {
    return toJsonText(resolveRefs(input, (r) => lookup(this.world, r, slot)));
  }

  /** One operation call: the request body is the JSON text of `input`. */
  async call(
    op: string,
    input: unknown,
    slot: number,
    via: Exchange['via'] = 'request',
    target = `${MODEL.metadata.targetPrefix}.${op}`,
    signer?: Signer,
  ): Promise<Answer> {
    const text = input instanceof Uint8Array ? undefined : this.requestText(input, slot);
    const body = input instanceof Uint8Array ? input : utf8.encode(text!);
    return this.send({ target, body, via, ...(signer ? { signer } : {}) });
  }

  /** Sends one exchange and checks every property; throws with a reproduction when one fails. */
  async send(x: Exchange): Promise<Answer> {
    // fetch's Headers strip leading and trailing HTTP whitespace from values (so does the signer,
    // which builds a Headers); the headers of an unsigned message are as given.
    const sent = x.target === null ? null : x.via === 'request' || this.verify ? x.target.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '') : x.target;
    const op = sent?.startsWith(`${MODEL.metadata.targetPrefix}.`) ? sent.slice(MODEL.metadata.targetPrefix.length + 1) : undefined;
    const modelOp = op !== undefined && Object.hasOwn(MODEL.operations, op) ? op : undefined;
    const requestText = Buffer.from(x.body).toString('utf8');
    const now = this.clock.now();
    const before = await snapshot(this.recording.store);
    const commitsFrom = this.recording.commits.length;
    const errorsFrom = this.internalErrors.length;
    const problems: string[] = [];
    let answer: Answer | undefined;
    const started = performance.now();
    try {
      answer = await this.exchange(x);
    } catch (e) {
      problems.push(`an exception escaped handle(): ${describeError(e)}`);
    }
    const ms = performance.now() - started;
    if (ms > CALL_BUDGET_MS) problems.push(`the call took ${ms.toFixed(0)} ms (budget ${CALL_BUDGET_MS} ms)`);
    for (const e of this.internalErrors.slice(errorsFrom)) problems.push(`onInternalError: ${describeError(e)}`);

    let failed = true;
    if (answer) {
      const json = answer.json;
      const type = answer.headers.get('content-type');
      if (type !== 'application/x-amz-json-1.1') problems.push(`content-type ${preview(type)}`);
      if (!answer.headers.get('x-amzn-requestid')) problems.push('no x-amzn-requestid header');
      if (typeof json !== 'object' || json === null || Array.isArray(json)) {
        problems.push(`the body is not a JSON object: ${abbreviate(answer.text, 300)}`);
      } else if (answer.status === 200) {
        failed = false;
        const output = modelOp ? MODEL.operations[modelOp]!.output : undefined;
        if (!modelOp) problems.push(`200 for a target that names no operation of the model: ${preview(x.target)}`);
        else if (output) problems.push(...checkShape(output, json));
        else if (Object.keys(json).length) problems.push(`${modelOp} has no output in the model, answered ${abbreviate(answer.text, 200)}`);
      } else {
        const { __type, message } = json as Record<string, unknown>;
        if (typeof __type !== 'string') problems.push(`no string __type: ${abbreviate(answer.text, 300)}`);
        else {
          if (!allowedErrors(modelOp).has(__type) && !(modelOp && UNDECLARED_ERRORS[modelOp]?.includes(__type)))
            problems.push(`__type ${__type} is not an error of ${modelOp ?? 'an unknown operation'} in the model nor a generic one`);
          if (answer.headers.get('x-amzn-errortype')?.split(':')[0] !== __type)
            problems.push(`x-amzn-errortype ${preview(answer.headers.get('x-amzn-errortype'))} is not ${__type}`);
        }
        if (typeof message !== 'string') problems.push(`no string message: ${abbreviate(answer.text, 300)}`);
        else if (/\n\s+at |node:internal|\.ts:\d+/.test(message)) problems.push(`the message carries a stack trace: ${abbreviate(message, 300)}`);
        if (answer.status >= 500) problems.push(`status ${answer.status} (${String(__type)}): a server fault on client input`);
        else if (answer.status < 400) problems.push(`status ${answer.status} for an error`);
        const extra = Object.keys(json).filter((k) => k !== '__type' && k !== 'message');
        if (extra.length) problems.push(`error body has members ${extra.join(', ')}`);
      }
    }

    // The store: failures and reads change nothing but the allowed effects.
    if (failed || (modelOp !== undefined && READ_OPERATIONS.has(modelOp))) {
      const after = await snapshot(this.recording.store);
      const referenced = stringsIn(requestText);
      const commits = this.recording.commits.slice(commitsFrom);
      const what = failed ? 'a failed call' : `a successful ${modelOp}`;
      for (const p of unexplainedChanges(before, after, now, referenced)) problems.push(`${what} changed the store: ${p}`);
      for (const p of unexplainedWrites(commits, before, now)) problems.push(`${what} ${p}`);
    }

    // What a successful write stored is what a read gives back, over the wire (toWire included).
    if (answer && !failed && modelOp && problems.length === 0)
      problems.push(...(await this.readBack(modelOp, requestText, answer.json as Record<string, unknown>, x.signer)));

    const how = answer ? (answer.status === 200 ? 'ok' : String((answer.json as { __type?: unknown } | undefined)?.__type)) : 'threw';
    const label = modelOp ?? 'unknown target';
    outcomes.set(`${label}: ${how}`, (outcomes.get(`${label}: ${how}`) ?? 0) + 1);
    this.log.push(
      `${x.via}${this.verify ? ` as ${x.signer ?? 'alice'}` : ''} ${x.method ?? 'POST'} ${preview(x.target, 60)} ${abbreviate(requestText, 160)} -> ${answer ? `${answer.status} ${abbreviate(answer.text, 120)}` : 'threw'}`,
    );
    if (problems.length) {
      const known = KNOWN.find((k) => k.matches(op ?? '', requestText, problems));
      if (known) {
        // KNOWN: counted and reported by the test, not failed (see KNOWN above).
        knownHits.set(known.id, (knownHits.get(known.id) ?? 0) + 1);
      } else if (DISCOVER) {
        for (const p of problems) {
          const kind = `${op ?? preview(x.target, 40)}: ${p.replace(/[0-9a-f]{8}-[0-9a-f-]{27}|[0-9a-f]{64}|\d+ ms|got .*/g, '…').slice(0, 160)}`;
          const d = discovered.get(kind);
          if (d) d.count++;
          else
            discovered.set(kind, {
              count: 1,
              example: `request ${abbreviate(requestText, 400)} -> ${answer ? `${answer.status} ${abbreviate(answer.text, 300)}` : 'threw'}`,
            });
        }
      } else {
        throw new Error(
          [
            `fuzz property failed for ${x.via}${this.verify ? ` signed as ${x.signer ?? 'alice'}` : ''} ${x.method ?? 'POST'} X-Amz-Target: ${preview(x.target, 120)}`,
            `request body: ${abbreviate(requestText)}`,
            answer ? `answer: ${answer.status} ${abbreviate(answer.text, 600)}` : 'answer: none',
            ...problems.map((p) => `  - ${p}`),
            'calls of this run, oldest first:',
            ...this.log.slice(-12).map((l) => `    ${l}`),
          ].join('\n'),
        );
      }
    }
    if (answer && !failed && modelOp) this.harvest(modelOp, requestText, answer.json as Record<string, unknown>);
    return answer!;
  }

  /** The URL and headers of a request to a `verify` harness, signed by aws4fetch as x.signer says. */
  private async sign(x: Exchange, headers: Record<string, string>): Promise<{ url: string; headers: Record<string, string> }> {
    const signer = x.signer ?? 'alice';
    if (signer === 'unsigned') return { url: 'http://localhost:4599/', headers };
    const who = IDENTITIES[signer.startsWith('carol') ? 'carol' : 'alice'];
    const signed = await new AwsV4Signer({
      method: x.method ?? 'POST',
      url: 'http://localhost:4599/',
      headers,
      body: x.body as BufferSource,
      accessKeyId: who.accessKeyId,
      secretAccessKey: who.secretAccessKey,
      service: 'kms',
      region: REGION,
      signQuery: signer === 'carol-presigned',
    }).sign();
    const out: Record<string, string> = {};
    signed.headers.forEach((v, k) => {
      out[k] = v;
    });
    if (signer === 'alice-bad-signature') out.authorization = out.authorization!.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    return { url: signed.url.toString(), headers: out };
  }

  private async exchange(x: Exchange): Promise<Answer> {
    let headers: Record<string, string> = {
      'content-type': 'application/x-amz-json-1.1',
      ...(x.target !== null ? { 'x-amz-target': x.target } : {}),
      ...x.headers,
    };
    let url = 'http://localhost:4599/';
    if (this.verify) ({ url, headers } = await this.sign(x, headers));
    let status: number;
    let get: (name: string) => string | null;
    let text: string;
    if (x.via === 'request') {
      const response = await this.kms.handle(new Request(url, { method: x.method ?? 'POST', headers, body: x.body as BufferSource }));
      if (!(response instanceof Response)) throw new Error(`handle() resolved to ${preview(response)}, not a Response`);
      status = response.status;
      get = (n) => response.headers.get(n);
      text = await response.text();
    } else {
      const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
      const r = await this.kms.handleMessage({
        method: x.method ?? 'POST',
        url,
        headers: { get: (n: string) => lower.get(n.toLowerCase()) ?? null },
        body: x.body,
      });
      status = r.status;
      const h = new Map(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v]));
      get = (n) => h.get(n.toLowerCase()) ?? null;
      if (typeof r.body !== 'string') throw new Error(`handleMessage() body is ${preview(r.body)}, not a string`);
      text = r.body;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status, headers: { get }, text, json };
  }

  /** One read over the wire, unchecked and unlogged, for readBack. */
  private async read(op: string, input: Record<string, unknown>, signer?: Signer): Promise<Answer> {
    return this.exchange({
      target: `${MODEL.metadata.targetPrefix}.${op}`,
      body: utf8.encode(JSON.stringify(input)),
      via: 'request',
      ...(signer ? { signer } : {}),
    });
  }

  /**
   * Property 6: after a successful write, reading it back gives what was written: a grant's
   * principals, operations, name and constraints (ListGrants); tags (ListResourceTags); a
   * description (DescribeKey); a key policy (GetKeyPolicy); an alias's target (DescribeKey); the
   * plaintext of a ciphertext from Encrypt or GenerateDataKey (Decrypt under the same context).
   * Reads name keys by ARN and are signed as the writer; a read the key policy refuses
   * (AccessDeniedException) is skipped. Reads write nothing (no key is due: the clock has not
   * moved since the write).
   */
  private async readBack(op: string, requestText: string, out: Record<string, unknown>, signer?: Signer): Promise<string[]> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(requestText);
    } catch {
      return [];
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return []; // `null`, `[]`: read as an empty request
    const req = parsed as Record<string, unknown>;
    const problems: string[] = [];
    const read = async (readOp: string, input: Record<string, unknown>, check: (out: Record<string, unknown>) => string | undefined) => {
      const errorsFrom = this.internalErrors.length;
      const a = await this.read(readOp, input, signer);
      const json = a.json as Record<string, unknown> | undefined;
      if (a.status !== 200) {
        const internal = this.internalErrors
          .slice(errorsFrom)
          .map((e) => ` (onInternalError: ${describeError(e)})`)
          .join('');
        if (json?.__type !== 'AccessDeniedException')
          problems.push(`read-back ${readOp} ${abbreviate(JSON.stringify(input), 200)} after ${op} answered ${a.status} ${abbreviate(a.text, 300)}${internal}`);
        return;
      }
      const p = check(json!);
      if (p) problems.push(`read-back ${readOp} after ${op}: ${p}`);
    };
    const same = (what: string, got: unknown, want: unknown) =>
      isDeepStrictEqual(got, want) ? undefined : `${what} is ${preview(got, 300)}, written ${preview(want, 300)}`;
    const keyId = this.keyNamedBy(req.KeyId);
    switch (op) {
      case 'CreateGrant': {
        if (!keyId) break;
        const grantId = out.GrantId as string;
        await read('ListGrants', { KeyId: keyArn(keyId), GrantId: grantId }, (o) => {
          const g = (o.Grants as Record<string, unknown>[] | undefined)?.[0];
          if (!g) return `grant ${grantId} is not listed`;
          const c = (req.Constraints ?? undefined) as Record<string, unknown> | undefined;
          const constraints =
            c && (c.EncryptionContextEquals != null || c.EncryptionContextSubset != null)
              ? Object.fromEntries(['EncryptionContextEquals', 'EncryptionContextSubset'].filter((k) => c[k] != null).map((k) => [k, c[k]]))
              : undefined;
          return (
            same('GranteePrincipal', g.GranteePrincipal, req.GranteePrincipal) ??
            same('RetiringPrincipal', g.RetiringPrincipal, req.RetiringPrincipal ?? undefined) ??
            same('Operations', [...(g.Operations as string[])].sort(), [...new Set(req.Operations as string[])].sort()) ??
            same('Name', g.Name, req.Name ?? undefined) ??
            same('Constraints', g.Constraints, constraints)
          );
        });
        break;
      }
      case 'TagResource':
        if (!keyId) break;
        await read('ListResourceTags', { KeyId: keyArn(keyId), Limit: 50 }, (o) => {
          const tags = new Map((o.Tags as { TagKey: string; TagValue: string }[]).map((t) => [t.TagKey, t.TagValue]));
          for (const t of req.Tags as { TagKey: string; TagValue: string }[])
            if (tags.get(t.TagKey) !== t.TagValue) return `tag ${preview(t.TagKey)} is ${preview(tags.get(t.TagKey))}, written ${preview(t.TagValue)}`;
          return undefined;
        });
        break;
      case 'UpdateKeyDescription':
        if (!keyId) break;
        await read('DescribeKey', { KeyId: keyArn(keyId) }, (o) =>
          same('Description', (o.KeyMetadata as Record<string, unknown>).Description, req.Description),
        );
        break;
      case 'PutKeyPolicy':
        if (!keyId) break;
        await read('GetKeyPolicy', { KeyId: keyArn(keyId) }, (o) => same('Policy', o.Policy, req.Policy));
        break;
      case 'CreateAlias':
      case 'UpdateAlias': {
        const target = this.keyNamedBy(req.TargetKeyId);
        if (!target) break;
        await read('DescribeKey', { KeyId: aliasArn(String(req.AliasName)) }, (o) =>
          same('the alias target', (o.KeyMetadata as Record<string, unknown>).KeyId, target),
        );
        break;
      }
      case 'Encrypt':
      case 'GenerateDataKey': {
        const context = req.EncryptionContext ?? undefined;
        const plaintext = op === 'Encrypt' ? req.Plaintext : out.Plaintext;
        await read('Decrypt', { CiphertextBlob: out.CiphertextBlob, ...(context ? { EncryptionContext: context } : {}) }, (o) =>
          same('Plaintext', o.Plaintext, plaintext),
        );
        break;
      }
    }
    return problems;
  }

  /** Keeps what a successful call made, for later requests to refer to. */
  private harvest(op: string, requestText: string, out: Record<string, unknown>): void {
    let req: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(requestText);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) req = parsed as Record<string, unknown>;
    } catch {
      // a body that is not JSON made nothing to keep
    }
    const keyIdOf = (v: unknown) => (typeof v === 'string' ? v.match(UUID)?.[0] : undefined);
    const md = out.KeyMetadata as { KeyId?: string } | undefined;
    if (md?.KeyId) remember(this.world.keys, md.KeyId);
    if (typeof out.CiphertextBlob === 'string') {
      const context = (op === 'ReEncrypt' ? req.DestinationEncryptionContext : req.EncryptionContext) as Record<string, string> | undefined;
      const keyId = keyIdOf(out.KeyId);
      if (keyId) remember(this.world.ciphertexts, { blob: out.CiphertextBlob, context: context ?? undefined, keyId });
    }
    if (op === 'CreateGrant' && typeof out.GrantId === 'string' && typeof out.GrantToken === 'string') {
      const keyId = this.keyNamedBy(req.KeyId);
      if (keyId) remember(this.world.grants, { id: out.GrantId, token: out.GrantToken, keyId });
    }
    if (typeof out.NextMarker === 'string') remember(this.world.markers, out.NextMarker);
    if ((op === 'CreateAlias' || op === 'UpdateAlias') && typeof req.AliasName === 'string') {
      const target = this.keyNamedBy(req.TargetKeyId);
      if (target) this.noteAlias(req.AliasName, target);
    }
  }

  /** The key id a successful request's key reference named (key id, key ARN, alias name or ARN). */
  private keyNamedBy(ref: unknown): string | undefined {
    if (typeof ref !== 'string') return undefined;
    const id = ref.match(UUID)?.[0];
    if (id) return id;
    const alias = ref.startsWith('arn:') ? ref.slice(ref.indexOf(':alias/') + 1) : ref;
    return this.world.aliasTarget.get(alias);
  }
}

/** Every string in a JSON text (keys and values), or none when it is not JSON. */
function stringsIn(text: string): Set<string> {
  const out = new Set<string>();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return out;
  }
  const stack = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') out.add(v);
    else if (Array.isArray(v)) stack.push(...v.slice(0, 1000));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v).slice(0, 1000)) out.add(k), stack.push(x);
  }
  return out;
}

/** What a test file prints at its end: KNOWN holes hit, DISCOVER findings, and (EDGE_KMS_FUZZ_STATS=1) how calls ended. */
export function printSummary(): void {
  if (knownHits.size) console.warn(`KNOWN holes hit (reported, not failed): ${[...knownHits].map(([id, n]) => `${id} x${n}`).join(', ')}`);
  if (DISCOVER) console.log(`problems found (EDGE_KMS_FUZZ_DISCOVER):\n${discoveredSummary() || 'none'}`);
  if (process.env.EDGE_KMS_FUZZ_STATS && outcomes.size) console.log(`fuzz outcomes by operation (ok/calls; most frequent errors):\n${outcomeSummary()}`);
}

/** The discovered problems, for printing at the end of a DISCOVER run. */
export function discoveredSummary(): string {
  return [...discovered]
    .sort((a, b) => b[1].count - a[1].count)
    .map(([k, d]) => `${d.count} x ${k}\n    e.g. ${d.example}`)
    .join('\n');
}

export function describeError(e: unknown): string {
  if (e instanceof Error) return abbreviate(`${e.name}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 8).join('\n')}`, 1500);
  return preview(e);
}
