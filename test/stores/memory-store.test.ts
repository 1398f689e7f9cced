/** The memory store against the conformance suite. Run: npx vitest run test/stores */
import { createCryptoKeyProtector, createMemoryStore } from '@edge-kms/core';
import { runStoreConformance } from '../conformance/store-conformance.js';

runStoreConformance('memory', async () => ({
  store: createMemoryStore(),
  protector: createCryptoKeyProtector(),
  cleanup: async () => undefined,
}));
