/** CancelKeyDeletion: the key leaves PendingDeletion (or PendingReplicaDeletion) and returns Disabled, as in AWS. */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import type { KeyRecord } from '../../model.js';
import { withImported } from '../../imported-material.js';
import type { InputReader } from '../../validate.js';
import { readKeyId, type Output } from '../common.js';

export async function cancelKeyDeletion(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  input.done();
  const resolved = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'CancelKeyDeletion', key: resolved });
  const { KeyId } = resolved;
  await engine.mutateKey(KeyId, (key) => {
    engine.requireCustomerManaged(key, 'CancelKeyDeletion');
    if (key.KeyState !== 'PendingDeletion' && key.KeyState !== 'PendingReplicaDeletion') {
      throw new KmsError('KMSInvalidStateException', `${engine.keyArn(key.KeyId)} is not pending deletion.`);
    }
    let next: KeyRecord = { ...key, KeyState: 'Disabled' };
    delete next.DeletionDate;
    delete next.PendingDeletionWindowInDays;
    // A key with imported material comes back Disabled only if it has all of it; else PendingImport.
    if (key.Origin === 'EXTERNAL') next = withImported(next, key.Imported ?? {});
    return { next, result: undefined };
  });
  return { KeyId: engine.keyArn(KeyId) };
}
