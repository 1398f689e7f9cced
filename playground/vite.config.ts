/**
 * Vite config of the playground. `npm run playground` serves it at http://localhost:5173/playground/
 * with hot reload; `npm start` builds it once (playground/build.ts) and serves the build at
 * /playground/ beside the KMS. The base is /playground/ in both, so the MSW service worker
 * (public/mockServiceWorker.js) is at /playground/mockServiceWorker.js and controls the page.
 *
 * In the dev server, POST / is proxied to KMS_URL (default http://127.0.0.1:4599, i.e. `npm start`),
 * so the page's "this server" remote mode works here as it does when served by `npm start`.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/playground/',
  cacheDir: fileURLToPath(new URL('../node_modules/.vite-playground', import.meta.url)),
  logLevel: 'info',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
    // One bundle of ~600 kB (the whole KMS, MSW and the client run in the page): fine for a playground.
    chunkSizeWarningLimit: 1000,
  },
  // Pre-bundled when the dev server starts, so the first page load does not discover them and reload.
  optimizeDeps: { include: ['msw', 'msw/browser', 'idb', 'aws4fetch'] },
  server: {
    proxy: {
      '^/$': {
        target: process.env.KMS_URL ?? 'http://127.0.0.1:4599',
        // Only the KMS calls; GET / stays with Vite (which points to /playground/).
        bypass: (req) => (req.method === 'POST' ? undefined : req.url),
      },
    },
  },
});
