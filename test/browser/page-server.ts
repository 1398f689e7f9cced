/**
 * A tiny static web server for the CORS test: `/` is a page whose module script signs KMS
 * requests in the browser with aws4fetch (served from node_modules as an ES module at
 * /aws4fetch.mjs) and exposes `window.kmsCall(...)` for the test to drive.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/server.js';

const AWS4FETCH = join(REPO_ROOT, 'node_modules/aws4fetch/dist/aws4fetch.esm.mjs');

const PAGE = `<!doctype html>
<html>
<head><meta charset="utf-8"><title>edge-kms CORS test page</title></head>
<body>
<p id="status">loading</p>
<script type="module">
import { AwsClient } from '/aws4fetch.mjs';

/**
 * One TrentService call from this page. sign: sign with aws4fetch (credentials given);
 * headers: extra request headers (signed too when signing).
 * Resolves with what the page could see, or with {error} if fetch itself failed (CORS).
 */
window.kmsCall = async ({ endpoint, operation, input, credentials, headers = {}, sign = true }) => {
  const init = {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.' + operation, ...headers },
    body: JSON.stringify(input ?? {}),
  };
  try {
    let res;
    if (sign) {
      const client = new AwsClient({ ...credentials, service: 'kms', region: 'us-east-1', retries: 0 });
      res = await client.fetch(endpoint, init);
    } else {
      res = await fetch(endpoint, init);
    }
    const text = await res.text();
    return {
      ok: true,
      status: res.status,
      body: text ? JSON.parse(text) : null,
      requestId: res.headers.get('x-amzn-requestid'),
      errorType: res.headers.get('x-amzn-errortype'),
      contentType: res.headers.get('content-type'),
    };
  } catch (e) {
    return { ok: false, error: String(e) };
  }
};
document.getElementById('status').textContent = 'ready';
</script>
</body>
</html>
`;

export interface PageServer {
  origin: string;
  close(): Promise<void>;
}

export async function startPageServer(): Promise<PageServer> {
  const module = readFileSync(AWS4FETCH, 'utf8');
  const server: Server = createServer((req, res) => {
    if (req.url === '/' || req.url === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else if (req.url === '/aws4fetch.mjs') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(module);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('page server has no address');
  return {
    origin: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
