/**
 * KMS_REQUEST_QUOTAS on the Node server: over the configured rate the AWS SDK v3 gets AWS's
 * ThrottlingException (with retries it backs off and succeeds); quotas are counted per identity;
 * a malformed setting stops the start with exit code 2.
 * Run: npx vitest run --project e2e test/node-security/request-quotas.test.ts
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { KMS } from '@aws-sdk/client-kms';
import { afterAll, describe, expect, it } from 'vitest';
import { REGION, REPO_ROOT, spawnKmsServer, type KmsServer } from '../helpers/server.js';
import { ALICE, BOB, identitiesEnv } from '../auth/support.js';

const servers: KmsServer[] = [];
afterAll(() => Promise.all(servers.map((s) => s.dispose())));

const client = (url: string, id: { accessKeyId: string; secretAccessKey: string }, maxAttempts = 1) =>
  new KMS({ endpoint: url, region: REGION, credentials: { accessKeyId: id.accessKeyId, secretAccessKey: id.secretAccessKey }, maxAttempts });

describe('KMS_REQUEST_QUOTAS', () => {
  it('throttles each identity at its own rate with ThrottlingException; retries succeed', async () => {
    const server = await spawnKmsServer({ testMode: false, env: { KMS_IDENTITIES: identitiesEnv(), KMS_REQUEST_QUOTAS: '{"rates":{"CreateKey":2}}' } });
    servers.push(server);
    const alice = client(server.url, ALICE);
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => alice.createKey({})));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason.name).toBe('ThrottlingException');
    expect(refused.reason.message).toBe('You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.');
    expect(refused.reason.$metadata.httpStatusCode).toBe(400);
    // bob has buckets of his own
    await expect(client(server.url, BOB).createKey({})).resolves.toBeDefined();
    const retrying = client(server.url, ALICE, 10);
    const out = await retrying.createKey({});
    expect(out.KeyMetadata?.KeyId).toBeTruthy();
    // DescribeKey has its own, untouched quota
    await expect(alice.describeKey({ KeyId: out.KeyMetadata!.KeyId! })).resolves.toBeDefined();
  });

  it('a malformed value: exit 2 with one line', async () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'packages/node/src/cli.ts')], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        PORT: '0',
        KMS_PLAYGROUND: '0',
        KMS_REQUEST_QUOTAS: '{"scale":"fast"}',
        KMS_DATA_DIR: join(REPO_ROOT, 'test/artifacts/quota-never-created'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((r) => proc.once('exit', r));
    expect(code).toBe(2);
    expect(output.trim()).toBe('KMS_REQUEST_QUOTAS "scale" must be a number');
  });
});
