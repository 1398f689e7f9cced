/**
 * Key policy parsing and evaluation: Deny over Allow, default deny, principals, action and
 * resource wildcards, NotAction/NotPrincipal, and the condition operators with the KMS keys.
 * Run: npx vitest run packages/core/src/auth/policy.test.ts
 */
import { describe, expect, it } from 'vitest';
import type { KmsError } from '../errors.js';
import { evaluateOperator, parseOperator, type RequestContext } from './conditions.js';
import { evaluatePolicy, parsePolicy } from './policy.js';
import type { Caller } from './types.js';

const A = '111122223333';
const B = '444455556666';
const alice: Caller = { accountId: A, arn: `arn:aws:iam::${A}:user/alice` };
const bob: Caller = { accountId: A, arn: `arn:aws:iam::${A}:user/bob` };
const carol: Caller = { accountId: B, arn: `arn:aws:iam::${B}:role/carol` };
const KEY = `arn:aws:kms:us-east-1:${A}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

function ctx(entries: Record<string, string | string[]> = {}): RequestContext {
  return new Map(Object.entries(entries).map(([k, v]) => [k.toLowerCase(), v]));
}

function decide(policy: object, caller: Caller, action: string, context: Record<string, string | string[]> = {}) {
  return evaluatePolicy(parsePolicy(JSON.stringify(policy)), { caller, action, resource: KEY, context: ctx(context) });
}

const allow = (extra: object) => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Resource: '*', ...extra }] });

describe('parsePolicy', () => {
  it.each([
    ['not json', '{'],
    ['no statement', '{"Version":"2012-10-17"}'],
    ['bad effect', JSON.stringify({ Statement: [{ Effect: 'Maybe', Principal: '*', Action: 'kms:*', Resource: '*' }] })],
    ['no principal', JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] })],
    [
      'both Action and NotAction',
      JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 'kms:*', NotAction: 'kms:Encrypt', Resource: '*' }] }),
    ],
    [
      'unknown operator',
      JSON.stringify({
        Statement: [{ Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { StringSorta: { 'kms:CallerAccount': A } } }],
      }),
    ],
    ['invalid principal', JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: { AWS: 'alice' }, Action: 'kms:*', Resource: '*' }] })],
    ['non-kms action', JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: '*' }] })],
    ['unknown element', JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*', Extra: 1 }] })],
  ])('rejects %s with MalformedPolicyDocumentException', (_name, text) => {
    try {
      parsePolicy(text);
      expect.unreachable();
    } catch (e) {
      expect((e as KmsError).code).toBe('MalformedPolicyDocumentException');
    }
  });
});

describe('evaluatePolicy', () => {
  it('account principal covers every principal of that account only', () => {
    const p = allow({ Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*' });
    expect(decide(p, alice, 'kms:Encrypt')).toBe('Allow');
    expect(decide(p, bob, 'kms:Encrypt')).toBe('Allow');
    expect(decide(p, carol, 'kms:Encrypt')).toBe('None');
    expect(decide(allow({ Principal: { AWS: B }, Action: 'kms:*' }), carol, 'kms:Encrypt')).toBe('Allow');
  });
  it('user principals match exactly; assumed-role sessions match their role', () => {
    const p = allow({ Principal: { AWS: [alice.arn, `arn:aws:iam::${B}:role/carol`] }, Action: 'kms:Encrypt' });
    expect(decide(p, alice, 'kms:Encrypt')).toBe('Allow');
    expect(decide(p, bob, 'kms:Encrypt')).toBe('None');
    expect(decide(p, { accountId: B, arn: `arn:aws:sts::${B}:assumed-role/carol/session-1` }, 'kms:Encrypt')).toBe('Allow');
  });
  it('action wildcards are case-insensitive; NotAction excludes', () => {
    const p = allow({ Principal: '*', Action: 'kms:Get*' });
    expect(decide(p, alice, 'kms:GetKeyPolicy')).toBe('Allow');
    expect(decide(p, alice, 'kms:getkeyrotationstatus')).toBe('Allow');
    expect(decide(p, alice, 'kms:Encrypt')).toBe('None');
    const n = allow({ Principal: '*', NotAction: ['kms:ScheduleKeyDeletion', 'kms:Disable*'] });
    expect(decide(n, alice, 'kms:Encrypt')).toBe('Allow');
    expect(decide(n, alice, 'kms:DisableKey')).toBe('None');
  });
  it('explicit Deny wins over Allow; NotPrincipal with Deny', () => {
    const p = {
      Statement: [
        { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' },
        { Effect: 'Deny', NotPrincipal: { AWS: alice.arn }, Action: 'kms:Decrypt', Resource: '*' },
      ],
    };
    expect(decide(p, alice, 'kms:Decrypt')).toBe('Allow');
    expect(decide(p, bob, 'kms:Decrypt')).toBe('Deny');
    expect(decide(p, bob, 'kms:Encrypt')).toBe('Allow');
  });
  it('resource patterns', () => {
    expect(decide(allow({ Principal: '*', Action: 'kms:*', Resource: `arn:aws:kms:us-east-1:${A}:key/*` }), alice, 'kms:Encrypt')).toBe('Allow');
    expect(decide(allow({ Principal: '*', Action: 'kms:*', Resource: `arn:aws:kms:eu-west-1:${A}:key/*` }), alice, 'kms:Encrypt')).toBe('None');
  });
  it('encryption context conditions', () => {
    const p = allow({ Principal: '*', Action: 'kms:Decrypt', Condition: { StringEquals: { 'kms:EncryptionContext:tenant': 'acme' } } });
    expect(decide(p, alice, 'kms:Decrypt', { 'kms:EncryptionContext:tenant': 'acme' })).toBe('Allow');
    expect(decide(p, alice, 'kms:Decrypt', { 'kms:EncryptionContext:tenant': 'evil' })).toBe('None');
    expect(decide(p, alice, 'kms:Decrypt')).toBe('None');
    const keys = allow({
      Principal: '*',
      Action: 'kms:Encrypt',
      Condition: { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['tenant', 'purpose'] } },
    });
    expect(decide(keys, alice, 'kms:Encrypt', { 'kms:EncryptionContextKeys': ['tenant'] })).toBe('Allow');
    expect(decide(keys, alice, 'kms:Encrypt', { 'kms:EncryptionContextKeys': ['tenant', 'other'] })).toBe('None');
    const any = allow({ Principal: '*', Action: 'kms:Encrypt', Condition: { 'ForAnyValue:StringLike': { 'kms:EncryptionContextKeys': 'app-*' } } });
    expect(decide(any, alice, 'kms:Encrypt', { 'kms:EncryptionContextKeys': ['x', 'app-1'] })).toBe('Allow');
    expect(decide(any, alice, 'kms:Encrypt', { 'kms:EncryptionContextKeys': ['x'] })).toBe('None');
    expect(decide(any, alice, 'kms:Encrypt')).toBe('None');
  });
});

describe('condition operators', () => {
  const run = (op: string, block: Record<string, string[]>, context: Record<string, string | string[]>) =>
    evaluateOperator(parseOperator(op)!, block, ctx(context));
  it('strings', () => {
    expect(run('StringEquals', { 'kms:CallerAccount': [A, B] }, { 'kms:calleraccount': B })).toBe(true);
    expect(run('StringNotEquals', { 'kms:CallerAccount': [A] }, { 'kms:calleraccount': B })).toBe(true);
    expect(run('StringNotEquals', { 'kms:CallerAccount': [A] }, { 'kms:calleraccount': A })).toBe(false);
    expect(run('StringNotEquals', { 'kms:CallerAccount': [A] }, {})).toBe(true);
    expect(run('StringEqualsIgnoreCase', { 'kms:KeySpec': ['symmetric_default'] }, { 'kms:keyspec': 'SYMMETRIC_DEFAULT' })).toBe(true);
    expect(run('StringLike', { 'aws:PrincipalArn': ['arn:aws:iam::*:user/a*'] }, { 'aws:principalarn': alice.arn })).toBe(true);
    expect(run('StringNotLike', { 'aws:PrincipalArn': ['arn:aws:iam::*:user/a*'] }, { 'aws:principalarn': bob.arn })).toBe(true);
    expect(run('StringEqualsIfExists', { 'kms:RequestAlias': ['alias/x'] }, {})).toBe(true);
    expect(run('StringEquals', { 'kms:RequestAlias': ['alias/x'] }, {})).toBe(false);
  });
  it('numbers, dates, bool, null, ip', () => {
    expect(run('NumericLessThanEquals', { 'kms:RotationPeriodInDays': ['180'] }, { 'kms:rotationperiodindays': '90' })).toBe(true);
    expect(run('NumericGreaterThan', { 'kms:RotationPeriodInDays': ['180'] }, { 'kms:rotationperiodindays': '90' })).toBe(false);
    expect(run('NumericEquals', { 'kms:RotationPeriodInDays': ['90'] }, { 'kms:rotationperiodindays': 'abc' })).toBe(false);
    expect(run('DateLessThan', { 'aws:CurrentTime': ['2030-01-01T00:00:00Z'] }, { 'aws:currenttime': '2026-11-22T00:00:00.000Z' })).toBe(true);
    expect(run('DateGreaterThanEquals', { 'aws:CurrentTime': ['2030-01-01T00:00:00Z'] }, { 'aws:currenttime': '2026-11-22T00:00:00.000Z' })).toBe(false);
    expect(run('Bool', { 'aws:SecureTransport': ['true'] }, { 'aws:securetransport': 'false' })).toBe(false);
    expect(run('Null', { 'kms:EncryptionContextKeys': ['true'] }, {})).toBe(true);
    expect(run('Null', { 'kms:EncryptionContextKeys': ['false'] }, {})).toBe(false);
    expect(run('IpAddress', { 'aws:SourceIp': ['127.0.0.0/8'] }, { 'aws:sourceip': '127.0.0.1' })).toBe(true);
    expect(run('NotIpAddress', { 'aws:SourceIp': ['10.0.0.0/8'] }, { 'aws:sourceip': '127.0.0.1' })).toBe(true);
    expect(run('IpAddress', { 'aws:SourceIp': ['::1/128'] }, { 'aws:sourceip': '::1' })).toBe(true);
  });
  it('unknown operators are not parsed', () => {
    expect(parseOperator('StringSorta')).toBeUndefined();
    expect(parseOperator('ForAllValues:Null')).toBeUndefined();
    expect(parseOperator('ForAnyValue:StringNotLikeIfExists')).toEqual({ set: 'foranyvalue', base: 'stringlike', negated: true, ifExists: true });
  });
});
