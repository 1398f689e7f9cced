/**
 * Decrypt: a symmetric key's blob names its key and key material version, so KeyId is optional;
 * an asymmetric key's ciphertext names nothing, so KeyId and EncryptionAlgorithm are needed.
 */
import { KmsError } from '../../errors.js';
import { authorize, requestAliasOf, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { dryRun, readGrantTokens } from '../common.js';
import { decryptBlob, ENCRYPTION_ALGORITHMS } from '../../symmetric.js';
import type { InputReader } from '../../validate.js';
import type { Output } from '../common.js';

export async function decrypt(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const blob = input.blob('CiphertextBlob', { required: true, min: 1, max: 6144 });
  const context = input.stringMap('EncryptionContext');
  readGrantTokens(input);
  const ref = input.string('KeyId', { min: 1, max: 2048 });
  const algorithm = input.enumValue('EncryptionAlgorithm', ENCRYPTION_ALGORITHMS);
  const recipient = input.raw.Recipient;
  input.done();
  if (recipient !== undefined && recipient !== null) {
    throw new KmsError('UnsupportedOperationException', 'Recipient (attested enclave) requests are not supported by edge-kms.');
  }
  const out = await decryptBlob(
    engine,
    blob,
    context,
    ref,
    algorithm,
    (key) =>
      authorize(engine, ctx, {
        action: 'Decrypt',
        key,
        encryptionContext: context,
        requestAlias: ref && requestAliasOf(ref),
        conditions: { 'kms:encryptionalgorithm': algorithm ?? 'SYMMETRIC_DEFAULT' },
      }),
    ctx.caller,
  );
  try {
    dryRun(input);
  } catch (e) {
    out.plaintext.fill(0);
    throw e;
  }
  const answer: Output = { KeyId: engine.keyArn(out.key.KeyId), Plaintext: out.plaintext, EncryptionAlgorithm: out.algorithm };
  if (out.keyMaterialId !== undefined) answer.KeyMaterialId = out.keyMaterialId;
  return answer;
}
