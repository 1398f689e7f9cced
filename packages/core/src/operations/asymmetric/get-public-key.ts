/** GetPublicKey: an asymmetric key's public key (DER SubjectPublicKeyInfo) with its spec, usage and algorithms. */
import { authorize, requestAliasOf, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import { familyOfKey } from '../../key-specs/index.js';
import { CUSTOMER_MASTER_KEY_SPECS } from '../../model.js';
import type { InputReader } from '../../validate.js';
import { readGrantTokens, readKeyId, type Output } from '../common.js';

export async function getPublicKey(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  readGrantTokens(input);
  input.done();
  const key = await engine.resolve(ref, { allowAlias: true, caller: ctx.caller });
  authorize(engine, ctx, { action: 'GetPublicKey', key, requestAlias: requestAliasOf(ref) });
  engine.requireEnabled(key);
  const family = familyOfKey(key);
  if (!family.publicKeyOf) {
    throw new KmsError(
      'UnsupportedOperationException',
      `${engine.keyArn(key.KeyId)} is not an asymmetric KMS key. GetPublicKey is supported only on asymmetric KMS keys.`,
    );
  }
  const material = engine.currentMaterialNow(key) ?? (await engine.currentMaterial(key));
  if (!material.spki) throw new KmsError('KMSInvalidStateException', `${engine.keyArn(key.KeyId)} has no public key in its key material version.`);
  return {
    KeyId: engine.keyArn(key.KeyId),
    PublicKey: new Uint8Array(material.spki),
    ...(CUSTOMER_MASTER_KEY_SPECS.includes(key.KeySpec) && { CustomerMasterKeySpec: key.KeySpec }),
    KeySpec: key.KeySpec,
    KeyUsage: key.KeyUsage,
    ...family.metadata(key),
  };
}
