/** GenerateDataKeyPair: a key pair with its private key in plaintext and encrypted (data-key-pair.ts). */
import type { OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import type { InputReader } from '../../validate.js';
import type { Output } from '../common.js';
import { generatePair } from './data-key-pair.js';

export function generateDataKeyPair(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  return generatePair(engine, input, ctx, true);
}
