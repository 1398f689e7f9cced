/**
 * ReEncrypt: decrypt under the source key and encrypt under the destination key's current
 * version, without the plaintext leaving the KMS. ReEncrypt to the same key moves a ciphertext
 * onto the current key material version. Either key may be an asymmetric encryption key (RSA):
 * an RSA source needs SourceKeyId and SourceEncryptionAlgorithm, an RSA destination
 * DestinationEncryptionAlgorithm and no DestinationEncryptionContext, and the plaintext must fit
 * its limit.
 */
import { wipe } from '../../bytes.js';
import { authorize, requestAliasOf, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { dryRun, readGrantTokens } from '../common.js';
import { checkPlaintextSize, decryptBlob, encryptWith, ENCRYPTION_ALGORITHMS, requireCipherKey } from '../../symmetric.js';
import type { InputReader } from '../../validate.js';
import { readKeyId, type Output } from '../common.js';

export async function reEncrypt(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const blob = input.blob('CiphertextBlob', { required: true, min: 1, max: 6144 });
  const sourceContext = input.stringMap('SourceEncryptionContext');
  const sourceRef = input.string('SourceKeyId', { min: 1, max: 2048 });
  const destRef = readKeyId(input, 'DestinationKeyId');
  const destContext = input.stringMap('DestinationEncryptionContext');
  const sourceAlg = input.enumValue('SourceEncryptionAlgorithm', ENCRYPTION_ALGORITHMS);
  const destAlg = input.enumValue('DestinationEncryptionAlgorithm', ENCRYPTION_ALGORITHMS);
  readGrantTokens(input);
  input.done();
  const dest = await engine.resolve(destRef, { allowAlias: true, createAwsManaged: true, caller: ctx.caller });
  authorize(engine, ctx, {
    action: 'ReEncryptTo',
    key: dest,
    encryptionContext: destContext,
    requestAlias: requestAliasOf(destRef),
    conditions: { 'kms:encryptionalgorithm': destAlg ?? 'SYMMETRIC_DEFAULT' },
  });
  const destUsed = requireCipherKey(engine, dest, destAlg, destContext);
  const source = await decryptBlob(
    engine,
    blob,
    sourceContext,
    sourceRef,
    sourceAlg,
    (key) =>
      authorize(engine, ctx, {
        action: 'ReEncryptFrom',
        key,
        encryptionContext: sourceContext,
        requestAlias: sourceRef && requestAliasOf(sourceRef),
        conditions: { 'kms:encryptionalgorithm': sourceAlg ?? 'SYMMETRIC_DEFAULT' },
      }),
    ctx.caller,
  );
  try {
    checkPlaintextSize(dest, destUsed, source.plaintext.length);
    dryRun(input);
    const out = await encryptWith(engine, dest, destUsed, source.plaintext, destContext);
    const answer: Output = {
      CiphertextBlob: out,
      SourceKeyId: engine.keyArn(source.key.KeyId),
      KeyId: engine.keyArn(dest.KeyId),
      SourceEncryptionAlgorithm: source.algorithm,
      DestinationEncryptionAlgorithm: destUsed,
    };
    // Key material ids only for the symmetric sides, as AWS.
    if (source.keyMaterialId !== undefined) answer.SourceKeyMaterialId = source.keyMaterialId;
    if (destUsed === 'SYMMETRIC_DEFAULT') answer.DestinationKeyMaterialId = dest.CurrentKeyMaterialId;
    return answer;
  } finally {
    wipe(source.plaintext);
  }
}
