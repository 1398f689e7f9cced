import { spawnSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { SignatureV4 } from '@smithy/signature-v4';
import { AwsV4Signer } from 'aws4fetch';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { toBase64, utf8 } from '../bytes.js';
import { createTestClock } from '../clock.js';
import { KmsError } from '../errors.js';
import {
  UNSIGNED_PAYLOAD_REFUSED_MESSAGE,
  canonicalHeaderValue,
  canonicalQuery,
  canonicalUri,
  createSigV4Verifier,
  formatAmzDate,
  parseAmzDate,
  type SigV4VerifierOptions,
} from './sigv4.js';
import type { Identity } from './types.js';

const REGION = 'us-east-1';
const ENDPOINT = 'http://localhost:4599/';
const T0 = Date.UTC(2024, 0, 1, 0, 0, 0);
const AMZ_T0 = '20240101T000000Z';
const MIN = 60_000;

const ALICE: Identity = {
  accessKeyId: 'AKIDALICE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  accountId: '111122223333',
  arn: 'arn:aws:iam::111122223333:user/alice',
};
const ALICE_CALLER = { accountId: ALICE.accountId, arn: ALICE.arn, accessKeyId: ALICE.accessKeyId, region: REGION };
const identities = new Map<string, Identity>([[ALICE.accessKeyId, ALICE]]);

const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

const BODY = utf8(JSON.stringify({ KeyId: 'alias/app', Plaintext: toBase64(utf8('hello')) }));
const KMS_HEADERS = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Encrypt' };

function verifier(extra: Partial<SigV4VerifierOptions> = {}) {
  return createSigV4Verifier({
    region: REGION,
    mode: 'verify',
    lookup: (id) => identities.get(id),
    clock: createTestClock(T0),
    ...extra,
  });
}

interface SignOptions {
  url?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  accessKeyId?: string;
  secretAccessKey?: string;
  region?: string;
  service?: string;
  datetime?: string;
  signQuery?: boolean;
}

/** Signs with aws4fetch, an independent (WebCrypto) implementation. */
async function signAws4fetch(o: SignOptions = {}): Promise<Request> {
  const body = o.body ?? BODY;
  const signed = await new AwsV4Signer({
    url: o.url ?? ENDPOINT,
    method: o.method ?? 'POST',
    headers: o.headers ?? KMS_HEADERS,
    body: body as BodyInit,
    accessKeyId: o.accessKeyId ?? ALICE.accessKeyId,
    secretAccessKey: o.secretAccessKey ?? ALICE.secretAccessKey,
    region: o.region ?? REGION,
    service: o.service ?? 'kms',
    datetime: o.datetime ?? AMZ_T0,
    signQuery: o.signQuery,
  }).sign();
  const hasBody = signed.method !== 'GET' && signed.method !== 'HEAD';
  return new Request(signed.url, {
    method: signed.method,
    headers: signed.headers,
    body: hasBody ? (signed.body as BodyInit) : undefined,
  });
}

/** A copy of a request with other headers and/or another URL (the body is passed separately). */
function rebuild(req: Request, edit: { headers?: (h: Headers) => void; url?: string; method?: string } = {}): Request {
  const headers = new Headers(req.headers);
  edit.headers?.(headers);
  return new Request(edit.url ?? req.url, { method: edit.method ?? req.method, headers });
}

function setAuthorization(req: Request, f: (auth: string) => string): Request {
  return rebuild(req, { headers: (h) => h.set('authorization', f(h.get('authorization')!)) });
}

async function rejection(p: Promise<unknown>): Promise<KmsError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, 'expected a rejection').toBeInstanceOf(KmsError);
  return e as KmsError;
}

async function expectKmsError(p: Promise<unknown>, code: string, message?: string | RegExp): Promise<void> {
  const e = await rejection(p);
  expect(e.code).toBe(code);
  expect(e.name).toBe(code);
  if (typeof message === 'string') expect(e.message).toBe(message);
  else if (message) expect(e.message).toMatch(message);
}

/** node:crypto SHA-256 / HMAC-SHA256 in the shape @smithy/signature-v4 wants (like @aws-crypto/sha256-js). */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const toBytes = (d: SourceData): Uint8Array | string =>
  typeof d === 'string' ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d);

class NodeSha256 {
  private readonly secret?: Uint8Array | string;
  private h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: SourceData) {
    this.secret = secret === undefined ? undefined : toBytes(secret);
    this.h = this.fresh();
  }
  private fresh() {
    return this.secret !== undefined ? createHmac('sha256', this.secret) : createHash('sha256');
  }
  update(data: SourceData): void {
    this.h.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    this.h = this.fresh();
  }
}

function smithySigner(o: { secretAccessKey?: string; region?: string } = {}) {
  return new SignatureV4({
    credentials: { accessKeyId: ALICE.accessKeyId, secretAccessKey: o.secretAccessKey ?? ALICE.secretAccessKey },
    region: o.region ?? REGION,
    service: 'kms',
    sha256: NodeSha256,
  });
}

interface SmithyRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

function smithyToRequest(r: SmithyRequest): Request {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(r.query ?? {})) {
    for (const one of Array.isArray(v) ? v : [v ?? '']) qs.append(k, one);
  }
  const search = qs.toString();
  const url = `${r.protocol}//${r.hostname}${r.port ? `:${r.port}` : ''}${r.path}${search ? `?${search}` : ''}`;
  return new Request(url, { method: r.method, headers: r.headers });
}

function baseSmithyRequest(body: Uint8Array = BODY): SmithyRequest {
  return {
    method: 'POST',
    protocol: 'http:',
    hostname: 'localhost',
    port: 4599,
    path: '/',
    query: {},
    headers: { host: 'localhost:4599', ...KMS_HEADERS, 'content-length': String(body.length) },
    body,
  };
}

