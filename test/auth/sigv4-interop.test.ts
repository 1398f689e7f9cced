/**
 * Issue 4, SigV4 interop: four independent real signers (the AWS SDK v3, the aws CLI v1, aws4fetch
 * with the Authorization header and with query-string signing; boto3 is in
 * test/python/test_auth.py) against a server with identities configured. Each succeeds with correct
 * credentials, and the caller is the identity whose key signed (visible in AccessDenied messages
 * and in the default policy's account rule).
 */
import type { KMS } from '@aws-sdk/client-kms';
import { AwsClient } from 'aws4fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KmsServer } from '../helpers/server.js';
import { ALICE, BOB, CAROL, awsCli, clientAs, expectWireError, keyArnOf, rejection, send, signRequest, spawnVerifyingServer } from './support.js';

let server: KmsServer;
let alice: KMS;
let keyId: string;

beforeAll(async () => {
  server = await spawnVerifyingServer();
  alice = clientAs(server.url, ALICE);
  keyId = (await alice.createKey({ Description: 'interop' })).KeyMetadata!.KeyId!;
});

afterAll(async () => {
  alice?.destroy();
  await server?.dispose();
});

describe('AWS SDK for JavaScript v3 (@aws-sdk/client-kms)', () => {
  it('every identity signs valid requests: encrypt as alice, decrypt as bob (same account, default policy)', async () => {
    const bob = clientAs(server.url, BOB);
    try {
      const plaintext = new TextEncoder().encode('sdk v3 signed');
      const enc = await alice.encrypt({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: { purpose: 'interop' } });
      const dec = await bob.decrypt({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { purpose: 'interop' } });
      expect(new TextDecoder().decode(dec.Plaintext)).toBe('sdk v3 signed');
      expect(dec.KeyId).toBe(keyArnOf(keyId));
    } finally {
      bob.destroy();
    }
  });

  it('the signer is the caller: carol (another account) is refused by name', async () => {
    const carol = clientAs(server.url, CAROL);
    try {
      const err = await rejection(carol.describeKey({ KeyId: keyArnOf(keyId) }));
      expect(err.name).toBe('AccessDeniedException');
      expect(err.message).toBe(
        `User: ${CAROL.arn} is not authorized to perform: kms:DescribeKey on resource: ${keyArnOf(keyId)} because no resource-based policy allows the kms:DescribeKey action`,
      );
    } finally {
      carol.destroy();
    }
  });
});

describe('aws CLI v1 (botocore signer, credentials from the environment)', () => {
  it('create-key, encrypt and decrypt succeed with correct credentials', async () => {
    const created = await awsCli(server.url, ALICE, ['create-key', '--description', 'from the cli']);
    expect(created.code, created.stderr).toBe(0);
    const cliKey = JSON.parse(created.stdout).KeyMetadata.KeyId as string;
    const described = await alice.describeKey({ KeyId: cliKey });
    expect(described.KeyMetadata!.Description).toBe('from the cli');

    const enc = await awsCli(server.url, BOB, ['encrypt', '--key-id', cliKey, '--plaintext', 'cli'] /* v1 base64-encodes blob arguments itself */);
    expect(enc.code, enc.stderr).toBe(0);
    const blob = JSON.parse(enc.stdout).CiphertextBlob as string;
    const dec = await alice.decrypt({ CiphertextBlob: Buffer.from(blob, 'base64') });
    expect(Buffer.from(dec.Plaintext!).toString()).toBe('cli');
  });

  it('a wrong secret fails with InvalidSignatureException', async () => {
    const r = await awsCli(server.url, { accessKeyId: ALICE.accessKeyId, secretAccessKey: 'not-the-secret' }, ['list-keys']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('InvalidSignatureException');
  });
});

describe('aws4fetch', () => {
  it('AwsClient (Authorization header) succeeds', async () => {
    const client = new AwsClient({ accessKeyId: ALICE.accessKeyId, secretAccessKey: ALICE.secretAccessKey, service: 'kms', region: 'us-east-1', retries: 0 });
    const res = await client.fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.DescribeKey' },
      body: JSON.stringify({ KeyId: keyId }),
    });
    expect(res.status).toBe(200);
    const out = (await res.json()) as { KeyMetadata: { Arn: string } };
    expect(out.KeyMetadata.Arn).toBe(keyArnOf(keyId));
    expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("AwsV4Signer (signed by bob) succeeds and names bob's access key in the credential scope", async () => {
    const req = await signRequest(
      server.url,
      'GenerateDataKey',
      { KeyId: keyId, KeySpec: 'AES_256' },
      { accessKeyId: BOB.accessKeyId, secretAccessKey: BOB.secretAccessKey },
    );
    expect(req.headers.get('authorization')).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIABOB0000000000002\/\d{8}\/us-east-1\/kms\/aws4_request, SignedHeaders=[^,]*host[^,]*, Signature=[0-9a-f]{64}$/,
    );
    const r = await send(req);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.KeyId).toBe(keyArnOf(keyId));
    expect(Buffer.from(r.json.Plaintext as string, 'base64')).toHaveLength(32);
  });

  it('query-string signing (signQuery: true) succeeds; no Authorization header is sent', async () => {
    const req = await signRequest(server.url, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('presigned').toString('base64') }, { signQuery: true });
    const u = new URL(req.url);
    expect(u.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(u.searchParams.get('X-Amz-Credential')).toMatch(/^AKIAALICE00000000001\/\d{8}\/us-east-1\/kms\/aws4_request$/);
    expect(u.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(req.headers.has('authorization')).toBe(false);
    const r = await send(req);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const dec = await alice.decrypt({ CiphertextBlob: Buffer.from(r.json.CiphertextBlob as string, 'base64') });
    expect(Buffer.from(dec.Plaintext!).toString()).toBe('presigned');
  });

  it('query-string signing with a wrong secret fails with InvalidSignatureException', async () => {
    const req = await signRequest(server.url, 'ListKeys', {}, { signQuery: true, secretAccessKey: 'wrong' });
    expectWireError(await send(req), 'InvalidSignatureException');
  });
});
