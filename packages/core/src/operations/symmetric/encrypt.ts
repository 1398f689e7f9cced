/**
 * Encrypt: up to 4096 bytes under a symmetric key's current key material version, or (RSA
 * ENCRYPT_DECRYPT keys, EncryptionAlgorithm RSAES_OAEP_SHA_1 or RSAES_OAEP_SHA_256) up to AWS's
 * limit for the key spec and algorithm with its public key.
 */
import { authorize, requestAliasOf, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { dryRun, readGrantTokens } from '../common.js';
import { checkPlaintextSize, encryptWith, ENCRYPTION_ALGORITHMS, requireCipherKey } from '../../symmetric.js';
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
  const used = requireCipherKey(engine, key, algorithm, context);
  checkPlaintextSize(key, used, plaintext.length);
  dryRun(input);
  const blob = await encryptWith(engine, key, used, plaintext, context);
  return { CiphertextBlob: blob, KeyId: engine.keyArn(key.KeyId), EncryptionAlgorithm: used };
}
