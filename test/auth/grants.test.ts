/**
 * Issue 4, grants over real HTTP: alice (key administrator) grants carol, of another account,
 * Encrypt and Decrypt under an EncryptionContextSubset constraint; carol uses the key ARN, with
 * and without the grant token; ListGrants, CreateGrant idempotency by Name, ListRetirableGrants,
 * RetireGrant by token as the retiring principal (bob) and RevokeGrant as alice each take the
 * grant away again at once.
 */
import type { GrantListEntry, KMS } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KmsServer } from '../helpers/server.js';
import { ALICE, BOB, CAROL, CAROL_ROLE, ROOT, clientAs, rejection, spawnVerifyingServer } from './support.js';

let server: KmsServer;
let alice: KMS;
let bob: KMS;
let carol: KMS;
let keyId: string;
let keyArn: string;

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);
const ACME = { tenant: 'acme' };

beforeAll(async () => {
  server = await spawnVerifyingServer();
  alice = clientAs(server.url, ALICE);
  bob = clientAs(server.url, BOB);
  carol = clientAs(server.url, CAROL);
  // Only alice is in the key policy: whatever bob or carol may do comes from grants.
  const { KeyMetadata } = await alice.createKey({
    Description: 'granted',
    Policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Sid: 'AliceAdministers', Effect: 'Allow', Principal: { AWS: ALICE.arn }, Action: 'kms:*', Resource: '*' }],
    }),
  });
  keyId = KeyMetadata!.KeyId!;
  keyArn = KeyMetadata!.Arn!;
});

afterAll(async () => {
  for (const c of [alice, bob, carol]) c?.destroy();
  await server?.dispose();
});

function notAuthorized(who: string, action: string): string {
  return `User: ${who} is not authorized to perform: kms:${action} on resource: ${keyArn} because no resource-based policy allows the kms:${action} action`;
}

async function expectDenied(call: Promise<unknown>, action: string, who = CAROL.arn): Promise<void> {
  const err = await rejection(call);
  expect(err.name, err.message).toBe('AccessDeniedException');
  expect(err.message).toBe(notAuthorized(who, action));
}

/** carol encrypts with ACME context and decrypts it again; both must work. */
async function carolRoundTrip(grantTokens?: string[]): Promise<void> {
  const enc = await carol.encrypt({ KeyId: keyArn, Plaintext: utf8('for acme'), EncryptionContext: ACME, GrantTokens: grantTokens });
  expect(enc.KeyId).toBe(keyArn);
  const dec = await carol.decrypt({ KeyId: keyArn, CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ACME, GrantTokens: grantTokens });
  expect(text(dec.Plaintext)).toBe('for acme');
}

async function expectCarolLocked(): Promise<void> {
  await expectDenied(carol.encrypt({ KeyId: keyArn, Plaintext: utf8('x'), EncryptionContext: ACME }), 'Encrypt');
  const blob = (await alice.encrypt({ KeyId: keyId, Plaintext: utf8('x'), EncryptionContext: ACME })).CiphertextBlob;
  await expectDenied(carol.decrypt({ KeyId: keyArn, CiphertextBlob: blob, EncryptionContext: ACME }), 'Decrypt');
}

async function grantsOnKey(): Promise<GrantListEntry[]> {
  return (await alice.listGrants({ KeyId: keyId })).Grants ?? [];
}

const GRANT = () => ({
  KeyId: keyId,
  GranteePrincipal: CAROL_ROLE,
  RetiringPrincipal: BOB.arn,
  Operations: ['Encrypt', 'Decrypt'] as ('Encrypt' | 'Decrypt')[],
  Constraints: { EncryptionContextSubset: ACME },
  Name: 'carol-acme',
});

