/**
 * Regions in one store. Every Region is its own keyspace (keys, versions, aliases), as in AWS; one
 * store holds them all, so that a commit can span Regions (a multi-Region key's rotation writes
 * the new version to the primary and every replica at once). A Region's records live under the
 * physical ids `~<region>/<id>`: key ids, version key ids and alias names get the prefix, the
 * records' other fields stay as they are. `~` sorts after every id a record can have (hex digits,
 * `mrk-`, `alias/`), so the records of a one-Region store written before Regions existed (no
 * prefix) sort first, where `migrateLegacyRecords` finds them and moves them into the configured
 * Region's keyspace.
 *
 * `scopeStore(store, region)` is the KmsStore a Region's engine sees: any store, unchanged, works.
 */
import type { AliasRecord, KeyRecord, MaterialVersion } from '../model.js';
import { StoreConflictError } from '../errors.js';
import type { KmsStore, ListPage, StoreWrite } from './types.js';

export const REGION_PREFIX_START = '~';

export function regionPrefix(region: string): string {
  return `${REGION_PREFIX_START}${region}/`;
}

export interface RegionStore extends KmsStore {
  readonly region: string;
  /** The writes as the underlying store sees them (physical ids): a commit may join several Regions'. */
  physical(writes: StoreWrite[]): StoreWrite[];
}

/** The id a Region's view shows: the physical id without the Region prefix. */
function strip(prefix: string, id: string): string {
  return id.slice(prefix.length);
}

export function scopeStore(store: KmsStore, region: string): RegionStore {
  const p = regionPrefix(region);
  // Views of the underlying records with the prefix taken off, made once per stored object: the
  // memory store hands out the same frozen object on every read, so the hot path makes none.
  const keyViews = new WeakMap<KeyRecord, KeyRecord>();
  const keyView = (k: KeyRecord | undefined): KeyRecord | undefined => {
    if (!k) return undefined;
    let v = keyViews.get(k);
    if (!v) {
      v = Object.freeze({ ...k, KeyId: strip(p, k.KeyId) });
      keyViews.set(k, v);
    }
    return v;
  };
  const versionView = (v: MaterialVersion): MaterialVersion => ({ ...v, KeyId: strip(p, v.KeyId) });
  const aliasView = (a: AliasRecord | undefined): AliasRecord | undefined => a && { ...a, AliasName: strip(p, a.AliasName) };

  function physicalWrite(w: StoreWrite): StoreWrite {
    switch (w.type) {
      case 'putKey':
        return { ...w, key: { ...w.key, KeyId: p + w.key.KeyId } };
      case 'deleteKey':
        return { ...w, keyId: p + w.keyId };
      case 'putVersion':
      case 'replaceVersion':
        return { ...w, version: { ...w.version, KeyId: p + w.version.KeyId } };
      case 'putAlias':
        return { ...w, alias: { ...w.alias, AliasName: p + w.alias.AliasName } };
      case 'deleteAlias':
        return { ...w, aliasName: p + w.aliasName };
    }
  }

  async function listScoped<T>(
    list: (o: { after?: string; limit: number }) => Promise<ListPage<T>>,
    name: (t: T) => string,
    view: (t: T) => T,
    after: string | undefined,
    limit: number,
  ): Promise<ListPage<T>> {
    const page = await list({ after: p + (after ?? ''), limit });
    const items: T[] = [];
    for (const item of page.items) {
      // Past this Region's keyspace: the page ends here.
      if (!name(item).startsWith(p)) return { items };
      items.push(view(item));
    }
    return page.next?.startsWith(p) ? { items, next: strip(p, page.next) } : { items };
  }

  const scoped: RegionStore = {
    region,
    physical: (writes) => writes.map(physicalWrite),
    getKey: async (keyId) => keyView(await store.getKey(p + keyId)),
    listKeys: ({ after, limit }) =>
      listScoped(
        (o) => store.listKeys(o),
        (k) => k.KeyId,
        (k) => keyView(k)!,
        after,
        limit,
      ),
    async getVersion(keyId, version) {
      const v = await store.getVersion(p + keyId, version);
      return v && versionView(v);
    },
    async listVersions(keyId, options) {
      return (await store.listVersions(p + keyId, options)).map(versionView);
    },
    getAlias: async (name) => aliasView(await store.getAlias(p + name)),
    listAliases: ({ after, limit }) =>
      listScoped(
        (o) => store.listAliases(o),
        (a) => a.AliasName,
        (a) => aliasView(a)!,
        after,
        limit,
      ),
    commit: (writes) => store.commit(writes.map(physicalWrite)),
    async clear() {
      // Clearing one Region would leave the others; the Kms clears the underlying store.
      await store.clear();
    },
  };
  if (store.getKeyNow) {
    const now = store.getKeyNow.bind(store);
    scoped.getKeyNow = (keyId) => keyView(now(p + keyId));
  }
  if (store.getVersionCandidates) {
    const candidates = store.getVersionCandidates.bind(store);
    scoped.getVersionCandidates = async (keyId, version) => (await candidates(p + keyId, version)).map(versionView);
  }
  return scoped;
}

