/** CreateKey: a customer managed key of a spec a key family implements, with its first key material version. */
import type { Engine } from '../../engine.js';
import { bytesRefused } from '../../material.js';
import { defaultKeyPolicy, DEFAULT_ROTATION_PERIOD_DAYS } from '../../engine.js';
import { KmsError } from '../../errors.js';
import { keyMetadata } from '../../metadata.js';
import { CUSTOMER_MASTER_KEY_SPECS, KEY_SPECS, KEY_USAGES, ORIGINS, type KeyRecord } from '../../model.js';
import type { InputReader } from '../../validate.js';
import { checkTags } from '../tags/tag-rules.js';
import type { Output } from '../common.js';
import { checkNewPolicy, readPolicy } from '../policies/policy-document.js';
import { authorize, type OperationContext } from '../../auth/authorize.js';
import { randomMrkId, randomUuid } from '../../bytes.js';
import { familyOf } from '../../key-specs/index.js';

export async function createKey(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const policy = readPolicy(input, 'Policy', false);
  const description = input.string('Description', { min: 0, max: 8192 }) ?? '';
  const usage = input.enumValue('KeyUsage', KEY_USAGES);
  const cmkSpec = input.enumValue('CustomerMasterKeySpec', CUSTOMER_MASTER_KEY_SPECS);
  const keySpec = input.enumValue('KeySpec', KEY_SPECS);
  const origin = input.enumValue('Origin', ORIGINS) ?? 'AWS_KMS';
  const customKeyStoreId = input.string('CustomKeyStoreId', { min: 1, max: 64 });
  const bypass = input.bool('BypassPolicyLockoutSafetyCheck') ?? false;
  const tags = input.tags('Tags') ?? [];
  const multiRegion = input.bool('MultiRegion') ?? false;
  input.string('XksKeyId', { min: 1, max: 128 });
  input.done();
  authorize(engine, ctx, { action: 'CreateKey' });

  if (keySpec !== undefined && cmkSpec !== undefined) {
    throw new KmsError('ValidationException', 'You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.');
  }
  const spec = keySpec ?? cmkSpec ?? 'SYMMETRIC_DEFAULT';
  if (usage === undefined && spec !== 'SYMMETRIC_DEFAULT') {
    throw new KmsError('ValidationException', 'You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.');
  }
  const keyUsage = usage ?? 'ENCRYPT_DECRYPT';
  const family = familyOf(spec);
  if (family && !family.usages(spec).includes(keyUsage)) {
    throw new KmsError('ValidationException', `KeyUsage ${keyUsage} is not compatible with KeySpec ${spec}`);
  }
  if (!family) {
    throw new KmsError(
      'UnsupportedOperationException',
      `KeySpec ${spec} is not supported by edge-kms (SM2 keys are for AWS's China Regions); every other KeySpec is.`,
    );
  }
  if (family.bytes?.(spec, keyUsage) === 'only' && !engine.protector.keepsBytes) throw bytesRefused(spec);
  if (origin !== 'AWS_KMS' && origin !== 'EXTERNAL') {
    throw new KmsError(
      'UnsupportedOperationException',
      `Origin ${origin} (a custom key store) is not supported by edge-kms; AWS_KMS and EXTERNAL keys can be created.`,
    );
  }
  if (customKeyStoreId !== undefined) {
    throw new KmsError('UnsupportedOperationException', 'Custom key stores are not supported by edge-kms.');
  }
  checkTags(tags);
  const keyId = multiRegion ? randomMrkId() : randomUuid();
  if (policy !== undefined) checkNewPolicy(engine, ctx, policy, keyId, bypass);

  const rotateByDefault = engine.rotationPolicy.enabledByDefault;
  const key = await engine.createKey(
    {
      Description: description,
      KeyUsage: keyUsage,
      KeySpec: spec,
      Origin: origin,
      KeyManager: 'CUSTOMER',
      KeyState: 'Enabled',
      MultiRegion: multiRegion,
      Rotation:
        rotateByDefault && family.rotatable({ KeyUsage: keyUsage, Origin: origin } as KeyRecord)
          ? { Enabled: true, PeriodInDays: DEFAULT_ROTATION_PERIOD_DAYS, AnchorDate: engine.now() }
          : { Enabled: false },
      Tags: tags,
      Policy: policy ?? defaultKeyPolicy(engine.accountId, engine.partition),
    },
    [],
    keyId,
  );
  return { KeyMetadata: keyMetadata(engine, key) };
}
