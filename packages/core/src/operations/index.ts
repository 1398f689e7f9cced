/** The operation table: TrentService operation name -> implementation. */
import type { OperationContext } from '../auth/authorize.js';
import type { Engine } from '../engine.js';
import type { InputReader } from '../validate.js';
import { createAlias, deleteAlias, listAliases, updateAlias } from './aliases.js';
import { cancelKeyDeletion } from './cancel-key-deletion.js';
import { createKey } from './create-key.js';
import { decrypt } from './decrypt.js';
import { describeKey } from './describe-key.js';
import { disableKeyRotation } from './disable-key-rotation.js';
import { enableKeyRotation } from './enable-key-rotation.js';
import { encrypt } from './encrypt.js';
import { generateDataKey, generateDataKeyWithoutPlaintext } from './generate-data-key.js';
import { generateRandom } from './generate-random.js';
import { createGrant, listGrants, listRetirableGrants, retireGrant, revokeGrant } from './grants.js';
import { getKeyPolicy, listKeyPolicies, putKeyPolicy } from './key-policy.js';
import { getKeyRotationStatus } from './get-key-rotation-status.js';
import { disableKey, enableKey } from './key-state.js';
import { listKeyRotations } from './list-key-rotations.js';
import { listKeys } from './list-keys.js';
import { reEncrypt } from './re-encrypt.js';
import { rotateKeyOnDemand } from './rotate-key-on-demand.js';
import { scheduleKeyDeletion } from './schedule-key-deletion.js';
import type { Output } from './shared.js';
import { listResourceTags, tagResource, untagResource } from './tags.js';
import { updateKeyDescription } from './update-key-description.js';

export type OperationHandler = (engine: Engine, input: InputReader, ctx: OperationContext) => Promise<Output>;

export const OPERATIONS = {
  CancelKeyDeletion: cancelKeyDeletion,
  CreateAlias: createAlias,
  CreateGrant: createGrant,
  CreateKey: createKey,
  Decrypt: decrypt,
  DeleteAlias: deleteAlias,
  DescribeKey: describeKey,
  DisableKey: disableKey,
  DisableKeyRotation: disableKeyRotation,
  EnableKey: enableKey,
  EnableKeyRotation: enableKeyRotation,
  Encrypt: encrypt,
  GenerateDataKey: generateDataKey,
  GenerateDataKeyWithoutPlaintext: generateDataKeyWithoutPlaintext,
  GenerateRandom: generateRandom,
  GetKeyPolicy: getKeyPolicy,
  GetKeyRotationStatus: getKeyRotationStatus,
  ListAliases: listAliases,
  ListGrants: listGrants,
  ListKeyPolicies: listKeyPolicies,
  ListKeyRotations: listKeyRotations,
  ListKeys: listKeys,
  ListResourceTags: listResourceTags,
  ListRetirableGrants: listRetirableGrants,
  PutKeyPolicy: putKeyPolicy,
  ReEncrypt: reEncrypt,
  RetireGrant: retireGrant,
  RevokeGrant: revokeGrant,
  RotateKeyOnDemand: rotateKeyOnDemand,
  ScheduleKeyDeletion: scheduleKeyDeletion,
  TagResource: tagResource,
  UntagResource: untagResource,
  UpdateAlias: updateAlias,
  UpdateKeyDescription: updateKeyDescription,
} satisfies Record<string, OperationHandler>;

export type OperationName = keyof typeof OPERATIONS;

export function isOperationName(name: string): name is OperationName {
  return Object.prototype.hasOwnProperty.call(OPERATIONS, name);
}
