/** What GenerateMac and VerifyMac share: reading the request, and the checks of the key and algorithm. */
import { authorize, requestAliasOf, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import { familyOf, hmacFamily, MAC_ALGORITHMS, macAlgorithmOf, type MacAlgorithm } from '../../key-specs/index.js';
import type { KeyRecord } from '../../model.js';
import type { InputReader } from '../../validate.js';
import { dryRun, readGrantTokens, readKeyId } from '../common.js';

export interface MacRequest {
  key: KeyRecord;
  message: Uint8Array;
  algorithm: MacAlgorithm;
  /** The current version's HMAC CryptoKey (HMAC keys have one version). */
  cryptoKey: CryptoKey;
}

/** Reads KeyId, Message, MacAlgorithm (and `extra`), resolves and authorizes the key, and checks it. */
export async function macRequest(
  engine: Engine,
  input: InputReader,
  ctx: OperationContext,
  action: 'GenerateMac' | 'VerifyMac',
  extra: () => void = () => undefined,
): Promise<MacRequest & { input: InputReader }> {
  const ref = readKeyId(input);
  const message = input.blob('Message', { required: true, min: 1, max: 4096 });
  const algorithm = input.enumValue('MacAlgorithm', MAC_ALGORITHMS, { required: true }) as MacAlgorithm;
  extra();
  readGrantTokens(input);
  input.bool('DryRun');
  input.done();
  const key = await engine.resolve(ref, { allowAlias: true, caller: ctx.caller });
  authorize(engine, ctx, { action, key, requestAlias: requestAliasOf(ref), conditions: { 'kms:macalgorithm': algorithm } });
  engine.requireEnabled(key);
  if (key.KeyUsage !== 'GENERATE_VERIFY_MAC' || familyOf(key.KeySpec) !== hmacFamily) {
    throw new KmsError('InvalidKeyUsageException', `${engine.keyArn(key.KeyId)} key usage is ${key.KeyUsage} which is not valid for ${action}.`);
  }
  if (macAlgorithmOf(key.KeySpec) !== algorithm) {
    throw new KmsError('InvalidKeyUsageException', `Algorithm ${algorithm} is incompatible with key spec ${key.KeySpec}.`);
  }
  dryRun(input);
  const cryptoKey = (engine.currentMaterialNow(key) ?? (await engine.currentMaterial(key))).key;
  return { key, message, algorithm, cryptoKey, input };
}
