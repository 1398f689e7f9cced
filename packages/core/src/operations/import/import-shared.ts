/** What the import operations share: AWS's check that a key holds imported material. */
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import type { KeyRecord } from '../../model.js';

/** AWS's answer for a key whose material is not imported. */
export function requireExternal(engine: Engine, key: KeyRecord): void {
  if (key.Origin !== 'EXTERNAL') {
    throw new KmsError('UnsupportedOperationException', `${engine.keyArn(key.KeyId)} origin is ${key.Origin} which is not valid for this operation.`);
  }
}

/** KeyMaterialId on the wire: 64 hex digits (AWS's BackingKeyIdType). */
export const KEY_MATERIAL_ID = /^[a-f0-9]{64}$/;
