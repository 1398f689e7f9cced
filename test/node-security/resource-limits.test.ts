/**
 * Issue 14, item 7: no client can take the Node server's connections or hold its requests.
 * - Connection limits with per-address fairness (KMS_MAX_CONNECTIONS, KMS_MAX_CONNECTIONS_PER_IP):
 *   one address flooding idle sockets keeps only its share, and another address is still served
 *   when the server is full; an address whose connections are all busy is refused with an
 *   AWS-shaped ThrottlingException. Loopback source addresses (127.0.0.2, 127.0.0.3, …) stand for
 *   distinct client IPs.
 * - Body limit before reading: a declared Content-Length over 1 MiB is answered at once, without
 *   the body being sent (also behind `Expect: 100-continue`); a chunked body is cut off at the limit.
 * - Timeouts (KMS_HEADERS_TIMEOUT_MS, KMS_REQUEST_TIMEOUT_MS, short here): a slowloris client
 *   sending its headers byte by byte, a slow body and a connection that sends nothing are cut off
 *   with 408 RequestTimeoutException (the silent one is just closed).
 * Run: npx vitest run --project e2e test/node-security/resource-limits.test.ts
 */
import { request } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnKmsServer, type KmsServer } from '../helpers/server.js';
import { expectAwsError, expectNoStackTrace, open, signedRaw, sleep, type Conn } from './support.js';

const conns: Conn[] = [];
async function openMany(port: number, from: string, n: number): Promise<Conn[]> {
  const out: Conn[] = [];
  // One at a time: the server sees them in this order (oldest first).
  for (let i = 0; i < n; i++) {
    const c = await open(port, from);
    conns.push(c);
    out.push(c);
    await sleep(5);
  }
  return out;
}
afterEach(() => {
  for (const c of conns.splice(0)) c.socket.destroy();
});

/** One KMS call from `localAddress` on a fresh connection; resolves with the HTTP status. */
async function callFrom(port: number, localAddress: string): Promise<number> {
  const raw = await signedRaw(`127.0.0.1:${port}`, 'GenerateRandom', { NumberOfBytes: 8 });
  const c = await open(port, localAddress);
  conns.push(c);
  c.socket.write(raw);
  return (await c.response()).status;
}

/** Waits until the server has closed what it is going to close (closes are asynchronous). */
async function settle(): Promise<void> {
  await sleep(300);
}

/** Waits (up to 5 s) until `done()` holds; closes reach the client asynchronously. */
async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; !done() && waited < 5000; waited += 50) await sleep(50);
}

