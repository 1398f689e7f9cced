/**
 * Issue 4, open mode: a server without identities accepts any well-formed signature (the SDK with
 * dummy credentials works) but not an unsigned request; its start-up output warns loudly; and the
 * CLI refuses to serve open mode on a non-loopback interface unless KMS_ALLOW_OPEN_NETWORK=1.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KMS } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, spawnKmsServer, type KmsServer } from '../helpers/server.js';
import { clientAs, expectWireError, rejection, send, signRequest } from './support.js';

let server: KmsServer;
let kms: KMS;

beforeAll(async () => {
  // Served Regions restricted to us-east-1 (the clients' Region): a credential scope for any other
  // Region is outside the set, and refused even though no signature is verified.
  server = await spawnKmsServer({
    testMode: false,
    env: { KMS_IDENTITIES: undefined, KMS_IDENTITIES_FILE: undefined, KMS_REGION: 'us-east-1', KMS_REGIONS: 'us-east-1' },
  });
  kms = clientAs(server.url, { accessKeyId: 'AKIADUMMYDUMMYDUMMY0', secretAccessKey: 'any-dummy-secret' });
});

afterAll(async () => {
  kms?.destroy();
  await server?.dispose();
});

describe('open mode (no identities configured)', () => {
  it('start-up output warns loudly that any signature is accepted', () => {
    expect(server.output).toMatch(/!!! OPEN MODE: no identities are configured\. Any well-formed SigV4 signature is accepted/);
    expect(server.output).toMatch(/every request acts as the account root/);
    expect(server.output).toMatch(/For local development only/);
  });

  it('the SDK with dummy credentials works, acting as the account root', async () => {
    const { KeyMetadata } = await kms.createKey({ Description: 'open mode' });
    expect(KeyMetadata!.AWSAccountId).toBe('111122223333');
    const enc = await kms.encrypt({ KeyId: KeyMetadata!.KeyId, Plaintext: new TextEncoder().encode('x') });
    // A different dummy key id and secret: still accepted, still the same root.
    const other = clientAs(server.url, { accessKeyId: 'AKIAOTHERDUMMY000000', secretAccessKey: 'another' });
    try {
      const dec = await other.decrypt({ CiphertextBlob: enc.CiphertextBlob });
      expect(new TextDecoder().decode(dec.Plaintext)).toBe('x');
    } finally {
      other.destroy();
    }
  });

  it('an unsigned request is refused with MissingAuthenticationTokenException and changes nothing', async () => {
    const before = (await kms.listKeys({})).Keys!.length;
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.CreateKey' },
      body: '{}',
    });
    const json = await res.json();
    expectWireError({ status: res.status, json, headers: res.headers }, 'MissingAuthenticationTokenException', 403, 'Missing Authentication Token');
    expect((await kms.listKeys({})).Keys!.length).toBe(before);
  });

  it('a request that only looks signed (malformed Authorization) is still refused', async () => {
    const req = await signRequest(server.url, 'ListKeys', {});
    req.headers.set('authorization', 'AWS4-HMAC-SHA256 Credential=AKIADUMMY/20200101/us-east-1/kms/aws4_request');
    const r = await send(req);
    expectWireError(r, 'IncompleteSignatureException', 400, /Authorization header requires 'Signature' parameter\./);
  });

  it('the credential scope is still checked (region outside KMS_REGIONS)', async () => {
    const wrongRegion = new (await import('@aws-sdk/client-kms')).KMS({
      endpoint: server.url,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIADUMMY', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    try {
      const err = await rejection(wrongRegion.listKeys({}));
      expect(err.name).toBe('InvalidSignatureException');
      expect(err.message).toBe("Credential should be scoped to a valid region, not 'eu-west-1'.");
    } finally {
      wrongRegion.destroy();
    }
  });
});

/** Runs the CLI until it exits or prints its listening line; never leaves it running. */
function runCli(env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; output: string; listened: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-kms-open-'));
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(childEnv)) if (k.startsWith('KMS_')) delete childEnv[k];
  Object.assign(childEnv, { PORT: '0', KMS_DATA_DIR: join(dir, 'data'), KMS_MAINTENANCE_INTERVAL_MS: '0', ...env });
  const proc = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'packages/node/src/cli.ts')], {
    cwd: REPO_ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let listened = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`the CLI neither exited nor listened within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (!listened && /edge-kms listening on /.test(output)) {
        listened = true;
        proc.kill('SIGTERM'); // started: stop it at once
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, output, listened });
    });
  });
}

describe('open mode on a non-loopback interface', () => {
  it('HOST=0.0.0.0 without identities: the CLI exits non-zero with a clear message', async () => {
    const r = await runCli({ HOST: '0.0.0.0' });
    expect(r.listened).toBe(false);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.output).toContain('Refusing to serve on 0.0.0.0 in open mode');
    expect(r.output).toContain('KMS_ALLOW_OPEN_NETWORK=1');
  });

  it('HOST=0.0.0.0 with KMS_ALLOW_OPEN_NETWORK=1 starts (with the open-mode warning), and is stopped at once', async () => {
    const r = await runCli({ HOST: '0.0.0.0', KMS_ALLOW_OPEN_NETWORK: '1' });
    expect(r.listened).toBe(true);
    expect(r.output).toContain('OPEN MODE');
    expect(r.output).not.toContain('Refusing');
  });

  it('HOST=0.0.0.0 with identities configured starts without the open-mode warning', async () => {
    const r = await runCli({
      HOST: '0.0.0.0',
      KMS_IDENTITIES: JSON.stringify([{ accessKeyId: 'AKIAX', secretAccessKey: 's', accountId: '111122223333', arn: 'arn:aws:iam::111122223333:user/x' }]),
    });
    expect(r.listened).toBe(true);
    expect(r.output).toContain('SigV4 verification on: 1 identity configured');
    expect(r.output).not.toContain('OPEN MODE');
  });
});
