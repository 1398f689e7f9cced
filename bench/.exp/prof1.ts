import { createKms } from '@edge-kms/core';
import { opsPerSecond } from '../lib.js';
const kms = createKms();
const { KeyMetadata } = (await kms.execute('CreateKey', {})) as any;
const KeyId = KeyMetadata.KeyId;
const pt = crypto.getRandomValues(new Uint8Array(64));
console.log(await opsPerSecond(() => kms.execute('Encrypt', { KeyId, Plaintext: pt }), 4000, 32));
