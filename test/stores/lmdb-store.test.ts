/** The LMDB store against the conformance suite, with a second handle as a second process. Run: npx vitest run test/stores */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRootKeyProtector } from '@edge-kms/core';
import { createLmdbStore } from '@edge-kms/node';
import { runStoreConformance } from '../conformance/store-conformance.js';

runStoreConformance('lmdb', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-kms-lmdb-'));
  const path = join(dir, 'kms.lmdb');
  const store = createLmdbStore({ path });
  return {
    store,
    reopen: async () => createLmdbStore({ path }),
    protector: await createRootKeyProtector(crypto.getRandomValues(new Uint8Array(32))),
    cleanup: async () => {
      await store.close?.();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
