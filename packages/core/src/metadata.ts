/** KeyMetadata as AWS returns it from CreateKey and DescribeKey. */
import type { Engine } from './engine.js';
import { familyOfKey } from './key-specs/index.js';
import { CUSTOMER_MASTER_KEY_SPECS, type KeyRecord } from './model.js';
import { multiRegionConfiguration } from './multi-region.js';

export function keyMetadata(engine: Engine, key: KeyRecord): Record<string, unknown> {
  const md: Record<string, unknown> = {
    AWSAccountId: key.AccountId,
    KeyId: key.KeyId,
    Arn: engine.keyArn(key.KeyId),
    CreationDate: new Date(key.CreationDate),
    Enabled: key.KeyState === 'Enabled',
    Description: key.Description,
    KeyUsage: key.KeyUsage,
    KeyState: key.KeyState,
    Origin: key.Origin,
    KeyManager: key.KeyManager,
    ...(CUSTOMER_MASTER_KEY_SPECS.includes(key.KeySpec) && { CustomerMasterKeySpec: key.KeySpec }),
    KeySpec: key.KeySpec,
    MultiRegion: key.MultiRegion,
  };
  const multiRegion = multiRegionConfiguration(engine, key);
  if (multiRegion) md.MultiRegionConfiguration = multiRegion;
  if (key.DeletionDate !== undefined) md.DeletionDate = new Date(key.DeletionDate);
  if (key.PendingDeletionWindowInDays !== undefined) md.PendingDeletionWindowInDays = key.PendingDeletionWindowInDays;
  // The *Algorithms fields and CurrentKeyMaterialId: what they are depends on the key's family.
  Object.assign(md, familyOfKey(key).metadata(key));
  if (key.Origin === 'EXTERNAL') {
    // The current material's expiration (AWS: ExpirationModel and ValidTo only for imported keys).
    const current = key.CurrentVersion > 0 ? key.Imported?.[key.CurrentKeyMaterialId] : undefined;
    if (current?.ImportState === 'IMPORTED' && current.ExpirationModel) md.ExpirationModel = current.ExpirationModel;
    if (current?.ImportState === 'IMPORTED' && current.ValidTo !== undefined) md.ValidTo = new Date(current.ValidTo);
    if (key.CurrentVersion === 0) delete md.CurrentKeyMaterialId;
  }
  return md;
}
