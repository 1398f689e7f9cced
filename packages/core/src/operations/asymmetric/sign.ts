/** Sign: a signature of a message (1..4096 bytes) under an asymmetric SIGN_VERIFY key; ECDSA signatures DER-encoded, as AWS answers them. */
import type { OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { p1363ToDer } from '../../key-specs/index.js';
import type { InputReader } from '../../validate.js';
import type { Output } from '../common.js';
import { signingRequest } from './signing.js';

export async function sign(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const r = await signingRequest(engine, input, ctx, 'Sign');
  const raw = new Uint8Array(await crypto.subtle.sign(r.params, r.signingKey, r.message as BufferSource));
  return { KeyId: engine.keyArn(r.key.KeyId), Signature: r.scalarBytes ? p1363ToDer(raw) : raw, SigningAlgorithm: r.algorithm };
}
