/** DescribeKey: by key id, key ARN, alias name or alias ARN. */
import { authorize, requestAliasOf, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { keyMetadata } from '../../metadata.js';
import type { InputReader } from '../../validate.js';
import { readKeyId, type Output } from '../common.js';
import { readGrantTokens } from '../common.js';

export async function describeKey(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  readGrantTokens(input);
  input.done();
  const key = await engine.resolve(ref, { allowAlias: true, createAwsManaged: true, caller: ctx.caller });
  authorize(engine, ctx, { action: 'DescribeKey', key, requestAlias: requestAliasOf(ref) });
  return { KeyMetadata: keyMetadata(engine, key) };
}
