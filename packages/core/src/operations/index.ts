/**
 * The operation registry: TrentService operation name -> implementation, one file an operation,
 * in folders by what they work on. The protocol function (kms.ts execute) dispatches through it;
 * the MSW mock serves whatever it holds; the client's typed operation list (@edge-kms/client
 * KmsOperations) is checked against it at compile time (test/types/operation-registry.ts).
 * Adding an operation is one file and one line here.
 */
import type { OperationContext } from '../auth/authorize.js';
import type { Engine } from '../engine.js';
import type { InputReader } from '../validate.js';
import { createAlias } from './aliases/create-alias.js';
import { deleteAlias } from './aliases/delete-alias.js';
import { listAliases } from './aliases/list-aliases.js';
import { updateAlias } from './aliases/update-alias.js';
import type { Output } from './common.js';
import { createGrant } from './grants/create-grant.js';
import { listGrants } from './grants/list-grants.js';
import { listRetirableGrants } from './grants/list-retirable-grants.js';
import { retireGrant } from './grants/retire-grant.js';
import { revokeGrant } from './grants/revoke-grant.js';
import { cancelKeyDeletion } from './management/cancel-key-deletion.js';
import { createKey } from './management/create-key.js';
import { deleteImportedKeyMaterial } from './import/delete-imported-key-material.js';
import { getParametersForImport } from './import/get-parameters-for-import.js';
import { importKeyMaterial } from './import/import-key-material.js';
import { describeKey } from './management/describe-key.js';
import { disableKey } from './management/disable-key.js';
import { enableKey } from './management/enable-key.js';
import { listKeys } from './management/list-keys.js';
import { scheduleKeyDeletion } from './management/schedule-key-deletion.js';
import { updateKeyDescription } from './management/update-key-description.js';
import { deriveSharedSecret } from './asymmetric/derive-shared-secret.js';
import { getPublicKey } from './asymmetric/get-public-key.js';
import { sign } from './asymmetric/sign.js';
import { verify } from './asymmetric/verify.js';
import { generateMac } from './mac/generate-mac.js';
import { verifyMac } from './mac/verify-mac.js';
import { replicateKey } from './multi-region/replicate-key.js';
import { updatePrimaryRegion } from './multi-region/update-primary-region.js';
import { getKeyPolicy } from './policies/get-key-policy.js';
import { listKeyPolicies } from './policies/list-key-policies.js';
import { putKeyPolicy } from './policies/put-key-policy.js';
import { disableKeyRotation } from './rotation/disable-key-rotation.js';
import { enableKeyRotation } from './rotation/enable-key-rotation.js';
import { getKeyRotationStatus } from './rotation/get-key-rotation-status.js';
import { listKeyRotations } from './rotation/list-key-rotations.js';
import { rotateKeyOnDemand } from './rotation/rotate-key-on-demand.js';
import { decrypt } from './symmetric/decrypt.js';
import { encrypt } from './symmetric/encrypt.js';
import { generateDataKey } from './symmetric/generate-data-key.js';
import { generateDataKeyWithoutPlaintext } from './symmetric/generate-data-key-without-plaintext.js';
import { generateRandom } from './symmetric/generate-random.js';
import { generateDataKeyPair } from './symmetric/generate-data-key-pair.js';
import { generateDataKeyPairWithoutPlaintext } from './symmetric/generate-data-key-pair-without-plaintext.js';
import { reEncrypt } from './symmetric/re-encrypt.js';
import { listResourceTags } from './tags/list-resource-tags.js';
import { tagResource } from './tags/tag-resource.js';
import { untagResource } from './tags/untag-resource.js';

export type OperationHandler = (engine: Engine, input: InputReader, ctx: OperationContext) => Promise<Output>;

export const OPERATIONS = {
  // management
  CreateKey: createKey,
  DescribeKey: describeKey,
  ListKeys: listKeys,
  EnableKey: enableKey,
  DisableKey: disableKey,
  ScheduleKeyDeletion: scheduleKeyDeletion,
  CancelKeyDeletion: cancelKeyDeletion,
  UpdateKeyDescription: updateKeyDescription,
  // rotation
  EnableKeyRotation: enableKeyRotation,
  DisableKeyRotation: disableKeyRotation,
  GetKeyRotationStatus: getKeyRotationStatus,
  RotateKeyOnDemand: rotateKeyOnDemand,
  ListKeyRotations: listKeyRotations,
  // symmetric
  Encrypt: encrypt,
  Decrypt: decrypt,
  ReEncrypt: reEncrypt,
  GenerateDataKey: generateDataKey,
  GenerateDataKeyWithoutPlaintext: generateDataKeyWithoutPlaintext,
  GenerateRandom: generateRandom,
  GenerateDataKeyPair: generateDataKeyPair,
  GenerateDataKeyPairWithoutPlaintext: generateDataKeyPairWithoutPlaintext,
  // aliases
  CreateAlias: createAlias,
  UpdateAlias: updateAlias,
  DeleteAlias: deleteAlias,
  ListAliases: listAliases,
  // tags
  TagResource: tagResource,
  UntagResource: untagResource,
  ListResourceTags: listResourceTags,
  // policies
  GetKeyPolicy: getKeyPolicy,
  PutKeyPolicy: putKeyPolicy,
  ListKeyPolicies: listKeyPolicies,
  // asymmetric keys
  Sign: sign,
  Verify: verify,
  GetPublicKey: getPublicKey,
  DeriveSharedSecret: deriveSharedSecret,
  // HMAC keys
  GenerateMac: generateMac,
  VerifyMac: verifyMac,
  // imported key material
  GetParametersForImport: getParametersForImport,
  ImportKeyMaterial: importKeyMaterial,
  DeleteImportedKeyMaterial: deleteImportedKeyMaterial,
  // multi-Region keys
  ReplicateKey: replicateKey,
  UpdatePrimaryRegion: updatePrimaryRegion,
  // grants
  CreateGrant: createGrant,
  ListGrants: listGrants,
  ListRetirableGrants: listRetirableGrants,
  RetireGrant: retireGrant,
  RevokeGrant: revokeGrant,
} satisfies Record<string, OperationHandler>;

export type OperationName = keyof typeof OPERATIONS;

/** Every operation name, in registry order. */
export const OPERATION_NAMES = Object.keys(OPERATIONS) as OperationName[];

export function isOperationName(name: string): name is OperationName {
  return Object.hasOwn(OPERATIONS, name);
}
