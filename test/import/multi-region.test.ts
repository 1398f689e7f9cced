/**
 * Multi-Region keys with imported key material (issue 18): the replica is made without material
 * and imports the primary's with EXISTING_KEY_MATERIAL; new material imported into the primary
 * is PENDING_MULTI_REGION_IMPORT_AND_ROTATION until every replica has it, and RotateKeyOnDemand
 * waits for that; then every Region encrypts with it and decrypts everything older.
 */
import { createKms, createTestClock } from '@edge-kms/core';
import { expect, it } from 'vitest';
import { wrapKeyMaterial, testMaterial } from '../helpers/import-wrap.js';
it("replicas import the primary's materials themselves; rotation waits for every Region", async () => {
  const kms = createKms({ clock: createTestClock() });
  const east = kms.inRegion('us-east-1');
  const west = kms.inRegion('eu-west-1');
  const imp = async (k: ReturnType<typeof kms.inRegion>, id: string, material: Uint8Array, extra = {}) => {
    const p = (await k.execute('GetParametersForImport', { KeyId: id, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' })) as any;
    return k.execute('ImportKeyMaterial', {
      KeyId: id,
      ImportToken: p.ImportToken,
      EncryptedKeyMaterial: wrapKeyMaterial(p.PublicKey, 'RSAES_OAEP_SHA_256', material),
      ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      ...extra,
    }) as Promise<any>;
  };
  const id = ((await east.execute('CreateKey', { Origin: 'EXTERNAL', MultiRegion: true })) as any).KeyMetadata.KeyId;
  const m1 = testMaterial('SYMMETRIC_DEFAULT').material;
  await imp(east, id, m1);
  const rep = (await east.execute('ReplicateKey', { KeyId: id, ReplicaRegion: 'eu-west-1' })) as any;
  expect(rep.ReplicaKeyMetadata.KeyState).toBe('Creating');
  expect(((await west.execute('DescribeKey', { KeyId: id })) as any).KeyMetadata.KeyState).toBe('PendingImport');
  const c1 = (await east.execute('Encrypt', { KeyId: id, Plaintext: new Uint8Array([1]) })) as any;
  await expect(west.execute('Decrypt', { CiphertextBlob: c1.CiphertextBlob })).rejects.toMatchObject({ code: 'KMSInvalidStateException' });
  await expect(imp(west, id, testMaterial('SYMMETRIC_DEFAULT').material)).rejects.toMatchObject({ code: 'IncorrectKeyMaterialException' });
  await imp(west, id, m1);
  expect(((await west.execute('Decrypt', { CiphertextBlob: c1.CiphertextBlob })) as any).Plaintext).toEqual(new Uint8Array([1]));
  // new material on primary
  const m2 = testMaterial('SYMMETRIC_DEFAULT').material;
  await expect(imp(west, id, m2, { ImportType: 'NEW_KEY_MATERIAL' })).rejects.toMatchObject({ code: 'UnsupportedOperationException' });
  const r2 = await imp(east, id, m2, { ImportType: 'NEW_KEY_MATERIAL' });
  const states = async (k: typeof east) =>
    ((await k.execute('ListKeyRotations', { KeyId: id, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' })) as any).Rotations.map((r: any) => r.KeyMaterialState);
  expect(await states(east)).toEqual(['CURRENT', 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION']);
  expect(((await west.execute('DescribeKey', { KeyId: id })) as any).KeyMetadata.KeyState).toBe('Enabled');
  await expect(east.execute('RotateKeyOnDemand', { KeyId: id })).rejects.toMatchObject({ code: 'KMSInvalidStateException' });
  await imp(west, id, m2);
  expect(await states(east)).toEqual(['CURRENT', 'PENDING_ROTATION']);
  await east.execute('RotateKeyOnDemand', { KeyId: id });
  const c2 = (await west.execute('Encrypt', { KeyId: id, Plaintext: new Uint8Array([2]) })) as any;
  const d2 = (await east.execute('Decrypt', { CiphertextBlob: c2.CiphertextBlob })) as any;
  expect(d2.KeyMaterialId).toBe(r2.KeyMaterialId);
  expect(((await east.execute('Decrypt', { CiphertextBlob: c1.CiphertextBlob })) as any).Plaintext).toEqual(new Uint8Array([1]));
  expect(await states(west)).toEqual(['NON_CURRENT', 'CURRENT']);
  expect(((await west.execute('Decrypt', { CiphertextBlob: c1.CiphertextBlob })) as any).Plaintext).toEqual(new Uint8Array([1]));
  // Each Region's material is its own: deleting it in the replica leaves the primary usable.
  await west.execute('DeleteImportedKeyMaterial', { KeyId: id });
  expect(((await west.execute('DescribeKey', { KeyId: id })) as any).KeyMetadata.KeyState).toBe('PendingImport');
  expect(((await east.execute('Decrypt', { CiphertextBlob: c2.CiphertextBlob })) as any).KeyMaterialId).toBe(r2.KeyMaterialId);
});
