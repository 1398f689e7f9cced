/** Sign: a signature of a message (1..4096 bytes) under an asymmetric SIGN_VERIFY key; ECDSA signatures DER-encoded, as AWS answers them (signing.ts). */
import type { OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import type { InputReader } from '../../validate.js';
import type { Output } from '../common.js';
import { signingRequest } from './signing.js';

export async function sign(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const r = await signingRequest(engine, input, ctx, 'Sign');
  return { KeyId: engine.keyArn(r.key.KeyId), Signature: await r.sign(), SigningAlgorithm: r.algorithm };
}
