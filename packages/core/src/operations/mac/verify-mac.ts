/**
 * VerifyMac: whether a MAC is the HMAC of the message under the key. A MAC that does not verify
 * is KMSInvalidMacException with an empty message, as in AWS. The comparison is constant time
 * (WebCrypto's verify; for HMAC_224, constantTimeEqual).
 */
import type { OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import type { InputReader } from '../../validate.js';
import type { Output } from '../common.js';
import { macRequest } from './mac-key.js';

export async function verifyMac(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  let mac!: Uint8Array;
  const r = await macRequest(engine, input, ctx, 'VerifyMac', () => {
    mac = input.blob('Mac', { required: true, min: 1, max: 6144 });
  });
  const { key, algorithm } = r;
  if (!(await r.verify(mac))) {
    throw new KmsError('KMSInvalidMacException', '');
  }
  return { KeyId: engine.keyArn(key.KeyId), MacValid: true, MacAlgorithm: algorithm };
}
