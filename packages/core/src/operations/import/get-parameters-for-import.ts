/**
 * GetParametersForImport: a fresh RSA wrapping key pair for an EXTERNAL key, its public key (SPKI)
 * and an import token valid for 24 hours (imports.ts). Refused for keys of another origin.
 */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { checkWrapping, WRAPPING_ALGORITHMS, WRAPPING_KEY_SPECS } from '../../imports.js';
import type { InputReader } from '../../validate.js';
import { readKeyId, type Output } from '../common.js';
import { requireExternal } from './import-shared.js';

export async function getParametersForImport(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  const algorithm = input.enumValue('WrappingAlgorithm', WRAPPING_ALGORITHMS, { required: true });
  const spec = input.enumValue('WrappingKeySpec', WRAPPING_KEY_SPECS, { required: true });
  input.done();
  const key = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'GetParametersForImport', key });
  requireExternal(engine, key);
  engine.requireNotPendingDeletion(key);
  checkWrapping(key, algorithm!, spec!);
  const params = await engine.importTokens.issue(key.KeyId, algorithm!, spec!, engine.now());
  return { KeyId: engine.keyArn(key.KeyId), ImportToken: params.token, PublicKey: params.publicKey, ParametersValidTo: new Date(params.validTo) };
}
