/**
 * Issue 4, key policies over real HTTP with three signed-in principals: alice and bob in the KMS's
 * account 111122223333, carol (a session of role/carol) in 444455556666. The default policy and
 * GetKeyPolicy/ListKeyPolicies/PutKeyPolicy (malformed documents, the lockout safety check),
 * CreateKey with a Policy, and one key whose policy gives each principal something different,
 * with AWS's AccessDeniedException messages; a denied request changes nothing.
 */
import type { KMS } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KmsServer } from '../helpers/server.js';
import { ALICE, BOB, CAROL, CAROL_ROLE, ROOT, clientAs, keyArnOf, rejection, spawnVerifyingServer } from './support.js';

let server: KmsServer;
let alice: KMS;
let bob: KMS;
let carol: KMS;

beforeAll(async () => {
  server = await spawnVerifyingServer();
  alice = clientAs(server.url, ALICE);
  bob = clientAs(server.url, BOB);
  carol = clientAs(server.url, CAROL);
});

afterAll(async () => {
  for (const c of [alice, bob, carol]) c?.destroy();
  await server?.dispose();
});

const utf8 = (s: string) => new TextEncoder().encode(s);

function notAuthorized(who: string, action: string, resource: string): string {
  return `User: ${who} is not authorized to perform: kms:${action} on resource: ${resource} because no resource-based policy allows the kms:${action} action`;
}
function explicitlyDenied(who: string, action: string, resource: string): string {
  return `User: ${who} is not authorized to perform: kms:${action} on resource: ${resource} with an explicit deny in a resource-based policy`;
}

async function expectDenied(call: Promise<unknown>, message: string): Promise<void> {
  const err = await rejection(call);
  expect(err.name, err.message).toBe('AccessDeniedException');
  expect(err.status).toBe(400);
  expect(err.message).toBe(message);
}

async function expectMalformed(call: Promise<unknown>, message?: string | RegExp): Promise<void> {
  const err = await rejection(call);
  expect(err.name, err.message).toBe('MalformedPolicyDocumentException');
  expect(err.status).toBe(400);
  if (typeof message === 'string') expect(err.message).toBe(message);
  else if (message) expect(err.message).toMatch(message);
}

const LOCKOUT = 'The new key policy will not allow you to update the key policy in the future.';

