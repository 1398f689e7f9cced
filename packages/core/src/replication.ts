/**
 * Multi-Region keys across deployments. A deployment serves its own Regions; each other
 * deployment it shares keys with is a peer: a URL, the Regions the peer serves, and a 32-byte
 * link secret both sides are configured with (KMS_PEERS). A primary whose replica lives in a
 * peer's Region pushes to that peer everything the replica lacks:
 *
 * - the key material versions, each unwrapped from this deployment's root key and wrapped again
 *   for transport under a key derived from the link secret (AES-256-GCM, bound to the account,
 *   key id, version and material id); the replica opens it and seals it under its own root key;
 * - the properties the set shares (current version, rotation settings, the set itself), as a
 *   numbered change (SharedSeq) that the replica applies once, in order.
 *
 * The outbox is the primary's own record: `MultiRegionConfiguration.Remote` holds, per remote
 * Region, the last version and change the replica acknowledged, committed with the record, so
 * whatever a replica lacks is known after any restart and is sent again (by the next commit, and
 * by every maintenance run) until it is acknowledged; the replica applies each version and change
 * once (idempotent) and in order (version n only after n-1). A rotation of such a primary makes
 * the new version pending: the key keeps encrypting with the last version every replica has
 * (GetKeyRotationStatus shows OnDemandRotationStartDate) until every replica acknowledged the
 * new one, then it becomes current everywhere.
 *
 * Peers authenticate with SigV4 (service `edge-kms-peer`, signed by the shell's PeerSigner,
 * aws4fetch in @edge-kms/hono's `createPeerSigner`; verified by our verifier) under an access key id and secret derived from the link secret (HKDF-SHA-256), at
 * POST /_edge-kms-peer/v1. A peer may only speak for its own Regions' primaries, in this
 * deployment's account.
 */
import { createSigV4Verifier } from './auth/sigv4.js';
import type { Identity } from './auth/types.js';
import { concat, fromBase64, isMrkId, publicRandomBytes, toBase64, toHex, utf8, wipe } from './bytes.js';
import { systemClock } from './clock.js';
import { DAY_MS } from './clock.js';
import { isKmsError, KmsError, StoreConflictError } from './errors.js';
import type { Engine } from './engine.js';
import { familyOf, familyOfKey, importersOf } from './key-specs/index.js';
import { ORIGINS, type KeyRecord, type MaterialVersion, type MultiRegionSet, type RotationSettings, type Tag } from './model.js';
import { isRegionName } from './regions.js';
import { hasRemoteReplicas, isPrimary, isReplica, needsDelivery, withShared } from './multi-region.js';
import { errorResponse } from './protocol.js';
import { retryOnConflict } from './store/retry.js';
import type { StoreWrite } from './store/types.js';

export const PEER_PATH = '/_edge-kms-peer/v1';
const PEER_SERVICE = 'edge-kms-peer';
const PEER_TIMEOUT_MS = 10_000;
/** Versions sent in one message (a message stays well under the 1 MiB request limit). */
const MAX_VERSIONS_PER_MESSAGE = 500;
/** A peer message's largest body (the protocol's request limit). */
const MAX_PEER_MESSAGE_BYTES = 1 << 20;
const MATERIAL_ID_RE = /^[0-9a-f]{64}$/;
const isVersionNumber = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 0xffffffff;

/** One peer deployment, as configured (KMS_PEERS). */
export interface PeerOptions {
  /** A name for logs (default: the URL). */
  name?: string;
  /** The peer's base URL, e.g. http://10.0.0.2:4599. */
  url: string;
  /** The Regions the peer serves (this deployment does not serve them). */
  regions: string[];
  /** Base64 of the 32-byte link secret, the same on both sides. */
  secret: string;
}

interface Link {
  name: string;
  url: string;
  regions: Set<string>;
  accessKeyId: string;
  signingSecret: string;
  wrapKey: CryptoKey;
}

/** The shared properties a primary sends, and a replica applies. */
interface SharedPayload {
  KeySpec: KeyRecord['KeySpec'];
  KeyUsage: KeyRecord['KeyUsage'];
  Origin: KeyRecord['Origin'];
  KeyManager: KeyRecord['KeyManager'];
  CurrentVersion: number;
  CurrentKeyMaterialId: string;
  Rotation: RotationSettings;
  OnDemandRotationCount: number;
  PendingRotation?: KeyRecord['PendingRotation'];
  PrimaryRegion: string;
  ReplicaRegions: string[];
}

