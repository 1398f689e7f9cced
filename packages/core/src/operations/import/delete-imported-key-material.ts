/**
 * DeleteImportedKeyMaterial: the key's current imported material (or the one KeyMaterialId names)
 * is deleted; the key is PendingImport until the same material is imported again, which brings
 * back every ciphertext made under it. The version record keeps its KeyMaterialId for that.
 */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import type { InputReader } from '../../validate.js';
import { readKeyId, type Output } from '../common.js';
import { KEY_MATERIAL_ID, requireExternal } from './import-shared.js';

export async function deleteImportedKeyMaterial(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  const named = input.string('KeyMaterialId', { min: 64, max: 64 });
  if (named !== undefined && !KEY_MATERIAL_ID.test(named)) input.invalid('KeyMaterialId', named, 'Member must satisfy regular expression pattern: ^[a-f0-9]+$');
  input.done();
  const resolved = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'DeleteImportedKeyMaterial', key: resolved });
  requireExternal(engine, resolved);
  // Allowed while the key is pending deletion (it stays so), as in AWS.
  const deleted = await engine.mutateKey(resolved.KeyId, async (key) => {
    const id = named ?? (key.CurrentVersion > 0 ? key.CurrentKeyMaterialId : undefined);
    const m = id === undefined ? undefined : key.Imported?.[id];
    if (id === undefined || !m) {
      throw new KmsError(
        'NotFoundException',
        named ? `Key material ${named} is not found for the key: ${engine.keyArn(key.KeyId)}.` : `${engine.keyArn(key.KeyId)} has no key material to delete.`,
      );
    }
    if (m.ImportState !== 'IMPORTED') return { result: id };
    return { ...(await engine.deleteImported(key, [id])), result: id };
  });
  engine.forgetMaterial(resolved.KeyId);
  return { KeyId: engine.keyArn(resolved.KeyId), KeyMaterialId: deleted };
}
