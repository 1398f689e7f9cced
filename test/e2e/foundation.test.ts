/**
 * Issue 2, the foundation: every TrentService operation of edge-kms through the real AWS SDK v3
 * client against the real Node server over HTTP, with AWS's error names and messages.
 */
import type { KeyMetadata } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { ACCOUNT_ID, aliasArn, DAY_MS, failure, keyArn, rawCall, text, useKmsServer, utf8 } from '../helpers/server.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const INVALID_CIPHERTEXT = 'InvalidCiphertextException';

const { server, kms } = useKmsServer();

async function newKey(description = 'e2e'): Promise<KeyMetadata> {
  const { KeyMetadata } = await kms.createKey({ Description: description });
  return KeyMetadata!;
}

let aliasCounter = 0;
function uniqueAlias(prefix = 'e2e'): string {
  return `alias/${prefix}-${Date.now().toString(36)}-${++aliasCounter}`;
}

describe('CreateKey and DescribeKey', () => {
  it('CreateKey returns every KeyMetadata field with AWS values', async () => {
    const now = await server.now();
    const { KeyMetadata: md } = await kms.createKey({ Description: 'all the fields' });
    expect(md).toBeDefined();
    expect(md!.AWSAccountId).toBe(ACCOUNT_ID);
    expect(md!.KeyId).toMatch(UUID_RE);
    expect(md!.Arn).toBe(`arn:aws:kms:us-east-1:111122223333:key/${md!.KeyId}`);
    expect(md!.CreationDate).toBeInstanceOf(Date);
    expect(Math.abs(md!.CreationDate!.getTime() - now)).toBeLessThan(1000);
    expect(md!.Enabled).toBe(true);
    expect(md!.Description).toBe('all the fields');
    expect(md!.KeyUsage).toBe('ENCRYPT_DECRYPT');
    expect(md!.KeyState).toBe('Enabled');
    expect(md!.Origin).toBe('AWS_KMS');
    expect(md!.KeyManager).toBe('CUSTOMER');
    expect(md!.KeySpec).toBe('SYMMETRIC_DEFAULT');
    expect(md!.CustomerMasterKeySpec).toBe('SYMMETRIC_DEFAULT');
    expect(md!.EncryptionAlgorithms).toEqual(['SYMMETRIC_DEFAULT']);
    expect(md!.MultiRegion).toBe(false);
    expect(md!.CurrentKeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
    expect(md!.DeletionDate).toBeUndefined();
    expect(md!.PendingDeletionWindowInDays).toBeUndefined();
  });

  it('CreateKey without a description has an empty one; two keys differ in id and material', async () => {
    const a = (await kms.createKey({})).KeyMetadata!;
    const b = (await kms.createKey({})).KeyMetadata!;
    expect(a.Description).toBe('');
    expect(a.KeyId).not.toBe(b.KeyId);
    expect(a.CurrentKeyMaterialId).not.toBe(b.CurrentKeyMaterialId);
  });

  it('DescribeKey finds the key by key id, key ARN, alias name and alias ARN', async () => {
    const md = await newKey('describe me');
    const alias = uniqueAlias('describe');
    await kms.createAlias({ AliasName: alias, TargetKeyId: md.KeyId });
    for (const ref of [md.KeyId!, md.Arn!, alias, aliasArn(alias)]) {
      const { KeyMetadata } = await kms.describeKey({ KeyId: ref });
      expect(KeyMetadata, ref).toEqual(md);
    }
  });

  it('DescribeKey errors: NotFoundException for "foo" and unknown ids, InvalidArnException for malformed ARNs', async () => {
    let err = await failure(kms.describeKey({ KeyId: 'foo' }));
    expect(err.name).toBe('NotFoundException');
    expect(err.message).toBe('Invalid keyId foo');
    expect(err.$metadata?.httpStatusCode).toBe(400);

    const missing = crypto.randomUUID();
    err = await failure(kms.describeKey({ KeyId: missing }));
    expect(err.name).toBe('NotFoundException');
    expect(err.message).toBe(`Key '${keyArn(missing)}' does not exist`);

    err = await failure(kms.describeKey({ KeyId: keyArn(missing) }));
    expect(err.name).toBe('NotFoundException');

    err = await failure(kms.describeKey({ KeyId: 'alias/no-such-alias' }));
    expect(err.name).toBe('NotFoundException');
    expect(err.message).toBe(`Alias ${aliasArn('alias/no-such-alias')} is not found.`);

    for (const bad of ['arn:aws:kms:us-east-1:111122223333:key/not-a-uuid', 'arn:aws:kms', `arn:aws:kms:us-east-1:12345:key/${missing}`]) {
      err = await failure(kms.describeKey({ KeyId: bad }));
      expect(err.name, bad).toBe('InvalidArnException');
    }
  });

  it('UpdateKeyDescription changes the description', async () => {
    const md = await newKey('before');
    await kms.updateKeyDescription({ KeyId: md.KeyId, Description: 'after' });
    expect((await kms.describeKey({ KeyId: md.KeyId })).KeyMetadata!.Description).toBe('after');
    await kms.updateKeyDescription({ KeyId: md.Arn, Description: '' });
    expect((await kms.describeKey({ KeyId: md.KeyId })).KeyMetadata!.Description).toBe('');
    const err = await failure(kms.updateKeyDescription({ KeyId: crypto.randomUUID(), Description: 'x' }));
    expect(err.name).toBe('NotFoundException');
  });
});

describe('ListKeys', () => {
  it('pages with Limit and Marker through every key exactly once', async () => {
    await server.reset();
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) ids.add((await newKey(`list ${i}`)).KeyId!);

    const all = await kms.listKeys({});
    expect(all.Truncated).toBe(false);
    expect(all.NextMarker).toBeUndefined();
    expect(new Set(all.Keys!.map((k) => k.KeyId))).toEqual(ids);

    const seen: string[] = [];
    const pageSizes: number[] = [];
    let marker: string | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await kms.listKeys({ Limit: 2, Marker: marker });
      pageSizes.push(res.Keys!.length);
      for (const k of res.Keys!) {
        expect(k.KeyArn).toBe(keyArn(k.KeyId!));
        seen.push(k.KeyId!);
      }
      if (!res.Truncated) {
        expect(res.NextMarker).toBeUndefined();
        break;
      }
      expect(res.NextMarker).toBeTruthy();
      marker = res.NextMarker;
    }
    expect(pageSizes).toEqual([2, 2, 1]);
    expect(seen).toHaveLength(5);
    expect(new Set(seen)).toEqual(ids);

    // A page that ends exactly at the last key is not truncated.
    const exact = await kms.listKeys({ Limit: 5 });
    expect(exact.Keys).toHaveLength(5);
    expect(exact.Truncated).toBe(false);
    expect(exact.NextMarker).toBeUndefined();
    const first4 = await kms.listKeys({ Limit: 4 });
    expect(first4.Truncated).toBe(true);
    const last1 = await kms.listKeys({ Limit: 1, Marker: first4.NextMarker });
    expect(last1.Keys).toHaveLength(1);
    expect(last1.Truncated).toBe(false);
  });

  it('rejects a Limit out of range and a forged marker', async () => {
    let err = await failure(kms.listKeys({ Limit: 0 }));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toBe(
      "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    err = await failure(kms.listKeys({ Marker: 'not-a-marker' }));
    expect(err.name).toBe('InvalidMarkerException');
  });
});

