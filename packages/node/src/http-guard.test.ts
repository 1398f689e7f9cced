/**
 * The Node server's request checks in isolation (http-guard.ts, connection-limit.ts): which Host
 * values each mode answers, how absolute-form targets map to paths, which address a connection
 * counts against, and the playground's errors in AWS's shape (in process, with startServer).
 * Run: npx vitest run --project unit packages/node/src/http-guard.test.ts
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorResult, KmsError } from '@edge-kms/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peerKey } from './connection-limit.js';
import { createHostCheck, normalizeAllowedHosts, originFormOf, rawAwsError, rawResponse, refusal } from './http-guard.js';
import { ServerConfigError, startServer, type RunningServer } from './server.js';

describe('createHostCheck', () => {
  const open = createHostCheck({ restrict: true, allowedHosts: ['kms.internal', 'app.test:8080'] });
  const verify = createHostCheck({ restrict: false });
  const type = (r: ReturnType<typeof open>) => (r ? `${r.status} ${JSON.parse(r.body).__type as string}` : 'ok');

  it('restricted: loopback names and the allow-list only', () => {
    for (const h of [
      'localhost',
      'localhost:4599',
      'LocalHost:1',
      '127.0.0.1',
      '127.0.0.1:4599',
      '127.255.0.9:80',
      '[::1]',
      '[::1]:4599',
      '[0:0::1]:1',
      '127.1',
      'kms.internal',
      'kms.internal:9',
      'app.test:8080',
    ]) {
      expect(type(open(h)), h).toBe('ok');
    }
    for (const h of [
      'attacker.example',
      'attacker.example:4599',
      'localhost.',
      'localhost.attacker.example',
      '127.0.0.1.nip.io',
      '0.0.0.0',
      '10.0.0.1',
      '[::2]',
      'app.test',
      'app.test:8081',
      'kms.internal.evil',
    ]) {
      expect(type(open(h)), h).toBe('403 AccessDeniedException');
    }
  });

  it('unrestricted (verify mode): any host name, but only host names', () => {
    for (const h of ['attacker.example:4599', 'kms.us-east-1.amazonaws.com', 'my_service:80', '[2001:db8::1]:443']) expect(type(verify(h)), h).toBe('ok');
    for (const h of [undefined, '', '[::1', 'a b', 'a@b', 'a/b', 'x:99999', 'x:', 'x:y', '1.2.3.999', 'a'.repeat(300), '%41']) {
      expect(type(verify(h)), String(h)).toBe('400 SerializationException');
      expect(type(open(h)), String(h)).toBe('400 SerializationException');
    }
  });

  it('every refusal closes the connection and has its own request id', () => {
    const a = open('attacker.example')!;
    const b = open('attacker.example')!;
    expect(a.headers.connection).toBe('close');
    expect(a.headers['x-amzn-requestid']).not.toBe(b.headers['x-amzn-requestid']);
  });

  it('allow-list entries must be host names', () => {
    expect(normalizeAllowedHosts(['KMS.Internal', 'a:80', 'b:81'])).toEqual(['kms.internal', 'a', 'b:81']);
    expect(() => normalizeAllowedHosts(['http://x'])).toThrow(/not a host name/);
  });
});

describe('refusals', () => {
  it("are the core's errorResult with connection: close", () => {
    const error = new KmsError('SerializationException', 'A request body sent to this path needs a Content-Length header.', 411);
    const r = refusal(error);
    const same = errorResult(error, r.headers['x-amzn-requestid']);
    expect(r).toEqual({ ...same, headers: { ...same.headers, connection: 'close' } });
    expect(r.status).toBe(411);
  });

  it('on a raw socket, are the same answer as HTTP/1.1 text', () => {
    const r = errorResult(new KmsError('RequestTimeoutException', 'Too slow.'), '00000000-0000-4000-8000-000000000000');
    expect(rawResponse(r)).toBe(
      'HTTP/1.1 408 Request Timeout\r\ncontent-type: application/x-amz-json-1.1\r\nx-amzn-requestid: 00000000-0000-4000-8000-000000000000\r\n' +
        'x-amzn-errortype: RequestTimeoutException:\r\ncontent-length: 58\r\nconnection: close\r\n\r\n{"__type":"RequestTimeoutException","message":"Too slow."}',
    );
    const raw = rawAwsError(405, 'UnsupportedOperationException', 'CONNECT is not supported.');
    expect(raw).toMatch(
      /^HTTP\/1\.1 405 Method Not Allowed\r\ncontent-type: application\/x-amz-json-1\.1\r\nx-amzn-requestid: [0-9a-f-]{36}\r\nx-amzn-errortype: UnsupportedOperationException:\r\n/,
    );
    expect(raw.endsWith('\r\n\r\n{"__type":"UnsupportedOperationException","message":"CONNECT is not supported."}')).toBe(true);
  });
});

describe('originFormOf', () => {
  it('maps an absolute http URL naming the Host header to its path, and nothing else', () => {
    expect(originFormOf('http://127.0.0.1:4599/', '127.0.0.1:4599')).toBe('/');
    expect(originFormOf('HTTP://LOCALHOST:4599/a?b=1', 'localhost:4599')).toBe('/a?b=1');
    expect(originFormOf('http://127.0.0.1/', '127.0.0.1:80')).toBe('/');
    expect(originFormOf('http://127.0.0.1/', '127.0.0.1:4599')).toBeUndefined();
    expect(originFormOf('http://attacker.example/', '127.0.0.1')).toBeUndefined();
    expect(originFormOf('http://u:p@127.0.0.1/', '127.0.0.1')).toBeUndefined();
    expect(originFormOf('https://127.0.0.1/', '127.0.0.1')).toBeUndefined();
    expect(originFormOf('http://[::1/', '[::1]')).toBeUndefined();
    expect(originFormOf('*', '127.0.0.1')).toBeUndefined();
    expect(originFormOf('127.0.0.1:80', '127.0.0.1')).toBeUndefined();
    expect(originFormOf('http://127.0.0.1/', undefined)).toBeUndefined();
  });
});

describe('peerKey', () => {
  it('IPv4 as is (also IPv4-mapped), IPv6 by /64', () => {
    expect(peerKey('127.0.0.2')).toBe('127.0.0.2');
    expect(peerKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(peerKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(peerKey('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(peerKey('2001:0DB8:0001:0002:ffff::1%eth0')).toBe('2001:db8:1:2::/64');
    expect(peerKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(peerKey('::1')).toBe('0:0:0:0::/64');
    expect(peerKey(undefined)).toBeUndefined();
  });
});

describe('startServer', () => {
  let server: RunningServer;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edge-kms-guard-'));
    const site = join(dir, 'site');
    mkdirSync(site);
    writeFileSync(join(site, 'index.html'), '<!doctype html><title>playground</title>');
    server = await startServer({ port: 0, dataDir: join(dir, 'data'), maintenanceIntervalMs: 0, playgroundDir: async () => site });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the playground, and answers its errors in AWS shape', async () => {
    expect((await fetch(`${server.url}/playground/`)).status).toBe(200);
    for (const [path, status, type] of [
      ['/playground/missing.js', 404, 'NotFoundException'],
      ['/playground/%E0%A4%A', 400, 'ValidationException'],
      ['/playground/..%2f..%2fdata%2froot.key', 404, 'NotFoundException'],
    ] as const) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(status);
      expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
      expect(res.headers.get('x-amzn-errortype')).toBe(`${type}:`);
      expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
      expect(await res.json()).toEqual({ __type: type, message: expect.any(String) });
    }
  });

  it('refuses configurations it cannot serve safely', async () => {
    await expect(startServer({ port: 0, dataDir: join(dir, 'x'), allowedHosts: ['http://x/'] })).rejects.toThrow(ServerConfigError);
    await expect(startServer({ port: 0, dataDir: join(dir, 'x'), headersTimeoutMs: 5000, requestTimeoutMs: 1000 })).rejects.toThrow(ServerConfigError);
    await expect(startServer({ port: 0, dataDir: join(dir, 'x'), rootKeyFile: join(dir, 'missing.key') })).rejects.toThrow(/does not exist/);
  });
});
