/** DeleteAlias. */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import { retryOnConflict } from '../../store/retry.js';
import type { InputReader } from '../../validate.js';
import type { Output } from '../common.js';
import { checkCustomerAliasName, readAliasName } from './alias-rules.js';

export async function deleteAlias(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const name = readAliasName(input);
  input.done();
  checkCustomerAliasName(engine, name);
  await engine.withLock(`alias:${name}`, () =>
    retryOnConflict(async () => {
      const current = await engine.store.getAlias(name);
      if (!current) throw new KmsError('NotFoundException', `Alias ${engine.aliasArn(name)} is not found.`);
      const target = await engine.store.getKey(current.TargetKeyId);
      if (target) authorize(engine, ctx, { action: 'DeleteAlias', key: target });
      await engine.store.commit([{ type: 'deleteAlias', aliasName: name, expectTarget: current.TargetKeyId }]);
    }),
  );
  return {};
}
