/** The Enabled <-> Disabled transition EnableKey and DisableKey share. */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import type { KeyRecord } from '../../model.js';
import type { InputReader } from '../../validate.js';
import { readKeyId, type Output } from '../common.js';

export async function setState(engine: Engine, input: InputReader, ctx: OperationContext, op: string, state: 'Enabled' | 'Disabled'): Promise<Output> {
  const ref = readKeyId(input);
  input.done();
  const resolved = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: op, key: resolved });
  const { KeyId } = resolved;
  await engine.mutateKey(KeyId, (key) => {
    engine.requireCustomerManaged(key, op);
    engine.requireNotPendingDeletion(key);
    // A key without all of its imported material is neither enabled nor disabled until it has it.
    if (key.KeyState === 'PendingImport') throw engine.stateError(key);
    if (key.KeyState === state) return { result: undefined };
    const next: KeyRecord = { ...key, KeyState: state };
    return { next, result: undefined };
  });
  return {};
}
