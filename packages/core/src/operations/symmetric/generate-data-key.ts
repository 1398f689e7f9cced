/** GenerateDataKey: a data key, in plaintext and encrypted under the KMS key. */
import type { OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import type { InputReader } from '../../validate.js';
import type { Output } from '../common.js';
import { generate } from './data-key.js';

export function generateDataKey(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  return generate(engine, input, ctx, true);
}
