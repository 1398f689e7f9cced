/**
 * The in-memory store: the default for tests, the MSW mock and the browser without persistence.
 * Key records and aliases are cloned and deep-frozen when committed and handed out as they are
 * (reads copy nothing: this is the hot path of every operation); versions are copied (a
 * replaceVersion stores a new copy in place of the old). Either way no caller can change stored
 * state behind a commit.
 */
import type { AliasRecord, KeyRecord, MaterialVersion } from '../model.js';
import { commitWrites, type SyncView } from './apply.js';
import type { KmsStore, ListPage, StoreWrite } from './types.js';

function page<T>(all: T[], name: (t: T) => string, after: string | undefined, limit: number): ListPage<T> {
  const sorted = all.sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
  const start = after === undefined ? 0 : sorted.findIndex((t) => name(t) > after);
  const from = start < 0 ? sorted.length : start;
  const items = sorted.slice(from, from + limit);
  const more = from + limit < sorted.length;
  return more ? { items, next: name(items[items.length - 1]!) } : { items };
}

/**
 * Copies a version. A CryptoKey is immutable and is kept by reference: some runtimes (workerd)
 * cannot structured-clone CryptoKeys.
 */
function cloneVersion(v: MaterialVersion): MaterialVersion {
  const m = v.Material;
  const copy: MaterialVersion = {
    ...v,
    Material:
      m.kind === 'cryptokey'
        ? { kind: 'cryptokey', key: m.key, ...(m.sealed && { sealed: { key: m.sealed.key, data: m.sealed.data.slice() } }) }
        : m.kind === 'cryptokeys'
          ? { kind: 'cryptokeys', keys: { ...m.keys }, ...(m.sealed && { sealed: { key: m.sealed.key, data: m.sealed.data.slice() } }) }
          : m.kind === 'sealed'
            ? { kind: 'sealed', key: m.key, data: m.data.slice() }
            : m.kind === 'deleted'
              ? { kind: 'deleted' }
              : { kind: 'wrapped', alg: m.alg, data: m.data.slice() },
  };
  if (v.PublicKey) copy.PublicKey = new Uint8Array(v.PublicKey);
  return copy;
}

/** Freezes a record and everything in it (byte arrays cannot be frozen and are left as they are). */
export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !ArrayBuffer.isView(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

const frozen = <T>(value: T): T => deepFreeze(structuredClone(value));

export function createMemoryStore(): KmsStore {
  const keys = new Map<string, KeyRecord>();
  const versions = new Map<string, Map<number, MaterialVersion>>();
  const aliases = new Map<string, AliasRecord>();

  const view: SyncView = {
    getKey: (id) => keys.get(id),
    hasVersion: (id, v) => versions.get(id)?.has(v) ?? false,
    versionMaterialIds: (id, v) => {
      const found = versions.get(id)?.get(v);
      return found ? [found.KeyMaterialId] : [];
    },
    getAlias: (n) => aliases.get(n),
    putKey: (k) => void keys.set(k.KeyId, frozen(k)),
    deleteKey: (id) => {
      keys.delete(id);
      versions.delete(id);
    },
    putVersion: (v) => {
      let m = versions.get(v.KeyId);
      if (!m) versions.set(v.KeyId, (m = new Map()));
      m.set(v.Version, cloneVersion(v));
    },
    putAlias: (a) => void aliases.set(a.AliasName, frozen(a)),
    deleteAlias: (n) => void aliases.delete(n),
  };

  return {
    async getKey(keyId) {
      return keys.get(keyId);
    },
    getKeyNow: (keyId) => keys.get(keyId),
    async listKeys({ after, limit }) {
      const p = page([...keys.values()], (k) => k.KeyId, after, limit);
      return p;
    },
    async getVersion(keyId, version) {
      const v = versions.get(keyId)?.get(version);
      return v && cloneVersion(v);
    },
    async listVersions(keyId, { after, limit }) {
      const m = versions.get(keyId);
      if (!m) return [];
      const out: MaterialVersion[] = [];
      for (let n = after + 1; out.length < limit; n++) {
        const v = m.get(n);
        if (!v) break;
        out.push(cloneVersion(v));
      }
      return out;
    },
    async getAlias(name) {
      return aliases.get(name);
    },
    async listAliases({ after, limit }) {
      const p = page([...aliases.values()], (a) => a.AliasName, after, limit);
      return p;
    },
    async commit(writes: StoreWrite[]) {
      commitWrites(view, writes);
    },
    async clear() {
      keys.clear();
      versions.clear();
      aliases.clear();
    },
  };
}