/** The Regions that have keys or aliases in a store, in ascending order. */
export async function regionsIn(store: KmsStore): Promise<string[]> {
  const found = new Set<string>();
  for (const list of [
    (after: string) => store.listKeys({ after, limit: 1 }).then((p) => p.items.map((k) => k.KeyId)),
    (after: string) => store.listAliases({ after, limit: 1 }).then((p) => p.items.map((a) => a.AliasName)),
  ]) {
    // Skip from one Region's keyspace to the next: one read per Region.
    for (let after = REGION_PREFIX_START; ; ) {
      const [id] = await list(after);
      if (id === undefined || !id.startsWith(REGION_PREFIX_START)) break;
      const slash = id.indexOf('/');
      if (slash < 0) break;
      const region = id.slice(1, slash);
      found.add(region);
      after = `${REGION_PREFIX_START}${region}/\uffff`;
    }
  }
  return [...found].sort();
}

/**
 * Moves the records a one-Region store holds without a Region prefix (written before Regions
 * existed) into their Region's keyspace: the Region the key record names when `isRegion` accepts
 * it, else `region` (an alias goes with its target key). Each key moves in steps that can be
 * repeated after a crash at any point, on any store (Workers KV has no atomic commit): the
 * versions not yet copied, then the key record if it is not there yet, then the old key with its
 * versions is deleted; an alias is copied, then deleted. Concurrent migrators (Worker isolates)
 * conflict and move on. Returns the number of keys and aliases moved.
 */
export async function migrateLegacyRecords(store: KmsStore, region: string, isRegion: (name: string) => boolean = () => false): Promise<number> {
  let moved = 0;
  const regionOfKey = new Map<string, string>();
  const target = (key: KeyRecord) => (key.Region && isRegion(key.Region) ? key.Region : region);
  const conflictOk = async (fn: () => Promise<void>): Promise<boolean> => {
    try {
      await fn();
      return true;
    } catch (e) {
      if (e instanceof StoreConflictError) return false;
      throw e;
    }
  };
  // Legacy ids sort before every prefixed one: page through them until the first prefixed id.
  for (let after: string | undefined; ; ) {
    const page = await store.listKeys({ after, limit: 50 });
    const legacy = page.items.filter((k) => !k.KeyId.startsWith(REGION_PREFIX_START));
    for (const key of legacy) {
      const to = scopeStore(store, target(key));
      regionOfKey.set(key.KeyId, to.region);
      for (let from = 0; ; ) {
        const versions = await store.listVersions(key.KeyId, { after: from, limit: 100 });
        for (const version of versions) {
          if (await to.getVersion(key.KeyId, version.Version)) continue;
          await conflictOk(() => to.commit([{ type: 'putVersion', version }]));
        }
        if (versions.length < 100) break;
        from = versions[versions.length - 1]!.Version;
      }
      if (!(await to.getKey(key.KeyId))) await conflictOk(() => to.commit([{ type: 'putKey', key: { ...key, Revision: 1 }, expectRevision: 0 }]));
      if (await to.getKey(key.KeyId)) {
        if (await conflictOk(() => store.commit([{ type: 'deleteKey', keyId: key.KeyId, expectRevision: key.Revision }]))) moved++;
      }
    }
    if (legacy.length < page.items.length || !page.next) break;
    after = page.next;
  }
  for (let after: string | undefined; ; ) {
    const page = await store.listAliases({ after, limit: 50 });
    const legacy = page.items.filter((a) => !a.AliasName.startsWith(REGION_PREFIX_START));
    for (const alias of legacy) {
      const to = scopeStore(store, regionOfKey.get(alias.TargetKeyId) ?? (await legacyTargetRegion(store, alias.TargetKeyId, isRegion)) ?? region);
      if (!(await to.getAlias(alias.AliasName))) await conflictOk(() => to.commit([{ type: 'putAlias', alias, expectTarget: null }]));
      if (await conflictOk(() => store.commit([{ type: 'deleteAlias', aliasName: alias.AliasName, expectTarget: alias.TargetKeyId }]))) moved++;
    }
    if (legacy.length < page.items.length || !page.next) break;
    after = page.next;
  }
  return moved;
}

/** The Region of an alias's target key moved in an earlier, interrupted run: the keyspace holding it. */
async function legacyTargetRegion(store: KmsStore, keyId: string, isRegion: (name: string) => boolean): Promise<string | undefined> {
  for (const r of await regionsIn(store)) if (isRegion(r) && (await scopeStore(store, r).getKey(keyId))) return r;
  return undefined;
}
