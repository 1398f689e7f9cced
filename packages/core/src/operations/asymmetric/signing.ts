/** What Sign and Verify share: reading the request, the key, algorithm and message-type checks, AWS's errors. */
import { authorize, requestAliasOf, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import { wipe } from '../../bytes.js';
import { signWith, verifyWith } from '../../crypto-provider.js';
import { derToP1363, familyOf, type MessageType, p1363ToDer, rsaFamily, type SigningAlgorithm } from '../../key-specs/index.js';
import { type RsaDigestAlgorithm, rsaDigestSign, rsaDigestVerify } from '../../key-specs/rsa-digest.js';
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
  algorithm: SigningAlgorithm;
  /** The signature of the request's message, in AWS's encoding (DER for ECDSA). */
  sign(): Promise<Uint8Array>;
  /** Whether `signature` is the key's over the request's message; false for anything malformed. */
  verify(signature: Uint8Array): Promise<boolean>;
}

const unsupported = (key: KeyRecord, algorithm: string, type: MessageType) =>
  new KmsError(
    'UnsupportedOperationException',
    `The key material of ${key.KeySpec} key ${key.KeyId} is kept as non-extractable CryptoKeys only, which cannot sign ${algorithm} with MessageType ${type}. Keys created in a store that keeps their bytes (the default) can.`,
  );

/** AWS's message when a message type does not fit the algorithm. */
function typeMismatch(algorithm: string, type: MessageType, allowed: readonly MessageType[]): KmsError {
  if (type === 'EXTERNAL_MU') return new KmsError('ValidationException', `MessageType EXTERNAL_MU is valid only for ML_DSA_SHAKE_256, not ${algorithm}.`);
  if (allowed.length === 1) return new KmsError('ValidationException', `${algorithm} requires MessageType ${allowed[0]}.`);
  return new KmsError('ValidationException', `MessageType ${type} is not valid for ${algorithm}; use ${allowed.join(' or ')}.`);
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
  const family = familyOf(key.KeySpec);
  const signing = family?.signing?.(key.KeySpec);
  if (key.KeyUsage !== 'SIGN_VERIFY' || !family || !signing) {
    throw new KmsError('InvalidKeyUsageException', `${engine.keyArn(key.KeyId)} key usage is ${key.KeyUsage} which is not valid for ${action}.`);
  }
  const accepts = signing.accepts[algorithm];
  if (!signing.algorithms.includes(algorithm) || !accepts) {
    throw new KmsError('InvalidKeyUsageException', `Algorithm ${algorithm} is incompatible with key spec ${key.KeySpec}.`);
  }
  if (!accepts.types.includes(messageType)) throw typeMismatch(algorithm, messageType, accepts.types);
  if (messageType === 'DIGEST' && message.length !== accepts.digestBytes) {
    throw new KmsError('ValidationException', `Digest is invalid length for algorithm ${algorithm}.`);
  }
  if (messageType === 'EXTERNAL_MU' && message.length !== accepts.digestBytes) {
    throw new KmsError('ValidationException', `External mu is invalid length for algorithm ${algorithm}: it must be ${accepts.digestBytes} bytes.`);
  }
  dryRun(input);
  const material = engine.currentMaterialNow(key) ?? (await engine.currentMaterial(key));
  const how = signing.how[algorithm];
  const alg = algorithm as SigningAlgorithm;

  // WebCrypto: every RAW message it has the algorithm for (the hot path).
  if (messageType === 'RAW' && how) {
    const signingKey = material.variants?.[algorithm] ?? material.key;
    const verifyingKey = material.publicVariants?.[algorithm] ?? material.publicKey;
    const scalarBytes = how.scalarBytes;
    return {
      key,
      algorithm: alg,
      async sign() {
        if (!signingKey) throw unsupported(key, algorithm, messageType);
        const raw = await signWith(engine.crypto, how.params, signingKey, message);
        return scalarBytes ? p1363ToDer(raw) : raw;
      },
      async verify(signature) {
        const raw = scalarBytes ? derToP1363(signature, scalarBytes) : signature;
        return raw !== undefined && verifyingKey !== undefined && verifyWith(engine.crypto, how.params, verifyingKey, raw, message);
      },
    };
  }
  const spki = material.spki;
  // RSA over a DIGEST: our encoding, the provider's private-key operation (decision 0008).
  if (family === rsaFamily) {
    const rsaAlg = algorithm as RsaDigestAlgorithm;
    const signingKey = material.variants?.[algorithm];
    return {
      key,
      algorithm: alg,
      async sign() {
        if (!signingKey) throw unsupported(key, algorithm, messageType);
        return rsaDigestSign(engine.crypto, signingKey, rsaAlg, message, (signingKey.algorithm as RsaHashedKeyAlgorithm).modulusLength);
      },
      verify: async (signature) => spki !== undefined && rsaDigestVerify(spki, rsaAlg, message, signature),
    };
  }
  // @noble, over the material opened as bytes for this call (secp256k1, ML-DSA, DIGEST, Ed25519ph).
  const { signBytes, verifyBytes } = family;
  if (!signBytes || !verifyBytes) throw new Error(`${family.name} keys cannot sign ${algorithm} ${messageType}`);
  return {
    key,
    algorithm: alg,
    async sign() {
      if (!material.bytes) throw unsupported(key, algorithm, messageType);
      const raw = await material.bytes();
      try {
        return await signBytes(key.KeySpec, algorithm, messageType, raw, message);
      } finally {
        wipe(raw);
      }
    },
    verify: async (signature) => spki !== undefined && (await verifyBytes(key.KeySpec, algorithm, messageType, spki, message, signature)),
  };
}