describe('connection limits (8 in all, 4 per address)', () => {
  let server: KmsServer;
  beforeAll(async () => {
    server = await spawnKmsServer({ testMode: false, env: { KMS_MAX_CONNECTIONS: '8', KMS_MAX_CONNECTIONS_PER_IP: '4' } });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('an address opening 40 idle sockets keeps 4 (its oldest idle ones are closed first), and another address is served', async () => {
    const flood = await openMany(server.port, '127.0.0.2', 40);
    await until(() => flood.filter((c) => !c.isClosed()).length <= 4);
    const alive = flood.filter((c) => !c.isClosed());
    expect(alive).toHaveLength(4);
    // The newest survive: the oldest idle connection makes room.
    expect(flood.slice(-4).every((c) => !c.isClosed())).toBe(true);
    expect(await callFrom(server.port, '127.0.0.3')).toBe(200);
  });

  it('when the server is full, a new address is served and the heaviest address gives up a connection', async () => {
    const a = await openMany(server.port, '127.0.0.2', 4);
    const b = await openMany(server.port, '127.0.0.3', 3);
    await settle();
    expect([...a, ...b].filter((c) => c.isClosed())).toHaveLength(0);
    // 7 open; the 8th slot and beyond: a newcomer always gets in.
    expect(await callFrom(server.port, '127.0.0.4')).toBe(200);
    expect(await callFrom(server.port, '127.0.0.5')).toBe(200);
    expect(await callFrom(server.port, '127.0.0.6')).toBe(200);
    await until(() => a.filter((c) => c.isClosed()).length >= 2);
    // The heaviest address (127.0.0.2, 4 idle sockets) lost connections; 127.0.0.3 lost fewer.
    const lostA = a.filter((c) => c.isClosed()).length;
    const lostB = b.filter((c) => c.isClosed()).length;
    expect(lostA).toBeGreaterThanOrEqual(1);
    expect(lostA).toBeGreaterThanOrEqual(lostB);
  });

  it('an address whose connections are all busy is refused with an AWS-shaped ThrottlingException; others are still served', async () => {
    // Four requests whose bodies never come: each connection has a request in flight.
    const busy = await openMany(server.port, '127.0.0.2', 4);
    for (const c of busy)
      c.socket.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: 10\r\n\r\n`);
    await settle();
    const [extra] = await openMany(server.port, '127.0.0.2', 1);
    const r = await extra!.response();
    expectAwsError(r, 'ThrottlingException', 400);
    expect(r.json!.message).toMatch(/Too many connections from 127\.0\.0\.2/);
    await extra!.closed;
    expect(busy.filter((c) => c.isClosed())).toHaveLength(0);
    expect(await callFrom(server.port, '127.0.0.3')).toBe(200);
  });

  it('the server logged no stack trace', () => {
    expectNoStackTrace(server.output);
  });
});

describe('request body limit (1 MiB)', () => {
  let server: KmsServer;
  beforeAll(async () => {
    server = await spawnKmsServer({ testMode: false });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('a declared Content-Length over the limit is answered before any of the body is sent', async () => {
    const raw = await signedRaw(`127.0.0.1:${server.port}`, 'ListKeys', {});
    const c = await open(server.port);
    conns.push(c);
    // The headers only; the 10 GiB body is never sent.
    c.socket.write(`${raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/content-length: \d+/, 'content-length: 10737418240')}\r\n\r\n`);
    const r = await c.response();
    expectAwsError(r, 'SerializationException', 400);
    expect(r.json!.message).toBe('The request body exceeds 1048576 bytes.');
    expect(r.headers.connection).toBe('close');
    await c.closed;
  });

  it('behind Expect: 100-continue, an oversized body is refused without inviting it', async () => {
    const c = await open(server.port);
    conns.push(c);
    c.socket.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nexpect: 100-continue\r\ncontent-length: 2000000\r\n\r\n`);
    const r = await c.response();
    expect(c.received()).not.toMatch(/^HTTP\/1\.1 100/);
    expectAwsError(r, 'SerializationException', 400);
    // Within the limit, the client is told to continue and the call is served.
    const raw = await signedRaw(`127.0.0.1:${server.port}`, 'ListKeys', {}, { extraHeaders: { expect: '100-continue' } });
    const ok = await open(server.port);
    conns.push(ok);
    ok.socket.write(raw.slice(0, raw.indexOf('\r\n\r\n') + 4));
    await new Promise<void>((resolve) => {
      const check = () => (ok.received().startsWith('HTTP/1.1 100') ? resolve() : setTimeout(check, 10));
      check();
    });
    ok.socket.write(raw.slice(raw.indexOf('\r\n\r\n') + 4));
    expect((await ok.response()).status).toBe(200);
  });

  it('a chunked body is cut off at the limit and answered while the client is still sending', async () => {
    const raw = await signedRaw(`127.0.0.1:${server.port}`, 'ListKeys', {});
    const head = `${raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\ncontent-length: \d+/, '')}\r\ntransfer-encoding: chunked\r\n\r\n`;
    const c = await open(server.port);
    conns.push(c);
    c.socket.write(head);
    // One 64 MiB chunk, of which we send 64 KiB pieces until the answer comes.
    c.socket.write(`${(64 << 20).toString(16)}\r\n`);
    const piece = Buffer.alloc(64 << 10, 0x20);
    let sent = 0;
    const answered = c.response(20_000);
    let done = false;
    void answered.finally(() => (done = true)).catch(() => undefined);
    while (!done && !c.isClosed() && sent < 64 << 20) {
      if (!c.socket.write(piece)) await new Promise((r) => c.socket.once('drain', r));
      sent += piece.length;
      await sleep(0);
    }
    const r = await answered;
    expectAwsError(r, 'SerializationException', 400);
    expect(r.json!.message).toBe('The request body exceeds 1048576 bytes.');
    expect(r.headers.connection).toBe('close');
    expect(sent).toBeLessThan(16 << 20);
    await c.closed;
  });

  it('a chunked body within the limit is served', async () => {
    const raw = await signedRaw(`127.0.0.1:${server.port}`, 'GenerateRandom', { NumberOfBytes: 4 });
    const [head, body] = raw.split('\r\n\r\n') as [string, string];
    const c = await open(server.port);
    conns.push(c);
    c.socket.write(`${head.replace(/\r\ncontent-length: \d+/, '')}\r\ntransfer-encoding: chunked\r\n\r\n`);
    for (const part of [body.slice(0, 5), body.slice(5)]) c.socket.write(`${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`);
    c.socket.write('0\r\n\r\n');
    expect((await c.response()).status).toBe(200);
  });

  it('the server logged no stack trace', () => {
    expectNoStackTrace(server.output);
  });
});

describe('timeouts (headers 500 ms, request 1000 ms)', () => {
  let server: KmsServer;
  beforeAll(async () => {
    server = await spawnKmsServer({ testMode: false, env: { KMS_HEADERS_TIMEOUT_MS: '500', KMS_REQUEST_TIMEOUT_MS: '1000' } });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('slowloris: headers sent a byte at a time are cut off with 408 RequestTimeoutException', async () => {
    const c = await open(server.port);
    conns.push(c);
    const headers = `POST / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nx-slow: ${'a'.repeat(200)}\r\n`;
    let sent = 0;
    // 100 ms a byte: the whole would take 22 s.
    while (!c.isClosed() && sent < headers.length) {
      c.socket.write(headers[sent++]!);
      await sleep(100);
    }
    expect(c.isClosed()).toBe(true);
    expect(sent).toBeLessThan(headers.length);
    const r = await c.response();
    expectAwsError(r, 'RequestTimeoutException', 408);
  });

  it('a body sent slowly is cut off at the request timeout', async () => {
    const c = await open(server.port);
    conns.push(c);
    c.socket.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\ncontent-length: 1000\r\n\r\n`);
    let sent = 0;
    while (!c.isClosed() && sent < 1000) {
      c.socket.write(' ');
      sent++;
      await sleep(100);
    }
    expect(sent).toBeLessThan(1000);
    expectAwsError(await c.response(), 'RequestTimeoutException', 408);
  });

  it('a connection that sends nothing is closed', async () => {
    const c = await open(server.port);
    conns.push(c);
    await c.closed;
    expect(c.received()).toBe('');
  });

  it('a keep-alive client is served across requests', async () => {
    const statuses: number[] = [];
    const agentless = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request(`http://127.0.0.1:${server.port}/`, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('error', reject);
        req.end();
      });
    for (let i = 0; i < 3; i++) statuses.push(await agentless());
    expect(statuses).toEqual([200, 200, 200]);
  });

  it('the server logged no stack trace', () => {
    expectNoStackTrace(server.output);
  });
});