interface WireVersion {
  Version: number;
  KeyMaterialId: string;
  CreationDate: number;
  Origin: MaterialVersion['Origin'];
  Wrapped: string;
  /** An asymmetric key's public key, base64 SPKI DER. */
  PublicKey?: string;
}

interface PeerMessage {
  v: 1;
  type: 'replicate' | 'deliver';
  account: string;
  keyId: string;
  primaryRegion: string;
  replicaRegion: string;
  seq: number;
  key: SharedPayload;
  versions: WireVersion[];
  own?: { Description: string; Policy: string; Tags: Tag[]; CreationDate: number };
}

type PeerReply = { ok: true; version: number; seq: number; created?: boolean } | { gone: true };

export interface Replication {
  isRemote(region: string): boolean;
  kick(engine: Engine, keyId: string): void;
  /** Makes a replica in a peer's Region: sends the key, its shared properties and every version. */
  replicate(
    engine: Engine,
    primary: KeyRecord,
    region: string,
    own: NonNullable<PeerMessage['own']>,
  ): Promise<{ version: number; seq: number; created: boolean }>;
  /** Delivers what every primary's remote replicas lack (maintenance). Returns the keys delivered to. */
  deliverAll(engines: Engine[]): Promise<number>;
  /** Waits for the deliveries in flight (tests, shutdown). */
  idle(): Promise<void>;
  /** The peer endpoint: POST /_edge-kms-peer/v1. */
  handle(request: Request): Promise<Response>;
}

/**
 * Signs a peer request with SigV4 (the core has no dependencies: the shells pass aws4fetch's
 * signer, `createPeerSigner` from @edge-kms/hono).
 */
export type PeerSigner = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: string },
  credentials: { accessKeyId: string; secretAccessKey: string; service: string; region: string },
) => Promise<Request>;

export interface ReplicationOptions {
  peers: PeerOptions[];
  accountId: string;
  /** A Region's engine (this deployment's). */
  engineFor(region: string): Engine;
  /** This deployment serves the Region. */
  servesLocally(region: string): boolean;
  onError(error: unknown): void;
  sign: PeerSigner;
  fetch?: typeof fetch;
}

/** Parses KMS_PEERS (a JSON list of PeerOptions); throws TypeError with what is wrong. */
export function parsePeers(text: string | undefined): PeerOptions[] {
  if (!text) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new TypeError('KMS_PEERS must be a JSON list of {"url", "regions", "secret"}');
  }
  if (!Array.isArray(raw)) throw new TypeError('KMS_PEERS must be a JSON list of {"url", "regions", "secret"}');
  return raw.map((p, i) => {
    const o = p as Record<string, unknown>;
    if (!o || typeof o.url !== 'string' || !Array.isArray(o.regions) || typeof o.secret !== 'string') {
      throw new TypeError(`KMS_PEERS[${i}] must have "url" (string), "regions" (list of Region names) and "secret" (base64 of 32 bytes)`);
    }
    if (fromBase64(o.secret.trim())?.length !== 32) throw new TypeError(`KMS_PEERS[${i}]: "secret" must be base64 of 32 random bytes`);
    if (!/^https?:\/\//.test(o.url)) throw new TypeError(`KMS_PEERS[${i}]: "url" must be an http(s) URL`);
    return { name: typeof o.name === 'string' ? o.name : undefined, url: o.url, regions: o.regions as string[], secret: o.secret };
  });
}

