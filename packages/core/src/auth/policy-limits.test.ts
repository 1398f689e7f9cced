/**
 * Key policy documents that are too large, too deep or have characters AWS does not allow: AWS's
 * error for each (LimitExceededException, MalformedPolicyDocumentException, ValidationException),
 * in CreateKey and PutKeyPolicy, over the wire as a 400 and never a 500, and nothing changed.
 * Run: npx vitest run packages/core/src/auth/policy-limits.test.ts
 */
import { describe, expect, it } from 'vitest';
import { createKms } from '../kms.js';
import { KmsError } from '../errors.js';
import { jsonDepth, MAX_POLICY_BYTES, parsePolicy } from './policy.js';

const ROOT = 'arn:aws:iam::111122223333:root';

function policyWith(extra: Record<string, unknown> = {}, pad = ''): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: pad, Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*', ...extra }],
  });
}

/** A Condition whose value nests `depth` lists deep. */
function nested(depth: number): string {
  return policyWith().replace(
    '"Resource":"*"',
    `"Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":${'['.repeat(depth)}"111122223333"${']'.repeat(depth)}}}`,
  );
}

async function failure(p: Promise<unknown>): Promise<KmsError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(KmsError);
    return e as KmsError;
  }
  throw new Error('expected a failure');
}

describe('policy size, depth and characters', () => {
  it('jsonDepth counts brackets outside strings only, and stops past the limit', () => {
    expect(jsonDepth('{"a":[1,{"b":"[[[[{{{"}]}', 10)).toBe(3);
    expect(jsonDepth('{"a":"\\"[[[["}', 10)).toBe(1);
    expect(jsonDepth('['.repeat(1_000_000), 16)).toBe(Infinity);
  });

  it('a policy of exactly 32768 bytes is accepted; one byte more is LimitExceededException', async () => {
    const kms = createKms();
    const base = policyWith().length;
    const exact = policyWith({}, 'x'.repeat(MAX_POLICY_BYTES - base));
    expect(new TextEncoder().encode(exact).length).toBe(MAX_POLICY_BYTES);
    const { KeyMetadata } = (await kms.execute('CreateKey', { Policy: exact })) as { KeyMetadata: { KeyId: string } };
    const over = policyWith({}, 'x'.repeat(MAX_POLICY_BYTES - base + 1));
    const e = await failure(kms.execute('PutKeyPolicy', { KeyId: KeyMetadata.KeyId, Policy: over }));
    expect(e.code).toBe('LimitExceededException');
    expect(e.message).toBe('The key policy exceeds the key policy size quota of 32768 bytes.');
    expect(((await kms.execute('GetKeyPolicy', { KeyId: KeyMetadata.KeyId })) as { Policy: string }).Policy).toBe(exact);
    // Latin-1 characters are two bytes each: fewer than 32768 characters can be over the quota.
    const latin = policyWith({}, 'é'.repeat((MAX_POLICY_BYTES - base) / 2 + 1));
    expect(latin.length).toBeLessThan(MAX_POLICY_BYTES);
    expect((await failure(kms.execute('CreateKey', { Policy: latin }))).code).toBe('LimitExceededException');
  });

  it("over the model's 131072 characters, or with a character outside AWS's set, is ValidationException", async () => {
    const kms = createKms();
    const huge = await failure(kms.execute('CreateKey', { Policy: policyWith({}, 'x'.repeat(131_072)) }));
    expect(huge.code).toBe('ValidationException');
    expect(huge.message).toBe(
      "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to 131072",
    );
    for (const bad of ['\u0000', '\u0007', '\u0100', '\u20ac', '\ud83d\ude00']) {
      // Raw characters: JSON.stringify would escape the control characters into ASCII.
      const e = await failure(kms.execute('CreateKey', { Policy: policyWith({}, 'PAD').replace('PAD', bad) }));
      expect(e.code).toBe('ValidationException');
      expect(e.message).toContain("at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern");
    }
    expect(((await kms.execute('ListKeys', {})) as { Keys: unknown[] }).Keys).toHaveLength(0);
  });

  it('a document nested deeper than any policy is MalformedPolicyDocumentException, with no stack overflow', async () => {
    expect(() => parsePolicy(nested(3))).toThrow(/must be a string, number or boolean/);
    for (const depth of [20, 5_000, 15_000]) {
      const e = await failure(createKms().execute('CreateKey', { Policy: nested(depth) }));
      expect(e.code).toBe('MalformedPolicyDocumentException');
    }
    const kms = createKms();
    const { KeyMetadata } = (await kms.execute('CreateKey', {})) as { KeyMetadata: { KeyId: string } };
    const before = ((await kms.execute('GetKeyPolicy', { KeyId: KeyMetadata.KeyId })) as { Policy: string }).Policy;
    const e = await failure(kms.execute('PutKeyPolicy', { KeyId: KeyMetadata.KeyId, Policy: `{"Statement":${'['.repeat(5000)}${']'.repeat(5000)}}` }));
    expect(e.code).toBe('MalformedPolicyDocumentException');
    expect(e.message).toBe('The policy document nests deeper than 16 levels, which no key policy does.');
    expect(((await kms.execute('GetKeyPolicy', { KeyId: KeyMetadata.KeyId })) as { Policy: string }).Policy).toBe(before);
  });

  it('over the wire: 400 with the AWS error shape, never a 500', async () => {
    const kms = createKms();
    const call = (target: string, body: unknown) =>
      kms.handle(
        new Request('http://localhost/', {
          method: 'POST',
          headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${target}` },
          body: JSON.stringify(body),
        }),
      );
    const r = await call('CreateKey', { Policy: nested(5_000) });
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({
      __type: 'MalformedPolicyDocumentException',
      message: 'The policy document nests deeper than 16 levels, which no key policy does.',
    });
    const r2 = await call('CreateKey', { Policy: policyWith({}, 'x'.repeat(40_000)) });
    expect(r2.status).toBe(400);
    expect(((await r2.json()) as { __type: string }).__type).toBe('LimitExceededException');
  });
});
