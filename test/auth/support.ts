/**
 * Shared pieces of the authentication and authorization suites (issue 4): three configured
 * identities (alice and bob in the KMS's account 111122223333, carol in 444455556666 as an
 * assumed-role session), SDK v3 clients signing as each of them, and aws4fetch requests whose
 * signature the tests can spoil on purpose.
 */
import { execFile } from 'node:child_process';
import { KMS } from '@aws-sdk/client-kms';
import { AwsV4Signer } from 'aws4fetch';
import { expect } from 'vitest';
import { REGION, spawnKmsServer, type KmsServer } from '../helpers/server.js';

export { REGION };
export const ACCOUNT = '111122223333';
export const OTHER_ACCOUNT = '444455556666';

export interface TestIdentity {
  name: string;
  accessKeyId: string;
  secretAccessKey: string;
  accountId: string;
  arn: string;
}

export const ALICE: TestIdentity = {
  name: 'alice',
  accessKeyId: 'AKIAALICE00000000001',
  secretAccessKey: 'alice/secret+Key0000000000000000000000001',
  accountId: ACCOUNT,
  arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
};
export const BOB: TestIdentity = {
  name: 'bob',
  accessKeyId: 'AKIABOB0000000000002',
  secretAccessKey: 'bob/secret+Key00000000000000000000000002',
  accountId: ACCOUNT,
  arn: `arn:aws:iam::${ACCOUNT}:user/bob`,
};
/** carol calls as a session of the role arn:aws:iam::444455556666:role/carol. */
export const CAROL: TestIdentity = {
  name: 'carol',
  accessKeyId: 'ASIACAROL00000000003',
  secretAccessKey: 'carol/secret+Key0000000000000000000000003',
  accountId: OTHER_ACCOUNT,
  arn: `arn:aws:sts::${OTHER_ACCOUNT}:assumed-role/carol/carol-session`,
};
export const CAROL_ROLE = `arn:aws:iam::${OTHER_ACCOUNT}:role/carol`;
export const ROOT = `arn:aws:iam::${ACCOUNT}:root`;

export const IDENTITIES = [ALICE, BOB, CAROL];

export function identitiesEnv(ids: TestIdentity[] = IDENTITIES): string {
  return JSON.stringify(ids.map(({ accessKeyId, secretAccessKey, accountId, arn }) => ({ accessKeyId, secretAccessKey, accountId, arn })));
}

/** A server that verifies SigV4 against alice, bob and carol, on the real clock. */
export function spawnVerifyingServer(extraEnv: Record<string, string> = {}): Promise<KmsServer> {
  return spawnKmsServer({ testMode: false, env: { KMS_IDENTITIES: identitiesEnv(), ...extraEnv } });
}

export function keyArnOf(keyId: string): string {
  return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${keyId}`;
}

/** An SDK v3 client signing with `who`'s credentials; one attempt per call. */
export function clientAs(url: string, who: Pick<TestIdentity, 'accessKeyId' | 'secretAccessKey'>): KMS {
  return new KMS({
    endpoint: url,
    region: REGION,
    credentials: { accessKeyId: who.accessKeyId, secretAccessKey: who.secretAccessKey },
    maxAttempts: 1,
  });
}

export interface SignOptions {
  accessKeyId?: string;
  secretAccessKey?: string;
  region?: string;
  service?: string;
  datetime?: string;
  signQuery?: boolean;
  sessionToken?: string;
  headers?: Record<string, string>;
}

/** A TrentService request signed by aws4fetch's AwsV4Signer (as `alice` unless told otherwise). */
export async function signRequest(
  url: string,
  operation: string,
  input: unknown,
  options: SignOptions = {},
): Promise<{ url: string; headers: Headers; body: string }> {
  const body = JSON.stringify(input);
  const signer = new AwsV4Signer({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${operation}`, ...options.headers },
    body,
    accessKeyId: options.accessKeyId ?? ALICE.accessKeyId,
    secretAccessKey: options.secretAccessKey ?? ALICE.secretAccessKey,
    sessionToken: options.sessionToken,
    service: options.service ?? 'kms',
    region: options.region ?? REGION,
    datetime: options.datetime,
    signQuery: options.signQuery,
  });
  const signed = await signer.sign();
  return { url: signed.url.toString(), headers: signed.headers, body };
}

export interface WireResult {
  status: number;
  json: Record<string, unknown>;
  headers: Headers;
}

export async function send(req: { url: string; headers: Headers | Record<string, string>; body: string }): Promise<WireResult> {
  const res = await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}

/** Asserts AWS's JSON 1.1 error shape: exactly `{__type, message}`, with the x-amzn-errortype header. */
export function expectWireError(r: WireResult, type: string, status = 400, message?: string | RegExp): void {
  expect(r.json, JSON.stringify(r.json)).toEqual({ __type: type, message: expect.any(String) });
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toBe('application/x-amz-json-1.1');
  expect(r.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
  expect(r.headers.get('x-amzn-errortype')).toMatch(new RegExp(`^${type}:?`));
  if (typeof message === 'string') expect(r.json.message).toBe(message);
  else if (message) expect(r.json.message).toMatch(message);
}

/** X-Amz-Date for now + offsetMs. */
export function amzDate(offsetMs = 0): string {
  return new Date(Date.now() + offsetMs).toISOString().replace(/[-:]|\.\d{3}/g, '');
}

/** The error a call fails with (name and message); fails the test if the call succeeds. */
export async function rejection(call: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await call;
  } catch (e) {
    const err = e as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: err.name, message: err.message, status: err.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Runs the aws CLI (v1) with `who`'s credentials in the environment; resolves with its output. */
export function awsCli(
  url: string,
  who: Pick<TestIdentity, 'accessKeyId' | 'secretAccessKey'>,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k];
  Object.assign(env, {
    AWS_ACCESS_KEY_ID: who.accessKeyId,
    AWS_SECRET_ACCESS_KEY: who.secretAccessKey,
    AWS_DEFAULT_REGION: REGION,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_MAX_ATTEMPTS: '1',
    AWS_PAGER: '',
  });
  return new Promise((resolve) => {
    execFile('aws', ['kms', '--endpoint-url', url, '--output', 'json', ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