async function hkdf(secret: Uint8Array, info: string, usage: 'bits'): Promise<Uint8Array>;
async function hkdf(secret: Uint8Array, info: string, usage: 'aes'): Promise<CryptoKey>;
async function hkdf(secret: Uint8Array, info: string, usage: 'bits' | 'aes'): Promise<Uint8Array | CryptoKey> {
  const base = await crypto.subtle.importKey('raw', secret as BufferSource, 'HKDF', false, ['deriveBits', 'deriveKey']);
  const params = { name: 'HKDF', hash: 'SHA-256', salt: utf8('edge-kms peer link v1') as BufferSource, info: utf8(info) as BufferSource };
  if (usage === 'aes') return crypto.subtle.deriveKey(params, base, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  return new Uint8Array(await crypto.subtle.deriveBits(params, base, 256));
}

async function deriveLink(peer: PeerOptions): Promise<Link> {
  const secret = fromBase64(peer.secret.trim());
  if (secret?.length !== 32) throw new TypeError(`peer ${peer.name ?? peer.url}: "secret" must be base64 of 32 random bytes`);
  try {
    const id = await hkdf(secret, 'access key id', 'bits');
    const signing = await hkdf(secret, 'sigv4 secret', 'bits');
    return {
      name: peer.name ?? peer.url,
      url: peer.url.replace(/\/+$/, ''),
      regions: new Set(peer.regions),
      accessKeyId: `EKPEER${toHex(id.subarray(0, 7)).toUpperCase()}`,
      signingSecret: toBase64(signing),
      wrapKey: await hkdf(secret, 'material transport', 'aes'),
    };
  } finally {
    wipe(secret);
  }
}

const transportAad = (account: string, keyId: string, version: number, keyMaterialId: string) =>
  utf8(`edge-kms/peer/material/v1\u0000${account}\u0000${keyId}\u0000${version}\u0000${keyMaterialId}`);

function shared(key: KeyRecord): SharedPayload {
  const set = key.MultiRegionConfiguration!;
  const out: SharedPayload = {
    KeySpec: key.KeySpec,
    KeyUsage: key.KeyUsage,
    Origin: key.Origin,
    KeyManager: key.KeyManager,
    CurrentVersion: key.CurrentVersion,
    CurrentKeyMaterialId: key.CurrentKeyMaterialId,
    Rotation: key.Rotation,
    OnDemandRotationCount: key.OnDemandRotationCount,
    PrimaryRegion: set.PrimaryRegion,
    ReplicaRegions: set.ReplicaRegions,
  };
  if (key.PendingRotation) out.PendingRotation = key.PendingRotation;
  return out;
}

const bad = (message: string) => new KmsError('ValidationException', message);

export function createReplication(options: ReplicationOptions): Replication {
  if (new Set(options.peers.map((p) => p.secret.trim())).size !== options.peers.length) {
    throw new TypeError('KMS_PEERS: every peer needs its own link secret');
  }
  const remoteRegions = new Map<string, PeerOptions>();
  for (const p of options.peers) {
    for (const r of p.regions) {
      if (options.servesLocally(r)) throw new TypeError(`peer ${p.name ?? p.url} serves ${r}, which this deployment serves too`);
      if (remoteRegions.has(r)) throw new TypeError(`two peers serve ${r}`);
      remoteRegions.set(r, p);
    }
  }
  const links = Promise.all(options.peers.map(deriveLink));
  links.catch(() => undefined);
  const linkFor = async (region: string) => (await links).find((l) => l.regions.has(region));
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));

  async function send(link: Link, fromRegion: string, message: PeerMessage): Promise<PeerReply> {
    const signed = await options.sign(
      `${link.url}${PEER_PATH}`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'x-amz-target': `EdgeKmsPeer.${message.type}` }, body: JSON.stringify(message) },
      { accessKeyId: link.accessKeyId, secretAccessKey: link.signingSecret, service: PEER_SERVICE, region: fromRegion },
    );
    let res: Response;
    let text: string;
    try {
      res = await doFetch(signed, { signal: AbortSignal.timeout(PEER_TIMEOUT_MS) });
      text = await res.text();
    } catch (e) {
      throw new KmsError(
        'DependencyTimeoutException',
        `The deployment serving ${message.replicaRegion} (peer ${link.name}) did not answer (${(e as Error).message}); try again.`,
      );
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new Error(`peer ${link.name}: HTTP ${res.status}, not JSON`);
    }
    if (!res.ok) {
      const code = typeof body.__type === 'string' ? body.__type : 'KMSInternalException';
      throw new KmsError(code as 'KMSInternalException', `peer ${link.name}: ${typeof body.message === 'string' ? body.message : `HTTP ${res.status}`}`);
    }
    if (body.gone === true) return { gone: true };
    if (body.ok === true && Number.isInteger(body.version) && Number.isInteger(body.seq)) {
      return { ok: true, version: body.version as number, seq: body.seq as number, created: body.created === true };
    }
    throw new Error(`peer ${link.name}: an answer that is not a peer reply`);
  }

  /** Versions after..last of a key, unwrapped from the root key and wrapped for the link. */
  async function versionsFor(engine: Engine, key: KeyRecord, link: Link, after: number, last: number): Promise<WireVersion[]> {
    const exportRaw = engine.protector.exportRaw;
    if (!exportRaw)
      throw new KmsError(
        'UnsupportedOperationException',
        'This deployment keeps key material where it cannot be replicated to another deployment (no root key).',
      );
    const out: WireVersion[] = [];
    // At most MAX_VERSIONS_PER_MESSAGE a message; the rest go in the next delivery.
    last = Math.min(last, after + MAX_VERSIONS_PER_MESSAGE);
    for (let from = after; from < last; ) {
      const page = await engine.store.listVersions(key.KeyId, { after: from, limit: Math.min(100, last - from) });
      if (page.length === 0) break;
      for (const v of page) {
        const raw = await exportRaw(v.Material, { keyId: key.KeyId, version: v.Version, keyMaterialId: v.KeyMaterialId });
        try {
          const iv = publicRandomBytes(12);
          const aad = transportAad(key.AccountId, key.KeyId, v.Version, v.KeyMaterialId);
          const ct = new Uint8Array(
            await crypto.subtle.encrypt({ name: 'AES-GCM', iv: iv as BufferSource, additionalData: aad as BufferSource }, link.wrapKey, raw as BufferSource),
          );
          const wire: WireVersion = {
            Version: v.Version,
            KeyMaterialId: v.KeyMaterialId,
            CreationDate: v.CreationDate,
            Origin: v.Origin,
            Wrapped: toBase64(concat(iv, ct)),
          };
          if (v.PublicKey) wire.PublicKey = toBase64(v.PublicKey);
          out.push(wire);
        } finally {
          wipe(raw);
        }
      }
      from = page[page.length - 1]!.Version;
    }
    return out;
  }

  // Deliveries run one at a time per key; a kick while one runs runs it once more after.
  const running = new Map<string, Promise<void>>();
  const again = new Set<string>();

  function kick(engine: Engine, keyId: string): void {
    const id = `${engine.region}/${keyId}`;
    if (running.has(id)) {
      again.add(id);
      return;
    }
    const run = (async () => {
      try {
        do {
          again.delete(id);
          await deliver(engine, keyId);
        } while (again.has(id));
      } catch (e) {
        // A peer that is down is retried by the next commit and by every maintenance run; the
        // operator hears of it (a rotation stays pending meanwhile).
        options.onError(e);
      } finally {
        running.delete(id);
      }
    })();
    running.set(id, run);
  }

  async function deliver(engine: Engine, keyId: string): Promise<void> {
    const key = await engine.store.getKey(keyId);
    if (!key || !hasRemoteReplicas(key)) return;
    const set = key.MultiRegionConfiguration!;
    const last = key.PendingRotation?.Version ?? key.CurrentVersion;
    const seq = set.SharedSeq ?? 0;
    const probe = key.KeyState === 'PendingReplicaDeletion';
    const replies = new Map<string, { reply: PeerReply; ack: { Version: number; Seq: number } }>();
    let failure: unknown;
    for (const [region, ack] of Object.entries(set.Remote!)) {
      if (!probe && ack.Version >= last && ack.Seq >= seq) continue;
      const link = await linkFor(region);
      if (!link) {
        // No configured peer serves the Region any more (removed from KMS_PEERS): its replica
        // leaves the set, so that the key's rotations do not wait for it forever. The replica
        // keeps what it has; the primary keeps every version, so nothing it encrypted is lost.
        options.onError(new Error(`edge-kms replication: no peer in KMS_PEERS serves ${region}; ${keyId}'s replica there leaves its set`));
        replies.set(region, { reply: { gone: true }, ack });
        continue;
      }
      try {
        const versions = ack.Version < last ? await versionsFor(engine, key, link, ack.Version, last) : [];
        const reply = await send(link, engine.region, {
          v: 1,
          type: 'deliver',
          account: key.AccountId,
          keyId,
          primaryRegion: engine.region,
          replicaRegion: region,
          seq,
          key: shared(key),
          versions,
        });
        replies.set(region, { reply, ack });
      } catch (e) {
        failure ??= new Error(
          `edge-kms replication: ${region} (peer ${link.name}) did not acknowledge ${keyId}; sent again at the next commit or maintenance run: ${isKmsError(e) ? `${e.code}: ` : ''}${(e as Error).message}`,
        );
      }
    }
    if (replies.size > 0) await recordReplies(engine, keyId, replies);
    if (failure) throw failure;
  }

  /** Commits what the replicas acknowledged; a rotation every replica now has becomes current. */
  async function recordReplies(
    engine: Engine,
    keyId: string,
    replies: Map<string, { reply: PeerReply; ack: { Version: number; Seq: number } }>,
  ): Promise<void> {
    await engine.mutateKey(keyId, (key) => {
      if (!hasRemoteReplicas(key)) return { result: undefined };
      const set = key.MultiRegionConfiguration!;
      const remote = { ...set.Remote! };
      const last = key.PendingRotation?.Version ?? key.CurrentVersion;
      const seqNow = set.SharedSeq ?? 0;
      let seq = seqNow;
      let replicas = set.ReplicaRegions;
      for (const [region, { reply, ack }] of replies) {
        const cur = remote[region];
        if (!cur) continue;
        if ('gone' in reply) {
          // Only if nothing changed the entry since this delivery began (a ReplicateKey may have
          // made the replica again in between).
          if (cur.Version !== ack.Version || cur.Seq !== ack.Seq) continue;
          delete remote[region];
          replicas = replicas.filter((r) => r !== region);
        } else {
          // A replica never acknowledges more than the primary has: what it says is bounded by
          // this record. A replica ahead of the primary's count (a primary restored from a backup,
          // a stray message) is brought back by a newer count than the one it holds.
          remote[region] = { Version: Math.max(cur.Version, Math.min(reply.version, last)), Seq: Math.max(cur.Seq, Math.min(reply.seq, seqNow)) };
          if (reply.seq > seqNow) seq = Math.max(seq, reply.seq + 1);
        }
      }
      let next: KeyRecord = { ...key, MultiRegionConfiguration: { ...set, Remote: remote, ReplicaRegions: replicas, SharedSeq: seq } };
      const pending = key.PendingRotation;
      if (pending && Object.values(remote).every((a) => a.Version >= pending.Version)) {
        next = { ...next, CurrentVersion: pending.Version, CurrentKeyMaterialId: pending.KeyMaterialId };
        delete next.PendingRotation;
      }
      if (next.KeyState === 'PendingReplicaDeletion' && replicas.length === 0) {
        next = { ...next, KeyState: 'PendingDeletion', DeletionDate: engine.now() + (next.PendingDeletionWindowInDays ?? 30) * DAY_MS };
      }
      if (JSON.stringify(next) === JSON.stringify(key)) return { result: undefined };
      return { next, result: undefined };
    });
  }

  // ------------------------------------------------------------------ the receiving side

  const verifier = createSigV4Verifier({
    mode: 'verify',
    service: PEER_SERVICE,
    region: (r) => remoteRegions.has(r),
    clock: systemClock,
    lookup: async (accessKeyId): Promise<Identity | undefined> => {
      const link = (await links).find((l) => l.accessKeyId === accessKeyId);
      return (
        link && { accessKeyId, secretAccessKey: link.signingSecret, accountId: options.accountId, arn: `arn:aws:iam::${options.accountId}:role/edge-kms-peer` }
      );
    },
  });

  async function receive(message: PeerMessage): Promise<PeerReply> {
    const engine = options.engineFor(message.replicaRegion);
    const link = (await linkFor(message.primaryRegion))!;
    return retryOnConflict(async () => {
      const rec = await engine.store.getKey(message.keyId);
      const ours = rec !== undefined && isReplica(rec) && rec.MultiRegionConfiguration!.PrimaryRegion === message.primaryRegion;
      if (message.type === 'deliver' && !ours) return { gone: true } as const;
      if (message.type === 'replicate' && rec && !ours) {
        throw new KmsError('AlreadyExistsException', `Replica key ${engine.keyArn(message.keyId)} already exists.`);
      }
      // The versions: each once, in order (n only after n-1).
      let highest = rec ? await highestContiguous(engine, rec.KeyId, rec.CurrentVersion) : 0;
      const writes: StoreWrite[] = [];
      const ids = new Map<number, string>();
      for (const v of [...message.versions].sort((a, b) => a.Version - b.Version)) {
        if (v.Version <= highest) continue;
        if (v.Version !== highest + 1) break;
        writes.push({ type: 'putVersion', version: await openForStore(engine, link, message, v) });
        ids.set(v.Version, v.KeyMaterialId);
        highest = v.Version;
      }
      // The shared properties: a newer change, once the versions it names are here, and only
      // when the material ids it names are those versions' (a change never points a replica at
      // material it does not hold).
      const applied = rec?.MultiRegionConfiguration?.SharedSeq ?? -1;
      const k = message.key;
      const materialOf = async (version: number) => ids.get(version) ?? (await engine.store.getVersion(message.keyId, version))?.KeyMaterialId;
      const covered =
        Math.max(k.CurrentVersion, k.PendingRotation?.Version ?? 0) <= highest &&
        (await materialOf(k.CurrentVersion)) === k.CurrentKeyMaterialId &&
        (k.PendingRotation === undefined || (await materialOf(k.PendingRotation.Version)) === k.PendingRotation.KeyMaterialId);
      let next: KeyRecord | undefined;
      if (message.seq > applied && covered) {
        const set: MultiRegionSet = { MultiRegionKeyType: 'REPLICA', PrimaryRegion: k.PrimaryRegion, ReplicaRegions: k.ReplicaRegions, SharedSeq: message.seq };
        const base: KeyRecord = rec ?? {
          KeyId: message.keyId,
          AccountId: options.accountId,
          Region: message.replicaRegion,
          CreationDate: message.own?.CreationDate ?? engine.now(),
          Description: message.own?.Description ?? '',
          KeySpec: k.KeySpec,
          KeyUsage: k.KeyUsage,
          Origin: k.Origin,
          KeyManager: k.KeyManager,
          KeyState: k.Origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled',
          MultiRegion: true,
          CurrentVersion: k.CurrentVersion,
          CurrentKeyMaterialId: k.CurrentKeyMaterialId,
          Rotation: k.Rotation,
          OnDemandRotationCount: k.OnDemandRotationCount,
          Tags: message.own?.Tags ?? [],
          Policy: message.own?.Policy ?? '',
          Revision: 0,
        };
        // The primary's shared properties, as a local replica gets them (multi-region.ts).
        next = withShared(base, { ...k, MultiRegionConfiguration: set });
      } else if (!rec) {
        throw bad('A new replica needs every version up to the current one.');
      }
      const all: StoreWrite[] = next ? [{ type: 'putKey', key: next, expectRevision: rec?.Revision ?? 0 }, ...writes] : writes;
      if (all.length > 0) await engine.store.commit(all);
      return {
        ok: true,
        version: highest,
        seq: next?.MultiRegionConfiguration?.SharedSeq ?? applied,
        created: rec === undefined && next !== undefined,
      } as const;
    });
  }

  async function highestContiguous(engine: Engine, keyId: string, from: number): Promise<number> {
    let highest = from;
    for (;;) {
      const page = await engine.store.listVersions(keyId, { after: highest, limit: 100 });
      for (const v of page) {
        if (v.Version !== highest + 1) return highest;
        highest = v.Version;
      }
      if (page.length < 100) return highest;
    }
  }

  async function openForStore(engine: Engine, link: Link, m: PeerMessage, v: WireVersion): Promise<MaterialVersion> {
    const data = fromBase64(v.Wrapped);
    if (!data || data.length < 12 + 16) throw bad('A wrapped key material version is malformed.');
    let raw: Uint8Array;
    try {
      raw = new Uint8Array(
        await crypto.subtle.decrypt(
          {
            name: 'AES-GCM',
            iv: data.subarray(0, 12) as BufferSource,
            additionalData: transportAad(m.account, m.keyId, v.Version, v.KeyMaterialId) as BufferSource,
          },
          link.wrapKey,
          data.subarray(12) as BufferSource,
        ),
      );
    } catch {
      throw bad('A wrapped key material version did not open under the link key.');
    }
    try {
      const invalid = familyOfKey(m.key).checkMaterial(m.key.KeySpec, raw);
      if (invalid) throw bad(`A key material version in a peer message is not valid material for ${m.key.KeySpec}.`);
      // Sealed as the engine seals material it makes (RSA: every algorithm's CryptoKey).
      const material = await engine.protector.seal(raw, { keyId: m.keyId, version: v.Version, keyMaterialId: v.KeyMaterialId, ...importersOf(m.key) });
      const made: MaterialVersion = {
        KeyId: m.keyId,
        Version: v.Version,
        KeyMaterialId: v.KeyMaterialId,
        CreationDate: v.CreationDate,
        Origin: v.Origin,
        Material: material,
      };
      // The public key is derived again from the material, not taken from the message.
      const family = familyOfKey(m.key);
      if (family.publicKeyOf) made.PublicKey = await family.publicKeyOf(m.key.KeySpec, raw);
      return made;
    } finally {
      wipe(raw);
    }
  }

  function checkMessage(m: unknown, link: Link): PeerMessage {
    const o = m as PeerMessage;
    if (!o || typeof o !== 'object' || o.v !== 1 || (o.type !== 'replicate' && o.type !== 'deliver')) throw bad('Not a peer message of version 1.');
    if (o.account !== options.accountId) {
      throw new KmsError('AccessDeniedException', `This deployment serves account ${options.accountId}, not ${String(o.account)}.`);
    }
    if (typeof o.keyId !== 'string' || !isMrkId(o.keyId)) throw bad('"keyId" must be a multi-Region key id.');
    if (typeof o.primaryRegion !== 'string' || !link.regions.has(o.primaryRegion)) {
      throw new KmsError('AccessDeniedException', `Peer ${link.name} does not serve ${String(o.primaryRegion)}.`);
    }
    if (typeof o.replicaRegion !== 'string' || !options.servesLocally(o.replicaRegion)) throw bad(`This deployment does not serve ${String(o.replicaRegion)}.`);
    if (!Number.isSafeInteger(o.seq) || o.seq < 0 || !Array.isArray(o.versions) || o.versions.length > MAX_VERSIONS_PER_MESSAGE) {
      throw bad('A peer message lacks "seq" or "versions", or sends too many versions.');
    }
    for (const v of o.versions) {
      if (
        !v ||
        !isVersionNumber(v.Version) ||
        typeof v.KeyMaterialId !== 'string' ||
        !MATERIAL_ID_RE.test(v.KeyMaterialId) ||
        typeof v.Wrapped !== 'string' ||
        v.Wrapped.length > 8192 ||
        (v.PublicKey !== undefined && (typeof v.PublicKey !== 'string' || v.PublicKey.length > 4096)) ||
        !Number.isFinite(v.CreationDate) ||
        !['CREATE', 'AUTOMATIC', 'ON_DEMAND'].includes(v.Origin)
      ) {
        throw bad('A key material version in a peer message is malformed.');
      }
    }
    const k = o.key as SharedPayload | undefined;
    const r = k?.Rotation as RotationSettings | undefined;
    const p = k?.PendingRotation;
    const malformed =
      !k ||
      typeof k !== 'object' ||
      !familyOf(k.KeySpec) ||
      !familyOf(k.KeySpec)!.usages(k.KeySpec).includes(k.KeyUsage) ||
      !ORIGINS.includes(k.Origin) ||
      k.KeyManager !== 'CUSTOMER' ||
      !isVersionNumber(k.CurrentVersion) ||
      typeof k.CurrentKeyMaterialId !== 'string' ||
      !MATERIAL_ID_RE.test(k.CurrentKeyMaterialId) ||
      !Number.isSafeInteger(k.OnDemandRotationCount) ||
      k.OnDemandRotationCount < 0 ||
      !r ||
      typeof r !== 'object' ||
      typeof r.Enabled !== 'boolean' ||
      (r.PeriodInDays !== undefined && (!Number.isInteger(r.PeriodInDays) || r.PeriodInDays < 90 || r.PeriodInDays > 2560)) ||
      (r.AnchorDate !== undefined && !Number.isFinite(r.AnchorDate)) ||
      (p !== undefined &&
        (!p ||
          p.Version !== k.CurrentVersion + 1 ||
          typeof p.KeyMaterialId !== 'string' ||
          !MATERIAL_ID_RE.test(p.KeyMaterialId) ||
          (p.Type !== 'AUTOMATIC' && p.Type !== 'ON_DEMAND') ||
          !Number.isFinite(p.StartDate))) ||
      k.PrimaryRegion !== o.primaryRegion ||
      !Array.isArray(k.ReplicaRegions) ||
      k.ReplicaRegions.length > 64 ||
      !k.ReplicaRegions.every((x) => typeof x === 'string' && isRegionName(x) && x !== o.primaryRegion) ||
      !k.ReplicaRegions.includes(o.replicaRegion);
    if (malformed) throw bad('The shared properties in a peer message are malformed.');
    if (o.type === 'replicate') {
      const own = o.own;
      if (
        !own ||
        typeof own.Description !== 'string' ||
        own.Description.length > 8192 ||
        typeof own.Policy !== 'string' ||
        own.Policy.length > 131072 ||
        !Array.isArray(own.Tags) ||
        own.Tags.length > 50 ||
        !own.Tags.every((t) => t && typeof t.TagKey === 'string' && typeof t.TagValue === 'string' && t.TagKey.length <= 128 && t.TagValue.length <= 256) ||
        !Number.isFinite(own.CreationDate)
      ) {
        throw bad('The replica properties in a peer message are malformed.');
      }
    }
    return o;
  }

  return {
    isRemote: (region) => remoteRegions.has(region),
    kick,
    async replicate(engine, primary, region, own) {
      const link = await linkFor(region);
      if (!link) throw new KmsError('UnsupportedOperationException', `ReplicaRegion ${region} is not a Region this KMS serves.`);
      const last = primary.PendingRotation?.Version ?? primary.CurrentVersion;
      const set = primary.MultiRegionConfiguration!;
      const seq = set.SharedSeq ?? 0;
      const view: KeyRecord = { ...primary, MultiRegionConfiguration: { ...set, ReplicaRegions: [...set.ReplicaRegions, region] } };
      const reply = await send(link, engine.region, {
        v: 1,
        type: 'replicate',
        account: primary.AccountId,
        keyId: primary.KeyId,
        primaryRegion: engine.region,
        replicaRegion: region,
        seq,
        key: shared(view),
        versions: await versionsFor(engine, primary, link, 0, last),
        own,
      });
      if ('gone' in reply) throw new KmsError('KMSInternalException', `peer ${link.name} refused the replica`);
      return { version: reply.version, seq: reply.seq, created: reply.created === true };
    },
    async deliverAll(engines) {
      let count = 0;
      for (const engine of engines) {
        for (let after: string | undefined; ; ) {
          const page = await engine.store.listKeys({ after, limit: 500 });
          for (const key of page.items) {
            if (isPrimary(key) && hasRemoteReplicas(key) && (needsDelivery(key) || key.KeyState === 'PendingReplicaDeletion')) {
              try {
                await deliver(engine, key.KeyId);
                count++;
              } catch (e) {
                if (!isKmsError(e) && !(e instanceof StoreConflictError)) options.onError(e);
              }
            }
          }
          if (!page.next) break;
          after = page.next;
        }
      }
      return count;
    },
    async idle() {
      while (running.size > 0) await Promise.allSettled([...running.values()]);
    },
    async handle(request) {
      try {
        if (request.method !== 'POST') throw new KmsError('UnknownOperationException', 'The peer endpoint expects POST.');
        const body = new Uint8Array(await request.arrayBuffer());
        if (body.length > MAX_PEER_MESSAGE_BYTES) throw new KmsError('SerializationException', 'A peer message exceeds 1 MiB.');
        const caller = await verifier({ method: request.method, url: request.url, headers: request.headers }, body);
        const link = (await links).find((l) => l.accessKeyId === caller.accessKeyId)!;
        let parsed: unknown;
        try {
          parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
        } catch {
          throw new KmsError('SerializationException', 'The request body is not valid JSON.');
        }
        const reply = await receive(checkMessage(parsed, link));
        return new Response(JSON.stringify(reply), { headers: { 'content-type': 'application/json' } });
      } catch (e) {
        if (isKmsError(e)) return errorResponse(e);
        options.onError(e);
        return errorResponse(new KmsError('KMSInternalException', 'An internal error occurred.'));
      }
    },
  };
}