describe('a grant for carol', () => {
  let grantId: string;
  let grantToken: string;

  it('before any grant carol is denied, and neither bob nor carol may create one', async () => {
    await expectCarolLocked();
    await expectDenied(bob.createGrant(GRANT()), 'CreateGrant', BOB.arn);
    await expectDenied(carol.createGrant({ ...GRANT(), KeyId: keyArn }), 'CreateGrant');
    expect(await grantsOnKey()).toEqual([]);
  });

  it('alice creates it: a 64-hex GrantId and a grant token', async () => {
    const out = await alice.createGrant(GRANT());
    grantId = out.GrantId!;
    grantToken = out.GrantToken!;
    expect(grantId).toMatch(/^[0-9a-f]{64}$/);
    expect(grantToken.length).toBeGreaterThan(20);
  });

  it('the grant token works at once when passed in GrantTokens', async () => {
    await carolRoundTrip([grantToken]);
  });

  it('carol (a session of the grantee role) may encrypt and decrypt with tenant=acme, by key ARN', async () => {
    await carolRoundTrip();
    // A superset of the constrained context is fine (EncryptionContextSubset).
    const ctx = { tenant: 'acme', app: 'billing' };
    const enc = await carol.encrypt({ KeyId: keyArn, Plaintext: utf8('superset'), EncryptionContext: ctx });
    expect(text((await carol.decrypt({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ctx })).Plaintext)).toBe('superset');
  });

  it('carol is denied without the context, with another tenant, and for operations outside the grant', async () => {
    await expectDenied(carol.encrypt({ KeyId: keyArn, Plaintext: utf8('x') }), 'Encrypt');
    await expectDenied(carol.encrypt({ KeyId: keyArn, Plaintext: utf8('x'), EncryptionContext: { tenant: 'globex' } }), 'Encrypt');
    await expectDenied(carol.encrypt({ KeyId: keyArn, Plaintext: utf8('x'), GrantTokens: [grantToken] }), 'Encrypt');
    const noContext = (await alice.encrypt({ KeyId: keyId, Plaintext: utf8('x') })).CiphertextBlob;
    await expectDenied(carol.decrypt({ KeyId: keyArn, CiphertextBlob: noContext }), 'Decrypt');
    await expectDenied(carol.generateDataKey({ KeyId: keyArn, KeySpec: 'AES_256', EncryptionContext: ACME }), 'GenerateDataKey');
    await expectDenied(carol.describeKey({ KeyId: keyArn }), 'DescribeKey');
    // The grantee is the role: bob, in the key's own account, gets nothing from it.
    await expectDenied(bob.encrypt({ KeyId: keyId, Plaintext: utf8('x'), EncryptionContext: ACME }), 'Encrypt', BOB.arn);
  });

  it('ListGrants shows the grant with every field', async () => {
    const grants = await grantsOnKey();
    expect(grants).toHaveLength(1);
    const g = grants[0]!;
    expect(g).toMatchObject({
      KeyId: keyArn,
      GrantId: grantId,
      Name: 'carol-acme',
      GranteePrincipal: CAROL_ROLE,
      RetiringPrincipal: BOB.arn,
      IssuingAccount: ROOT,
      Constraints: { EncryptionContextSubset: ACME },
    });
    expect([...g.Operations!].sort()).toEqual(['Decrypt', 'Encrypt']);
    expect(g.CreationDate).toBeInstanceOf(Date);
    expect(Math.abs(g.CreationDate!.getTime() - Date.now())).toBeLessThan(60_000);
    // Filtered by grantee, and by grant id.
    expect((await alice.listGrants({ KeyId: keyId, GranteePrincipal: CAROL_ROLE })).Grants).toHaveLength(1);
    expect((await alice.listGrants({ KeyId: keyId, GranteePrincipal: BOB.arn })).Grants).toHaveLength(0);
    expect((await alice.listGrants({ KeyId: keyId, GrantId: grantId })).Grants!.map((x) => x.GrantId)).toEqual([grantId]);
  });

  it('CreateGrant with the same Name and parameters returns the same GrantId (no second grant)', async () => {
    const again = await alice.createGrant({ ...GRANT(), Operations: ['Decrypt', 'Encrypt'] });
    expect(again.GrantId).toBe(grantId);
    expect(await grantsOnKey()).toHaveLength(1);
  });

  it('ListRetirableGrants lists it for the retiring principal (bob) only', async () => {
    const forBob = (await bob.listRetirableGrants({ RetiringPrincipal: BOB.arn })).Grants ?? [];
    expect(forBob.map((g) => g.GrantId)).toEqual([grantId]);
    expect(forBob[0]).toMatchObject({ KeyId: keyArn, GranteePrincipal: CAROL_ROLE, RetiringPrincipal: BOB.arn, Name: 'carol-acme' });
    expect((await alice.listRetirableGrants({ RetiringPrincipal: ALICE.arn })).Grants ?? []).toEqual([]);
  });

  it('the grantee may not retire or revoke it (it has neither operation, nor is it the retiring principal)', async () => {
    const err = await rejection(carol.retireGrant({ GrantToken: grantToken }));
    expect(err.name).toBe('AccessDeniedException');
    await expectDenied(carol.revokeGrant({ KeyId: keyArn, GrantId: grantId }), 'RevokeGrant');
    await expectDenied(bob.revokeGrant({ KeyId: keyId, GrantId: grantId }), 'RevokeGrant', BOB.arn);
    expect(await grantsOnKey()).toHaveLength(1);
    await carolRoundTrip();
  });

  it('RetireGrant by token as the retiring principal removes it; carol is denied again at once', async () => {
    await bob.retireGrant({ GrantToken: grantToken });
    expect(await grantsOnKey()).toEqual([]);
    expect((await bob.listRetirableGrants({ RetiringPrincipal: BOB.arn })).Grants ?? []).toEqual([]);
    await expectCarolLocked();
    await expectDenied(carol.encrypt({ KeyId: keyArn, Plaintext: utf8('x'), EncryptionContext: ACME, GrantTokens: [grantToken] }), 'Encrypt');
  });

  it('RevokeGrant as alice removes a second grant; carol is denied again at once', async () => {
    const second = await alice.createGrant({ ...GRANT(), Name: 'carol-acme-2', RetiringPrincipal: undefined });
    expect(second.GrantId).not.toBe(grantId);
    await carolRoundTrip([second.GrantToken!]);
    await alice.revokeGrant({ KeyId: keyId, GrantId: second.GrantId });
    expect(await grantsOnKey()).toEqual([]);
    await expectCarolLocked();
    const err = await rejection(alice.revokeGrant({ KeyId: keyId, GrantId: second.GrantId }));
    expect(err.name).toBe('NotFoundException');
  });

  it('a grantee given RetireGrant may retire its own grant by key id and grant id', async () => {
    const third = await alice.createGrant({
      KeyId: keyId,
      GranteePrincipal: CAROL_ROLE,
      Operations: ['Encrypt', 'RetireGrant'],
      Constraints: { EncryptionContextSubset: ACME },
    });
    await carol.encrypt({ KeyId: keyArn, Plaintext: utf8('x'), EncryptionContext: ACME });
    await carol.retireGrant({ KeyId: keyArn, GrantId: third.GrantId });
    expect(await grantsOnKey()).toEqual([]);
    await expectCarolLocked();
  });
});