function policy(...statements: Record<string, unknown>[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}
const allow = (principal: string, action: string | string[], extra: Record<string, unknown> = {}) => ({
  Effect: 'Allow',
  Principal: { AWS: principal },
  Action: action,
  Resource: '*',
  ...extra,
});

describe('the default key policy, ListKeyPolicies, PutKeyPolicy checks', () => {
  let keyId: string;
  let keyArn: string;
  let defaultPolicy: string;

  beforeAll(async () => {
    keyId = (await alice.createKey({ Description: 'default policy' })).KeyMetadata!.KeyId!;
    keyArn = keyArnOf(keyId);
  });

  it('GetKeyPolicy returns the default policy: the account root may do kms:*', async () => {
    const out = await alice.getKeyPolicy({ KeyId: keyId, PolicyName: 'default' });
    expect(out.PolicyName).toBe('default');
    defaultPolicy = out.Policy!;
    const doc = JSON.parse(defaultPolicy);
    expect(doc.Version).toBe('2012-10-17');
    expect(doc.Statement).toEqual([{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' }]);
    // PolicyName is optional and defaults to "default"; the key ARN works as well.
    expect((await bob.getKeyPolicy({ KeyId: keyArn })).Policy).toBe(defaultPolicy);
  });

  it('GetKeyPolicy of another policy name is NotFoundException', async () => {
    const err = await rejection(alice.getKeyPolicy({ KeyId: keyId, PolicyName: 'other' }));
    expect(err.name).toBe('NotFoundException');
  });

  it('ListKeyPolicies returns ["default"]', async () => {
    const out = await alice.listKeyPolicies({ KeyId: keyId });
    expect(out.PolicyNames).toEqual(['default']);
    expect(out.Truncated).toBe(false);
  });

  it('the default policy delegates to the account: alice and bob may use the key, carol (other account) may not', async () => {
    const enc = await bob.encrypt({ KeyId: keyId, Plaintext: utf8('delegated') });
    expect(new TextDecoder().decode((await alice.decrypt({ CiphertextBlob: enc.CiphertextBlob })).Plaintext)).toBe('delegated');
    await expectDenied(carol.encrypt({ KeyId: keyArn, Plaintext: utf8('x') }), notAuthorized(CAROL.arn, 'Encrypt', keyArn));
    await expectDenied(carol.getKeyPolicy({ KeyId: keyArn }), notAuthorized(CAROL.arn, 'GetKeyPolicy', keyArn));
  });

  it('PutKeyPolicy with a document that is not JSON is MalformedPolicyDocumentException', async () => {
    await expectMalformed(alice.putKeyPolicy({ KeyId: keyId, PolicyName: 'default', Policy: '{"Version": "2012-10-17", "Statement": [' }));
  });

  const badStructures: [string, string][] = [
    ['a JSON array', '[]'],
    ['no Statement', JSON.stringify({ Version: '2012-10-17' })],
    ['an empty Statement list', JSON.stringify({ Version: '2012-10-17', Statement: [] })],
    [
      'an unknown Version',
      policy()
        .replace('2012-10-17', '2099-01-01')
        .replace('"Statement":[]', `"Statement":[${JSON.stringify(allow(ROOT, 'kms:*'))}]`),
    ],
    ['Effect other than Allow/Deny', policy({ ...allow(ROOT, 'kms:*'), Effect: 'Maybe' })],
    ['no Principal', policy({ Effect: 'Allow', Action: 'kms:*', Resource: '*' })],
    ['an invalid principal', policy(allow('bob', 'kms:*'))],
    ['no Action', policy({ Effect: 'Allow', Principal: { AWS: ROOT }, Resource: '*' })],
    ['an action of another service', policy(allow(ROOT, 's3:GetObject'))],
    ['an unknown statement element', policy({ ...allow(ROOT, 'kms:*'), Colour: 'blue' })],
    ['an unknown condition operator', policy(allow(ROOT, 'kms:*', { Condition: { StringRoughlyEquals: { 'kms:CallerAccount': '111122223333' } } }))],
  ];
  for (const [what, doc] of badStructures) {
    it(`PutKeyPolicy with ${what} is MalformedPolicyDocumentException`, async () => {
      await expectMalformed(alice.putKeyPolicy({ KeyId: keyId, Policy: doc }));
    });
  }

  it('a policy that would lock the caller out is refused (MalformedPolicyDocumentException), and nothing changes', async () => {
    const onlyBob = policy(allow(BOB.arn, 'kms:*'));
    await expectMalformed(alice.putKeyPolicy({ KeyId: keyId, Policy: onlyBob }), LOCKOUT);
    // Allowing alice everything but PutKeyPolicy locks her out just as well.
    await expectMalformed(
      alice.putKeyPolicy({
        KeyId: keyId,
        Policy: policy(allow(ALICE.arn, 'kms:*'), { Effect: 'Deny', Principal: { AWS: ALICE.arn }, Action: 'kms:PutKeyPolicy', Resource: '*' }),
      }),
      LOCKOUT,
    );
    expect((await alice.getKeyPolicy({ KeyId: keyId })).Policy).toBe(defaultPolicy);
  });

  it('with BypassPolicyLockoutSafetyCheck the same policy is accepted, and alice is locked out', async () => {
    const onlyBob = policy(allow(BOB.arn, 'kms:*'));
    await alice.putKeyPolicy({ KeyId: keyId, Policy: onlyBob, BypassPolicyLockoutSafetyCheck: true });
    expect((await bob.getKeyPolicy({ KeyId: keyId })).Policy).toBe(onlyBob);
    await expectDenied(alice.getKeyPolicy({ KeyId: keyId }), notAuthorized(ALICE.arn, 'GetKeyPolicy', keyArn));
    await expectDenied(alice.putKeyPolicy({ KeyId: keyId, Policy: defaultPolicy }), notAuthorized(ALICE.arn, 'PutKeyPolicy', keyArn));
    // bob puts the default policy back (it keeps him in through the account root).
    await bob.putKeyPolicy({ KeyId: keyId, Policy: defaultPolicy });
    expect((await alice.getKeyPolicy({ KeyId: keyId })).Policy).toBe(defaultPolicy);
  });

  it('CreateKey with a Policy: the key has exactly that policy', async () => {
    const doc = JSON.stringify({ Version: '2012-10-17', Id: 'custom', Statement: [{ Sid: 'AliceAdmin', ...allow(ALICE.arn, 'kms:*') }] }, null, 2);
    const { KeyMetadata } = await alice.createKey({ Description: 'with policy', Policy: doc });
    expect((await alice.getKeyPolicy({ KeyId: KeyMetadata!.KeyId })).Policy).toBe(doc);
    // Bob is in the same account, but this policy does not delegate to the account.
    await expectDenied(bob.describeKey({ KeyId: KeyMetadata!.KeyId }), notAuthorized(BOB.arn, 'DescribeKey', KeyMetadata!.Arn!));
  });

  it('CreateKey with a malformed or lockout Policy creates no key; with the bypass flag it does', async () => {
    const before = (await alice.listKeys({})).Keys!.length;
    await expectMalformed(alice.createKey({ Policy: '{"Statement": "nope"' }));
    await expectMalformed(alice.createKey({ Policy: policy({ ...allow(ALICE.arn, 'kms:*'), Effect: 'Perhaps' }) }));
    await expectMalformed(alice.createKey({ Policy: policy(allow(BOB.arn, 'kms:*')) }), LOCKOUT);
    expect((await alice.listKeys({})).Keys!.length).toBe(before);
    const { KeyMetadata } = await alice.createKey({ Policy: policy(allow(BOB.arn, 'kms:*')), BypassPolicyLockoutSafetyCheck: true });
    expect((await alice.listKeys({})).Keys!.length).toBe(before + 1);
    expect((await bob.describeKey({ KeyId: KeyMetadata!.KeyId })).KeyMetadata!.KeyState).toBe('Enabled');
    await expectDenied(alice.describeKey({ KeyId: KeyMetadata!.KeyId }), notAuthorized(ALICE.arn, 'DescribeKey', KeyMetadata!.Arn!));
  });

  it('operations without a key (CreateKey, ListKeys) are refused to carol, of another account', async () => {
    const err = await rejection(carol.listKeys({}));
    expect(err.name).toBe('AccessDeniedException');
    expect(err.message).toBe(
      `User: ${CAROL.arn} is not authorized to perform: kms:ListKeys on resource: * because no identity-based policy allows the kms:ListKeys action`,
    );
    expect((await rejection(carol.createKey({}))).name).toBe('AccessDeniedException');
  });
});

describe('one key, three principals', () => {
  let keyId: string;
  let keyArn: string;
  const SHARED_POLICY = policy(
    { Sid: 'AliceAdministers', ...allow(ALICE.arn, 'kms:*') },
    { Sid: 'BobEncrypts', ...allow(BOB.arn, ['kms:Encrypt', 'kms:DescribeKey']) },
    {
      Sid: 'BobDecryptsForAcme',
      ...allow(BOB.arn, 'kms:Decrypt', { Condition: { StringEquals: { 'kms:EncryptionContext:tenant': 'acme' } } }),
    },
    { Sid: 'BobManagesRotation', ...allow(BOB.arn, 'kms:*Rotation*') },
    { Sid: 'ButBobNeverRotates', Effect: 'Deny', Principal: { AWS: BOB.arn }, Action: ['kms:RotateKeyOnDemand', 'kms:EnableKeyRotation'], Resource: '*' },
    { Sid: 'CarolDescribes', ...allow(CAROL_ROLE, 'kms:DescribeKey') },
  );

  beforeAll(async () => {
    // No bypass needed: the policy keeps alice able to change it.
    const { KeyMetadata } = await alice.createKey({ Description: 'shared', Policy: SHARED_POLICY });
    keyId = KeyMetadata!.KeyId!;
    keyArn = KeyMetadata!.Arn!;
  });

  async function state() {
    const md = (await alice.describeKey({ KeyId: keyId })).KeyMetadata!;
    const rotations = (await alice.listKeyRotations({ KeyId: keyId })).Rotations ?? [];
    const status = await alice.getKeyRotationStatus({ KeyId: keyId });
    return {
      KeyState: md.KeyState,
      Enabled: md.Enabled,
      DeletionDate: md.DeletionDate,
      Description: md.Description,
      CurrentKeyMaterialId: md.CurrentKeyMaterialId,
      rotations: rotations.map((r) => [r.KeyMaterialId, r.RotationType]),
      rotationEnabled: status.KeyRotationEnabled,
      rotationPeriod: status.RotationPeriodInDays,
      policy: (await alice.getKeyPolicy({ KeyId: keyId })).Policy,
      grants: ((await alice.listGrants({ KeyId: keyId })).Grants ?? []).length,
    };
  }

  it('the policy was stored as given', async () => {
    expect((await alice.getKeyPolicy({ KeyId: keyId })).Policy).toBe(SHARED_POLICY);
  });

  it('who can encrypt: alice and bob; carol is refused', async () => {
    for (const who of [alice, bob]) {
      const out = await who.encrypt({ KeyId: keyId, Plaintext: utf8('hi'), EncryptionContext: { tenant: 'acme' } });
      expect(out.KeyId).toBe(keyArn);
    }
    await expectDenied(
      carol.encrypt({ KeyId: keyArn, Plaintext: utf8('hi'), EncryptionContext: { tenant: 'acme' } }),
      notAuthorized(CAROL.arn, 'Encrypt', keyArn),
    );
  });

  it('who can decrypt: alice always; bob only with EncryptionContext tenant=acme; carol never', async () => {
    const acme = { tenant: 'acme' };
    const globex = { tenant: 'globex' };
    const forAcme = (await alice.encrypt({ KeyId: keyId, Plaintext: utf8('acme data'), EncryptionContext: acme })).CiphertextBlob!;
    const forGlobex = (await alice.encrypt({ KeyId: keyId, Plaintext: utf8('globex data'), EncryptionContext: globex })).CiphertextBlob!;
    const noContext = (await alice.encrypt({ KeyId: keyId, Plaintext: utf8('no context') })).CiphertextBlob!;

    const text = (p: Uint8Array | undefined) => new TextDecoder().decode(p);
    expect(text((await alice.decrypt({ CiphertextBlob: forAcme, EncryptionContext: acme })).Plaintext)).toBe('acme data');
    expect(text((await alice.decrypt({ CiphertextBlob: forGlobex, EncryptionContext: globex })).Plaintext)).toBe('globex data');
    expect(text((await alice.decrypt({ CiphertextBlob: noContext })).Plaintext)).toBe('no context');

    expect(text((await bob.decrypt({ CiphertextBlob: forAcme, EncryptionContext: acme })).Plaintext)).toBe('acme data');
    expect(text((await bob.decrypt({ CiphertextBlob: forAcme, EncryptionContext: acme, KeyId: keyArn })).Plaintext)).toBe('acme data');
    await expectDenied(bob.decrypt({ CiphertextBlob: forGlobex, EncryptionContext: globex }), notAuthorized(BOB.arn, 'Decrypt', keyArn));
    await expectDenied(bob.decrypt({ CiphertextBlob: noContext }), notAuthorized(BOB.arn, 'Decrypt', keyArn));
    // StringEquals is case sensitive on the value.
    await expectDenied(bob.decrypt({ CiphertextBlob: forAcme, EncryptionContext: { tenant: 'ACME' } }), notAuthorized(BOB.arn, 'Decrypt', keyArn));

    await expectDenied(carol.decrypt({ CiphertextBlob: forAcme, EncryptionContext: acme, KeyId: keyArn }), notAuthorized(CAROL.arn, 'Decrypt', keyArn));
    await expectDenied(carol.decrypt({ CiphertextBlob: forAcme, EncryptionContext: acme }), notAuthorized(CAROL.arn, 'Decrypt', keyArn));
  });

  it('carol (another account, named by her role ARN) may DescribeKey by key ARN, and nothing else', async () => {
    const md = (await carol.describeKey({ KeyId: keyArn })).KeyMetadata!;
    expect(md.Arn).toBe(keyArn);
    expect(md.AWSAccountId).toBe('111122223333');
    await expectDenied(carol.getKeyPolicy({ KeyId: keyArn }), notAuthorized(CAROL.arn, 'GetKeyPolicy', keyArn));
    await expectDenied(carol.generateDataKey({ KeyId: keyArn, KeySpec: 'AES_256' }), notAuthorized(CAROL.arn, 'GenerateDataKey', keyArn));
    await expectDenied(carol.getKeyRotationStatus({ KeyId: keyArn }), notAuthorized(CAROL.arn, 'GetKeyRotationStatus', keyArn));
  });

  it('carol may also name the key by its alias ARN', async () => {
    await alice.createAlias({ AliasName: 'alias/shared', TargetKeyId: keyId });
    const md = (await carol.describeKey({ KeyId: 'arn:aws:kms:us-east-1:111122223333:alias/shared' })).KeyMetadata!;
    expect(md.Arn).toBe(keyArn);
  });

  // AWS resolves a bare key ID or alias name in the caller's own account, so carol (444455556666)
  // naming this key by key ID or alias/shared gets NotFoundException: she must use an ARN.
  it('a bare key ID or alias name from another account is NotFoundException, as in AWS', async () => {
    expect((await rejection(carol.describeKey({ KeyId: keyId }))).name).toBe('NotFoundException');
    expect((await rejection(carol.describeKey({ KeyId: 'alias/shared' }))).name).toBe('NotFoundException');
  });

  it('who can rotate: alice; bob only manages (kms:*Rotation*) but the explicit Deny wins; carol not at all', async () => {
    await alice.rotateKeyOnDemand({ KeyId: keyId });
    await alice.enableKeyRotation({ KeyId: keyId, RotationPeriodInDays: 180 });

    // The wildcard allow reaches bob: he may read and disable rotation…
    expect((await bob.getKeyRotationStatus({ KeyId: keyId })).KeyRotationEnabled).toBe(true);
    expect((await bob.listKeyRotations({ KeyId: keyId })).Rotations).toHaveLength(1);
    await bob.disableKeyRotation({ KeyId: keyId });
    expect((await alice.getKeyRotationStatus({ KeyId: keyId })).KeyRotationEnabled).toBe(false);

    // …but never enable it or rotate on demand: the explicit deny overrides the allow.
    await expectDenied(bob.rotateKeyOnDemand({ KeyId: keyId }), explicitlyDenied(BOB.arn, 'RotateKeyOnDemand', keyArn));
    await expectDenied(bob.enableKeyRotation({ KeyId: keyId }), explicitlyDenied(BOB.arn, 'EnableKeyRotation', keyArn));
    await expectDenied(carol.rotateKeyOnDemand({ KeyId: keyArn }), notAuthorized(CAROL.arn, 'RotateKeyOnDemand', keyArn));
    await expectDenied(carol.enableKeyRotation({ KeyId: keyArn }), notAuthorized(CAROL.arn, 'EnableKeyRotation', keyArn));
  });

  it('denied requests change nothing: key state, rotation history, current key material, policy, grants', async () => {
    await alice.enableKeyRotation({ KeyId: keyId, RotationPeriodInDays: 365 });
    const before = await state();
    expect(before.rotations).toHaveLength(1);
    expect(before.rotationEnabled).toBe(true);

    // Thunks: each request is sent only when its turn comes.
    const attempts: (() => Promise<unknown>)[] = [
      () => bob.rotateKeyOnDemand({ KeyId: keyId }),
      () => bob.enableKeyRotation({ KeyId: keyId, RotationPeriodInDays: 90 }),
      () => bob.scheduleKeyDeletion({ KeyId: keyId, PendingWindowInDays: 7 }),
      () => bob.disableKey({ KeyId: keyId }),
      () => bob.updateKeyDescription({ KeyId: keyId, Description: 'bob was here' }),
      () => bob.putKeyPolicy({ KeyId: keyId, Policy: policy(allow(BOB.arn, 'kms:*')), BypassPolicyLockoutSafetyCheck: true }),
      () => bob.createGrant({ KeyId: keyId, GranteePrincipal: BOB.arn, Operations: ['Decrypt'] }),
      () => carol.rotateKeyOnDemand({ KeyId: keyArn }),
      () => carol.scheduleKeyDeletion({ KeyId: keyArn, PendingWindowInDays: 7 }),
      () => carol.disableKey({ KeyId: keyArn }),
      () => carol.disableKeyRotation({ KeyId: keyArn }),
      () => carol.createGrant({ KeyId: keyArn, GranteePrincipal: CAROL_ROLE, Operations: ['Encrypt'] }),
    ];
    for (const attempt of attempts) expect((await rejection(attempt())).name).toBe('AccessDeniedException');

    expect(await state()).toEqual(before);
  });
});