const BOTOCORE_SCRIPT = `
import sys, json, base64, datetime
import botocore.auth
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
inp = json.load(sys.stdin)
fixed = datetime.datetime.strptime(inp['time'], '%Y%m%dT%H%M%SZ').replace(tzinfo=datetime.timezone.utc)
botocore.auth.get_current_datetime = lambda *a, **k: fixed
creds = Credentials(inp['accessKeyId'], inp['secretAccessKey'])
req = AWSRequest(method=inp['method'], url=inp['url'], data=base64.b64decode(inp['body']), headers=inp['headers'])
if inp.get('query'):
    SigV4QueryAuth(creds, 'kms', inp['region'], expires=inp.get('expires', 3600)).add_auth(req)
else:
    SigV4Auth(creds, 'kms', inp['region']).add_auth(req)
print(json.dumps({'url': req.url, 'headers': dict(req.headers.items())}))
`;

const hasBotocore = spawnSync('python3', ['-c', 'import botocore'], { encoding: 'utf8' }).status === 0;

function signBotocore(o: { url?: string; method?: string; headers?: Record<string, string>; body?: Uint8Array; query?: boolean; expires?: number }): Request {
  const input = {
    url: o.url ?? ENDPOINT,
    method: o.method ?? 'POST',
    headers: o.headers ?? KMS_HEADERS,
    body: toBase64(o.body ?? BODY),
    accessKeyId: ALICE.accessKeyId,
    secretAccessKey: ALICE.secretAccessKey,
    region: REGION,
    time: AMZ_T0,
    query: o.query ?? false,
    expires: o.expires ?? 3600,
  };
  const r = spawnSync('python3', ['-c', BOTOCORE_SCRIPT], { input: JSON.stringify(input), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`botocore signer failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { url: string; headers: Record<string, string> };
  return new Request(out.url, { method: input.method, headers: out.headers });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('helpers', () => {
  it('parses and formats the ISO-8601 basic date strictly', () => {
    expect(parseAmzDate(AMZ_T0)).toBe(T0);
    expect(formatAmzDate(T0 + 999)).toBe(AMZ_T0);
    for (const bad of ['20240101T000000', '2024-01-01T00:00:00Z', '20241301T000000Z', '20240230T000000Z', '', '20240101t000000z']) {
      expect(parseAmzDate(bad)).toBeNaN();
    }
  });

  it('canonicalizes paths (double encoding of the wire path), queries and header values', () => {
    expect(canonicalUri('/')).toBe('/');
    expect(canonicalUri('')).toBe('/');
    expect(canonicalUri('//a//b/')).toBe('/a/b/');
    expect(canonicalUri('/a/./b/../c')).toBe('/a/c');
    expect(canonicalUri('/a%20b/%C3%BC')).toBe('/a%2520b/%25C3%25BC');
    expect(canonicalUri("/it's(*)")).toBe('/it%27s%28%2A%29');
    expect(canonicalQuery(new URLSearchParams('b=2&a=1&a=0&c=x+y&d=%2B&e&f=~-._'))).toBe('a=0&a=1&b=2&c=x%20y&d=%2B&e=&f=~-._');
    expect(canonicalQuery(new URLSearchParams('X-Amz-Signature=abc&a=1'), 'X-Amz-Signature')).toBe('a=1');
    expect(canonicalHeaderValue('a   b \t c')).toBe('a b c');
  });
});

describe('valid signatures from independent signers', () => {
  it('verifies the AWS SigV4 test suite vector get-vanilla', async () => {
    const verify = createSigV4Verifier({
      region: 'us-east-1',
      service: 'service',
      mode: 'verify',
      lookup: (id) =>
        id === 'AKIDEXAMPLE'
          ? { accessKeyId: id, secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', accountId: '111122223333', arn: 'arn:aws:iam::111122223333:root' }
          : undefined,
      clock: createTestClock(Date.UTC(2015, 7, 30, 12, 36, 0)),
      // The generic test vector has no X-Amz-Target (KMS requires it signed by default).
      requiredSignedHeaders: [],
    });
    const req = new Request('https://example.amazonaws.com/', {
      headers: {
        host: 'example.amazonaws.com',
        'x-amz-date': '20150830T123600Z',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
      },
    });
    await expect(verify(req, new Uint8Array())).resolves.toMatchObject({ accessKeyId: 'AKIDEXAMPLE' });
  });

  it('aws4fetch, Authorization header', async () => {
    const req = await signAws4fetch();
    await expect(verifier()(req, BODY)).resolves.toEqual(ALICE_CALLER);
    expect(req.bodyUsed).toBe(false);
  });

  it('aws4fetch, with an explicit Host header and an x-amz-content-sha256 header', async () => {
    const hash = createHash('sha256').update(BODY).digest('hex');
    const req = await signAws4fetch({ headers: { ...KMS_HEADERS, 'x-amz-content-sha256': hash } });
    await expect(verifier()(rebuild(req, { headers: (h) => h.set('host', 'localhost:4599') }), BODY)).resolves.toEqual(ALICE_CALLER);
  });

  it('aws4fetch, awkward paths, queries and header whitespace', async () => {
    const url = "http://localhost:4599/a b/%C3%BC/x%2Fy/it's?b=2&a=1&a=0&c=x%20y&d=%2B&e=&f=%C3%BC&g=(*)!";
    const headers = { ...KMS_HEADERS, 'x-custom': '  a   b \t c  ', 'x-empty': '' };
    const req = await signAws4fetch({ url, headers });
    await expect(verifier()(req, BODY)).resolves.toEqual(ALICE_CALLER);
  });

  it('aws4fetch, an empty body and GET', async () => {
    const req = await signAws4fetch({ method: 'GET', body: new Uint8Array(), headers: {} });
    await expect(verifier({ requiredSignedHeaders: [] })(req, new Uint8Array())).resolves.toEqual(ALICE_CALLER);
  });

  it('aws4fetch, query string (presigned) form', async () => {
    const req = await signAws4fetch({ signQuery: true });
    expect(new URL(req.url).searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(req.headers.has('authorization')).toBe(false);
    await expect(verifier()(req, BODY)).resolves.toEqual(ALICE_CALLER);
  });

  it('aws4fetch, query form with X-Amz-Expires: valid until date + expires, then expired', async () => {
    const req = await signAws4fetch({ signQuery: true, url: `${ENDPOINT}?X-Amz-Expires=3600` });
    const hour = { maxPresignExpiresSeconds: 3600 };
    await expect(verifier({ ...hour, clock: createTestClock(T0 + 59 * MIN) })(req, BODY)).resolves.toEqual(ALICE_CALLER);
    await expectKmsError(
      verifier({ ...hour, clock: createTestClock(T0 + 61 * MIN) })(req, BODY),
      'InvalidSignatureException',
      'Signature expired: 20240101T000000Z is now earlier than 20240101T000100Z (20240101T010100Z - 60 min.)',
    );
    const short = await signAws4fetch({ signQuery: true, url: `${ENDPOINT}?X-Amz-Expires=30` });
    await expectKmsError(
      verifier({ clock: createTestClock(T0 + MIN) })(short, BODY),
      'InvalidSignatureException',
      'Signature expired: 20240101T000000Z is now earlier than 20240101T000030Z (20240101T000100Z - 30 sec.)',
    );
  });

  it('aws4fetch, query form signed with UNSIGNED-PAYLOAD: refused, whatever the body', async () => {
    const req = await signAws4fetch({ signQuery: true, headers: { ...KMS_HEADERS, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    for (const body of [BODY, utf8('{"another":"body"}')]) {
      await expectKmsError(verifier()(req, body), 'InvalidSignatureException', UNSIGNED_PAYLOAD_REFUSED_MESSAGE);
    }
  });

  it('AWS SDK v3 signer (@smithy/signature-v4), header form', async () => {
    const signed = (await smithySigner().sign(baseSmithyRequest(), { signingDate: new Date(T0) })) as unknown as SmithyRequest;
    expect(signed.headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
    await expect(verifier()(smithyToRequest(signed), BODY)).resolves.toEqual(ALICE_CALLER);
  });

  it('AWS SDK v3 signer, path and repeated query keys', async () => {
    const r = baseSmithyRequest();
    r.path = '/a%20b/c%27d';
    r.query = { b: '2', a: ['1', '0'], c: 'x y', ü: 'ü' };
    r.headers['x-custom'] = 'a   b';
    const signed = (await smithySigner().sign(r, { signingDate: new Date(T0) })) as unknown as SmithyRequest;
    await expect(verifier()(smithyToRequest(signed), BODY)).resolves.toEqual(ALICE_CALLER);
  });

  it('AWS SDK v3 signer, presign (query form): body hashed accepted, UNSIGNED-PAYLOAD refused', async () => {
    // The presigner hoists x-amz-* headers into the query unless told not to: X-Amz-Target must
    // stay a signed header, as the operation is read from the header.
    const hoisted = (await smithySigner().presign(baseSmithyRequest(), { signingDate: new Date(T0), expiresIn: 300 })) as unknown as SmithyRequest;
    expect(hoisted.query?.['x-amz-target']).toBe('TrentService.Encrypt');
    await expectKmsError(
      verifier()(smithyToRequest(hoisted), BODY),
      'InvalidSignatureException',
      "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.",
    );
    const unhoistableHeaders = new Set(['x-amz-target']);
    const signed = (await smithySigner().presign(baseSmithyRequest(), {
      signingDate: new Date(T0),
      expiresIn: 300,
      unhoistableHeaders,
    })) as unknown as SmithyRequest;
    expect(signed.query?.['X-Amz-Signature']).toBeTruthy();
    await expect(verifier()(smithyToRequest(signed), BODY)).resolves.toEqual(ALICE_CALLER);
    await expectKmsError(verifier()(smithyToRequest(signed), utf8('{}')), 'InvalidSignatureException', MISMATCH);

    const unsigned = baseSmithyRequest();
    unsigned.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    const presigned = (await smithySigner().presign(unsigned, { signingDate: new Date(T0), expiresIn: 300, unhoistableHeaders })) as unknown as SmithyRequest;
    // The SDK hoists the header into the query as it was spelled.
    expect(presigned.query?.['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    await expectKmsError(verifier()(smithyToRequest(presigned), utf8('{}')), 'InvalidSignatureException', UNSIGNED_PAYLOAD_REFUSED_MESSAGE);
    // A presigned URL without the body hash in its query is checked against the body's hash only
    // (aws4fetch's presigned form above): it is not also tried as UNSIGNED-PAYLOAD.
  });

  it('the real KMSClient request pipeline (EncryptCommand)', async () => {
    let captured: SmithyRequest | undefined;
    const client = new KMSClient({
      region: REGION,
      endpoint: 'http://localhost:4599',
      credentials: { accessKeyId: ALICE.accessKeyId, secretAccessKey: ALICE.secretAccessKey },
      maxAttempts: 1,
      requestHandler: {
        handle: async (request: SmithyRequest) => {
          captured = request;
          throw new Error('captured');
        },
      } as never,
    });
    await expect(client.send(new EncryptCommand({ KeyId: 'alias/app', Plaintext: utf8('hello') }))).rejects.toThrow('captured');
    client.destroy();
    expect(captured).toBeDefined();
    const body = typeof captured!.body === 'string' ? utf8(captured!.body) : (captured!.body as Uint8Array);
    const req = smithyToRequest(captured!);
    expect(req.headers.get('authorization')).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDALICE\/\d{8}\/us-east-1\/kms\/aws4_request/);
    // The SDK signs with the real time.
    await expect(verifier({ clock: { now: () => Date.now() } })(req, body)).resolves.toEqual(ALICE_CALLER);
    await expectKmsError(verifier({ clock: { now: () => Date.now() } })(req, utf8('{}')), 'InvalidSignatureException', MISMATCH);
  });

  it.skipIf(!hasBotocore)('Python botocore SigV4Auth, header form', async () => {
    const req = signBotocore({ headers: { ...KMS_HEADERS, 'X-Custom': ' spaced   out ' } });
    expect(req.headers.get('x-amz-date')).toBe(AMZ_T0);
    await expect(verifier()(req, BODY)).resolves.toEqual(ALICE_CALLER);
    await expectKmsError(verifier()(req, utf8('{}')), 'InvalidSignatureException', MISMATCH);
  });

  it.skipIf(!hasBotocore)('Python botocore SigV4Auth, signed with a Date header instead of X-Amz-Date', async () => {
    const req = signBotocore({ headers: { ...KMS_HEADERS, Date: 'placeholder' } });
    expect(req.headers.has('x-amz-date')).toBe(false);
    expect(req.headers.get('date')).toMatch(/2024 00:00:00/);
    await expect(verifier()(req, BODY)).resolves.toEqual(ALICE_CALLER);
  });

  it.skipIf(!hasBotocore)('Python botocore SigV4QueryAuth (presigned GET)', async () => {
    const req = signBotocore({ method: 'GET', url: `${ENDPOINT}?Action=Ping&z=a%20b`, headers: {}, body: new Uint8Array(), query: true, expires: 300 });
    expect(new URL(req.url).searchParams.get('X-Amz-Expires')).toBe('300');
    const generic = { requiredSignedHeaders: [] }; // a GET with no X-Amz-Target
    await expect(verifier(generic)(req, new Uint8Array())).resolves.toEqual(ALICE_CALLER);
    await expectKmsError(
      verifier({ ...generic, clock: createTestClock(T0 + 6 * MIN) })(req, new Uint8Array()),
      'InvalidSignatureException',
      /^Signature expired/,
    );
  });

  it('accepts the edges of the skew window', async () => {
    const req = await signAws4fetch();
    await expect(verifier({ clock: createTestClock(T0 + 15 * MIN) })(req, BODY)).resolves.toEqual(ALICE_CALLER);
    await expect(verifier({ clock: createTestClock(T0 - 15 * MIN) })(req, BODY)).resolves.toEqual(ALICE_CALLER);
    await expect(verifier({ clock: createTestClock(T0 + 30 * MIN), maxSkewMs: 30 * MIN })(req, BODY)).resolves.toEqual(ALICE_CALLER);
  });
});

describe('rejections', () => {
  it('no Authorization and no X-Amz-Signature: MissingAuthenticationTokenException', async () => {
    const req = new Request(ENDPOINT, { method: 'POST', headers: { ...KMS_HEADERS, 'x-amz-date': AMZ_T0 } });
    await expectKmsError(verifier()(req, BODY), 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    await expectKmsError(verifier({ mode: 'open' })(req, BODY), 'MissingAuthenticationTokenException');
  });

  it('another scheme: IncompleteSignatureException naming every missing part', async () => {
    const req = new Request(ENDPOINT, { method: 'POST', headers: { authorization: 'Bearer abc.def' } });
    await expectKmsError(
      verifier()(req, BODY),
      'IncompleteSignatureException',
      "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=Bearer abc.def",
    );
  });

  it('missing Credential, Signature or SignedHeaders: IncompleteSignatureException', async () => {
    const req = await signAws4fetch();
    const drop = (name: string) => (a: string) => a.replace(new RegExp(`${name}=[^,]*,? ?`), '').replace(/,\s*$/, '');
    const noCred = setAuthorization(req, drop('Credential'));
    await expectKmsError(
      verifier()(noCred, BODY),
      'IncompleteSignatureException',
      `Authorization header requires 'Credential' parameter. Authorization=${noCred.headers.get('authorization')}`,
    );
    const noSig = setAuthorization(req, drop('Signature'));
    await expectKmsError(
      verifier()(noSig, BODY),
      'IncompleteSignatureException',
      `Authorization header requires 'Signature' parameter. Authorization=${noSig.headers.get('authorization')}`,
    );
    await expectKmsError(
      verifier()(setAuthorization(req, drop('SignedHeaders')), BODY),
      'IncompleteSignatureException',
      /^Authorization header requires 'SignedHeaders' parameter\. Authorization=AWS4-HMAC-SHA256 /,
    );
    await expectKmsError(
      verifier()(
        setAuthorization(req, () => 'AWS4-HMAC-SHA256'),
        BODY,
      ),
      'IncompleteSignatureException',
      "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256",
    );
  });

  it('a piece without an equal sign: IncompleteSignatureException', async () => {
    const req = setAuthorization(await signAws4fetch(), (a) => a.replace('Credential=', 'Credential= '));
    await expectKmsError(
      verifier()(req, BODY),
      'IncompleteSignatureException',
      /^'AKIDALICE\/20240101\/us-east-1\/kms\/aws4_request,?' not a valid key=value pair \(missing equal-sign\) in Authorization header: 'AWS4-HMAC-SHA256 Credential= AKIDALICE/,
    );
  });

  it('missing X-Amz-Date and Date: IncompleteSignatureException', async () => {
    const req = rebuild(await signAws4fetch(), { headers: (h) => h.delete('x-amz-date') });
    await expectKmsError(
      verifier()(req, BODY),
      'IncompleteSignatureException',
      `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=${req.headers.get('authorization')}`,
    );
  });

  it('malformed X-Amz-Date: IncompleteSignatureException', async () => {
    const req = rebuild(await signAws4fetch(), { headers: (h) => h.set('x-amz-date', '2024-01-01T00:00:00Z') });
    await expectKmsError(
      verifier()(req, BODY),
      'IncompleteSignatureException',
      "Date must be in ISO-8601 'basic format'. Got '2024-01-01T00:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601",
    );
  });

  it('unsupported algorithm: IncompleteSignatureException', async () => {
    const req = setAuthorization(await signAws4fetch(), (a) => a.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA512'));
    await expectKmsError(
      verifier()(req, BODY),
      'IncompleteSignatureException',
      "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now).",
    );
  });

  it('credential without 5 elements: IncompleteSignatureException', async () => {
    const req = setAuthorization(await signAws4fetch(), (a) => a.replace('/kms/aws4_request', '/kms'));
    await expectKmsError(
      verifier()(req, BODY),
      'IncompleteSignatureException',
      "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIDALICE/20240101/us-east-1/kms'",
    );
  });

  it('unknown access key: UnrecognizedClientException', async () => {
    const req = await signAws4fetch({ accessKeyId: 'AKIDNOBODY' });
    await expectKmsError(verifier()(req, BODY), 'UnrecognizedClientException', 'The security token included in the request is invalid.');
    const empty = setAuthorization(req, (a) => a.replace('AKIDNOBODY/', '/'));
    await expectKmsError(verifier()(empty, BODY), 'UnrecognizedClientException');
  });

  it('credential scoped to another region: InvalidSignatureException', async () => {
    const req = await signAws4fetch({ region: 'eu-west-1' });
    await expectKmsError(verifier()(req, BODY), 'InvalidSignatureException', "Credential should be scoped to a valid region, not 'eu-west-1'.");
  });

  it('credential scoped to another service: InvalidSignatureException', async () => {
    const req = await signAws4fetch({ service: 'sts' });
    await expectKmsError(verifier()(req, BODY), 'InvalidSignatureException', "Credential should be scoped to correct service: 'kms'.");
  });

  it('credential with another terminator: InvalidSignatureException', async () => {
    const req = setAuthorization(await signAws4fetch(), (a) => a.replace('aws4_request', 'aws5_request'));
    await expectKmsError(
      verifier()(req, BODY),
      'InvalidSignatureException',
      "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'.",
    );
  });

  it('scope date different from the X-Amz-Date date: InvalidSignatureException', async () => {
    const req = setAuthorization(await signAws4fetch(), (a) => a.replace('/20240101/', '/20240102/'));
    await expectKmsError(
      verifier()(req, BODY),
      'InvalidSignatureException',
      "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20240102' != '20240101', from '20240101T000000Z'.",
    );
  });

  it('several scope errors are reported together', async () => {
    const req = await signAws4fetch({ region: 'eu-west-1', service: 'sts' });
    await expectKmsError(
      verifier()(req, BODY),
      'InvalidSignatureException',
      "Credential should be scoped to a valid region, not 'eu-west-1'. Credential should be scoped to correct service: 'kms'.",
    );
  });

  it('date too old: InvalidSignatureException, Signature expired', async () => {
    const req = await signAws4fetch();
    await expectKmsError(
      verifier({ clock: createTestClock(T0 + 25 * MIN) })(req, BODY),
      'InvalidSignatureException',
      'Signature expired: 20240101T000000Z is now earlier than 20240101T001000Z (20240101T002500Z - 15 min.)',
    );
    await expectKmsError(verifier({ clock: createTestClock(T0 + 15 * MIN + 1000) })(req, BODY), 'InvalidSignatureException', /^Signature expired/);
  });

  it('date in the future: InvalidSignatureException, Signature not yet current', async () => {
    const req = await signAws4fetch();
    await expectKmsError(
      verifier({ clock: createTestClock(T0 - 20 * MIN) })(req, BODY),
      'InvalidSignatureException',
      'Signature not yet current: 20240101T000000Z is still later than 20231231T235500Z (20231231T234000Z + 15 min.)',
    );
    await expectKmsError(
      verifier({ clock: createTestClock(T0 - 6 * MIN), maxSkewMs: 5 * MIN })(req, BODY),
      'InvalidSignatureException',
      'Signature not yet current: 20240101T000000Z is still later than 20231231T235900Z (20231231T235400Z + 5 min.)',
    );
  });

  it('wrong secret: InvalidSignatureException', async () => {
    const req = await signAws4fetch({ secretAccessKey: 'not-the-secret' });
    await expectKmsError(verifier()(req, BODY), 'InvalidSignatureException', MISMATCH);
  });

  it('body changed: InvalidSignatureException', async () => {
    const req = await signAws4fetch();
    const other = BODY.slice();
    other[3] = other[3]! ^ 1;
    await expectKmsError(verifier()(req, other), 'InvalidSignatureException', MISMATCH);
    await expectKmsError(verifier()(req, BODY.subarray(1)), 'InvalidSignatureException', MISMATCH);
  });

  it('x-amz-content-sha256 that is not the body hash, or UNSIGNED-PAYLOAD in the header form: InvalidSignatureException', async () => {
    const signed = (await smithySigner().sign(baseSmithyRequest(), { signingDate: new Date(T0) })) as unknown as SmithyRequest;
    await expectKmsError(verifier()(smithyToRequest(signed), utf8('{"x":1}')), 'InvalidSignatureException', MISMATCH);
    const unsigned = baseSmithyRequest();
    unsigned.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    const s2 = (await smithySigner().sign(unsigned, { signingDate: new Date(T0) })) as unknown as SmithyRequest;
    await expectKmsError(verifier()(smithyToRequest(s2), BODY), 'InvalidSignatureException', MISMATCH);
  });

  it('signed header changed: InvalidSignatureException', async () => {
    const req = await signAws4fetch();
    const changed = rebuild(req, { headers: (h) => h.set('x-amz-target', 'TrentService.Decrypt') });
    await expectKmsError(verifier()(changed, BODY), 'InvalidSignatureException', MISMATCH);
    const otherHost = rebuild(req, { url: 'http://127.0.0.1:4599/' });
    await expectKmsError(verifier()(otherHost, BODY), 'InvalidSignatureException', MISMATCH);
    const otherMethod = rebuild(req, { method: 'PUT' });
    await expectKmsError(verifier()(otherMethod, BODY), 'InvalidSignatureException', MISMATCH);
    const otherQuery = rebuild(req, { url: `${ENDPOINT}?a=1` });
    await expectKmsError(verifier()(otherQuery, BODY), 'InvalidSignatureException', MISMATCH);
  });

  it('a header listed in SignedHeaders but absent: InvalidSignatureException', async () => {
    const req = rebuild(await signAws4fetch(), { headers: (h) => h.delete('x-amz-target') });
    expect(req.headers.get('authorization')).toContain('x-amz-target');
    await expectKmsError(verifier()(req, BODY), 'InvalidSignatureException', MISMATCH);
  });

  it('an unsigned extra header is fine, a malformed SignedHeaders entry is not', async () => {
    const req = await signAws4fetch();
    await expect(verifier()(rebuild(req, { headers: (h) => h.set('user-agent', 'x') }), BODY)).resolves.toEqual(ALICE_CALLER);
    const bad = setAuthorization(req, (a) => a.replace('SignedHeaders=', 'SignedHeaders=Content-Type;'));
    await expectKmsError(verifier()(bad, BODY), 'InvalidSignatureException', MISMATCH);
  });

  it('host not signed: InvalidSignatureException', async () => {
    const req = setAuthorization(await signAws4fetch(), (a) => a.replace('SignedHeaders=host;', 'SignedHeaders='));
    expect(req.headers.get('authorization')).not.toMatch(/host/);
    await expectKmsError(verifier()(req, BODY), 'InvalidSignatureException', "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  });

  it('both an Authorization header and a query signature: InvalidSignatureException', async () => {
    const req = await signAws4fetch();
    const both = rebuild(req, { url: `${ENDPOINT}?X-Amz-Algorithm=AWS4-HMAC-SHA256` });
    await expectKmsError(
      verifier()(both, BODY),
      'InvalidSignatureException',
      "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
    );
  });

  it('query form with missing parameters: IncompleteSignatureException', async () => {
    await expectKmsError(
      verifier()(new Request(`${ENDPOINT}?X-Amz-Signature=abc`, { method: 'POST' }), BODY),
      'IncompleteSignatureException',
      "AWS query-string parameters must include 'X-Amz-Algorithm'. AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-SignedHeaders'. AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters.",
    );
    const req = await signAws4fetch({ signQuery: true });
    const url = new URL(req.url);
    url.searchParams.delete('X-Amz-Signature');
    await expectKmsError(
      verifier()(rebuild(req, { url: url.href }), BODY),
      'IncompleteSignatureException',
      "AWS query-string parameters must include 'X-Amz-Signature'. Re-examine the query-string parameters.",
    );
  });

  it('query form with a bad X-Amz-Expires: IncompleteSignatureException', async () => {
    for (const [expires, message] of [
      ['soon', 'X-Amz-Expires should be a number.'],
      ['-1', 'X-Amz-Expires must be non-negative.'],
      ['604801', 'X-Amz-Expires must be less than a week (in seconds) that is 604800.'],
      ['901', 'X-Amz-Expires must be at most 900 seconds: this KMS limits how long a presigned request can be replayed.'],
    ] as const) {
      const req = await signAws4fetch({ signQuery: true, url: `${ENDPOINT}?X-Amz-Expires=${expires}` });
      await expectKmsError(verifier()(req, BODY), 'IncompleteSignatureException', message);
    }
    const ok = await signAws4fetch({ signQuery: true, url: `${ENDPOINT}?X-Amz-Expires=900` });
    await expect(verifier()(ok, BODY)).resolves.toEqual(ALICE_CALLER);
    // The cap is an option, and never above AWS's week.
    const week = await signAws4fetch({ signQuery: true, url: `${ENDPOINT}?X-Amz-Expires=604800` });
    await expect(verifier({ maxPresignExpiresSeconds: 10 ** 9 })(week, BODY)).resolves.toEqual(ALICE_CALLER);
  });

  it('X-Amz-Target not signed: a signature cannot be re-aimed at another operation', async () => {
    // Signed for DescribeKey by the AWS SDK's signer told not to sign X-Amz-Target, then aimed at DisableKey.
    const body = utf8('{"KeyId":"alias/app"}');
    const r = baseSmithyRequest();
    r.headers['x-amz-target'] = 'TrentService.DescribeKey';
    r.body = body;
    const signed = (await smithySigner().sign(r, { signingDate: new Date(T0), unsignableHeaders: new Set(['x-amz-target']) })) as unknown as SmithyRequest;
    expect(signed.headers.authorization).not.toContain('x-amz-target');
    const reaimed = rebuild(smithyToRequest(signed), { headers: (h) => h.set('x-amz-target', 'TrentService.DisableKey') });
    await expect(verifier({ requiredSignedHeaders: [] })(reaimed, body)).resolves.toEqual(ALICE_CALLER); // what the check prevents
    for (const v of [verifier(), verifier({ mode: 'open', lookup: undefined })]) {
      await expectKmsError(v(reaimed, body), 'InvalidSignatureException', "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.");
    }
  });

  it('the date header not signed: InvalidSignatureException', async () => {
    const r = baseSmithyRequest();
    const signed = (await smithySigner().sign(r, { signingDate: new Date(T0), unsignableHeaders: new Set(['x-amz-date']) })) as unknown as SmithyRequest;
    expect(signed.headers.authorization).not.toContain('x-amz-date');
    await expectKmsError(
      verifier()(smithyToRequest(signed), BODY),
      'InvalidSignatureException',
      "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.",
    );
    // With a Date header instead of X-Amz-Date, Date must be signed.
    const req = await signAws4fetch();
    const withDate = rebuild(req, {
      headers: (h) => {
        h.delete('x-amz-date');
        h.set('date', 'Mon, 01 Jan 2024 00:00:00 GMT');
      },
    });
    await expectKmsError(verifier()(withDate, BODY), 'InvalidSignatureException', "'Date' must be a 'SignedHeader' in the AWS Authorization.");
  });

  it('query form: signature checked, wrong secret and changed body rejected', async () => {
    const req = await signAws4fetch({ signQuery: true, secretAccessKey: 'nope' });
    await expectKmsError(verifier()(req, BODY), 'InvalidSignatureException', MISMATCH);
    const ok = await signAws4fetch({ signQuery: true });
    await expectKmsError(verifier()(ok, utf8('{}')), 'InvalidSignatureException', MISMATCH);
    const url = new URL(ok.url);
    url.searchParams.set('X-Amz-Date', '20240101T000001Z');
    await expectKmsError(verifier()(rebuild(ok, { url: url.href }), BODY), 'InvalidSignatureException', MISMATCH);
  });

  it('a signature that is not lowercase hex of the right length: InvalidSignatureException', async () => {
    const req = setAuthorization(await signAws4fetch(), (a) => a.replace(/Signature=[0-9a-f]+/, (s) => s.toUpperCase().replace('SIGNATURE', 'Signature')));
    await expectKmsError(verifier()(req, BODY), 'InvalidSignatureException', MISMATCH);
  });
});

describe('open mode', () => {
  const openCaller = { accountId: '444455556666', arn: 'arn:aws:iam::444455556666:root' };
  const open = (extra: Partial<SigV4VerifierOptions> = {}) => verifier({ mode: 'open', lookup: undefined, openCaller, ...extra });

  it('accepts any well-formed signature, without checking the secret or the access key', async () => {
    const req = await signAws4fetch({ accessKeyId: 'AKIDANYONE', secretAccessKey: 'whatever' });
    await expect(open()(req, utf8('a different body'))).resolves.toEqual({ ...openCaller, accessKeyId: 'AKIDANYONE', region: REGION });
    await expect(open({ openCaller: { ...openCaller, accessKeyId: 'AKIDFIXED' } })(req, BODY)).resolves.toEqual({
      ...openCaller,
      accessKeyId: 'AKIDFIXED',
      region: REGION,
    });
    const q = await signAws4fetch({ signQuery: true, secretAccessKey: 'whatever' });
    await expect(open()(q, BODY)).resolves.toMatchObject(openCaller);
  });

  it('defaults to the root of the default account', async () => {
    const req = await signAws4fetch();
    await expect(verifier({ mode: 'open', lookup: undefined })(req, BODY)).resolves.toEqual({
      accountId: '111122223333',
      arn: 'arn:aws:iam::111122223333:root',
      accessKeyId: ALICE.accessKeyId,
      region: REGION,
    });
  });

  it('still requires a well-formed signature for our region and service within the window', async () => {
    await expectKmsError(open()(new Request(ENDPOINT, { method: 'POST' }), BODY), 'MissingAuthenticationTokenException');
    await expectKmsError(open()(await signAws4fetch({ region: 'eu-west-1' }), BODY), 'InvalidSignatureException');
    await expectKmsError(open()(await signAws4fetch({ service: 's3' }), BODY), 'InvalidSignatureException');
    await expectKmsError(open({ clock: createTestClock(T0 + 20 * MIN) })(await signAws4fetch(), BODY), 'InvalidSignatureException', /^Signature expired/);
    const req = await signAws4fetch();
    await expectKmsError(
      open()(
        setAuthorization(req, (a) => a.replace(/Signature=\w+/, 'Signature=zz')),
        BODY,
      ),
      'InvalidSignatureException',
      MISMATCH,
    );
    await expectKmsError(
      open()(
        setAuthorization(req, (a) => a.replace('Credential=', 'Credentials=')),
        BODY,
      ),
      'IncompleteSignatureException',
    );
    await expectKmsError(open()(rebuild(req, { headers: (h) => h.delete('x-amz-date') }), BODY), 'IncompleteSignatureException');
  });

  it('verify mode needs a lookup', () => {
    expect(() => createSigV4Verifier({ region: REGION, mode: 'verify' })).toThrow(TypeError);
  });
});

describe('signing key cache', () => {
  it('derives the signing key once per (key, secret, date, region, service)', async () => {
    const clock = createTestClock(T0);
    const verify = verifier({ clock });
    const req = await signAws4fetch();
    const later = await signAws4fetch({ datetime: '20240101T000500Z' });
    const nextDay = await signAws4fetch({ datetime: '20240102T000000Z' });
    const importKey = vi.spyOn(crypto.subtle, 'importKey');
    await verify(req, BODY);
    expect(importKey).toHaveBeenCalledTimes(5); // "AWS4"+secret, kDate, kRegion, kService, kSigning
    importKey.mockClear();
    await verify(req, BODY);
    await verify(later, BODY);
    expect(importKey).toHaveBeenCalledTimes(0);
    clock.set(T0 + 24 * 60 * MIN);
    await verify(nextDay, BODY);
    expect(importKey).toHaveBeenCalledTimes(5);
  });

  it('a rotated secret is not served from the cache', async () => {
    const ids = new Map<string, Identity>([[ALICE.accessKeyId, { ...ALICE }]]);
    const verify = verifier({ lookup: (id) => ids.get(id) });
    await expect(verify(await signAws4fetch(), BODY)).resolves.toEqual(ALICE_CALLER);
    ids.set(ALICE.accessKeyId, { ...ALICE, secretAccessKey: 'rotated-secret' });
    await expectKmsError(verify(await signAws4fetch(), BODY), 'InvalidSignatureException', MISMATCH);
    await expect(verify(await signAws4fetch({ secretAccessKey: 'rotated-secret' }), BODY)).resolves.toEqual(ALICE_CALLER);
  });

  it('is bounded: old entries are evicted and derived again', async () => {
    const many = new Map<string, Identity>();
    for (let i = 0; i < 70; i++) many.set(`AKID${i}`, { ...ALICE, accessKeyId: `AKID${i}` });
    const verify = verifier({ lookup: (id) => many.get(id) });
    const reqs = await Promise.all([...many.keys()].map((accessKeyId) => signAws4fetch({ accessKeyId })));
    for (const r of reqs) await verify(r, BODY);
    const importKey = vi.spyOn(crypto.subtle, 'importKey');
    await verify(reqs[69]!, BODY);
    expect(importKey).toHaveBeenCalledTimes(0);
    await verify(reqs[0]!, BODY);
    expect(importKey).toHaveBeenCalledTimes(5);
  });
});

describe('what the verifier remembers between requests', () => {
  it('a refused credential scope is refused every time; an accepted one does not carry to another date', async () => {
    const clock = createTestClock(T0);
    const verify = verifier({ clock });
    const wrongRegion = await signAws4fetch({ region: 'eu-west-1' });
    for (let i = 0; i < 3; i++) await expectKmsError(verify(wrongRegion, BODY), 'InvalidSignatureException', /scoped to a valid region/);
    const good = await signAws4fetch();
    await expect(verify(good, BODY)).resolves.toEqual(ALICE_CALLER);
    // The same Credential value with an X-Amz-Date of another day: the scope date no longer matches.
    const otherDay = rebuild(good, { headers: (h) => h.set('x-amz-date', '20240102T000000Z') });
    clock.set(T0 + 24 * 60 * MIN);
    await expectKmsError(verify(otherDay, BODY), 'InvalidSignatureException', /Date in Credential scope does not match/);
  });

  it('a signed-header list is judged the same on every request', async () => {
    const verify = verifier();
    const noHost = setAuthorization(await signAws4fetch(), (a) => a.replace('SignedHeaders=host;', 'SignedHeaders='));
    for (let i = 0; i < 3; i++) await expectKmsError(verify(noHost, BODY), 'InvalidSignatureException', /must be a 'SignedHeader'/);
    const upper = setAuthorization(await signAws4fetch(), (a) => a.replace('SignedHeaders=host;x-amz-date;', 'SignedHeaders=host;X-Amz-Date;'));
    for (let i = 0; i < 3; i++) await expectKmsError(verify(upper, BODY), 'InvalidSignatureException', MISMATCH);
    await expect(verify(await signAws4fetch(), BODY)).resolves.toEqual(ALICE_CALLER);
  });

  it('the usual Authorization form and the general parser agree', async () => {
    const verify = verifier();
    const req = await signAws4fetch();
    const auth = req.headers.get('authorization')!;
    // Other spacing and order take the general parser; the result is the same caller.
    const variants = [auth, auth.replace(/, /g, ','), auth.replace(/, /g, ',  '), auth.replace('AWS4-HMAC-SHA256 ', 'AWS4-HMAC-SHA256   ')];
    const [, cred, signed, sig] = /Credential=(\S+), SignedHeaders=(\S+), Signature=(\S+)/.exec(auth)!;
    variants.push(`AWS4-HMAC-SHA256 Signature=${sig}, Credential=${cred}, SignedHeaders=${signed}`);
    for (const v of variants)
      await expect(
        verify(
          setAuthorization(req, () => v),
          BODY,
        ),
      ).resolves.toEqual(ALICE_CALLER);
    // A repeated parameter: the first one counts, in both parsers.
    await expect(
      verify(
        setAuthorization(req, () => `${auth}, Signature=${'0'.repeat(64)}`),
        BODY,
      ),
    ).resolves.toEqual(ALICE_CALLER);
    await expectKmsError(
      verify(
        setAuthorization(req, () => auth.replace(`Signature=${sig}`, `Signature=${'0'.repeat(64)}, Signature=${sig}`)),
        BODY,
      ),
      'InvalidSignatureException',
      MISMATCH,
    );
  });

  it('canonical header values: the already-canonical shortcut gives what trimall gives', () => {
    const trimall = (v: string) => v.replace(/[\t ]+/g, ' ').trim();
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '\t', '-', ':', '\u00a0', '\u00fc', '\n', '\r'), maxLength: 12 }), (v) => {
        expect(canonicalHeaderValue(v)).toBe(trimall(v));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('property: aws4fetch signatures', () => {
  const headerValue = fc
    .array(fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.constant(0x09)), { maxLength: 40 })
    .map((codes) => String.fromCharCode(...codes));

  it('random bodies and header values verify; any single-byte change of the body fails', async () => {
    const verify = verifier();
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        headerValue,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (body, value, at, xor) => {
          const req = await signAws4fetch({ body, headers: { ...KMS_HEADERS, 'x-custom': value } });
          await expect(verify(req, body)).resolves.toEqual(ALICE_CALLER);
          const changed = body.slice();
          const i = at % changed.length;
          changed[i] = changed[i]! ^ xor;
          await expectKmsError(verify(req, changed), 'InvalidSignatureException', MISMATCH);
        },
      ),
      { numRuns: 150 },
    );
  });
});
