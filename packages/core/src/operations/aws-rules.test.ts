/**
 * AWS's answers where edge-kms once differed: an AliasName without `alias/` is a
 * ValidationException (CreateAlias, UpdateAlias, DeleteAlias); more than 50 tags on a key and tag
 * keys beginning with `aws:` (any case) are a TagException (CreateKey, TagResource); the KeyId of
 * the answers that name a key is its key ARN. In process; the same through the AWS SDK over HTTP is
 * in test/e2e/foundation.test.ts. Run: npx vitest run packages/core/src/operations/aws-rules.test.ts
 */
import { describe, expect, it } from 'vitest';
import { createKms } from '../kms.js';
import { KmsError } from '../errors.js';

type Out = Record<string, any>;

const ALIAS_PREFIX = 'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html';

async function setup() {
  const kms = createKms();
  const { KeyMetadata } = (await kms.execute('CreateKey', {})) as Out;
  return { kms, keyId: KeyMetadata.KeyId as string, arn: KeyMetadata.Arn as string };
}

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(KmsError);
    return `${(e as KmsError).code}: ${(e as KmsError).message}`;
  }
}

const tags = (n: number, prefix = 't') => Array.from({ length: n }, (_, i) => ({ TagKey: `${prefix}${i}`, TagValue: String(i) }));

describe('alias names without the alias/ prefix', () => {
  it('are a ValidationException with AWS message in CreateAlias, UpdateAlias and DeleteAlias', async () => {
    const { kms, keyId } = await setup();
    await kms.execute('CreateAlias', { AliasName: 'alias/kept', TargetKeyId: keyId });
    for (const bad of ['no-prefix', 'alias', 'kept', 'ALIAS/kept', 'x/alias/kept']) {
      expect(await errorOf(kms.execute('CreateAlias', { AliasName: bad, TargetKeyId: keyId })), bad).toBe(`ValidationException: ${ALIAS_PREFIX}`);
      expect(await errorOf(kms.execute('UpdateAlias', { AliasName: bad, TargetKeyId: keyId })), bad).toBe(`ValidationException: ${ALIAS_PREFIX}`);
      expect(await errorOf(kms.execute('DeleteAlias', { AliasName: bad })), bad).toBe(`ValidationException: ${ALIAS_PREFIX}`);
    }
    const list = (await kms.execute('ListAliases', { KeyId: keyId })) as Out;
    expect(list.Aliases.map((a: Out) => a.AliasName)).toEqual(['alias/kept']);
  });

  it('names with the prefix keep their errors', async () => {
    const { kms, keyId } = await setup();
    for (const name of ['alias/', 'alias/aws/x', 'alias/aws']) {
      expect((await errorOf(kms.execute('CreateAlias', { AliasName: name, TargetKeyId: keyId }))).split(':')[0], name).toBe('InvalidAliasNameException');
      expect((await errorOf(kms.execute('DeleteAlias', { AliasName: name }))).split(':')[0], name).toBe('InvalidAliasNameException');
    }
    expect((await errorOf(kms.execute('CreateAlias', { AliasName: 'alias/a b', TargetKeyId: keyId }))).split(':')[0]).toBe('ValidationException');
    expect(await errorOf(kms.execute('DeleteAlias', { AliasName: 'alias/missing' }))).toMatch(/^NotFoundException: /);
  });
});

