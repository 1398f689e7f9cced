/**
 * The fuzz suite's own checks, checked: the store comparison reports a change a failed call must
 * not make, and allows exactly the writes the engine may make on any call (an AWS managed key on
 * first reference, a due rotation, a due deletion); the output-shape checker refuses members and
 * types the model does not have. A fuzz suite whose checks cannot fail proves nothing.
 *
 * Run: npx vitest run --project e2e test/fuzz/harness.test.ts
 */
import { describe, expect, it } from 'vitest';
import { aliasArn, Harness, physicalId, REPLICA_REGION, snapshot, unexplainedChanges, unexplainedWrites } from './harness.js';
import { checkShape } from './model.js';

const K1 = '11111111-1111-4111-8111-111111111111';
const K3 = '33333333-3333-4333-8333-333333333333';
const NO_KEY = '99999999-9999-4999-8999-999999999999';

/** A version of no key, committed straight to the raw store (records there carry their Region's prefix). */
const versionOfNoKey = (h: Harness) =>
  h.recording.store
    .getVersion(physicalId(K1), 1)
    .then((v) => h.recording.store.commit([{ type: 'putVersion', version: { ...v!, KeyId: physicalId(NO_KEY) } }]));

/** The seeded multi-Region primary (in the default Region; its replica is in REPLICA_REGION). */
async function seededMrk(h: Harness): Promise<string> {
  const id = h.world.keys.find((k) => k.startsWith('mrk-'));
  if (!id) throw new Error('the harness seeded no multi-Region key');
  expect(await h.recording.store.getKey(physicalId(id, REPLICA_REGION))).toBeDefined();
  return id;
}

async function around(h: Harness, fn: () => Promise<unknown>, referenced: string[] = []) {
  const now = h.clock.now();
  const before = await snapshot(h.recording.store);
  const from = h.recording.commits.length;
  await fn();
  const after = await snapshot(h.recording.store);
  return {
    changes: unexplainedChanges(before, after, now, new Set(referenced)),
    writes: unexplainedWrites(h.recording.commits.slice(from), before, now),
  };
}

describe('fuzz harness: the store comparison', { retry: 0 }, () => {
  it('reports every kind of change a failed call must not make', async () => {
    const h = await Harness.create();
    for (const [what, fn] of [
      ['a tag', () => h.kms.execute('TagResource', { KeyId: K1, Tags: [{ TagKey: 'x', TagValue: 'y' }] })],
      ['a rotation', () => h.kms.execute('RotateKeyOnDemand', { KeyId: K1 })],
      ['a new key', () => h.kms.execute('CreateKey', {})],
      ['an alias', () => h.kms.execute('CreateAlias', { AliasName: 'alias/new', TargetKeyId: K1 })],
      ['a deleted alias', () => h.kms.execute('DeleteAlias', { AliasName: 'alias/fuzz-1b' })],
      ['a grant', () => h.kms.execute('CreateGrant', { KeyId: K1, GranteePrincipal: 'arn:aws:iam::111122223333:user/x', Operations: ['Decrypt'] })],
      ['a version of no key', () => versionOfNoKey(h)],
      ['a change in another Region', () => h.kms.inRegion(REPLICA_REGION).execute('CreateKey', {})],
    ] as const) {
      const r = await around(h, fn);
      expect(r.changes.length + r.writes.length, what).toBeGreaterThan(0);
    }
  });

  it('the version of a key that does not exist is invisible to the snapshot, and caught by the commit log', async () => {
    const h = await Harness.create();
    const r = await around(h, () => versionOfNoKey(h));
    expect(r.changes).toEqual([]);
    expect(r.writes).toHaveLength(1);
  });

  it('allows the AWS managed key of an alias/aws/ name the request names, and nothing else', async () => {
    const h = await Harness.create();
    const named = await around(h, () => h.kms.execute('DescribeKey', { KeyId: 'alias/aws/fresh' }), ['alias/aws/fresh']);
    expect(named).toEqual({ changes: [], writes: [] });
    const byArn = await around(h, () => h.kms.execute('DescribeKey', { KeyId: aliasArn('alias/aws/other') }), [aliasArn('alias/aws/other')]);
    expect(byArn).toEqual({ changes: [], writes: [] });
    const unnamed = await around(h, () => h.kms.execute('DescribeKey', { KeyId: 'alias/aws/third' }), ['alias/aws/something-else']);
    expect(unnamed.changes.length).toBeGreaterThan(0);
  });

  it('allows a due automatic rotation and a due deletion, and not one that is not due', async () => {
    const h = await Harness.create();
    // K1 rotates every 90 days; K3 is pending deletion for 7.
    const early = await around(h, () => h.kms.runMaintenance());
    expect(early).toEqual({ changes: [], writes: [] });
    expect(await h.recording.store.getKey(physicalId(K3))).toBeDefined();
    h.tick(91);
    const due = await around(h, () => h.kms.runMaintenance());
    expect(due).toEqual({ changes: [], writes: [] });
    expect(await h.recording.store.getKey(physicalId(K3))).toBeUndefined();
    // Not due any more: a second rotation now is a change.
    const again = await around(h, () => h.kms.execute('RotateKeyOnDemand', { KeyId: K1 }));
    expect(again.changes.length).toBeGreaterThan(0);
  });
});