describe('Encrypt, Decrypt, ReEncrypt', () => {
  it('round-trips with and without KeyId, by id, ARN and alias', async () => {
    const md = await newKey();
    const alias = uniqueAlias('crypt');
    await kms.createAlias({ AliasName: alias, TargetKeyId: md.KeyId });
    const plaintext = utf8('hello, edge-kms');
    for (const ref of [md.KeyId!, md.Arn!, alias, aliasArn(alias)]) {
      const enc = await kms.encrypt({ KeyId: ref, Plaintext: plaintext });
      expect(enc.KeyId).toBe(md.Arn);
      expect(enc.EncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
      expect(enc.CiphertextBlob!.length).toBeGreaterThan(plaintext.length);
      expect(Buffer.from(enc.CiphertextBlob!).includes(Buffer.from(plaintext))).toBe(false);

      const dec = await kms.decrypt({ CiphertextBlob: enc.CiphertextBlob });
      expect(text(dec.Plaintext)).toBe('hello, edge-kms');
      expect(dec.KeyId).toBe(md.Arn);
      expect(dec.EncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
      expect(dec.KeyMaterialId).toBe(md.CurrentKeyMaterialId);

      for (const decRef of [md.KeyId!, md.Arn!, alias, aliasArn(alias)]) {
        const dec2 = await kms.decrypt({ CiphertextBlob: enc.CiphertextBlob, KeyId: decRef });
        expect(text(dec2.Plaintext)).toBe('hello, edge-kms');
      }
    }
  });

  it('two encryptions of the same plaintext differ', async () => {
    const md = await newKey();
    const a = await kms.encrypt({ KeyId: md.KeyId, Plaintext: utf8('same') });
    const b = await kms.encrypt({ KeyId: md.KeyId, Plaintext: utf8('same') });
    expect(Buffer.from(a.CiphertextBlob!).equals(Buffer.from(b.CiphertextBlob!))).toBe(false);
  });

  it('binds the encryption context: the same context in any order decrypts, any other does not', async () => {
    const md = await newKey();
    const ctx = { purpose: 'e2e', tenant: 'acme' };
    const enc = await kms.encrypt({ KeyId: md.KeyId, Plaintext: utf8('ctx'), EncryptionContext: ctx });
    const ok = await kms.decrypt({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { tenant: 'acme', purpose: 'e2e' } });
    expect(text(ok.Plaintext)).toBe('ctx');

    const wrong: (Record<string, string> | undefined)[] = [
      undefined,
      {},
      { purpose: 'e2e' },
      { purpose: 'e2e', tenant: 'evil' },
      { ...ctx, extra: '1' },
      { Purpose: 'e2e', tenant: 'acme' },
    ];
    const messages = new Set<string>();
    for (const c of wrong) {
      const err = await failure(kms.decrypt({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: c }));
      expect(err.name, JSON.stringify(c)).toBe(INVALID_CIPHERTEXT);
      messages.add(err.message);
    }
    expect(messages.size).toBe(1);

    // A ciphertext made without a context does not decrypt with one; an empty context is no context.
    const bare = await kms.encrypt({ KeyId: md.KeyId, Plaintext: utf8('bare') });
    expect(text((await kms.decrypt({ CiphertextBlob: bare.CiphertextBlob, EncryptionContext: {} })).Plaintext)).toBe('bare');
    const err = await failure(kms.decrypt({ CiphertextBlob: bare.CiphertextBlob, EncryptionContext: { a: 'b' } }));
    expect(err.name).toBe(INVALID_CIPHERTEXT);
  });

  it('Decrypt with the wrong KeyId: IncorrectKeyException', async () => {
    const a = await newKey();
    const b = await newKey();
    const enc = await kms.encrypt({ KeyId: a.KeyId, Plaintext: utf8('x') });
    const err = await failure(kms.decrypt({ CiphertextBlob: enc.CiphertextBlob, KeyId: b.KeyId }));
    expect(err.name).toBe('IncorrectKeyException');
    expect(err.message).toBe('The key ID in the request does not identify a KMS key that can perform this operation.');
  });

  it('Encrypt input validation in AWS wording', async () => {
    const md = await newKey();
    // 4096 bytes is the maximum.
    await kms.encrypt({ KeyId: md.KeyId, Plaintext: new Uint8Array(4096).fill(7) });
    let err = await failure(kms.encrypt({ KeyId: md.KeyId, Plaintext: new Uint8Array(4097).fill(7) }));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toBe(
      "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
    );

    err = await failure(kms.encrypt({ Plaintext: utf8('no key') } as never));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toBe("1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null");

    err = await failure(kms.encrypt({ KeyId: 'foo', Plaintext: utf8('x') }));
    expect(err.name).toBe('NotFoundException');
    expect(err.message).toBe('Invalid keyId foo');
  });

  it('ReEncrypt moves a ciphertext to another key and context', async () => {
    const src = await newKey('source');
    const dst = await newKey('destination');
    const enc = await kms.encrypt({ KeyId: src.KeyId, Plaintext: utf8('move me'), EncryptionContext: { from: 'src' } });
    const re = await kms.reEncrypt({
      CiphertextBlob: enc.CiphertextBlob,
      SourceEncryptionContext: { from: 'src' },
      DestinationKeyId: dst.KeyId,
      DestinationEncryptionContext: { to: 'dst' },
    });
    expect(re.SourceKeyId).toBe(src.Arn);
    expect(re.KeyId).toBe(dst.Arn);
    expect(re.SourceEncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
    expect(re.DestinationEncryptionAlgorithm).toBe('SYMMETRIC_DEFAULT');
    expect(re.SourceKeyMaterialId).toBe(src.CurrentKeyMaterialId);
    expect(re.DestinationKeyMaterialId).toBe(dst.CurrentKeyMaterialId);

    const dec = await kms.decrypt({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: { to: 'dst' } });
    expect(text(dec.Plaintext)).toBe('move me');
    expect(dec.KeyId).toBe(dst.Arn);
    expect((await failure(kms.decrypt({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: { from: 'src' } }))).name).toBe(INVALID_CIPHERTEXT);

    // Wrong source context and wrong SourceKeyId.
    let err = await failure(kms.reEncrypt({ CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: dst.KeyId }));
    expect(err.name).toBe(INVALID_CIPHERTEXT);
    err = await failure(
      kms.reEncrypt({ CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: { from: 'src' }, SourceKeyId: dst.KeyId, DestinationKeyId: dst.KeyId }),
    );
    expect(err.name).toBe('IncorrectKeyException');
  });
});

describe('GenerateDataKey, GenerateDataKeyWithoutPlaintext, GenerateRandom', () => {
  it('GenerateDataKey: AES_256, AES_128 and NumberOfBytes; the ciphertext decrypts to the plaintext', async () => {
    const md = await newKey();
    for (const [input, length] of [
      [{ KeySpec: 'AES_256' }, 32],
      [{ KeySpec: 'AES_128' }, 16],
      [{ NumberOfBytes: 1 }, 1],
      [{ NumberOfBytes: 64 }, 64],
      [{ NumberOfBytes: 1024 }, 1024],
    ] as const) {
      const res = await kms.generateDataKey({ KeyId: md.KeyId, EncryptionContext: { dk: 'yes' }, ...input });
      expect(res.KeyId).toBe(md.Arn);
      expect(res.Plaintext!.length, JSON.stringify(input)).toBe(length);
      expect(res.KeyMaterialId).toBe(md.CurrentKeyMaterialId);
      const dec = await kms.decrypt({ CiphertextBlob: res.CiphertextBlob, EncryptionContext: { dk: 'yes' } });
      expect(Buffer.from(dec.Plaintext!).equals(Buffer.from(res.Plaintext!))).toBe(true);
    }
    const a = await kms.generateDataKey({ KeyId: md.KeyId, KeySpec: 'AES_256' });
    const b = await kms.generateDataKey({ KeyId: md.KeyId, KeySpec: 'AES_256' });
    expect(Buffer.from(a.Plaintext!).equals(Buffer.from(b.Plaintext!))).toBe(false);
  });

  it('GenerateDataKey: neither or both of KeySpec and NumberOfBytes, or NumberOfBytes 0 / 1025 -> ValidationException', async () => {
    const md = await newKey();
    let err = await failure(kms.generateDataKey({ KeyId: md.KeyId }));
    expect(err.name).toBe('ValidationException');
    err = await failure(kms.generateDataKey({ KeyId: md.KeyId, KeySpec: 'AES_256', NumberOfBytes: 32 }));
    expect(err.name).toBe('ValidationException');
    err = await failure(kms.generateDataKey({ KeyId: md.KeyId, NumberOfBytes: 1025 }));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toBe(
      "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024",
    );
    err = await failure(kms.generateDataKey({ KeyId: md.KeyId, NumberOfBytes: 0 }));
    expect(err.name).toBe('ValidationException');
    err = await failure(kms.generateDataKey({ KeyId: md.KeyId, KeySpec: 'AES_512' as never }));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toContain("at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set");
  });

  it('GenerateDataKeyWithoutPlaintext returns no plaintext, only a decryptable ciphertext', async () => {
    const md = await newKey();
    const res = await kms.generateDataKeyWithoutPlaintext({ KeyId: md.KeyId, KeySpec: 'AES_256', EncryptionContext: { x: '1' } });
    expect((res as unknown as Record<string, unknown>).Plaintext).toBeUndefined();
    // The SDK would drop an unexpected member; the wire body must not carry one.
    const raw = await rawCall(server.url, 'TrentService.GenerateDataKeyWithoutPlaintext', JSON.stringify({ KeyId: md.KeyId, KeySpec: 'AES_256' }));
    expect(raw.status).toBe(200);
    expect(Object.keys((await raw.json()) as object).sort()).toEqual(['CiphertextBlob', 'KeyId', 'KeyMaterialId']);
    expect(res.KeyId).toBe(md.Arn);
    const dec = await kms.decrypt({ CiphertextBlob: res.CiphertextBlob, EncryptionContext: { x: '1' } });
    expect(dec.Plaintext!.length).toBe(32);
    const res16 = await kms.generateDataKeyWithoutPlaintext({ KeyId: md.KeyId, NumberOfBytes: 16 });
    expect((await kms.decrypt({ CiphertextBlob: res16.CiphertextBlob })).Plaintext!.length).toBe(16);
    const err = await failure(kms.generateDataKeyWithoutPlaintext({ KeyId: md.KeyId }));
    expect(err.name).toBe('ValidationException');
  });

  it('GenerateRandom: 1..1024 bytes, random, and ValidationException outside', async () => {
    for (const n of [1, 32, 1024]) {
      const r = await kms.generateRandom({ NumberOfBytes: n });
      expect(r.Plaintext!.length).toBe(n);
    }
    const a = await kms.generateRandom({ NumberOfBytes: 32 });
    const b = await kms.generateRandom({ NumberOfBytes: 32 });
    expect(Buffer.from(a.Plaintext!).equals(Buffer.from(b.Plaintext!))).toBe(false);
    for (const n of [0, 1025]) {
      const err = await failure(kms.generateRandom({ NumberOfBytes: n }));
      expect(err.name, String(n)).toBe('ValidationException');
    }
  });
});

describe('EnableKey and DisableKey', () => {
  it('a disabled key refuses Encrypt, Decrypt and GenerateDataKey with DisabledException; EnableKey restores it', async () => {
    const md = await newKey();
    const arn = md.Arn!;
    const enc = await kms.encrypt({ KeyId: md.KeyId, Plaintext: utf8('before') });
    await kms.disableKey({ KeyId: md.KeyId });
    const d = (await kms.describeKey({ KeyId: md.KeyId })).KeyMetadata!;
    expect(d.KeyState).toBe('Disabled');
    expect(d.Enabled).toBe(false);

    for (const call of [
      () => kms.encrypt({ KeyId: md.KeyId, Plaintext: utf8('x') }),
      () => kms.decrypt({ CiphertextBlob: enc.CiphertextBlob }),
      () => kms.generateDataKey({ KeyId: md.KeyId, KeySpec: 'AES_256' }),
      () => kms.generateDataKeyWithoutPlaintext({ KeyId: md.KeyId, KeySpec: 'AES_256' }),
      () => kms.reEncrypt({ CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: md.KeyId }),
    ]) {
      const err = await failure(call());
      expect(err.name).toBe('DisabledException');
      expect(err.message).toBe(`${arn} is disabled.`);
    }
    // Disabling twice is fine.
    await kms.disableKey({ KeyId: md.Arn });

    await kms.enableKey({ KeyId: md.KeyId });
    const e = (await kms.describeKey({ KeyId: md.KeyId })).KeyMetadata!;
    expect(e.KeyState).toBe('Enabled');
    expect(e.Enabled).toBe(true);
    expect(text((await kms.decrypt({ CiphertextBlob: enc.CiphertextBlob })).Plaintext)).toBe('before');

    expect((await failure(kms.enableKey({ KeyId: crypto.randomUUID() }))).name).toBe('NotFoundException');
    expect((await failure(kms.disableKey({ KeyId: 'foo' }))).name).toBe('NotFoundException');
  });
});

describe('ScheduleKeyDeletion and CancelKeyDeletion', () => {
  it('schedules with the default 30-day window and blocks use with KMSInvalidStateException', async () => {
    const md = await newKey();
    const enc = await kms.encrypt({ KeyId: md.KeyId, Plaintext: utf8('x') });
    const now = await server.now();
    const res = await kms.scheduleKeyDeletion({ KeyId: md.KeyId });
    expect(res.KeyId).toBe(md.Arn);
    expect(res.KeyState).toBe('PendingDeletion');
    expect(res.PendingWindowInDays).toBe(30);
    expect(Math.abs(res.DeletionDate!.getTime() - (now + 30 * DAY_MS))).toBeLessThan(1000);

    const d = (await kms.describeKey({ KeyId: md.KeyId })).KeyMetadata!;
    expect(d.KeyState).toBe('PendingDeletion');
    expect(d.Enabled).toBe(false);
    expect(d.PendingDeletionWindowInDays).toBe(30);
    expect(d.DeletionDate!.getTime()).toBe(res.DeletionDate!.getTime());

    const pending = `${md.Arn} is pending deletion.`;
    for (const call of [
      () => kms.encrypt({ KeyId: md.KeyId, Plaintext: utf8('x') }),
      () => kms.decrypt({ CiphertextBlob: enc.CiphertextBlob }),
      () => kms.generateDataKey({ KeyId: md.KeyId, KeySpec: 'AES_256' }),
      () => kms.enableKey({ KeyId: md.KeyId }),
      () => kms.disableKey({ KeyId: md.KeyId }),
      () => kms.scheduleKeyDeletion({ KeyId: md.KeyId, PendingWindowInDays: 7 }),
    ]) {
      const err = await failure(call());
      expect(err.name).toBe('KMSInvalidStateException');
      expect(err.message).toBe(pending);
    }
  });

  it('PendingWindowInDays is 7..30', async () => {
    const md = await newKey();
    let err = await failure(kms.scheduleKeyDeletion({ KeyId: md.KeyId, PendingWindowInDays: 6 }));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toBe(
      "1 validation error detected: Value '6' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value greater than or equal to 7",
    );
    err = await failure(kms.scheduleKeyDeletion({ KeyId: md.KeyId, PendingWindowInDays: 31 }));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toContain('Member must have value less than or equal to 30');
    expect((await kms.describeKey({ KeyId: md.KeyId })).KeyMetadata!.KeyState).toBe('Enabled');

    const now = await server.now();
    const res = await kms.scheduleKeyDeletion({ KeyId: md.KeyId, PendingWindowInDays: 7 });
    expect(res.PendingWindowInDays).toBe(7);
    expect(Math.abs(res.DeletionDate!.getTime() - (now + 7 * DAY_MS))).toBeLessThan(1000);
  });

  it('CancelKeyDeletion returns the key to Disabled; on a key not pending deletion it is KMSInvalidStateException', async () => {
    const md = await newKey();
    const err0 = await failure(kms.cancelKeyDeletion({ KeyId: md.KeyId }));
    expect(err0.name).toBe('KMSInvalidStateException');

    await kms.scheduleKeyDeletion({ KeyId: md.KeyId, PendingWindowInDays: 7 });
    const res = await kms.cancelKeyDeletion({ KeyId: md.KeyId });
    expect(res.KeyId).toBe(md.Arn);
    const d = (await kms.describeKey({ KeyId: md.KeyId })).KeyMetadata!;
    expect(d.KeyState).toBe('Disabled');
    expect(d.Enabled).toBe(false);
    expect(d.DeletionDate).toBeUndefined();
    expect(d.PendingDeletionWindowInDays).toBeUndefined();
    const err = await failure(kms.encrypt({ KeyId: md.KeyId, Plaintext: utf8('x') }));
    expect(err.name).toBe('DisabledException');

    const again = await failure(kms.cancelKeyDeletion({ KeyId: md.KeyId }));
    expect(again.name).toBe('KMSInvalidStateException');

    await kms.enableKey({ KeyId: md.KeyId });
    await kms.encrypt({ KeyId: md.KeyId, Plaintext: utf8('x') });
  });

  it('the key is really deleted once due, with its aliases (maintenance and on access)', async () => {
    const viaMaintenance = await newKey('deleted by maintenance');
    const viaAccess = await newKey('deleted on access');
    const survivor = await newKey('survivor');
    const aliasM = uniqueAlias('doomed-m');
    const aliasA = uniqueAlias('doomed-a');
    const aliasS = uniqueAlias('survivor');
    await kms.createAlias({ AliasName: aliasM, TargetKeyId: viaMaintenance.KeyId });
    await kms.createAlias({ AliasName: aliasA, TargetKeyId: viaAccess.KeyId });
    await kms.createAlias({ AliasName: aliasS, TargetKeyId: survivor.KeyId });
    await kms.scheduleKeyDeletion({ KeyId: viaMaintenance.KeyId });
    await kms.scheduleKeyDeletion({ KeyId: viaAccess.KeyId });

    await server.advanceDays(29);
    expect((await server.maintenance()).deleted).not.toContain(viaMaintenance.KeyId);
    expect((await kms.describeKey({ KeyId: viaAccess.KeyId })).KeyMetadata!.KeyState).toBe('PendingDeletion');

    await server.advanceDays(2);
    // One key is deleted on access (any operation applies what is due) ...
    const err0 = await failure(kms.describeKey({ KeyId: viaAccess.KeyId }));
    expect(err0.name).toBe('NotFoundException');
    // ... the other by the maintenance run.
    const report = await server.maintenance();
    expect(report.deleted).toContain(viaMaintenance.KeyId);
    expect(report.deleted).not.toContain(viaAccess.KeyId);
    expect(report.deleted).not.toContain(survivor.KeyId);
    // ... every reference to either is gone.
    for (const md of [viaMaintenance, viaAccess]) {
      const err = await failure(kms.describeKey({ KeyId: md.KeyId }));
      expect(err.name).toBe('NotFoundException');
      expect(err.message).toBe(`Key '${md.Arn}' does not exist`);
    }
    for (const alias of [aliasM, aliasA]) {
      const err = await failure(kms.describeKey({ KeyId: alias }));
      expect(err.name).toBe('NotFoundException');
    }
    const aliases = await listAllAliases();
    const names = aliases.map((a) => a.AliasName);
    expect(names).not.toContain(aliasM);
    expect(names).not.toContain(aliasA);
    expect(names).toContain(aliasS);
    const keys = (await kms.listKeys({ Limit: 1000 })).Keys!.map((k) => k.KeyId);
    expect(keys).not.toContain(viaMaintenance.KeyId);
    expect(keys).toContain(survivor.KeyId);
    expect((await kms.describeKey({ KeyId: survivor.KeyId })).KeyMetadata!.KeyState).toBe('Enabled');
  });

  it('a key past its deletion date is gone on the next access even without a maintenance run', async () => {
    const md = await newKey('lazy deletion');
    const alias = uniqueAlias('lazy');
    await kms.createAlias({ AliasName: alias, TargetKeyId: md.KeyId });
    await kms.scheduleKeyDeletion({ KeyId: md.KeyId, PendingWindowInDays: 7 });
    await server.advanceDays(8);
    const err = await failure(kms.describeKey({ KeyId: md.KeyId }));
    expect(err.name).toBe('NotFoundException');
    expect(err.message).toBe(`Key '${md.Arn}' does not exist`);
    expect((await failure(kms.describeKey({ KeyId: alias }))).name).toBe('NotFoundException');
    expect((await listAllAliases()).map((a) => a.AliasName)).not.toContain(alias);
  });
});

async function listAllAliases(KeyId?: string) {
  const out = [];
  let Marker: string | undefined;
  for (;;) {
    const res = await kms.listAliases({ KeyId, Marker, Limit: 100 });
    out.push(...res.Aliases!);
    if (!res.Truncated) return out;
    Marker = res.NextMarker;
  }
}

describe('Aliases', () => {
  it('CreateAlias, UpdateAlias, DeleteAlias and their errors', async () => {
    const a = await newKey('alias target a');
    const b = await newKey('alias target b');
    const name = uniqueAlias('crud');
    const now = await server.now();
    await kms.createAlias({ AliasName: name, TargetKeyId: a.KeyId });
    const listed = (await listAllAliases()).find((x) => x.AliasName === name)!;
    expect(listed).toBeDefined();
    expect(listed.AliasArn).toBe(aliasArn(name));
    expect(listed.TargetKeyId).toBe(a.KeyId);
    expect(Math.abs(listed.CreationDate!.getTime() - now)).toBeLessThan(1000);
    expect(listed.LastUpdatedDate).toBeInstanceOf(Date);

    let err = await failure(kms.createAlias({ AliasName: name, TargetKeyId: b.KeyId }));
    expect(err.name).toBe('AlreadyExistsException');
    expect(err.message).toBe(`An alias with the name ${aliasArn(name)} already exists`);

    for (const bad of ['alias/aws/x', 'alias/aws/s3', 'alias/']) {
      err = await failure(kms.createAlias({ AliasName: bad, TargetKeyId: a.KeyId }));
      expect(err.name, bad).toBe('InvalidAliasNameException');
    }
    err = await failure(kms.createAlias({ AliasName: uniqueAlias(), TargetKeyId: crypto.randomUUID() }));
    expect(err.name).toBe('NotFoundException');

    await kms.updateAlias({ AliasName: name, TargetKeyId: b.Arn });
    expect((await kms.describeKey({ KeyId: name })).KeyMetadata!.KeyId).toBe(b.KeyId);
    const enc = await kms.encrypt({ KeyId: name, Plaintext: utf8('via alias') });
    expect(enc.KeyId).toBe(b.Arn);

    const missing = 'alias/e2e-missing-alias';
    err = await failure(kms.updateAlias({ AliasName: missing, TargetKeyId: a.KeyId }));
    expect(err.name).toBe('NotFoundException');
    expect(err.message).toBe(`Alias ${aliasArn(missing)} is not found.`);
    err = await failure(kms.deleteAlias({ AliasName: missing }));
    expect(err.name).toBe('NotFoundException');
    expect(err.message).toBe(`Alias ${aliasArn(missing)} is not found.`);
    err = await failure(kms.deleteAlias({ AliasName: 'alias/aws/x' }));
    expect(err.name).toBe('InvalidAliasNameException');

    await kms.deleteAlias({ AliasName: name });
    err = await failure(kms.describeKey({ KeyId: name }));
    expect(err.name).toBe('NotFoundException');
    expect((await listAllAliases()).map((x) => x.AliasName)).not.toContain(name);
    // The key itself is untouched, and the name can be used again.
    expect((await kms.describeKey({ KeyId: b.KeyId })).KeyMetadata!.KeyState).toBe('Enabled');
    await kms.createAlias({ AliasName: name, TargetKeyId: a.KeyId });
    expect((await kms.describeKey({ KeyId: name })).KeyMetadata!.KeyId).toBe(a.KeyId);
  });

  it('an AliasName without the alias/ prefix is a ValidationException in CreateAlias, UpdateAlias and DeleteAlias', async () => {
    const md = await newKey('alias prefix');
    const name = uniqueAlias('prefix');
    await kms.createAlias({ AliasName: name, TargetKeyId: md.KeyId });
    const message = 'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html';
    for (const bad of ['no-prefix', 'alias', 'Alias/x', 'ALIAS/x', name.slice('alias/'.length), `x${name}`]) {
      for (const [op, call] of [
        ['CreateAlias', () => kms.createAlias({ AliasName: bad, TargetKeyId: md.KeyId })],
        ['UpdateAlias', () => kms.updateAlias({ AliasName: bad, TargetKeyId: md.KeyId })],
        ['DeleteAlias', () => kms.deleteAlias({ AliasName: bad })],
      ] as const) {
        const err = await failure(call());
        expect(err.name, `${op} ${bad}`).toBe('ValidationException');
        expect(err.message, `${op} ${bad}`).toBe(message);
        expect(err.$metadata?.httpStatusCode).toBe(400);
      }
    }
    // Before the key is looked up: an unknown target does not change the answer.
    expect((await failure(kms.createAlias({ AliasName: 'no-prefix', TargetKeyId: crypto.randomUUID() }))).message).toBe(message);
    // Names with the prefix keep their errors.
    expect((await failure(kms.updateAlias({ AliasName: 'alias/aws/x', TargetKeyId: md.KeyId }))).name).toBe('InvalidAliasNameException');
    expect((await failure(kms.deleteAlias({ AliasName: 'alias/' }))).name).toBe('InvalidAliasNameException');
    const spaced = await failure(kms.createAlias({ AliasName: 'no prefix', TargetKeyId: md.KeyId }));
    expect(spaced.name).toBe('ValidationException');
    expect(spaced.message).toContain("at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern");
    // Nothing was created, changed or deleted.
    expect((await listAllAliases(md.KeyId)).map((x) => x.AliasName)).toEqual([name]);
  });

  it('ListAliases pages with Limit/Marker and filters by KeyId', async () => {
    await server.reset();
    const a = await newKey('a');
    const b = await newKey('b');
    const aNames = ['alias/list-a1', 'alias/list-a2', 'alias/list-a3'];
    const bNames = ['alias/list-b1', 'alias/list-b2', 'alias/list-b3', 'alias/list-b4'];
    // Interleave so that a KeyId filter has to skip.
    for (const [i, n] of [...aNames, ...bNames].entries()) {
      void i;
      await kms.createAlias({ AliasName: n, TargetKeyId: n.includes('-a') ? a.KeyId : b.KeyId });
    }
    const all = await kms.listAliases({});
    expect(all.Truncated).toBe(false);
    expect(all.Aliases!.map((x) => x.AliasName).sort()).toEqual([...aNames, ...bNames].sort());

    const sizes: number[] = [];
    const seen: string[] = [];
    let Marker: string | undefined;
    for (let i = 0; i < 10; i++) {
      const res = await kms.listAliases({ Limit: 3, Marker });
      sizes.push(res.Aliases!.length);
      seen.push(...res.Aliases!.map((x) => x.AliasName!));
      if (!res.Truncated) {
        expect(res.NextMarker).toBeUndefined();
        break;
      }
      expect(res.NextMarker).toBeTruthy();
      Marker = res.NextMarker;
    }
    expect(sizes).toEqual([3, 3, 1]);
    expect(seen.sort()).toEqual([...aNames, ...bNames].sort());

    const forA = await kms.listAliases({ KeyId: a.KeyId });
    expect(forA.Aliases!.map((x) => x.AliasName).sort()).toEqual(aNames);
    expect(forA.Aliases!.every((x) => x.TargetKeyId === a.KeyId)).toBe(true);
    const forB = await kms.listAliases({ KeyId: b.Arn });
    expect(forB.Aliases!.map((x) => x.AliasName).sort()).toEqual(bNames);

    // Filter and paging together.
    const p1 = await kms.listAliases({ KeyId: b.KeyId, Limit: 3 });
    expect(p1.Aliases).toHaveLength(3);
    expect(p1.Truncated).toBe(true);
    const p2 = await kms.listAliases({ KeyId: b.KeyId, Limit: 3, Marker: p1.NextMarker });
    expect(p2.Aliases).toHaveLength(1);
    expect(p2.Truncated).toBe(false);
    expect([...p1.Aliases!, ...p2.Aliases!].map((x) => x.AliasName).sort()).toEqual(bNames);

    const p3 = await kms.listAliases({ KeyId: a.KeyId, Limit: 3 });
    expect(p3.Aliases).toHaveLength(3);
    expect(p3.Truncated).toBe(false);
    expect(p3.NextMarker).toBeUndefined();
    const exact = await kms.listAliases({ Limit: 7 });
    expect(exact.Aliases).toHaveLength(7);
    expect(exact.Truncated).toBe(false);
    const q1 = await kms.listAliases({ KeyId: b.KeyId, Limit: 2 });
    const q2 = await kms.listAliases({ KeyId: b.KeyId, Limit: 2, Marker: q1.NextMarker });
    expect([q1.Aliases!.length, q1.Truncated, q2.Aliases!.length, q2.Truncated]).toEqual([2, true, 2, false]);

    const none = await kms.listAliases({ KeyId: (await newKey()).KeyId });
    expect(none.Aliases).toEqual([]);
    expect(none.Truncated).toBe(false);

    expect((await failure(kms.listAliases({ KeyId: crypto.randomUUID() }))).name).toBe('NotFoundException');
    expect((await failure(kms.listAliases({ Marker: 'bogus' }))).name).toBe('InvalidMarkerException');
  });
});

describe('Tags', () => {
  it('CreateKey tags, TagResource adds and overwrites, UntagResource removes, ListResourceTags lists', async () => {
    const { KeyMetadata: md } = await kms.createKey({
      Tags: [
        { TagKey: 'env', TagValue: 'test' },
        { TagKey: 'team', TagValue: 'kms' },
      ],
    });
    const sortTags = (t: { TagKey?: string; TagValue?: string }[] | undefined) => [...(t ?? [])].sort((x, y) => x.TagKey!.localeCompare(y.TagKey!));
    let res = await kms.listResourceTags({ KeyId: md!.KeyId });
    expect(sortTags(res.Tags)).toEqual([
      { TagKey: 'env', TagValue: 'test' },
      { TagKey: 'team', TagValue: 'kms' },
    ]);
    expect(res.Truncated).toBe(false);

    await kms.tagResource({
      KeyId: md!.Arn,
      Tags: [
        { TagKey: 'env', TagValue: 'prod' },
        { TagKey: 'cost', TagValue: '42' },
      ],
    });
    res = await kms.listResourceTags({ KeyId: md!.KeyId });
    expect(sortTags(res.Tags)).toEqual([
      { TagKey: 'cost', TagValue: '42' },
      { TagKey: 'env', TagValue: 'prod' },
      { TagKey: 'team', TagValue: 'kms' },
    ]);

    await kms.untagResource({ KeyId: md!.KeyId, TagKeys: ['team', 'not-there'] });
    res = await kms.listResourceTags({ KeyId: md!.KeyId });
    expect(sortTags(res.Tags)).toEqual([
      { TagKey: 'cost', TagValue: '42' },
      { TagKey: 'env', TagValue: 'prod' },
    ]);

    // Paging.
    const p1 = await kms.listResourceTags({ KeyId: md!.KeyId, Limit: 1 });
    expect(p1.Tags).toHaveLength(1);
    expect(p1.Truncated).toBe(true);
    const p2 = await kms.listResourceTags({ KeyId: md!.KeyId, Limit: 1, Marker: p1.NextMarker });
    expect(p2.Tags).toHaveLength(1);
    expect(p2.Truncated).toBe(false);
    expect(sortTags([...p1.Tags!, ...p2.Tags!])).toEqual(sortTags(res.Tags));

    let err = await failure(kms.tagResource({ KeyId: md!.KeyId, Tags: [{ TagKey: 'aws:reserved', TagValue: 'x' }] }));
    expect(err.name).toBe('TagException');
    expect(err.message).toBe('Tags beginning with aws: are reserved');
    err = await failure(kms.tagResource({ KeyId: crypto.randomUUID(), Tags: [{ TagKey: 'a', TagValue: 'b' }] }));
    expect(err.name).toBe('NotFoundException');
    err = await failure(kms.listResourceTags({ KeyId: 'foo' }));
    expect(err.name).toBe('NotFoundException');
    expect(err.message).toBe('Invalid keyId foo');
  });
});

describe('Tag rules', () => {
  const tags = (n: number, prefix = 't') => Array.from({ length: n }, (_, i) => ({ TagKey: `${prefix}${i}`, TagValue: String(i) }));
  const tagCount = async (KeyId: string | undefined) => (await kms.listResourceTags({ KeyId, Limit: 50 })).Tags!.length;

  it('a key has at most 50 tags, counted after TagResource (replaced keys once): TagException "Too many tags"', async () => {
    const md = await newKey('fifty tags');
    await kms.tagResource({ KeyId: md.KeyId, Tags: tags(48) });
    // 48 + 2 replaced + 2 new = 50: allowed.
    await kms.tagResource({ KeyId: md.KeyId, Tags: [...tags(2), ...tags(2, 'new')] });
    expect(await tagCount(md.KeyId)).toBe(50);
    // Replacing a value at 50 is allowed; a 51st key is not.
    await kms.tagResource({ KeyId: md.KeyId, Tags: [{ TagKey: 't0', TagValue: 'changed' }] });
    let err = await failure(kms.tagResource({ KeyId: md.KeyId, Tags: [{ TagKey: 'one-more', TagValue: 'x' }] }));
    expect(err.name).toBe('TagException');
    expect(err.message).toBe('Too many tags');
    expect(err.$metadata?.httpStatusCode).toBe(400);
    expect(await tagCount(md.KeyId)).toBe(50);

    // 51 in one request, on a key with none.
    const fresh = await newKey('51 at once');
    err = await failure(kms.tagResource({ KeyId: fresh.KeyId, Tags: tags(51) }));
    expect(err.name).toBe('TagException');
    expect(err.message).toBe('Too many tags');
    expect(await tagCount(fresh.KeyId)).toBe(0);
  });

  it('CreateKey with more than 50 tags is a TagException "Too many tags"; 50 are allowed', async () => {
    const err = await failure(kms.createKey({ Tags: tags(51) }));
    expect(err.name).toBe('TagException');
    expect(err.message).toBe('Too many tags');
    const { KeyMetadata } = await kms.createKey({ Tags: tags(50) });
    expect(await tagCount(KeyMetadata!.KeyId!)).toBe(50);
  });

  it('tag keys beginning with aws: in any case are reserved: TagException, in CreateKey and TagResource', async () => {
    const md = await newKey('reserved tags');
    for (const TagKey of ['aws:x', 'AWS:x', 'Aws:cost', 'aWs:', 'aws:']) {
      for (const [op, call] of [
        ['CreateKey', () => kms.createKey({ Tags: [{ TagKey, TagValue: 'v' }] })],
        [
          'TagResource',
          () =>
            kms.tagResource({
              KeyId: md.KeyId,
              Tags: [
                { TagKey: 'ok', TagValue: 'v' },
                { TagKey, TagValue: 'v' },
              ],
            }),
        ],
      ] as const) {
        const err = await failure(call());
        expect(err.name, `${op} ${TagKey}`).toBe('TagException');
        expect(err.message, `${op} ${TagKey}`).toBe('Tags beginning with aws: are reserved');
      }
    }
    expect(await tagCount(md.KeyId)).toBe(0);
    // Only the prefix is reserved.
    await kms.tagResource({
      KeyId: md.KeyId,
      Tags: [
        { TagKey: 'aws', TagValue: 'v' },
        { TagKey: 'my-aws:x', TagValue: 'v' },
        { TagKey: 'awsx', TagValue: 'v' },
      ],
    });
    expect(await tagCount(md.KeyId)).toBe(3);
  });

  it('over-long tag keys (> 128) and values (> 256) stay ValidationException', async () => {
    const md = await newKey('long tags');
    for (const [op, call] of [
      ['CreateKey key', () => kms.createKey({ Tags: [{ TagKey: 'k'.repeat(129), TagValue: 'v' }] })],
      ['TagResource key', () => kms.tagResource({ KeyId: md.KeyId, Tags: [{ TagKey: 'k'.repeat(129), TagValue: 'v' }] })],
      ['CreateKey aws: key', () => kms.createKey({ Tags: [{ TagKey: `aws:${'k'.repeat(125)}`, TagValue: 'v' }] })],
    ] as const) {
      const err = await failure(call());
      expect(err.name, op).toBe('ValidationException');
      expect(err.message, op).toContain("at 'tags.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128");
    }
    for (const [op, call] of [
      ['CreateKey value', () => kms.createKey({ Tags: [{ TagKey: 'k', TagValue: 'v'.repeat(257) }] })],
      ['TagResource value', () => kms.tagResource({ KeyId: md.KeyId, Tags: [{ TagKey: 'k', TagValue: 'v'.repeat(257) }] })],
    ] as const) {
      const err = await failure(call());
      expect(err.name, op).toBe('ValidationException');
      expect(err.message, op).toContain("at 'tags.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256");
    }
    await kms.tagResource({ KeyId: md.KeyId, Tags: [{ TagKey: 'k'.repeat(128), TagValue: 'v'.repeat(256) }] });
    expect(await tagCount(md.KeyId)).toBe(1);
  });
});

describe('the wire protocol', () => {
  async function expectWireError(res: Response, type: string) {
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['__type', 'message']);
    expect(body.__type).toBe(type);
    expect(typeof body.message).toBe('string');
    expect((body.message as string).length).toBeGreaterThan(0);
    return body;
  }

  it('a malformed JSON body is a SerializationException', async () => {
    await expectWireError(await rawCall(server.url, 'TrentService.CreateKey', '{"Description": '), 'SerializationException');
    await expectWireError(await rawCall(server.url, 'TrentService.Encrypt', 'not json at all'), 'SerializationException');
    // A JSON value of the wrong type for a member.
    await expectWireError(await rawCall(server.url, 'TrentService.GenerateRandom', '{"NumberOfBytes": "ten"}'), 'SerializationException');
  });

  it('an unknown X-Amz-Target is an UnknownOperationException', async () => {
    await expectWireError(await rawCall(server.url, 'TrentService.NoSuchOperation', '{}'), 'UnknownOperationException');
    await expectWireError(await rawCall(server.url, 'OtherService.CreateKey', '{}'), 'UnknownOperationException');
    await expectWireError(await rawCall(server.url, 'TrentService.', '{}'), 'UnknownOperationException');
  });

  it('a successful raw call answers 200 with the AWS JSON 1.1 content type and epoch-second dates', async () => {
    const res = await rawCall(server.url, 'TrentService.CreateKey', '{}');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    const body = (await res.json()) as { KeyMetadata: { CreationDate: unknown; KeyId: string } };
    expect(typeof body.KeyMetadata.CreationDate).toBe('number');
    expect(Math.abs((body.KeyMetadata.CreationDate as number) * 1000 - (await server.now()))).toBeLessThan(1000);
  });

  it('requests signed with the real time are accepted after the test clock moved a year ahead; stale signatures are not', async () => {
    await server.advanceDays(365);
    const md = await newKey('after a simulated year');
    expect((await kms.describeKey({ KeyId: md.KeyId })).KeyMetadata!.KeyId).toBe(md.KeyId);
    expect((await rawCall(server.url, 'TrentService.ListKeys', '{}')).status).toBe(200);
    const stale = await rawCall(server.url, 'TrentService.ListKeys', '{}', { signingDate: new Date(Date.now() - 20 * 60_000) });
    expect(stale.status).toBeGreaterThanOrEqual(400);
    expect(((await stale.json()) as { __type: string }).__type).toBe('InvalidSignatureException');
  });
});

describe('tampering', () => {
  it('every single-byte change, truncation and extension of a blob is the same InvalidCiphertextException', async () => {
    const md = await newKey('tamper');
    // The blob comes from the middle of three key material versions, so that a changed version
    // number can name an existing version.
    await kms.rotateKeyOnDemand({ KeyId: md.KeyId });
    const enc = await kms.encrypt({ KeyId: md.KeyId, Plaintext: utf8('tamper-proof'), EncryptionContext: { k: 'v' } });
    await kms.rotateKeyOnDemand({ KeyId: md.KeyId });
    const blob = enc.CiphertextBlob!;
    expect(text((await kms.decrypt({ CiphertextBlob: blob, EncryptionContext: { k: 'v' } })).Plaintext)).toBe('tamper-proof');

    const variants: { what: string; blob: Uint8Array }[] = [];
    for (let i = 0; i < blob.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const b = blob.slice();
        b[i] = b[i]! ^ mask;
        variants.push({ what: `byte ${i} ^ 0x${mask.toString(16)}`, blob: b });
      }
    }
    for (let n = 1; n < blob.length; n++) variants.push({ what: `truncated to ${n}`, blob: blob.slice(0, n) });
    for (const extra of [[0], [0xff], [1, 2, 3, 4], new Array(16).fill(0)]) {
      const b = new Uint8Array(blob.length + extra.length);
      b.set(blob);
      b.set(extra, blob.length);
      variants.push({ what: `extended by ${extra.length}`, blob: b });
    }

    const outcomes = new Map<string, string[]>();
    const BATCH = 25;
    for (let i = 0; i < variants.length; i += BATCH) {
      await Promise.all(
        variants.slice(i, i + BATCH).map(async (v) => {
          let outcome: string;
          try {
            const res = await kms.decrypt({ CiphertextBlob: v.blob, EncryptionContext: { k: 'v' } });
            outcome = `SUCCESS ${text(res.Plaintext)}`;
          } catch (e) {
            const err = e as Error;
            outcome = `${err.name}: ${err.message}`;
          }
          outcomes.set(outcome, [...(outcomes.get(outcome) ?? []), v.what]);
        }),
      );
    }
    const expected = `InvalidCiphertextException: ${(await failure(kms.decrypt({ CiphertextBlob: blob, EncryptionContext: { k: 'x' } }))).message}`;
    expect([...outcomes.keys()], JSON.stringify([...outcomes].map(([o, w]) => [o, w.slice(0, 5)]))).toEqual([expected]);
    expect(outcomes.get(expected)).toHaveLength(variants.length);

    // The untouched blob still decrypts.
    expect(text((await kms.decrypt({ CiphertextBlob: blob, EncryptionContext: { k: 'v' } })).Plaintext)).toBe('tamper-proof');
  });

  it('garbage and empty blobs: InvalidCiphertextException, and an empty blob is a ValidationException', async () => {
    for (const b of [
      new Uint8Array([1]),
      utf8('definitely not a kms ciphertext blob, but long enough to be parsed'),
      crypto.getRandomValues(new Uint8Array(200)),
    ]) {
      const err = await failure(kms.decrypt({ CiphertextBlob: b }));
      expect(err.name).toBe(INVALID_CIPHERTEXT);
    }
    const err = await failure(kms.decrypt({ CiphertextBlob: new Uint8Array(0) }));
    expect(err.name).toBe('ValidationException');
  });
});
