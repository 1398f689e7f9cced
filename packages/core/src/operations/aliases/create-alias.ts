/** CreateAlias: a new alias for a customer managed key. */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import type { InputReader } from '../../validate.js';
import { readKeyId, type Output } from '../common.js';
import { checkCustomerAliasName, checkTarget, commitAlias, readAliasName } from './alias-rules.js';

export async function createAlias(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const name = readAliasName(input);
  const targetRef = readKeyId(input, 'TargetKeyId');
  input.done();
  checkCustomerAliasName(engine, name);
  const target = await engine.resolve(targetRef, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'CreateAlias', key: target });
  checkTarget(engine, target);
  await commitAlias(engine, name, async (current) => {
    if (current) throw new KmsError('AlreadyExistsException', `An alias with the name ${engine.aliasArn(name)} already exists`);
    const now = engine.now();
    return { alias: { AliasName: name, TargetKeyId: target.KeyId, CreationDate: now, LastUpdatedDate: now }, expect: null };
  });
  return {};
}
