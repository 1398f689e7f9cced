/**
 * Issue 4, SigV4 rejections over real HTTP: every way a signature can be wrong is answered with
 * AWS's exception in the JSON 1.1 error shape `{__type, message}`, and none of those requests
 * reaches an operation. Each bad request is sent twice, as CreateKey and as ScheduleKeyDeletion of
 * a live key; afterwards, with valid credentials, ListKeys and the key's state show that nothing
 * changed. Requests are signed with aws4fetch and then spoiled by hand.
 */
import type { KMS } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KmsServer } from '../helpers/server.js';
import { ALICE, amzDate, clientAs, expectWireError, send, signRequest, spawnVerifyingServer, type SignOptions } from './support.js';

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const AMZ = '\\d{8}T\\d{6}Z';
const MINUTE = 60_000;

let server: KmsServer;
let alice: KMS;
let keyId: string;
let keysBefore: string[];

beforeAll(async () => {
  // Every AWS Region is served unless KMS_REGIONS restricts the set: restricted here, so that a
  // credential scope for a Region outside it (eu-west-1) is refused.
  server = await spawnVerifyingServer({ KMS_REGIONS: 'us-east-1,ap-southeast-2' });
  alice = clientAs(server.url, ALICE);
  keyId = (await alice.createKey({ Description: 'must stay enabled' })).KeyMetadata!.KeyId!;
  keysBefore = ((await alice.listKeys({})).Keys ?? []).map((k) => k.KeyId!).sort();
});

afterAll(async () => {
  alice?.destroy();
  await server?.dispose();
});

type Req = { url: string; headers: Headers; body: string };
type Build = (operation: string, input: Record<string, unknown>) => Promise<Req>;

/** The two state-changing requests every bad signature is tried with. */
function attempts(): [string, Record<string, unknown>][] {
  return [
    ['CreateKey', { Description: 'must never exist' }],
    ['ScheduleKeyDeletion', { KeyId: keyId, PendingWindowInDays: 7 }],
  ];
}

const sign =
  (options: SignOptions = {}): Build =>
  (op, input) =>
    signRequest(server.url, op, input, options);

interface Case {
  name: string;
  build: Build;
  type: string;
  status?: number;
  message?: string | RegExp;
}

