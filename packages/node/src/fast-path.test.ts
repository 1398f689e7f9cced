/**
 * The node:http fast path and its batched writes: every response reaches its own request, with
 * AWS's headers and an exact Content-Length, however many requests share a turn of the event loop;
 * a client that hangs up before its response is written costs nobody else anything.
 * Run: npx vitest run packages/node/src/fast-path.test.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from './server.js';

const AUTH = `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/kms/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=${'0'.repeat(64)}`;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One KMS call over a fresh keep-alive agent socket, signed in the form open mode accepts. */
function call(url: string, target: string, input: unknown): Promise<Answer> {
  const body = JSON.stringify(input);
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const auth = AUTH.replace('20260101', amzDate.slice(0, 8));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${url}/`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${target}`, 'x-amz-date': amzDate, authorization: auth },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('node:http fast path', () => {
  let server: RunningServer;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edge-kms-fast-path-'));
    server = await startServer({ port: 0, dataDir: dir, maintenanceIntervalMs: 0, playgroundDir: undefined });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 300 concurrent calls, each with its own result, request id and exact Content-Length', async () => {
    const created = await call(server.url, 'CreateKey', {});
    const keyId = (JSON.parse(created.body) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    const plaintexts = Array.from({ length: 300 }, (_, i) => Buffer.from(`message ${i} `.repeat(1 + (i % 7))).toString('base64'));
    // Every third call fails validation: errors and successes share the batches.
    const answers = await Promise.all(
      plaintexts.map((p, i) => call(server.url, 'Encrypt', i % 3 === 2 ? { KeyId: keyId, Plaintext: '' } : { KeyId: keyId, Plaintext: p })),
    );
    const ids = new Set<string>();
    for (const [i, a] of answers.entries()) {
      expect(a.headers['content-type']).toBe('application/x-amz-json-1.1');
      expect(Number(a.headers['content-length'])).toBe(Buffer.byteLength(a.body));
      expect(a.headers['transfer-encoding']).toBeUndefined();
      ids.add(a.headers['x-amzn-requestid'] as string);
      if (i % 3 === 2) {
        expect(a.status).toBe(400);
        expect(JSON.parse(a.body).__type).toBe('ValidationException');
        continue;
      }
      expect(a.status).toBe(200);
      const blob = (JSON.parse(a.body) as { CiphertextBlob: string }).CiphertextBlob;
      const out = await call(server.url, 'Decrypt', { CiphertextBlob: blob });
      expect((JSON.parse(out.body) as { Plaintext: string }).Plaintext).toBe(plaintexts[i]);
    }
    expect(ids.size).toBe(300);
  });

  it('a client that hangs up before its answer is written does not disturb the others', async () => {
    const body = JSON.stringify({ NumberOfBytes: 16 });
    const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
    const raw =
      `POST / HTTP/1.1\r\nHost: ${server.url.slice('http://'.length)}\r\nContent-Type: application/x-amz-json-1.1\r\n` +
      `X-Amz-Target: TrentService.GenerateRandom\r\nX-Amz-Date: ${amzDate}\r\nAuthorization: ${AUTH.replace('20260101', amzDate.slice(0, 8))}\r\n` +
      `Content-Length: ${body.length}\r\n\r\n${body}`;
    // 20 clients send a whole request and close their socket at once, racing their own answers.
    await Promise.all(
      Array.from(
        { length: 20 },
        () =>
          new Promise<void>((resolve) => {
            const s = connect(server.port, '127.0.0.1', () => s.end(raw, () => s.destroy()));
            s.on('close', () => resolve());
            s.on('error', () => resolve());
          }),
      ),
    );
    const answers = await Promise.all(Array.from({ length: 50 }, () => call(server.url, 'GenerateRandom', { NumberOfBytes: 16 })));
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(Buffer.from((JSON.parse(a.body) as { Plaintext: string }).Plaintext, 'base64')).toHaveLength(16);
    }
  });
});
