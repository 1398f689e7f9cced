/**
 * The KMS engine: configuration, key resolution, state checks, key material access, serialized
 * and retried commits, rotation and deletion. Operations (one per file under operations/) use it.
 */
import { aliasArn, keyArn, parseKeyRef, type Scope } from './arn.js';
import { concat, randomBytes, randomUuid, toHex, utf8, wipe } from './bytes.js';
import { type Clock, systemClock } from './clock.js';
import { KmsError, StoreConflictError } from './errors.js';
import { webCryptoProvider, type CryptoProvider } from './crypto-provider.js';
import { createCryptoKeyProtector, type MaterialProtector } from './material.js';
import type { KeyRecord, MaterialVersion, RotationType } from './model.js';
import { createMemoryStore } from './store/memory-store.js';
import { retryOnConflict } from './store/retry.js';
import type { KmsStore, StoreWrite } from './store/types.js';
import {
  AWS_MANAGED_ROTATION_PERIOD_DAYS,
  DEFAULT_ACCOUNT_ID,
  DEFAULT_ON_DEMAND_ROTATION_LIMIT,
  DEFAULT_REGION,
  defaultKeyPolicy,
  ROTATION_POLICIES,
  type KmsOptions,
  type RotationPolicy,
} from './engine-config.js';
import { isAwsManagedAliasName, isDeletionDue, isRotationDue } from './key-schedule.js';
import { createMaterialCache, currentOf, type MaterialCache, type OpenedMaterial } from './material-cache.js';
import { familyOfKey, importersOf } from './key-specs/index.js';
import { makeDecoyKey, type DecoyKey } from './decoy-key.js';
import { deletionOf, expiredMaterials, isImportExpiryDue, pendingRotation, withImported } from './imported-material.js';
import { ImportTokens } from './imports.js';
import { keyResolved } from './quotas.js';
import { countSharedChange, deletionWrites, hasRemoteReplicas, needsDelivery, replicaWrites, type RegionalSet } from './multi-region.js';

export type { DecoyKey, RegionalSet };

export * from './engine-config.js';
export * from './key-schedule.js';

export interface ResolveOptions {
  /** Accept alias names and alias ARNs (Encrypt, Decrypt, DescribeKey, …). */
  allowAlias?: boolean;
  /** Create `alias/aws/<service>` keys on first reference. */
  createAwsManaged?: boolean;
  /**
   * The caller. A bare key id or alias name is looked up in the caller's own account, as AWS
   * does: a caller from another account must name our keys by ARN.
   */
  caller?: { accountId: string };
}

/** What mutateKey's `decide` answers. */
export interface Decision<T> {
  next?: KeyRecord;
  writes?: StoreWrite[];
  /** Writes in other Regions' keyspaces, committed with this Region's writes. */
  across?: Map<string, StoreWrite[]>;
  result: T;
}

/**
 * The KeyMaterialId of material given to the KMS (seeded keys, imported material): a hash bound to
 * the key id, so the same material imported again into the same key has the same id, and the id
 * says nothing usable about material of 32 random bytes or more.
 */
export async function givenMaterialId(keyId: string, raw: Uint8Array): Promise<string> {
  const input = concat(utf8('edge-kms key material id\u0000'), utf8(keyId), new Uint8Array([0]), raw);
  try {
    return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', input as BufferSource)));
  } finally {
    wipe(input);
  }
}

export class Engine implements Scope {
  readonly store: KmsStore;
  readonly accountId: string;
  readonly region: string;
  readonly partition: string;
  readonly clock: Clock;
  readonly protector: MaterialProtector;
  readonly rotationPolicy: RotationPolicy;
  readonly onDemandRotationLimit: number;
  readonly onInternalError: (error: unknown) => void;
  readonly crypto: CryptoProvider;
  /** The import tokens GetParametersForImport issued in this Region, with their wrapping keys (in memory). */
  readonly importTokens = new ImportTokens();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly material: MaterialCache;

