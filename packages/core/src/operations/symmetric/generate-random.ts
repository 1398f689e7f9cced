/** GenerateRandom: 1..1024 bytes from crypto.getRandomValues. */
import { randomBytes } from '../../bytes.js';
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import type { InputReader } from '../../validate.js';
import type { Output } from '../common.js';

export async function generateRandom(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const n = input.int('NumberOfBytes', { required: true, min: 1, max: 1024 })!;
  const store = input.string('CustomKeyStoreId', { min: 1, max: 64 });
  input.done();
  if (store !== undefined) throw new KmsError('UnsupportedOperationException', 'Custom key stores are not supported by edge-kms.');
  authorize(engine, ctx, { action: 'GenerateRandom' });
  return { Plaintext: randomBytes(n) };
}
