/**
 * The engine's decoy key: a key record that is never stored and one AES-256-GCM key that
 * encrypts nothing. Decrypt takes a ciphertext that names no key through the steps of a forged
 * one under it, so that the time taken is no oracle for which keys exist (symmetric.ts).
 */
import { randomBytes, randomUuid, toHex } from './bytes.js';
import { defaultKeyPolicy } from './engine-config.js';
import type { OpenedMaterial } from './material-cache.js';
import type { KeyRecord } from './model.js';

/** The decoy key: a record that is never stored, and one material. */
export interface DecoyKey {
  record: KeyRecord;
  materials: OpenedMaterial[];
}

export async function makeDecoyKey(accountId: string, region: string, partition: string, now: number): Promise<DecoyKey> {
  const record: KeyRecord = {
    KeyId: randomUuid(),
    AccountId: accountId,
    Region: region,
    CreationDate: now,
    Description: '',
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeySpec: 'SYMMETRIC_DEFAULT',
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    KeyState: 'Enabled',
    MultiRegion: false,
    CurrentVersion: 0xffffffff,
    CurrentKeyMaterialId: toHex(randomBytes(32)),
    Rotation: { Enabled: false },
    OnDemandRotationCount: 0,
    Tags: [],
    Policy: defaultKeyPolicy(accountId, partition),
    Revision: 1,
  };
  const key = (await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])) as CryptoKey;
  return { record, materials: [{ key, keyMaterialId: record.CurrentKeyMaterialId }] };
}
