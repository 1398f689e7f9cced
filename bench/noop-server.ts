/**
 * The framework ceiling for `npm run bench`: a do-nothing Hono app on @hono/node-server (the same
 * stack as the edge-kms Node server) that answers POST / with a fixed small JSON body, without
 * reading the request. bench/http.ts starts it as a child process:
 *   PORT=0 node --import tsx bench/noop-server.ts
 * and reads the URL from the first line it prints.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.post('/', (c) => c.json({ ok: true }, 200, { 'content-type': 'application/x-amz-json-1.1' }));

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: '127.0.0.1' }, (info) => {
  console.log(`noop listening on http://127.0.0.1:${info.port}`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => server.close(() => process.exit(0)));
