// Runs the smoke bundle beside it (runtimes.test.ts copies this file next to smoke.bundle.mjs)
// and prints one JSON line: { runtime, passed } or { runtime, error }. The same file serves
// `node`, `deno run` (no permissions: the import is static and local) and `bun run`.
import { runSmoke } from './smoke.bundle.mjs';

const runtime = globalThis.Deno
  ? `deno ${globalThis.Deno.version.deno}`
  : globalThis.Bun
    ? `bun ${globalThis.Bun.version}`
    : `node ${globalThis.process.versions.node}`;

try {
  const { passed } = await runSmoke();
  console.log(JSON.stringify({ runtime, passed }));
} catch (e) {
  console.log(JSON.stringify({ runtime, error: String(e?.message || e) }));
  throw e;
}
