/** RotateKeyOnDemand: a new current version now; capped per key; NextRotationDate unchanged. */
import type { Engine } from '../engine.js';
import type { InputReader } from '../validate.js';
import { requireConfigurableRotation } from './rotation-shared.js';
import { readKeyId, type Output } from './shared.js';

export async function rotateKeyOnDemand(engine: Engine, input: InputReader): Promise<Output> {
  const ref = readKeyId(input);
  input.done();
  const { KeyId } = await engine.resolve(ref);
  await engine.rotate(KeyId, 'ON_DEMAND', (key) => requireConfigurableRotation(engine, key, 'RotateKeyOnDemand'));
  return { KeyId };
}
