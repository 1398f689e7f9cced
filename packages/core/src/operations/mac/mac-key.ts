/** What GenerateMac and VerifyMac share: reading the request, and the checks of the key and algorithm. */
import { authorize, requestAliasOf, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { constantTimeEqual, wipe } from '../../bytes.js';
import { signWith, verifyWith } from '../../crypto-provider.js';
import { KmsError } from '../../errors.js';
import { familyOf, hmacFamily, MAC_ALGORITHMS, macAlgorithmOf, type MacAlgorithm } from '../../key-specs/index.js';
import type { KeyRecord } from '../../model.js';
import type { InputReader } from '../../validate.js';
import { dryRun, readGrantTokens, readKeyId } from '../common.js';

export interface MacRequest {
  key: KeyRecord;
  message: Uint8Array;
  algorithm: MacAlgorithm;
  /** The MAC of the message under the key's current (only) version. */
  mac(): Promise<Uint8Array>;
  /** Whether `mac` is the message's MAC, compared in constant time. */
  verify(mac: Uint8Array): Promise<boolean>;
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
  const material = engine.currentMaterialNow(key) ?? (await engine.currentMaterial(key));
  const cryptoKey = material.key;
  if (cryptoKey) {
    return {
      key,
      message,
      algorithm,
      input,
      mac: async () => signWith(engine.crypto, 'HMAC', cryptoKey, message),
      // WebCrypto's HMAC verify compares in constant time, and so must a provider's.
      verify: async (mac) => verifyWith(engine.crypto, 'HMAC', cryptoKey, mac, message),
    };
  }
  // HMAC_224: @noble/hashes over the material opened as bytes for the call.
  const family = hmacFamily;
  const opener = material.bytes;
  const macOf = async (): Promise<Uint8Array> => {
    if (!opener || !family.macBytes) throw new Error(`no way to open the material of ${key.KeySpec} key ${key.KeyId}`);
    const raw = await opener();
    try {
      return family.macBytes(key.KeySpec, raw, message);
    } finally {
      wipe(raw);
    }
  };
  return {
    key,
    message,
    algorithm,
    input,
    mac: macOf,
    async verify(mac) {
      const expected = await macOf();
      try {
        return constantTimeEqual(expected, mac);
      } finally {
        wipe(expected);
      }
    },
  };
}
