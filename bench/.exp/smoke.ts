import { createKms } from '@edge-kms/core';
const kms = createKms();
const { KeyMetadata } = (await kms.execute('CreateKey', {})) as any;
const r = await kms.handle(new Request('http://x/', { method: 'POST', headers: { 'x-amz-target': 'TrentService.Encrypt' }, body: JSON.stringify({ KeyId: KeyMetadata.KeyId, Plaintext: 'AAAA' }) }));
console.log(r.status, (await r.text()).slice(0, 200));
