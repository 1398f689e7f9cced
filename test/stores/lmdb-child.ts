/**
 * Child process for lmdb-crash.test.ts: opens the LMDB store at argv[2] and, per mode, rotates a
 * key forever printing each committed version with a ciphertext made under it ("churn"), or makes
 * on-demand rotations against the per-key limit and prints how many succeeded ("rotate").
 */
import { createKms, createRootKeyProtector, toBase64 } from '@edge-kms/core';
import { createLmdbStore } from '@edge-kms/node';

const [path, mode, keyId, rootB64, count] = process.argv.slice(2) as [string, string, string, string, string];
const root = new Uint8Array(Buffer.from(rootB64, 'base64'));
const store = createLmdbStore({ path });
const kms = createKms({ store, protector: await createRootKeyProtector(root), onDemandRotationLimit: mode === 'churn' ? 1_000_000 : 10 });

if (mode === 'churn') {
  for (let i = 0; ; i++) {
    await kms.execute('RotateKeyOnDemand', { KeyId: keyId });
    const pt = new TextEncoder().encode(`message ${i}`);
    const out = await kms.execute('Encrypt', { KeyId: keyId, Plaintext: pt });
    process.stdout.write(`${JSON.stringify({ i, ct: toBase64(out.CiphertextBlob as Uint8Array) })}\n`);
  }
} else {
  let ok = 0;
  let limited = 0;
  await Promise.all(
    Array.from({ length: Number(count) }, async () => {
      try {
        await kms.execute('RotateKeyOnDemand', { KeyId: keyId });
        ok++;
      } catch (e) {
        if ((e as { code?: string }).code === 'LimitExceededException') limited++;
        else throw e;
      }
    }),
  );
  process.stdout.write(`${JSON.stringify({ ok, limited })}\n`);
  await store.close?.();
}