const cases: Case[] = [
  {
    name: 'wrong secret access key',
    build: sign({ secretAccessKey: 'not-alices-secret' }),
    type: 'InvalidSignatureException',
    message: SIGNATURE_MISMATCH,
  },
  {
    name: 'unknown access key id',
    build: sign({ accessKeyId: 'AKIANOBODY0000000000', secretAccessKey: 'whatever' }),
    type: 'UnrecognizedClientException',
    message: 'The security token included in the request is invalid.',
  },
  {
    name: 'body changed after signing',
    build: async (op, input) => {
      const req = await signRequest(server.url, op, input);
      return { ...req, body: JSON.stringify({ ...input, Description: 'changed', PendingWindowInDays: 30 }) };
    },
    type: 'InvalidSignatureException',
    message: SIGNATURE_MISMATCH,
  },
  {
    name: 'a signed header changed after signing (X-Amz-Target: DescribeKey signed, the real operation sent)',
    build: async (op, input) => {
      const req = await signRequest(server.url, op === 'CreateKey' ? 'ListKeys' : 'DescribeKey', input);
      req.headers.set('x-amz-target', `TrentService.${op}`);
      return req;
    },
    type: 'InvalidSignatureException',
    message: SIGNATURE_MISMATCH,
  },
  {
    name: 'a header listed in SignedHeaders is missing from the request',
    build: async (op, input) => {
      const req = await signRequest(server.url, op, input, { headers: { 'x-amz-meta-purpose': 'signed' } });
      expect(req.headers.get('authorization')).toContain('x-amz-meta-purpose');
      req.headers.delete('x-amz-meta-purpose');
      return req;
    },
    type: 'InvalidSignatureException',
    message: SIGNATURE_MISMATCH,
  },
  {
    name: 'SignedHeaders edited to name a header the request does not have',
    build: async (op, input) => {
      const req = await signRequest(server.url, op, input);
      req.headers.set('authorization', req.headers.get('authorization')!.replace('SignedHeaders=', 'SignedHeaders=absent-header;'));
      return req;
    },
    type: 'InvalidSignatureException',
    message: SIGNATURE_MISMATCH,
  },
  {
    name: 'SignedHeaders naming what every JavaScript object has (constructor, __proto__)',
    build: async (op, input) => {
      const req = await signRequest(server.url, op, input);
      req.headers.set('authorization', req.headers.get('authorization')!.replace('SignedHeaders=', 'SignedHeaders=__proto__;constructor;'));
      return req;
    },
    type: 'InvalidSignatureException',
    message: SIGNATURE_MISMATCH,
  },
  {
    name: 'signature altered by one hex digit',
    build: async (op, input) => {
      const req = await signRequest(server.url, op, input);
      const auth = req.headers.get('authorization')!;
      const last = auth.at(-1)!;
      req.headers.set('authorization', auth.slice(0, -1) + (last === '0' ? '1' : '0'));
      return req;
    },
    type: 'InvalidSignatureException',
    message: SIGNATURE_MISMATCH,
  },
  {
    name: 'X-Amz-Date 16 minutes in the past',
    build: sign({ datetime: amzDate(-16 * MINUTE) }),
    type: 'InvalidSignatureException',
    message: new RegExp(`^Signature expired: ${AMZ} is now earlier than ${AMZ} \\(${AMZ} - 15 min\\.\\)$`),
  },
  {
    name: 'X-Amz-Date 16 minutes in the future',
    build: sign({ datetime: amzDate(16 * MINUTE) }),
    type: 'InvalidSignatureException',
    message: new RegExp(`^Signature not yet current: ${AMZ} is still later than ${AMZ} \\(${AMZ} \\+ 15 min\\.\\)$`),
  },
  {
    name: 'credential scope for a region outside KMS_REGIONS',
    build: sign({ region: 'eu-west-1' }),
    type: 'InvalidSignatureException',
    message: "Credential should be scoped to a valid region, not 'eu-west-1'.",
  },
  {
    name: 'credential scope naming no AWS Region',
    build: sign({ region: 'local' }),
    type: 'InvalidSignatureException',
    message: "Credential should be scoped to a valid region, not 'local'.",
  },
  {
    name: 'credential scope for another service',
    build: sign({ service: 'dynamodb' }),
    type: 'InvalidSignatureException',
    message: "Credential should be scoped to correct service: 'kms'.",
  },
  {
    name: 'query-string signature for a region outside KMS_REGIONS',
    build: sign({ region: 'eu-west-1', signQuery: true }),
    type: 'InvalidSignatureException',
    message: "Credential should be scoped to a valid region, not 'eu-west-1'.",
  },
  {
    name: 'malformed Authorization header (Signature parameter missing)',
    build: async (op, input) => {
      const req = await signRequest(server.url, op, input);
      req.headers.set('authorization', req.headers.get('authorization')!.replace(/, Signature=[0-9a-f]+$/, ''));
      return req;
    },
    type: 'IncompleteSignatureException',
    message: /^Authorization header requires 'Signature' parameter\. Authorization=AWS4-HMAC-SHA256 Credential=/,
  },
  {
    name: 'malformed Authorization header (not key=value pairs)',
    build: async (op, input) => {
      const req = await signRequest(server.url, op, input);
      req.headers.set('authorization', 'AWS4-HMAC-SHA256 garbage');
      return req;
    },
    type: 'IncompleteSignatureException',
    message: "'garbage' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 garbage'.",
  },
  {
    name: 'no Authorization header at all',
    build: async (op, input) => {
      const req = await signRequest(server.url, op, input);
      req.headers.delete('authorization');
      return req;
    },
    type: 'MissingAuthenticationTokenException',
    status: 403,
    message: 'Missing Authentication Token',
  },
];

describe('rejected signatures', () => {
  for (const c of cases) {
    it(`${c.name} -> ${c.type}`, async () => {
      for (const [op, input] of attempts()) {
        const r = await send(await c.build(op, input));
        expectWireError(r, c.type, c.status ?? 400, c.message);
      }
    });
  }

  it('none of them reached an operation: ListKeys and the key are unchanged', async () => {
    const keysAfter = ((await alice.listKeys({})).Keys ?? []).map((k) => k.KeyId!).sort();
    expect(keysAfter).toEqual(keysBefore);
    const { KeyMetadata } = await alice.describeKey({ KeyId: keyId });
    expect(KeyMetadata!.KeyState).toBe('Enabled');
    expect(KeyMetadata!.Enabled).toBe(true);
    expect(KeyMetadata!.DeletionDate).toBeUndefined();
  });
});

describe('the time window', () => {
  it('X-Amz-Date 14 minutes either side of the server clock is still accepted', async () => {
    for (const offset of [-14 * MINUTE, 14 * MINUTE]) {
      const r = await send(await signRequest(server.url, 'DescribeKey', { KeyId: keyId }, { datetime: amzDate(offset) }));
      expect(r.status, JSON.stringify(r.json)).toBe(200);
    }
  });
});
