/** KeyMetadata as AWS returns it from CreateKey and DescribeKey. */
import type { Engine } from './engine.js';
import type { KeyRecord } from './model.js';

export function encryptionAlgorithmsFor(key: KeyRecord): string[] | undefined {
  if (key.KeyUsage !== 'ENCRYPT_DECRYPT') return undefined;
  if (key.KeySpec === 'SYMMETRIC_DEFAULT') return ['SYMMETRIC_DEFAULT'];
  if (key.KeySpec.startsWith('RSA_')) return ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'];
  return undefined;
}

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
    CustomerMasterKeySpec: key.KeySpec,
    KeySpec: key.KeySpec,
    MultiRegion: key.MultiRegion,
  };
  if (key.DeletionDate !== undefined) md.DeletionDate = new Date(key.DeletionDate);
  if (key.PendingDeletionWindowInDays !== undefined) md.PendingDeletionWindowInDays = key.PendingDeletionWindowInDays;
  const algs = encryptionAlgorithmsFor(key);
  if (algs) md.EncryptionAlgorithms = algs;
  if (key.KeySpec === 'SYMMETRIC_DEFAULT' && key.Origin !== 'EXTERNAL_KEY_STORE') md.CurrentKeyMaterialId = key.CurrentKeyMaterialId;
  return md;
}
