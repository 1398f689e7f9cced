/**
 * ReEncrypt: decrypt under the source key and encrypt under the destination key's current
 * version, without the plaintext leaving the KMS. ReEncrypt to the same key moves a ciphertext
 * onto the current key material version.
 */
import { wipe } from '../../bytes.js';
import { authorize, requestAliasOf, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { dryRun, readGrantTokens } from '../common.js';
import { decryptBlob, encryptUnder, ENCRYPTION_ALGORITHMS, requireEncryptKey } from '../../symmetric.js';
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
  authorize(engine, ctx, { action: 'ReEncryptTo', key: dest, encryptionContext: destContext, requestAlias: requestAliasOf(destRef) });
  requireEncryptKey(engine, dest, destAlg);
  const source = await decryptBlob(
    engine,
    blob,
    sourceContext,
    sourceRef,
    sourceAlg,
    (key) => authorize(engine, ctx, { action: 'ReEncryptFrom', key, encryptionContext: sourceContext, requestAlias: sourceRef && requestAliasOf(sourceRef) }),
    ctx.caller,
  );
  try {
    dryRun(input);
    const out = await encryptUnder(engine, dest, source.plaintext, destContext);
    return {
      CiphertextBlob: out,
      SourceKeyId: engine.keyArn(source.key.KeyId),
      KeyId: engine.keyArn(dest.KeyId),
      SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      SourceKeyMaterialId: source.keyMaterialId,
      DestinationKeyMaterialId: dest.CurrentKeyMaterialId,
    };
  } finally {
    wipe(source.plaintext);
  }
}
