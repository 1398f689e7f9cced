/**
 * What GenerateDataKey and GenerateDataKeyWithoutPlaintext share: a random data key (KeySpec AES_128 /
 * AES_256, or NumberOfBytes 1..1024, exactly one) encrypted under the current key material.
 */
import { randomBytes, wipe } from '../../bytes.js';
import { authorize, requestAliasOf, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import { dryRun, readGrantTokens } from '../common.js';
import { encryptUnder, requireEncryptKey } from '../../symmetric.js';
import type { InputReader } from '../../validate.js';
import { readKeyId, type Output } from '../common.js';

export const DATA_KEY_SPECS = ['AES_256', 'AES_128'] as const;

export async function generate(engine: Engine, input: InputReader, ctx: OperationContext, withPlaintext: boolean): Promise<Output> {
  const ref = readKeyId(input);
  const context = input.stringMap('EncryptionContext');
  const keySpec = input.enumValue('KeySpec', DATA_KEY_SPECS);
  const numberOfBytes = input.int('NumberOfBytes', { min: 1, max: 1024 });
  readGrantTokens(input);
  const recipient = withPlaintext ? input.raw.Recipient : undefined;
  input.done();
  const specGiven = input.has('KeySpec');
  const bytesGiven = input.has('NumberOfBytes');
  if (specGiven === bytesGiven) {
    throw new KmsError('ValidationException', 'Please specify either number of bytes or key spec.');
  }
  if (recipient !== undefined && recipient !== null) {
    throw new KmsError('UnsupportedOperationException', 'Recipient (attested enclave) requests are not supported by edge-kms.');
  }
  const key = await engine.resolve(ref, { allowAlias: true, createAwsManaged: true, caller: ctx.caller });
  authorize(engine, ctx, {
    action: withPlaintext ? 'GenerateDataKey' : 'GenerateDataKeyWithoutPlaintext',
    key,
    encryptionContext: context,
    requestAlias: requestAliasOf(ref),
  });
  requireEncryptKey(engine, key, undefined);
  dryRun(input);
  const length = keySpec === 'AES_128' ? 16 : keySpec === 'AES_256' ? 32 : numberOfBytes!;
  const dataKey = randomBytes(length);
  try {
    const blob = await encryptUnder(engine, key, dataKey, context);
    const out: Output = { CiphertextBlob: blob, KeyId: engine.keyArn(key.KeyId), KeyMaterialId: key.CurrentKeyMaterialId };
    if (withPlaintext) out.Plaintext = dataKey.slice();
    return out;
  } finally {
    wipe(dataKey);
  }
}
