import { createKms } from '@edge-kms/core';
import { createKmsClient, encryptBytes } from '@edge-kms/client';
const client = createKmsClient({ kms: createKms() });
const keyId = (await client.createKey({})).KeyMetadata.KeyId;
const key = await crypto.subtle.importKey('raw', crypto.getRandomValues(new Uint8Array(32)), 'AES-GCM', false, ['encrypt']);
for (const size of [4096, 1<<20, 64<<20]) {
  const pt = new Uint8Array(size).fill(3);
  for (const [name, fn] of [['env', () => encryptBytes(client, pt, { keyId })], ['bare', () => crypto.subtle.encrypt({ name: 'AES-GCM', iv: crypto.getRandomValues(new Uint8Array(12)) }, key, pt)]] as const) {
    let t = performance.now(); let n = 0;
    while (performance.now() - t < 1000) { await fn(); n++; }
    const s = (performance.now() - t)/1000;
    console.log(size, name, (n/s).toFixed(0), 'msg/s', (n*size/s/1e6).toFixed(1), 'MB/s');
  }
}
