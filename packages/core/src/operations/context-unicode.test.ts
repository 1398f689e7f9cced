/**
 * Encryption contexts are bound into ciphertexts as UTF-8 and compared by policies and grants as
 * UTF-16. A lone surrogate has no UTF-8 form (TextEncoder writes U+FFFD), so "\ud800", "\udfff"
 * and "\ufffd" would be one context to the ciphertext and three to a policy: every operation that
 * takes a context refuses ill-formed strings with ValidationException, and well-formed
 * non-BMP text still works. Run: npx vitest run packages/core/src/operations/context-unicode.test.ts
 */
import { describe, expect, it } from 'vitest';
import { createKms } from '../kms.js';
import { KmsError } from '../errors.js';
import { encodeContext } from '@edge-kms/client';

type Out = Record<string, any>;

const LONE = ['\ud800', '\udfff', 'a\udbffb', '\ude00\ud83d'];

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(KmsError);
    return `${(e as KmsError).code}: ${(e as KmsError).message}`;
  }
}

describe('lone surrogates in encryption contexts', () => {
  it('are refused in keys and values by every operation that takes a context', async () => {
    const kms = createKms();
    const { KeyMetadata } = (await kms.execute('CreateKey', {})) as Out;
    const KeyId = KeyMetadata.KeyId as string;
    const { CiphertextBlob } = (await kms.execute('Encrypt', { KeyId, Plaintext: new Uint8Array([1]) })) as Out;
    for (const s of LONE) {
      for (const ctx of [{ k: s }, { [s]: 'v' }]) {
        const calls: [string, Out][] = [
          ['Encrypt', { KeyId, Plaintext: new Uint8Array([1]), EncryptionContext: ctx }],
          ['Decrypt', { CiphertextBlob, EncryptionContext: ctx }],
          ['GenerateDataKey', { KeyId, KeySpec: 'AES_256', EncryptionContext: ctx }],
          ['GenerateDataKeyWithoutPlaintext', { KeyId, KeySpec: 'AES_256', EncryptionContext: ctx }],
          ['ReEncrypt', { CiphertextBlob, DestinationKeyId: KeyId, SourceEncryptionContext: ctx }],
          ['ReEncrypt', { CiphertextBlob, DestinationKeyId: KeyId, DestinationEncryptionContext: ctx }],
          [
            'CreateGrant',
            { KeyId, GranteePrincipal: 'arn:aws:iam::111122223333:user/bob', Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: ctx } },
          ],
        ];
        for (const [op, input] of calls) {
          const got = await codeOf(kms.execute(op, input));
          expect(got, `${op} ${JSON.stringify(ctx)}`).toMatch(
            /^ValidationException: 1 validation error detected: Value at '.*[eE]ncryptionContext.*' failed to satisfy constraint: Member must contain only well-formed Unicode strings \(no lone surrogates\)$/,
          );
        }
      }
    }
    // Nothing was created by the refused calls.
    expect(((await kms.execute('ListGrants', { KeyId })) as Out).Grants).toHaveLength(0);
  });

  it('over the wire too, where JSON escapes carry the surrogate', async () => {
    const kms = createKms();
    const { KeyMetadata } = (await kms.execute('CreateKey', {})) as Out;
    const r = await kms.handle(
      new Request('http://localhost/', {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Encrypt' },
        body: `{"KeyId":"${KeyMetadata.KeyId}","Plaintext":"AQ==","EncryptionContext":{"k":"\\ud800"}}`,
      }),
    );
    expect(r.status).toBe(400);
    expect(((await r.json()) as Out).__type).toBe('ValidationException');
  });

  it('well-formed text beyond the BMP is bound exactly: another string does not decrypt', async () => {
    const kms = createKms();
    const { KeyMetadata } = (await kms.execute('CreateKey', {})) as Out;
    const ctx = { 'emoji-😀': 'value 𝄞 ü' };
    const { CiphertextBlob } = (await kms.execute('Encrypt', { KeyId: KeyMetadata.KeyId, Plaintext: new Uint8Array([7]), EncryptionContext: ctx })) as Out;
    expect(((await kms.execute('Decrypt', { CiphertextBlob, EncryptionContext: ctx })) as Out).Plaintext).toEqual(new Uint8Array([7]));
    expect(await codeOf(kms.execute('Decrypt', { CiphertextBlob, EncryptionContext: { 'emoji-😀': 'value \ufffd ü' } }))).toMatch(
      /^InvalidCiphertextException/,
    );
  });

  it("the client's envelope encoding refuses them as well", () => {
    for (const s of LONE) {
      expect(() => encodeContext({ k: s })).toThrow(/lone surrogate/);
      expect(() => encodeContext({ [s]: 'v' })).toThrow(/lone surrogate/);
    }
    expect(encodeContext({ k: '😀' })).toEqual(encodeContext({ k: '\ud83d\ude00' }));
  });
});
