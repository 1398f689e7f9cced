/** Encrypt: up to 4096 bytes under the key's current key material version. */
import { authorize, requestAliasOf, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { dryRun, readGrantTokens } from '../common.js';
import { encryptUnder, ENCRYPTION_ALGORITHMS, requireEncryptKey } from '../../symmetric.js';
import type { InputReader } from '../../validate.js';
import { readKeyId, type Output } from '../common.js';

export async function encrypt(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  const plaintext = input.blob('Plaintext', { required: true, min: 1, max: 4096 });
  const context = input.stringMap('EncryptionContext');
  readGrantTokens(input);
  const algorithm = input.enumValue('EncryptionAlgorithm', ENCRYPTION_ALGORITHMS);
  input.done();
  const key = await engine.resolve(ref, { allowAlias: true, createAwsManaged: true, caller: ctx.caller });
  authorize(engine, ctx, {
    action: 'Encrypt',
    key,
    encryptionContext: context,
    requestAlias: requestAliasOf(ref),
    conditions: { 'kms:encryptionalgorithm': algorithm ?? 'SYMMETRIC_DEFAULT' },
  });
  requireEncryptKey(engine, key, algorithm);
  dryRun(input);
  const blob = await encryptUnder(engine, key, plaintext, context);
  return { CiphertextBlob: blob, KeyId: engine.keyArn(key.KeyId), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
}