  /**
   * The other Regions of the KMS this engine's Region belongs to (createKms makes one engine per
   * Region): what multi-Region keys commit across. Absent for an engine made on its own.
   */
  readonly regional?: RegionalSet<Engine>;

  constructor(options: KmsOptions = {}, regional?: RegionalSet<Engine>) {
    this.regional = regional;
    this.store = options.store ?? createMemoryStore();
    this.accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
    this.region = options.region ?? DEFAULT_REGION;
    this.partition = options.partition ?? 'aws';
    this.clock = options.clock ?? systemClock;
    this.protector = options.protector ?? createCryptoKeyProtector();
    this.rotationPolicy = ROTATION_POLICIES[options.rotationPolicy ?? 'aws'];
    if (!this.rotationPolicy) throw new TypeError(`"rotationPolicy" expected one of ${Object.keys(ROTATION_POLICIES).join(', ')}`);
    this.onDemandRotationLimit = options.onDemandRotationLimit ?? DEFAULT_ON_DEMAND_ROTATION_LIMIT;
    if (!Number.isInteger(this.onDemandRotationLimit) || this.onDemandRotationLimit < 0) {
      throw new TypeError(`"onDemandRotationLimit" expected a non-negative integer, got ${options.onDemandRotationLimit}`);
    }
    this.onInternalError = options.onInternalError ?? ((e) => console.error('edge-kms internal error:', e));
    this.material = createMaterialCache(this.store, this.protector, options.materialCacheSize ?? 10_000);
    this.crypto = options.crypto ?? webCryptoProvider;
    if (!/^\d{12}$/.test(this.accountId)) throw new TypeError(`"accountId" expected 12 digits, got ${this.accountId}`);
  }

  now(): number {
    return this.clock.now();
  }

  keyArn(keyId: string): string {
    return keyArn(this, keyId);
  }

  aliasArn(aliasName: string): string {
    return aliasArn(this, aliasName);
  }

  notFound(keyId: string): KmsError {
    return new KmsError('NotFoundException', `Key '${this.keyArn(keyId)}' does not exist`);
  }

