/** DescribeKey: by key id, key ARN, alias name or alias ARN. */
import type { Engine } from '../engine.js';
import { keyMetadata } from '../metadata.js';
import type { InputReader } from '../validate.js';
import { readKeyId, type Output } from './shared.js';
import { readGrantTokens } from '../symmetric.js';

export async function describeKey(engine: Engine, input: InputReader): Promise<Output> {
  const ref = readKeyId(input);
  readGrantTokens(input);
  input.done();
  const key = await engine.resolve(ref, { allowAlias: true, createAwsManaged: true });
  return { KeyMetadata: keyMetadata(engine, key) };
}
