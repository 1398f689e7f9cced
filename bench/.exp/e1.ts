import { createKms } from '/work/main/packages/core/src/index.ts';
const kms = createKms();
const { KeyMetadata } = (await kms.execute('CreateKey', {})) as any;
const KeyId = KeyMetadata.KeyId;
const raw = crypto.getRandomValues(new Uint8Array(32));
const key = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt']);
async function run(name: string, fn: () => Promise<unknown>, c: number, ms = 1000) {
  let n = 0; const end = performance.now() + ms;
  await Promise.all(Array.from({ length: c }, async () => { while (performance.now() < end) { await fn(); n++; } }));
  console.log(name, c, Math.round(n / (ms / 1000)));
}
for (const size of [64, 4096]) {
  const pt = crypto.getRandomValues(new Uint8Array(size));
  for (const c of [1, 8, 32]) for (let r = 0; r < 2; r++) {
    await run(`core${size}`, () => kms.execute('Encrypt', { KeyId, Plaintext: pt }), c);
    await run(`bare${size}`, () => crypto.subtle.encrypt({ name: 'AES-GCM', iv: crypto.getRandomValues(new Uint8Array(12)) }, key, pt), c);
  }
}