  /** Serializes work on one key inside this process; commits stay safe across processes by CAS. */
  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.locks.set(name, tail);
    await prev.catch(() => undefined);
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(name) === tail) this.locks.delete(name);
    }
  }

  /**
   * Resolves a reference to a key record, applying what is due first: a key whose deletion date
   * has passed is deleted (and is then not found), a key whose automatic rotation is overdue is
   * rotated, so stale material is never used because a timer tick was missed.
   */
  resolve(ref: string, options: ResolveOptions = {}): KeyRecord | Promise<KeyRecord> {
    const parsed = parseKeyRef(this, ref, options.allowAlias ?? false);
    const foreignCaller = options.caller && options.caller.accountId !== this.accountId ? options.caller.accountId : undefined;
    if (foreignCaller && !ref.startsWith('arn:')) {
      const scope = { partition: this.partition, region: this.region, accountId: foreignCaller };
      throw parsed.kind === 'alias'
        ? new KmsError('NotFoundException', `Alias ${aliasArn(scope, parsed.aliasName)} is not found.`)
        : new KmsError('NotFoundException', `Key '${keyArn(scope, ref)}' does not exist`);
    }
    if (parsed.kind === 'foreign') {
      throw new KmsError('NotFoundException', parsed.ref.includes(':alias/') ? `Alias ${parsed.ref} is not found.` : `Key '${parsed.ref}' does not exist`);
    }
    const key = parsed.kind === 'alias' ? this.resolveAlias(parsed.aliasName, options) : this.loadKey(parsed.keyId);
    // Request quotas by the key's type (quotas.ts) are taken here, before the operation uses the key.
    if (!options.caller) return key;
    if (key instanceof Promise) {
      return key.then((k) => {
        keyResolved(options.caller, k.KeySpec);
        return k;
      });
    }
    keyResolved(options.caller, key.KeySpec);
    return key;
  }

  private async resolveAlias(aliasName: string, options: ResolveOptions): Promise<KeyRecord> {
    const alias = await this.store.getAlias(aliasName);
    let keyId: string;
    if (alias) keyId = alias.TargetKeyId;
    else if (options.createAwsManaged && isAwsManagedAliasName(aliasName)) {
      keyResolved(options.caller, 'SYMMETRIC_DEFAULT'); // its quota before the key is made
      keyId = await this.createAwsManagedKey(aliasName);
    } else throw new KmsError('NotFoundException', `Alias ${this.aliasArn(aliasName)} is not found.`);
    return this.loadKey(keyId);
  }

  /**
   * A key record by id, with what is due applied (see resolve). Without a promise when the store
   * reads synchronously and nothing is due: the common case of every cryptographic operation.
   */
  loadKey(keyId: string): KeyRecord | Promise<KeyRecord> {
    const key = this.findKey(keyId);
    if (key === undefined) throw this.notFound(keyId);
    if (key instanceof Promise) {
      return key.then((k) => {
        if (!k) throw this.notFound(keyId);
        return k;
      });
    }
    return key;
  }

  /**
   * loadKey without the error: undefined when there is no such key (or its deletion was due).
   * Decrypt uses it for the key a ciphertext names, so that a missing key costs no error object
   * more than a forged ciphertext does.
   */
  findKey(keyId: string): KeyRecord | undefined | Promise<KeyRecord | undefined> {
    if (this.store.getKeyNow) {
      const key = this.store.getKeyNow(keyId);
      if (!key) return undefined;
      const now = this.now();
      if (!isDeletionDue(key, now) && !isRotationDue(key, now) && !isImportExpiryDue(key, now)) return key;
    }
    return this.findKeyApplyingDue(keyId);
  }

  private async findKeyApplyingDue(keyId: string): Promise<KeyRecord | undefined> {
    let key = await this.store.getKey(keyId);
    if (!key) return undefined;
    if (isDeletionDue(key, this.now())) {
      await this.deleteIfDue(keyId);
      return undefined;
    }
    if (isRotationDue(key, this.now())) {
      await this.rotate(keyId, 'AUTOMATIC');
      key = await this.store.getKey(keyId);
    }
    if (key && isImportExpiryDue(key, this.now())) {
      await this.expireImports(keyId);
      key = await this.store.getKey(keyId);
    }
    return key;
  }

  /**
   * Deletes the imported key material whose ValidTo has come (the key goes to PendingImport), on
   * the engine's clock: on the first use of the key after it, and in runMaintenance.
   */
  async expireImports(keyId: string): Promise<boolean> {
    const expired = await this.mutateKey(keyId, async (key) => {
      const ids = expiredMaterials(key, this.now());
      if (ids.length === 0) return { result: false };
      return { ...(await this.deleteImported(key, ids)), result: true };
    });
    if (expired) this.forgetMaterial(keyId);
    return expired;
  }

  /** The next record and writes that delete imported materials `ids` of `key` (their version records keep their ids). */
  async deleteImported(key: KeyRecord, ids: readonly string[]): Promise<{ next: KeyRecord; writes: StoreWrite[] }> {
    const versions: MaterialVersion[] = [];
    for (const id of ids) {
      const m = key.Imported?.[id];
      const v = m && (await this.store.getVersion(key.KeyId, m.Version));
      if (v) versions.push(v);
    }
    return deletionOf(key, ids, versions);
  }

  /** Throws AWS's error if the key cannot be used for cryptographic operations. */
  requireEnabled(key: KeyRecord): void {
    if (key.KeyState === 'Enabled') return;
    throw this.stateError(key);
  }

  stateError(key: KeyRecord): KmsError {
    const arn = this.keyArn(key.KeyId);
    switch (key.KeyState) {
      case 'Disabled':
        return new KmsError('DisabledException', `${arn} is disabled.`);
      case 'PendingDeletion':
      case 'PendingReplicaDeletion':
        return new KmsError('KMSInvalidStateException', `${arn} is pending deletion.`);
      case 'PendingImport':
        return new KmsError('KMSInvalidStateException', `${arn} is pending import.`);
      default:
        return new KmsError('KMSInvalidStateException', `${arn} is ${key.KeyState}.`);
    }
  }

  /** Pending deletion blocks most management operations. */
  requireNotPendingDeletion(key: KeyRecord): void {
    if (key.KeyState === 'PendingDeletion' || key.KeyState === 'PendingReplicaDeletion') throw this.stateError(key);
  }

  requireCustomerManaged(key: KeyRecord, operation: string): void {
    if (key.KeyManager === 'AWS') {
      throw new KmsError(
        'UnsupportedOperationException',
        `${this.keyArn(key.KeyId)} is an AWS managed key. ${operation} is not supported on AWS managed keys.`,
      );
    }
  }

  /**
   * The non-extractable CryptoKeys of one version of a key: one, except in stores without
   * compare-and-set where racing writers may have made several (material-cache.ts). `refresh`
   * skips the cache (a racing writer may have added a candidate since).
   */
  materials(key: Pick<KeyRecord, 'KeyId' | 'KeySpec'> & Partial<Pick<KeyRecord, 'KeyUsage'>>, version: number, refresh = false): Promise<OpenedMaterial[]> {
    return this.material.open(key, version, refresh);
  }

  /** A version's materials when they are already open (no promise), else undefined. */
  materialsNow(keyId: string, version: number): OpenedMaterial[] | undefined {
    return this.material.ready(keyId, version);
  }

  /** The current version's material when it is already open (no promise), else undefined. */
  currentMaterialNow(key: KeyRecord): OpenedMaterial | undefined {
    const all = this.material.ready(key.KeyId, key.CurrentVersion);
    return all && currentOf(key, all);
  }

  /** The material a key encrypts with now: its current version (the current candidate, if several). */
  async currentMaterial(key: KeyRecord): Promise<OpenedMaterial> {
    for (const refresh of [false, true]) {
      const m = currentOf(key, await this.material.open(key, key.CurrentVersion, refresh));
      if (m) return m;
    }
    throw new Error(`current version ${key.CurrentVersion} of ${key.KeyId} is missing`);
  }

  forgetMaterial(keyId: string): void {
    this.material.forget(keyId);
  }

  forgetAllMaterial(): void {
    this.material.clear();
  }

  private decoy?: Promise<DecoyKey>;
  private decoyReady?: DecoyKey;
  /**
   * A key that does not exist and encrypts nothing, made once: a ciphertext that names no key is
   * taken through the same steps under it as a forged ciphertext of a real key (authorization,
   * state checks, an AES-GCM open that fails), so the time taken does not tell whether the key
   * exists. Its record is never stored and its key never returned.
   */
  decoyKey(): DecoyKey | Promise<DecoyKey> {
    if (this.decoyReady) return this.decoyReady;
    return (this.decoy ??= (async () => {
      return (this.decoyReady = await makeDecoyKey(this.accountId, this.region, this.partition, this.now()));
    })());
  }

  /**
   * Makes fresh key material for a version (as the key's family makes it) and seals it for the
   * store; the raw bytes are wiped.
   */
  async newVersion(
    key: Pick<KeyRecord, 'KeyId' | 'KeySpec'> & Partial<Pick<KeyRecord, 'KeyUsage'>>,
    version: number,
    origin: MaterialVersion['Origin'],
    raw?: Uint8Array,
    /** What the caller already derived from `raw` (an import checked it): not derived again. */
    known?: { keyMaterialId: string; publicKey?: Uint8Array },
  ): Promise<MaterialVersion> {
    const keyId = key.KeyId;
    const family = familyOfKey(key);
    // An asymmetric key's pair is made once: the public key comes with it (no second derivation).
    const pair = !raw && family.newKeyPair ? await family.newKeyPair(key.KeySpec) : undefined;
    const material = raw ? raw.slice() : pair ? pair.pkcs8 : await family.newMaterial(key.KeySpec);
    // Given material (seeded keys) gets a reproducible id: a hash bound to the key id; fresh
    // material a random one.
    const keyMaterialId = known?.keyMaterialId ?? (raw ? await givenMaterialId(keyId, raw) : toHex(randomBytes(32)));
    try {
      const sealed = await this.protector.seal(material, {
        keyId,
        version,
        keyMaterialId,
        ...importersOf(key),
      });
      const made: MaterialVersion = {
        KeyId: keyId,
        Version: version,
        KeyMaterialId: keyMaterialId,
        CreationDate: this.now(),
        Origin: origin,
        Material: sealed,
      };
      if (pair) made.PublicKey = pair.spki;
      else if (known?.publicKey) made.PublicKey = known.publicKey;
      else if (family.publicKeyOf) made.PublicKey = await family.publicKeyOf(key.KeySpec, material);
      return made;
    } finally {
      wipe(material);
    }
  }

  /**
   * Read, decide, commit, retrying on a conflicting concurrent commit. `decide` sees the current
   * record and returns the next record, extra writes, writes in other Regions (`across`, by
   * Region: multi-Region key operations) and the result, or throws a KmsError.
   */
  async mutateKey<T>(keyId: string, decide: (key: KeyRecord) => Promise<Decision<T>> | Decision<T>): Promise<T> {
    return this.withLock(`key:${keyId}`, () =>
      retryOnConflict(async () => {
        const key = await this.store.getKey(keyId);
        if (!key) throw this.notFound(keyId);
        const decided = await decide(key);
        const { writes = [], across: elsewhere, result } = decided;
        const next = decided.next && countSharedChange(key, decided.next);
        const all: StoreWrite[] = [];
        if (next) all.push({ type: 'putKey', key: { ...next, Revision: key.Revision + 1 }, expectRevision: key.Revision });
        all.push(...writes);
        if (all.length === 0) return result;
        // A multi-Region primary's shared properties and new versions reach every replica in the
        // same commit: no Region encrypts with a version another lacks.
        let across = next && this.regional ? await replicaWrites(this, key, next, writes) : undefined;
        if (elsewhere) {
          across ??= new Map();
          for (const [region, w] of elsewhere) across.set(region, [...(across.get(region) ?? []), ...w]);
        }
        if (across && across.size > 0) {
          if (!this.regional) throw new Error('writes in other Regions need a regional engine');
          across.set(this.region, all);
          await this.regional!.commit(across);
        } else {
          await this.store.commit(all);
        }
        // Replicas in other deployments are told after the commit, from the record (the outbox).
        if (next && this.regional?.remote && needsDelivery(next)) this.regional.remote.kick(this, keyId);
        return result;
      }),
    );
  }

  /**
   * Adds a key material version and makes it current. AUTOMATIC rotations only happen when due
   * (so concurrent callers rotate once) and re-anchor the schedule at now; ON_DEMAND rotations
   * count against the per-key limit and leave the schedule alone.
   */
  async rotate(keyId: string, type: RotationType, check?: (key: KeyRecord) => void): Promise<KeyRecord | undefined> {
    return this.mutateKey(keyId, async (key) => {
      check?.(key);
      const now = this.now();
      if (type === 'AUTOMATIC' && !isRotationDue(key, now)) return { result: undefined };
      if (type === 'ON_DEMAND' && key.OnDemandRotationCount >= this.onDemandRotationLimit) {
        throw new KmsError(
          'LimitExceededException',
          `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${this.keyArn(key.KeyId)}`,
        );
      }
      // Imported key material: RotateKeyOnDemand makes the material waiting for it current.
      if (key.Origin === 'EXTERNAL') return this.rotateImported(key, type);
      if (key.PendingRotation) {
        // A rotation is still reaching replicas in other deployments.
        if (type === 'AUTOMATIC') return { result: undefined };
        throw new KmsError(
          'ConflictException',
          `A rotation of ${this.keyArn(key.KeyId)} is in progress (it is reaching the key's replicas in other Regions). Try again when it completes.`,
        );
      }
      const versionNo = key.CurrentVersion + 1;
      const version = await this.newVersion(key, versionNo, type);
      if (hasRemoteReplicas(key)) {
        // Replicas in other deployments get the version first; it becomes current everywhere
        // once every one of them has it (replication.ts). Until then the key encrypts with the
        // last version every replica has.
        const next: KeyRecord = {
          ...key,
          PendingRotation: { Version: versionNo, KeyMaterialId: version.KeyMaterialId, Type: type, StartDate: now },
          OnDemandRotationCount: key.OnDemandRotationCount + (type === 'ON_DEMAND' ? 1 : 0),
          Rotation: type === 'AUTOMATIC' ? { ...key.Rotation, AnchorDate: now } : key.Rotation,
        };
        return { next, writes: [{ type: 'putVersion', version }], result: next };
      }
      const next: KeyRecord = {
        ...key,
        CurrentVersion: versionNo,
        CurrentKeyMaterialId: version.KeyMaterialId,
        OnDemandRotationCount: key.OnDemandRotationCount + (type === 'ON_DEMAND' ? 1 : 0),
        Rotation: type === 'AUTOMATIC' ? { ...key.Rotation, AnchorDate: now } : key.Rotation,
      };
      return { next, writes: [{ type: 'putVersion', version }], result: next };
    });
  }

  /** RotateKeyOnDemand of an EXTERNAL key: the imported material pending rotation becomes current, the current one NON_CURRENT. */
  private async rotateImported(key: KeyRecord, type: RotationType): Promise<Decision<KeyRecord | undefined>> {
    if (type === 'AUTOMATIC') return { result: undefined };
    const pending = pendingRotation(key);
    // A multi-Region key's new material becomes current only once every replica has imported it.
    if (pending?.[1].ImportState !== 'IMPORTED' || (await this.replicasLacking(key, pending[0])).length > 0) {
      throw new KmsError('KMSInvalidStateException', `No available key material pending rotation for the key: ${this.keyArn(key.KeyId)}.`);
    }
    const [id, m] = pending;
    const next = withImported(
      { ...key, CurrentVersion: m.Version, CurrentKeyMaterialId: id, OnDemandRotationCount: key.OnDemandRotationCount + 1 },
      key.Imported ?? {},
      m.Version,
    );
    return { next, result: next };
  }

  /**
   * The Regions whose replica of a multi-Region primary has not imported material `id` (or does
   * not know it yet): empty for a key without replicas.
   */
  async replicasLacking(key: KeyRecord, id: string): Promise<string[]> {
    const set = key.MultiRegionConfiguration;
    if (set?.MultiRegionKeyType !== 'PRIMARY' || !this.regional) return [];
    const lacking: string[] = [];
    for (const region of set.ReplicaRegions) {
      const replica = await this.regional.engineFor(region).store.getKey(key.KeyId);
      if (replica?.Imported?.[id]?.ImportState !== 'IMPORTED') lacking.push(region);
    }
    return lacking;
  }

  /** Deletes a key (versions and aliases included) whose waiting period is over. */
  async deleteIfDue(keyId: string): Promise<boolean> {
    return this.withLock(`key:${keyId}`, () =>
      retryOnConflict(async () => {
        const key = await this.store.getKey(keyId);
        if (!key || !isDeletionDue(key, this.now())) return false;
        const writes: StoreWrite[] = [{ type: 'deleteKey', keyId, expectRevision: key.Revision }];
        for (let after: string | undefined; ; ) {
          const page = await this.store.listAliases({ after, limit: 1000 });
          for (const a of page.items) if (a.TargetKeyId === keyId) writes.push({ type: 'deleteAlias', aliasName: a.AliasName, expectTarget: keyId });
          if (!page.next) break;
          after = page.next;
        }
        // A deleted multi-Region key leaves its set: the other keys of the set drop it, in the
        // same commit (and a primary waiting for its replicas starts its own waiting period).
        const across = this.regional && key.MultiRegionConfiguration ? await deletionWrites(this, key) : undefined;
        if (across) {
          across.set(this.region, writes);
          await this.regional!.commit(across);
          // A primary in another Region of this deployment whose set changed tells its remote replicas.
          for (const [region, w] of across) {
            for (const write of w) {
              if (write.type === 'putKey' && this.regional?.remote && needsDelivery(write.key))
                this.regional.remote.kick(this.regional.engineFor(region), keyId);
            }
          }
        } else {
          await this.store.commit(writes);
        }
        this.forgetMaterial(keyId);
        return true;
      }),
    );
  }

  /** Builds a new key record with its first key material version and commits both. */
  async createKey(
    fields: Omit<
      KeyRecord,
      'KeyId' | 'AccountId' | 'Region' | 'CreationDate' | 'CurrentVersion' | 'CurrentKeyMaterialId' | 'OnDemandRotationCount' | 'Revision'
    >,
    extra: StoreWrite[] = [],
    keyId = randomUuid(),
    raw?: Uint8Array,
  ): Promise<KeyRecord> {
    // A key for imported material (Origin EXTERNAL) starts with none: version 0, PendingImport.
    if (fields.Origin === 'EXTERNAL') {
      const key: KeyRecord = {
        ...fields,
        ...(fields.MultiRegion ? { MultiRegionConfiguration: { MultiRegionKeyType: 'PRIMARY', PrimaryRegion: this.region, ReplicaRegions: [] } } : {}),
        KeyState: 'PendingImport',
        KeyId: keyId,
        AccountId: this.accountId,
        Region: this.region,
        CreationDate: this.now(),
        CurrentVersion: 0,
        CurrentKeyMaterialId: '',
        OnDemandRotationCount: 0,
        Imported: {},
        Revision: 1,
      };
      await this.store.commit([{ type: 'putKey', key, expectRevision: 0 }, ...extra]);
      return key;
    }
    const version = await this.newVersion({ KeyId: keyId, KeySpec: fields.KeySpec, KeyUsage: fields.KeyUsage }, 1, 'CREATE', raw);
    const key: KeyRecord = {
      ...fields,
      ...(fields.MultiRegion ? { MultiRegionConfiguration: { MultiRegionKeyType: 'PRIMARY', PrimaryRegion: this.region, ReplicaRegions: [] } } : {}),
      KeyId: keyId,
      AccountId: this.accountId,
      Region: this.region,
      CreationDate: this.now(),
      CurrentVersion: 1,
      CurrentKeyMaterialId: version.KeyMaterialId,
      OnDemandRotationCount: 0,
      Revision: 1,
    };
    await this.store.commit([{ type: 'putKey', key, expectRevision: 0 }, { type: 'putVersion', version }, ...extra]);
    return key;
  }

  /** `alias/aws/<service>`: made on first use, managed by "AWS", rotated yearly. */
  async createAwsManagedKey(aliasName: string): Promise<string> {
    return this.withLock(`alias:${aliasName}`, async () => {
      const existing = await this.store.getAlias(aliasName);
      if (existing) return existing.TargetKeyId;
      const service = aliasName.slice('alias/aws/'.length);
      const now = this.now();
      const keyId = randomUuid();
      try {
        await this.createKey(
          {
            Description: `Default key that protects my ${service} data when no other key is defined`,
            KeyUsage: 'ENCRYPT_DECRYPT',
            KeySpec: 'SYMMETRIC_DEFAULT',
            Origin: 'AWS_KMS',
            KeyManager: 'AWS',
            KeyState: 'Enabled',
            MultiRegion: false,
            Rotation: { Enabled: true, PeriodInDays: AWS_MANAGED_ROTATION_PERIOD_DAYS, AnchorDate: now },
            Tags: [],
            Policy: defaultKeyPolicy(this.accountId, this.partition),
          },
          [{ type: 'putAlias', alias: { AliasName: aliasName, TargetKeyId: keyId, CreationDate: now, LastUpdatedDate: now }, expectTarget: null }],
          keyId,
        );
        return keyId;
      } catch (e) {
        if (!(e instanceof StoreConflictError)) throw e;
        // Another process made it first.
        const made = await this.store.getAlias(aliasName);
        if (!made) throw e;
        return made.TargetKeyId;
      }
    });
  }
}