describe('tag rules', () => {
  it('TagResource counts the tags after the call (existing + new, replaced keys once): more than 50 is TagException "Too many tags"', async () => {
    const { kms, keyId } = await setup();
    await kms.execute('TagResource', { KeyId: keyId, Tags: tags(49) });
    // 49 + 1 replaced + 1 new = 50.
    await kms.execute('TagResource', {
      KeyId: keyId,
      Tags: [
        { TagKey: 't0', TagValue: 'again' },
        { TagKey: 'new', TagValue: 'v' },
      ],
    });
    expect(await errorOf(kms.execute('TagResource', { KeyId: keyId, Tags: [{ TagKey: 'another', TagValue: 'v' }] }))).toBe('TagException: Too many tags');
    expect(await errorOf(kms.execute('TagResource', { KeyId: keyId, Tags: tags(51, 'x') }))).toBe('TagException: Too many tags');
    const listed = (await kms.execute('ListResourceTags', { KeyId: keyId })) as Out;
    expect(listed.Tags).toHaveLength(50);
    expect(listed.Tags.find((t: Out) => t.TagKey === 't0').TagValue).toBe('again');
  });

  it('CreateKey with more than 50 tags is TagException "Too many tags"', async () => {
    const kms = createKms();
    expect(await errorOf(kms.execute('CreateKey', { Tags: tags(51) }))).toBe('TagException: Too many tags');
    expect((await kms.execute('ListKeys', {})) as Out).toMatchObject({ Keys: [] });
    const { KeyMetadata } = (await kms.execute('CreateKey', { Tags: tags(50) })) as Out;
    expect(((await kms.execute('ListResourceTags', { KeyId: KeyMetadata.KeyId })) as Out).Tags).toHaveLength(50);
  });

  it('tag keys beginning with aws: in any case are TagException "Tags beginning with aws: are reserved"', async () => {
    const { kms, keyId } = await setup();
    for (const TagKey of ['aws:x', 'AWS:x', 'Aws:x', 'aWS:', 'aws:']) {
      expect(await errorOf(kms.execute('CreateKey', { Tags: [{ TagKey, TagValue: '' }] })), TagKey).toBe('TagException: Tags beginning with aws: are reserved');
      expect(await errorOf(kms.execute('TagResource', { KeyId: keyId, Tags: [{ TagKey, TagValue: '' }] })), TagKey).toBe(
        'TagException: Tags beginning with aws: are reserved',
      );
    }
    await kms.execute('TagResource', {
      KeyId: keyId,
      Tags: [
        { TagKey: 'aws', TagValue: '' },
        { TagKey: 'x-aws:', TagValue: '' },
      ],
    });
    expect(((await kms.execute('ListResourceTags', { KeyId: keyId })) as Out).Tags).toHaveLength(2);
  });

  it('over-long keys and values stay ValidationException', async () => {
    const { kms, keyId } = await setup();
    for (const call of [
      () => kms.execute('CreateKey', { Tags: [{ TagKey: 'k'.repeat(129), TagValue: '' }] }),
      () => kms.execute('TagResource', { KeyId: keyId, Tags: [{ TagKey: `aws:${'k'.repeat(125)}`, TagValue: '' }] }),
      () => kms.execute('TagResource', { KeyId: keyId, Tags: [{ TagKey: 'k', TagValue: 'v'.repeat(257) }] }),
    ]) {
      expect(await errorOf(call())).toMatch(/^ValidationException: 1 validation error detected: Value '.*' at 'tags\.member\.tag(Key|Value)' failed/);
    }
  });
});

describe('KeyId in answers is the key ARN', () => {
  it('Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext), ScheduleKeyDeletion, CancelKeyDeletion', async () => {
    const { kms, keyId, arn } = await setup();
    const other = ((await kms.execute('CreateKey', {})) as Out).KeyMetadata;
    await kms.execute('CreateAlias', { AliasName: 'alias/answers', TargetKeyId: keyId });
    for (const ref of [keyId, arn, 'alias/answers']) {
      const enc = (await kms.execute('Encrypt', { KeyId: ref, Plaintext: new Uint8Array([1]) })) as Out;
      expect(enc.KeyId, ref).toBe(arn);
      expect(((await kms.execute('Decrypt', { CiphertextBlob: enc.CiphertextBlob })) as Out).KeyId).toBe(arn);
      expect(((await kms.execute('Decrypt', { CiphertextBlob: enc.CiphertextBlob, KeyId: ref })) as Out).KeyId).toBe(arn);
      const re = (await kms.execute('ReEncrypt', { CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: other.KeyId })) as Out;
      expect([re.SourceKeyId, re.KeyId]).toEqual([arn, other.Arn]);
      expect(((await kms.execute('GenerateDataKey', { KeyId: ref, KeySpec: 'AES_256' })) as Out).KeyId).toBe(arn);
      expect(((await kms.execute('GenerateDataKeyWithoutPlaintext', { KeyId: ref, NumberOfBytes: 8 })) as Out).KeyId).toBe(arn);
    }
    expect(((await kms.execute('ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 })) as Out).KeyId).toBe(arn);
    expect(((await kms.execute('CancelKeyDeletion', { KeyId: keyId })) as Out).KeyId).toBe(arn);
  });
});
