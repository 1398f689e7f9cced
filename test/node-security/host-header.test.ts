/**
 * Issue 14, item 4: DNS rebinding. In open mode (no identities) a web page on attacker.example
 * whose name is re-pointed at 127.0.0.1 sends its requests with `Host: attacker.example:<port>`:
 * the server answers such a request with an AWS-shaped 403 AccessDeniedException, on every path
 * (KMS calls, GET /, the playground, test-mode endpoints), and only loopback names (localhost,
 * 127.x.x.x, [::1], any port) and KMS_ALLOWED_HOSTS are served. In verify mode the signature
 * covers the host, so the Host header is left alone unless KMS_ALLOWED_HOSTS is set.
 * Run: npx vitest run --project e2e test/node-security/host-header.test.ts
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnKmsServer, type KmsServer } from '../helpers/server.js';
import { ALICE, identitiesEnv } from '../auth/support.js';
import { exchange, expectAwsError, expectNoStackTrace, signedRaw } from './support.js';

describe('open mode: only loopback Host names', () => {
  let server: KmsServer;
  let ciphertext: string;
  beforeAll(async () => {
    server = await spawnKmsServer({
      testMode: true,
      env: { KMS_IDENTITIES: undefined, KMS_IDENTITIES_FILE: undefined, KMS_ALLOWED_HOSTS: 'kms.internal, app.test:8080' },
    });
    const created = await exchange(server.port, await signedRaw(`127.0.0.1:${server.port}`, 'CreateKey', {}));
    const keyId = (created.json as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
    const enc = await exchange(
      server.port,
      await signedRaw(`127.0.0.1:${server.port}`, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('secret').toString('base64') }),
    );
    ciphertext = (enc.json as { CiphertextBlob: string }).CiphertextBlob;
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('Decrypt with Host attacker.example:<port> is refused with 403 AccessDeniedException, no plaintext', async () => {
    const r = await exchange(server.port, await signedRaw(`attacker.example:${server.port}`, 'Decrypt', { CiphertextBlob: ciphertext }));
    expectAwsError(r, 'AccessDeniedException', 403);
    expect(r.json!.message).toMatch(/DNS rebinding/);
    expect(r.json!.message).toContain('KMS_ALLOWED_HOSTS');
    expect(r.body).not.toContain(Buffer.from('secret').toString('base64'));
    expect(r.headers.connection).toBe('close');
  });

  it('loopback names, with or without a port, are served', async () => {
    for (const host of [
      `127.0.0.1:${server.port}`,
      '127.0.0.1',
      `127.5.6.7:${server.port}`,
      `localhost:${server.port}`,
      'LOCALHOST',
      `[::1]:${server.port}`,
      '[::1]',
    ]) {
      const r = await exchange(server.port, await signedRaw(host, 'Decrypt', { CiphertextBlob: ciphertext }));
      expect(r.status, `${host}: ${r.body}`).toBe(200);
      expect(Buffer.from((r.json as { Plaintext: string }).Plaintext, 'base64').toString()).toBe('secret');
    }
  });

  it('names in KMS_ALLOWED_HOSTS are served (a bare name on any port, name:port on that port only)', async () => {
    for (const host of ['kms.internal', `kms.internal:${server.port}`, 'KMS.Internal:1', 'app.test:8080']) {
      const r = await exchange(server.port, await signedRaw(host, 'Decrypt', { CiphertextBlob: ciphertext }));
      expect(r.status, `${host}: ${r.body}`).toBe(200);
    }
    for (const host of ['app.test', 'app.test:8081', 'kms.internal.attacker.example', 'localhost.attacker.example', '127.0.0.1.nip.io', 'localhost.']) {
      const r = await exchange(server.port, await signedRaw(host, 'Decrypt', { CiphertextBlob: ciphertext }));
      expectAwsError(r, 'AccessDeniedException', 403);
    }
  });

  it('every path is covered: GET /, the playground, test-mode endpoints (nothing is reset)', async () => {
    const bad = `attacker.example:${server.port}`;
    for (const request of [
      `GET / HTTP/1.1\r\nHost: ${bad}\r\n\r\n`,
      `GET /playground/ HTTP/1.1\r\nHost: ${bad}\r\n\r\n`,
      `POST /_edge-kms/reset HTTP/1.1\r\nHost: ${bad}\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`,
      `POST /_edge-kms/clock HTTP/1.1\r\nHost: ${bad}\r\ncontent-type: text/plain\r\ncontent-length: 18\r\n\r\n{"advanceDays":99}`,
      `OPTIONS / HTTP/1.1\r\nHost: ${bad}\r\norigin: http://${bad}\r\naccess-control-request-method: POST\r\n\r\n`,
    ]) {
      expectAwsError(await exchange(server.port, request), 'AccessDeniedException', 403);
    }
    // The key made in beforeAll is still there: the reset never ran.
    const list = await exchange(server.port, await signedRaw(`127.0.0.1:${server.port}`, 'ListKeys', {}));
    expect((list.json as { Keys: unknown[] }).Keys).toHaveLength(1);
    const home = await exchange(server.port, `GET / HTTP/1.1\r\nHost: localhost:${server.port}\r\n\r\n`);
    expect(home.status).toBe(200);
  });

  it('a request without Host (HTTP/1.0 or 1.1) is refused in AWS shape', async () => {
    expectAwsError(await exchange(server.port, 'GET / HTTP/1.0\r\n\r\n'), 'SerializationException', 400);
    expectAwsError(await exchange(server.port, 'POST / HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}'), 'SerializationException', 400);
    expectAwsError(await exchange(server.port, 'POST / HTTP/1.1\r\nHost: \r\ncontent-length: 2\r\n\r\n{}'), 'SerializationException', 400);
  });

  it('the server logged no stack trace', () => {
    expectNoStackTrace(server.output);
  });
});

describe('verify mode', () => {
  let server: KmsServer;
  let listed: KmsServer;
  beforeAll(async () => {
    [server, listed] = await Promise.all([
      spawnKmsServer({ testMode: false, env: { KMS_IDENTITIES: identitiesEnv([ALICE]) } }),
      spawnKmsServer({ testMode: false, env: { KMS_IDENTITIES: identitiesEnv([ALICE]), KMS_ALLOWED_HOSTS: 'kms.example.com' } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([server?.dispose(), listed?.dispose()]);
  });

  it('without KMS_ALLOWED_HOSTS any host name is answered: the signature covers it', async () => {
    const ok = await exchange(server.port, await signedRaw('kms.example.com', 'ListKeys', {}));
    expect(ok.status, ok.body).toBe(200);
    // A signature made for one host does not verify under another.
    const signed = await signedRaw('kms.example.com', 'ListKeys', {});
    const moved = await exchange(server.port, signed.replace('Host: kms.example.com', 'Host: attacker.example'));
    expectAwsError(moved, 'InvalidSignatureException', 400);
  });

  it('a Host that is not a host name is refused before it reaches the signature check', async () => {
    for (const host of ['[::1', 'a b', 'a@b', 'x:99999', 'x:port']) {
      const r = await exchange(server.port, `POST / HTTP/1.1\r\nHost: ${host}\r\ncontent-length: 2\r\n\r\n{}`);
      expectAwsError(r, 'SerializationException', 400);
    }
  });

  it('with KMS_ALLOWED_HOSTS only those names and loopback are answered', async () => {
    expect((await exchange(listed.port, await signedRaw('kms.example.com', 'ListKeys', {}))).status).toBe(200);
    expect((await exchange(listed.port, await signedRaw(`127.0.0.1:${listed.port}`, 'ListKeys', {}))).status).toBe(200);
    expectAwsError(await exchange(listed.port, await signedRaw('other.example.com', 'ListKeys', {})), 'AccessDeniedException', 403);
  });

  it('the servers logged no stack trace', () => {
    expectNoStackTrace(server.output);
    expectNoStackTrace(listed.output);
  });
});
