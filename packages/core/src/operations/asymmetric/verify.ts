/**
 * Verify: whether a signature is the key's over the message. A signature that does not verify,
 * or is not a well-formed signature at all, is KMSInvalidSignatureException with an empty message,
 * as in AWS. Any valid ECDSA signature verifies, high-S ones too (AWS does not normalize).
 */
import type { OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import type { InputReader } from '../../validate.js';
import type { Output } from '../common.js';
import { signingRequest } from './signing.js';

export async function verify(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  let signature!: Uint8Array;
  const r = await signingRequest(engine, input, ctx, 'Verify', () => {
    signature = input.blob('Signature', { required: true, min: 1, max: 6144 });
  });
  if (!(await r.verify(signature))) throw new KmsError('KMSInvalidSignatureException', '');
  return { KeyId: engine.keyArn(r.key.KeyId), SignatureValid: true, SigningAlgorithm: r.algorithm };
}
