/**
 * Issue 14, item 8: every request the Node server answers gets an AWS-shaped body, including
 * those node:http cannot parse (clientError), odd request targets (absolute-form, `*`, `//`, very
 * long, bad percent-encoding, backslashes) and requests @hono/node-server cannot turn into a fetch
 * Request; none gives a 5xx, and nothing from client input reaches the log as a stack trace.
 * Both in open mode and in verify mode (where `POST http://127.0.0.1/` used to be a 500).
 * Run: npx vitest run --project e2e test/node-security/malformed-http.test.ts
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnKmsServer, type KmsServer } from '../helpers/server.js';
import { ALICE, identitiesEnv } from '../auth/support.js';
import { exchange, expectAwsError, expectNoStackTrace, signedRaw } from './support.js';

const AUTH =
  'AWS4-HMAC-SHA256 Credential=AKIAALICE00000000001/20260101/us-east-1/kms/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=' +
  '0'.repeat(64);

/** Requests node:http refuses to parse, or that no route serves: each gets a 4xx with `__type`. */
function hostileRequests(host: string): [string, string][] {
  const kms = `content-type: application/x-amz-json-1.1\r\nx-amz-target: TrentService.ListKeys\r\nx-amz-date: 20260101T000000Z\r\nauthorization: ${AUTH}\r\n`;
  return [
    ['garbage request line', 'GARBAGE\r\n\r\n'],
    ['no HTTP version', 'GET /\r\n\r\n'],
    ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
    ['unknown HTTP version', `GET / HTTP/7.1\r\nHost: ${host}\r\n\r\n`],
    ['space in a header name', `GET / HTTP/1.1\r\nHost: ${host}\r\nbad header: x\r\n\r\n`],
    ['header without a colon', `GET / HTTP/1.1\r\nHost: ${host}\r\nnocolon\r\n\r\n`],
    ['control character in a header value', `GET / HTTP/1.1\r\nHost: ${host}\r\nx-a: a\u0001b\r\n\r\n`],
    ['bare LF line ends', `GET / HTTP/1.1\nHost: ${host}\n\n`],
    ['two different Content-Lengths', `POST / HTTP/1.1\r\nHost: ${host}\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}`],
    ['Content-Length not a number', `POST / HTTP/1.1\r\nHost: ${host}\r\ncontent-length: abc\r\n\r\n{}`],
    ['Content-Length and chunked', `POST / HTTP/1.1\r\nHost: ${host}\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`],
    ['unknown transfer coding', `POST / HTTP/1.1\r\nHost: ${host}\r\ntransfer-encoding: gzip\r\n\r\n{}`],
    ['bad chunk size', `POST / HTTP/1.1\r\nHost: ${host}\r\n${kms}transfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`],
    ['headers over 16 KiB', `GET / HTTP/1.1\r\nHost: ${host}\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`],
    ['URL over 16 KiB', `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
    ['asterisk-form target', `OPTIONS * HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
    ['authority-form target', `GET ${host} HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
    ['absolute-form naming another host', `POST http://attacker.example/ HTTP/1.1\r\nHost: ${host}\r\n${kms}content-length: 2\r\n\r\n{}`],
    ['absolute-form with user info', `POST http://u:p@${host}/ HTTP/1.1\r\nHost: ${host}\r\n${kms}content-length: 2\r\n\r\n{}`],
    ['absolute-form https', `POST https://${host}/ HTTP/1.1\r\nHost: ${host}\r\n${kms}content-length: 2\r\n\r\n{}`],
    ['absolute-form without a host', `POST http:/// HTTP/1.1\r\nHost: ${host}\r\n${kms}content-length: 2\r\n\r\n{}`],
    ['absolute-form, not a URL', `POST http://[::1/ HTTP/1.1\r\nHost: ${host}\r\n${kms}content-length: 2\r\n\r\n{}`],
    ['double slash', `GET // HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
    ['POST //', `POST // HTTP/1.1\r\nHost: ${host}\r\n${kms}content-length: 2\r\n\r\n{}`],
    ['bad percent-encoding', `GET /%zz% HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
    ['bad percent-encoding in the playground', `GET /playground/%E0%A4%A HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
    ['playground path escape', `GET /playground/..%2f..%2fpackage.json HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
    ['backslash in the path', `GET /\\\\evil HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
    ['backslash on POST /', `POST /\\ HTTP/1.1\r\nHost: ${host}\r\n${kms}content-length: 2\r\n\r\n{}`],
    ['long URL below the header limit', `GET /${'%'.repeat(8000)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
    ['query with bad encoding on POST /', `POST /?a=%zz&%%=1 HTTP/1.1\r\nHost: ${host}\r\n${kms}content-length: 2\r\n\r\n{}`],
    ['unknown method', `BREW / HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
    ['CONNECT', `CONNECT ${host} HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
    ['Expect other than 100-continue', `POST / HTTP/1.1\r\nHost: ${host}\r\nexpect: 200-ok\r\ncontent-length: 2\r\n\r\n{}`],
    ['chunked body to a path other than /', `POST /_edge-kms/reset HTTP/1.1\r\nHost: ${host}\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`],
    ['not JSON on POST /', `POST / HTTP/1.1\r\nHost: ${host}\r\n${kms}content-length: 5\r\n\r\n{{{{{`],
  ];
}

for (const mode of ['open', 'verify'] as const) {
  describe(`${mode} mode`, () => {
    let server: KmsServer;
    beforeAll(async () => {
      server = await spawnKmsServer({
        testMode: false,
        env:
          mode === 'open'
            ? { KMS_IDENTITIES: undefined, KMS_IDENTITIES_FILE: undefined, KMS_PLAYGROUND: '0' }
            : { KMS_IDENTITIES: identitiesEnv([ALICE]), KMS_PLAYGROUND: '0' },
      });
    });
    afterAll(async () => {
      await server?.dispose();
    });

    it('answers every malformed or odd request with an AWS-shaped 4xx', async () => {
      const host = `127.0.0.1:${server.port}`;
      const seen: string[] = [];
      for (const [name, request] of hostileRequests(host)) {
        const r = await exchange(server.port, request);
        expect(r.status, `${name}: ${r.status} ${r.body}`).toBeGreaterThanOrEqual(400);
        expect(r.status, `${name}: ${r.status} ${r.body}`).toBeLessThan(500);
        expect(typeof r.json?.__type, `${name}: ${r.body}`).toBe('string');
        expectAwsError(r, r.json!.__type as string);
        seen.push(`${r.status} ${r.json!.__type as string}`);
      }
      expect(seen).toContain('400 SerializationException');
      expect(seen).toContain('431 SerializationException');
    });

    it('absolute-form naming this server is served like its path', async () => {
      const host = `127.0.0.1:${server.port}`;
      const r = await exchange(server.port, await signedRaw(host, 'ListKeys', {}, { target: `http://${host}/` }));
      expect(r.status, r.body).toBe(200);
      expect(r.json).toMatchObject({ Keys: [] });
      // Its Host header still decides (open mode: a foreign name is refused, whatever the target says).
      if (mode === 'open') {
        const rebound = await exchange(server.port, await signedRaw('attacker.example', 'ListKeys', {}, { target: 'http://attacker.example/' }));
        expectAwsError(rebound, 'AccessDeniedException', 403);
      }
    });

    it('the server is still serving, and logged no stack trace', async () => {
      const r = await exchange(server.port, await signedRaw(`127.0.0.1:${server.port}`, 'ListKeys', {}));
      expect(r.status).toBe(200);
      expectNoStackTrace(server.output);
    });
  });
}
