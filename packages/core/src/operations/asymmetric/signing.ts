/** What Sign and Verify share: reading the request, the key, algorithm and message-type checks, AWS's errors. */
import { authorize, requestAliasOf, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import { familyOf, type SigningAlgorithm } from '../../key-specs/index.js';
import type { KeyRecord } from '../../model.js';
import type { InputReader } from '../../validate.js';
import { dryRun, readGrantTokens, readKeyId } from '../common.js';

export const SIGNING_ALGORITHMS = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
  'ECDSA_SHA_256',
  'ECDSA_SHA_384',
  'ECDSA_SHA_512',
  'SM2DSA',
  'ML_DSA_SHAKE_256',
  'ED25519_SHA_512',
  'ED25519_PH_SHA_512',
] as const;
const MESSAGE_TYPES = ['RAW', 'DIGEST', 'EXTERNAL_MU'] as const;

export interface SigningRequest {
  key: KeyRecord;
  message: Uint8Array;
  algorithm: SigningAlgorithm;
  /** WebCrypto's parameters for the algorithm. */
  params: AlgorithmIdentifier | EcdsaParams | RsaPssParams;
  /** r and s length of an ECDSA signature (DER conversion); undefined for Ed25519 and RSA. */
  scalarBytes?: number;
  /** The private CryptoKey for this algorithm, and the public one. */
  signingKey: CryptoKey;
  verifyingKey: CryptoKey | undefined;
}

export async function signingRequest(
  engine: Engine,
  input: InputReader,
  ctx: OperationContext,
  action: 'Sign' | 'Verify',
  extra: () => void = () => undefined,
): Promise<SigningRequest> {
  const ref = readKeyId(input);
  const message = input.blob('Message', { required: true, min: 1, max: 4096 });
  const messageType = input.enumValue('MessageType', MESSAGE_TYPES) ?? 'RAW';
  const algorithm = input.enumValue('SigningAlgorithm', SIGNING_ALGORITHMS, { required: true }) as (typeof SIGNING_ALGORITHMS)[number];
  extra();
  readGrantTokens(input);
  input.bool('DryRun');
  input.done();
  const key = await engine.resolve(ref, { allowAlias: true, caller: ctx.caller });
  authorize(engine, ctx, {
    action,
    key,
    requestAlias: requestAliasOf(ref),
    conditions: { 'kms:signingalgorithm': algorithm, 'kms:messagetype': messageType },
  });
  engine.requireEnabled(key);
  const signing = familyOf(key.KeySpec)?.signing?.(key.KeySpec);
  if (key.KeyUsage !== 'SIGN_VERIFY' || !signing) {
    throw new KmsError('InvalidKeyUsageException', `${engine.keyArn(key.KeyId)} key usage is ${key.KeyUsage} which is not valid for ${action}.`);
  }
  if (!signing.algorithms.includes(algorithm)) {
    throw new KmsError('InvalidKeyUsageException', `Algorithm ${algorithm} is incompatible with key spec ${key.KeySpec}.`);
  }
  const how = signing.how[algorithm];
  if (messageType === 'EXTERNAL_MU') throw new KmsError('ValidationException', `MessageType EXTERNAL_MU is valid only for ML_DSA_SHAKE_256, not ${algorithm}.`);
  if (algorithm === 'ED25519_SHA_512' && messageType !== 'RAW') throw new KmsError('ValidationException', 'ED25519_SHA_512 requires MessageType RAW.');
  if (messageType === 'DIGEST' && how && message.length !== how.digestBytes) {
    throw new KmsError('ValidationException', `Digest is invalid length for algorithm ${algorithm}.`);
  }
  if (!how || messageType === 'DIGEST') {
    throw new KmsError(
      'UnsupportedOperationException',
      `${algorithm} with MessageType ${messageType} is not supported by this edge-kms release (WebCrypto signs RAW messages only).`,
    );
  }
  dryRun(input);
  const material = engine.currentMaterialNow(key) ?? (await engine.currentMaterial(key));
  return {
    key,
    message,
    algorithm: algorithm as SigningAlgorithm,
    params: how.params,
    scalarBytes: how.scalarBytes,
    signingKey: material.variants?.[algorithm] ?? material.key,
    verifyingKey: material.publicVariants?.[algorithm] ?? material.publicKey,
  };
}
