/**
 * Issue 2 and 3, persistence: keys, aliases, tags, key states, rotation settings and every key
 * material version survive a clean shutdown (SIGTERM) and a crash (SIGKILL) of the Node server,
 * every old ciphertext still decrypts, and the data directory holds no key material in the clear.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { failure, text, useKmsServer, utf8 } from '../helpers/server.js';

const { server, kms } = useKmsServer();

interface Sealed {
  keyId: string;
  blob: Uint8Array;
  plaintext: string;
  context?: Record<string, string>;
  keyMaterialId: string;
}

/** Everything observable about a set of keys through the API. */
async function snapshot(keyIds: string[]) {
  const keys: Record<string, unknown> = {};
  for (const id of keyIds) {
    const md = (await kms.describeKey({ KeyId: id })).KeyMetadata!;
    const tags = (await kms.listResourceTags({ KeyId: id })).Tags!;
    const entry: Record<string, unknown> = { md, tags: [...tags].sort((a, b) => a.TagKey!.localeCompare(b.TagKey!)) };
    if (md.KeyState !== 'PendingDeletion') {
      const { $metadata: _m1, ...rotations } = await kms.listKeyRotations({ KeyId: id, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' });
      const { $metadata: _m2, ...status } = await kms.getKeyRotationStatus({ KeyId: id });
      entry.rotations = rotations;
      entry.status = status;
    }
    keys[id] = entry;
  }
  const aliases = (await kms.listAliases({ Limit: 100 })).Aliases!.sort((a, b) => a.AliasName!.localeCompare(b.AliasName!));
  const listed = (await kms.listKeys({ Limit: 1000 })).Keys!.map((k) => k.KeyId).sort();
  return { keys, aliases, listed };
}

async function expectAllDecrypt(sealed: Sealed[]): Promise<void> {
  for (const s of sealed) {
    const dec = await kms.decrypt({ CiphertextBlob: s.blob, EncryptionContext: s.context });
    expect(text(dec.Plaintext)).toBe(s.plaintext);
    expect(dec.KeyId).toBe((await kms.describeKey({ KeyId: s.keyId })).KeyMetadata!.Arn);
    expect(dec.KeyMaterialId).toBe(s.keyMaterialId);
  }
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(p));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

describe('restart persistence', () => {
  const sealed: Sealed[] = [];
  const dataKeys: Uint8Array[] = [];
  const secrets: string[] = [];
  let keyIds: string[] = [];
  let rotated = '';
  let disabled = '';
  let pending = '';

  it('builds state: keys, aliases, tags, states, rotation settings, several material versions', async () => {
    const mk = async (description: string, tags: { TagKey: string; TagValue: string }[] = []) =>
      (await kms.createKey({ Description: description, Tags: tags })).KeyMetadata!.KeyId!;
    rotated = await mk('rotated key', [
      { TagKey: 'app', TagValue: 'billing' },
      { TagKey: 'tier', TagValue: 'gold' },
    ]);
    const plain = await mk('plain key', [{ TagKey: 'app', TagValue: 'search' }]);
    disabled = await mk('disabled key');
    pending = await mk('pending deletion key', [{ TagKey: 'doomed', TagValue: 'yes' }]);
    keyIds = [rotated, plain, disabled, pending];

    await kms.createAlias({ AliasName: 'alias/persist/rotated', TargetKeyId: rotated });
    await kms.createAlias({ AliasName: 'alias/persist/rotated-too', TargetKeyId: rotated });
    await kms.createAlias({ AliasName: 'alias/persist/plain', TargetKeyId: plain });
    await kms.createAlias({ AliasName: 'alias/persist/disabled', TargetKeyId: disabled });
    await kms.tagResource({ KeyId: plain, Tags: [{ TagKey: 'owner', TagValue: 'e2e' }] });
    await kms.enableKeyRotation({ KeyId: rotated, RotationPeriodInDays: 180 });

    const seal = async (keyId: string, i: number, context?: Record<string, string>) => {
      const secret = `TOP-SECRET-PLAINTEXT-${keyId}-${i}-${crypto.randomUUID()}`;
      secrets.push(secret);
      const enc = await kms.encrypt({ KeyId: keyId, Plaintext: utf8(secret), EncryptionContext: context });
      const dec = await kms.decrypt({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: context });
      sealed.push({ keyId, blob: enc.CiphertextBlob!, plaintext: secret, context, keyMaterialId: dec.KeyMaterialId! });
      const dk = await kms.generateDataKey({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context });
      dataKeys.push(dk.Plaintext!);
      sealed.push({ keyId, blob: dk.CiphertextBlob!, plaintext: new TextDecoder('latin1').decode(dk.Plaintext!), context, keyMaterialId: dk.KeyMaterialId! });
    };
    await seal(rotated, 0, { v: '0' });
    for (let i = 1; i <= 4; i++) {
      await kms.rotateKeyOnDemand({ KeyId: rotated });
      await seal(rotated, i, i % 2 ? { v: String(i) } : undefined);
    }
    await seal(plain, 0);
    await seal(plain, 1, { who: 'plain' });

    await kms.disableKey({ KeyId: disabled });
    await kms.scheduleKeyDeletion({ KeyId: pending, PendingWindowInDays: 7 });

    const versions = (await kms.listKeyRotations({ KeyId: rotated, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' })).Rotations!;
    expect(versions).toHaveLength(5);
    expect(new Set(sealed.filter((s) => s.keyId === rotated).map((s) => s.keyMaterialId)).size).toBe(5);
  });

  // Binary data keys: compare bytes, not text.
  async function expectSealedDecrypt(): Promise<void> {
    for (const s of sealed) {
      const dec = await kms.decrypt({ CiphertextBlob: s.blob, EncryptionContext: s.context });
      expect(new TextDecoder('latin1').decode(dec.Plaintext!)).toBe(s.plaintext);
      expect(dec.KeyMaterialId).toBe(s.keyMaterialId);
    }
  }

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`after ${signal} and a restart on the same data dir, everything is there and every ciphertext decrypts`, async () => {
      // Something changed right before the stop must survive too.
      const lastAlias = `alias/persist/last-before-${signal.toLowerCase()}`;
      await kms.createAlias({ AliasName: lastAlias, TargetKeyId: rotated });
      await kms.rotateKeyOnDemand({ KeyId: rotated });
      const enc = await kms.encrypt({ KeyId: rotated, Plaintext: utf8(`last before ${signal}`) });
      const dec = await kms.decrypt({ CiphertextBlob: enc.CiphertextBlob });
      sealed.push({ keyId: rotated, blob: enc.CiphertextBlob!, plaintext: `last before ${signal}`, keyMaterialId: dec.KeyMaterialId! });

      const before = await snapshot(keyIds);
      const oldPid = server.pid;
      const stopped = await server.restart(signal);
      if (signal === 'SIGTERM') expect(stopped).toEqual({ code: 0, signal: null });
      else expect(stopped).toEqual({ code: null, signal: 'SIGKILL' });
      expect(server.pid).not.toBe(oldPid);

      const after = await snapshot(keyIds);
      expect(after).toEqual(before);
      expect(after.aliases.map((a) => a.AliasName)).toContain(lastAlias);
      expect((after.keys[rotated] as { md: { KeyState: string } }).md.KeyState).toBe('Enabled');
      expect((after.keys[disabled] as { md: { KeyState: string } }).md.KeyState).toBe('Disabled');
      expect((after.keys[pending] as { md: { KeyState: string } }).md.KeyState).toBe('PendingDeletion');
      const status = (after.keys[rotated] as { status: { KeyRotationEnabled: boolean; RotationPeriodInDays: number } }).status;
      expect(status.KeyRotationEnabled).toBe(true);
      expect(status.RotationPeriodInDays).toBe(180);

      await expectSealedDecrypt();
      await expectAllDecrypt(sealed.filter((s) => s.keyId === rotated && s.plaintext.startsWith('last before')));

      // The restored keys keep working: new encryptions, rotation, state changes.
      await kms.rotateKeyOnDemand({ KeyId: rotated });
      const fresh = await kms.encrypt({ KeyId: 'alias/persist/rotated', Plaintext: utf8('after restart') });
      expect(text((await kms.decrypt({ CiphertextBlob: fresh.CiphertextBlob })).Plaintext)).toBe('after restart');
      const err = await failure(kms.encrypt({ KeyId: disabled, Plaintext: utf8('x') }));
      expect(err.name).toBe('DisabledException');
    });
  }

  it('the on-demand rotation count survives restarts (the limit still applies)', async () => {
    // 4 + 1 + 1 (SIGTERM) + 1 + 1 (SIGKILL) = 8 so far.
    const rotations = (await kms.listKeyRotations({ KeyId: rotated })).Rotations!;
    expect(rotations).toHaveLength(8);
    expect(rotations.every((r) => r.RotationType === 'ON_DEMAND')).toBe(true);
    await kms.rotateKeyOnDemand({ KeyId: rotated });
    await kms.rotateKeyOnDemand({ KeyId: rotated });
    await server.restart('SIGKILL');
    const err = await failure(kms.rotateKeyOnDemand({ KeyId: rotated }));
    expect(err.name).toBe('LimitExceededException');
    await expectSealedDecrypt();
  });

  it('the data dir holds no key material or plaintext in the clear, and root.key is 0600', async () => {
    await server.stop('SIGTERM');
    const files = filesUnder(server.dataDir);
    expect(files.map((f) => f.slice(server.dataDir.length + 1)).sort()).toEqual(expect.arrayContaining(['root.key']));
    const contents = files.map((f) => ({ f, bytes: readFileSync(f) }));
    expect(dataKeys.length).toBeGreaterThan(5);
    for (const dk of dataKeys) {
      const raw = Buffer.from(dk);
      const b64 = Buffer.from(raw.toString('base64'));
      const hex = Buffer.from(raw.toString('hex'));
      for (const { f, bytes } of contents) {
        expect(bytes.includes(raw), `${f} contains a data key`).toBe(false);
        expect(bytes.includes(b64), `${f} contains a base64 data key`).toBe(false);
        expect(bytes.includes(hex), `${f} contains a hex data key`).toBe(false);
      }
    }
    for (const secret of secrets) {
      for (const { f, bytes } of contents) expect(bytes.includes(Buffer.from(secret)), `${f} contains a plaintext`).toBe(false);
    }
    const rootKey = join(server.dataDir, 'root.key');
    expect(statSync(rootKey).mode & 0o777).toBe(0o600);
    expect(statSync(server.dataDir).mode & 0o777).toBe(0o700);
    // The root key itself appears nowhere but in root.key.
    const root = Buffer.from(readFileSync(rootKey, 'utf8').trim(), 'base64');
    expect(root.length).toBe(32);
    for (const { f, bytes } of contents) if (f !== rootKey) expect(bytes.includes(root), `${f} contains the root key`).toBe(false);

    await server.start();
  });

  it('a server started with a different root key cannot open the material (no silent garbage)', async () => {
    await server.stop('SIGTERM');
    const otherRoot = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64');
    await server.start({ KMS_ROOT_KEY: otherRoot });
    // Metadata is readable, but no key material opens: decrypting is refused, never wrong.
    const s = sealed[0]!;
    const err = await failure(kms.decrypt({ CiphertextBlob: s.blob, EncryptionContext: s.context }));
    expect(['KMSInternalException', 'InvalidCiphertextException']).toContain(err.name);
    await server.stop('SIGTERM');
    await server.start();
    await expectSealedDecrypt();
  });
});
