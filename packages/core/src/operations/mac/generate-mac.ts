/** GenerateMac: the HMAC of a message (1..4096 bytes) under an HMAC key, with the key spec's one algorithm. */
import type { OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import type { InputReader } from '../../validate.js';
import type { Output } from '../common.js';
import { macRequest } from './mac-key.js';

export async function generateMac(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const r = await macRequest(engine, input, ctx, 'GenerateMac');
  const { key, algorithm } = r;
  return { Mac: await r.mac(), MacAlgorithm: algorithm, KeyId: engine.keyArn(key.KeyId) };
}
