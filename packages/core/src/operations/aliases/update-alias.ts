/** UpdateAlias: points an alias at another key of the same spec and usage. */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import type { InputReader } from '../../validate.js';
import { readKeyId, type Output } from '../common.js';
import { checkCustomerAliasName, checkTarget, commitAlias, readAliasName } from './alias-rules.js';

export async function updateAlias(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const name = readAliasName(input);
  const targetRef = readKeyId(input, 'TargetKeyId');
  input.done();
  checkCustomerAliasName(engine, name);
  const target = await engine.resolve(targetRef, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'UpdateAlias', key: target });
  checkTarget(engine, target);
  await commitAlias(engine, name, async (current) => {
    if (!current) throw new KmsError('NotFoundException', `Alias ${engine.aliasArn(name)} is not found.`);
    const old = await engine.store.getKey(current.TargetKeyId);
    if (old) authorize(engine, ctx, { action: 'UpdateAlias', key: old });
    if (old && (old.KeySpec !== target.KeySpec || old.KeyUsage !== target.KeyUsage)) {
      throw new KmsError(
        'ValidationException',
        `The new target key ${engine.keyArn(target.KeyId)} must have the same key spec and key usage as the current target.`,
      );
    }
    return { alias: { ...current, TargetKeyId: target.KeyId, LastUpdatedDate: engine.now() }, expect: current.TargetKeyId };
  });
  return {};
}