describe('fuzz harness: multi-Region sets', { retry: 0 }, () => {
  it("allows a primary's due rotation to reach its replica, and nothing else in the replica's Region", async () => {
    const h = await Harness.create();
    const mrk = await seededMrk(h);
    const replica = physicalId(mrk, REPLICA_REGION);
    const versionsBefore = (await h.recording.store.listVersions(replica, { after: 0, limit: 100 })).length;
    h.tick(91);
    // A read of the primary applies its due rotation, in its Region and in the replica's.
    const due = await around(h, () => h.kms.execute('DescribeKey', { KeyId: mrk }));
    expect(due).toEqual({ changes: [], writes: [] });
    expect(await h.recording.store.listVersions(replica, { after: 0, limit: 100 })).toHaveLength(versionsBefore + 1);
    // The replica changed on its own (its description): reported, in its Region.
    const own = await around(h, () => h.kms.inRegion(REPLICA_REGION).execute('UpdateKeyDescription', { KeyId: mrk, Description: 'changed' }));
    expect(own.changes).toEqual([expect.stringContaining(`key ${replica} changed: Description`)]);
    expect(own.writes).toEqual([expect.stringContaining(replica)]);
    // An on-demand rotation (not due) reaches the replica too: every change reported.
    const onDemand = await around(h, () => h.kms.execute('RotateKeyOnDemand', { KeyId: mrk }));
    expect(onDemand.changes).toEqual(
      expect.arrayContaining([expect.stringContaining(`key ${physicalId(mrk)} changed`), expect.stringContaining(`key ${replica} changed`)]),
    );
  });

  it('allows a due deletion of a replica to take it out of the set, and not before it is due', async () => {
    const h = await Harness.create();
    const mrk = await seededMrk(h);
    const inReplica = h.kms.inRegion(REPLICA_REGION);
    const scheduled = await around(h, () => inReplica.execute('ScheduleKeyDeletion', { KeyId: mrk, PendingWindowInDays: 7 }));
    expect(scheduled.changes.length).toBeGreaterThan(0);
    // Not due yet: the primary keeps the replica's Region.
    const early = await around(h, () => inReplica.execute('DescribeKey', { KeyId: mrk }));
    expect(early).toEqual({ changes: [], writes: [] });
    h.tick(8);
    const due = await around(h, () => inReplica.execute('DescribeKey', { KeyId: mrk }).catch(() => undefined));
    expect(due).toEqual({ changes: [], writes: [] });
    expect(await h.recording.store.getKey(physicalId(mrk, REPLICA_REGION))).toBeUndefined();
    const primary = await h.recording.store.getKey(physicalId(mrk));
    expect(primary?.MultiRegionConfiguration?.ReplicaRegions).toEqual([]);
  });
});

describe('fuzz harness: the output shape checker', { retry: 0 }, () => {
  it('accepts a real answer and refuses unknown members, wrong types, enum values and bad base64', () => {
    const ok = { CiphertextBlob: 'AQID', KeyId: 'arn:aws:kms:us-east-1:111122223333:key/x', EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    expect(checkShape('EncryptResponse', ok)).toEqual([]);
    expect(checkShape('EncryptResponse', { ...ok, Extra: 1 })).toHaveLength(1);
    expect(checkShape('EncryptResponse', { ...ok, KeyId: 5 })).toHaveLength(1);
    expect(checkShape('EncryptResponse', { ...ok, EncryptionAlgorithm: 'AES' })).toHaveLength(1);
    expect(checkShape('EncryptResponse', { ...ok, CiphertextBlob: 'AQI' })).toHaveLength(1);
    expect(checkShape('ListKeysResponse', { Keys: [{ KeyId: 'k', KeyArn: 'arn:aws:kms:us-east-1:111122223333:key/k' }], Truncated: 'no' })).toHaveLength(1);
    expect(checkShape('DescribeKeyResponse', { KeyMetadata: { KeyId: 'k', CreationDate: '2026-01-01' } })).toHaveLength(1);
    expect(checkShape('ListResourceTagsResponse', { Tags: [{ TagKey: 'k', TagValue: 'v' }], Truncated: false })).toEqual([]);
  });
});
