/**
 * DeriveSharedSecret: ECDH between a KEY_AGREEMENT key on a NIST curve and a peer's public key
 * (DER SubjectPublicKeyInfo on the same curve; anything else is a ValidationException, as AWS
 * checks). Answers the raw shared secret (the x coordinate, the curve's size), the algorithm and
 * the key's origin.
 */
import { authorize, requestAliasOf, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import { ECDH_BITS, ecdhOf, eccFamily, familyOf } from '../../key-specs/index.js';
import type { InputReader } from '../../validate.js';
import { dryRun, readGrantTokens, readKeyId, type Output } from '../common.js';

export async function deriveSharedSecret(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  const algorithm = input.enumValue('KeyAgreementAlgorithm', ['ECDH'] as const, { required: true });
  const peer = input.blob('PublicKey', { required: true, min: 1, max: 8192 });
  readGrantTokens(input);
  input.bool('DryRun');
  const recipient = input.raw.Recipient;
  input.done();
  if (recipient !== undefined && recipient !== null) {
    throw new KmsError('UnsupportedOperationException', 'Recipient (attested enclave) requests are not supported by edge-kms.');
  }
  const key = await engine.resolve(ref, { allowAlias: true, caller: ctx.caller });
  authorize(engine, ctx, { action: 'DeriveSharedSecret', key, requestAlias: requestAliasOf(ref), conditions: { 'kms:keyagreementalgorithm': algorithm } });
  engine.requireEnabled(key);
  const bits = ECDH_BITS[key.KeySpec];
  if (key.KeyUsage !== 'KEY_AGREEMENT' || familyOf(key.KeySpec) !== eccFamily || bits === undefined) {
    throw new KmsError('InvalidKeyUsageException', `${engine.keyArn(key.KeyId)} key usage is ${key.KeyUsage} which is not valid for DeriveSharedSecret.`);
  }
  const notAKey = () =>
    new KmsError('ValidationException', `The public key is not a DER-encoded SubjectPublicKeyInfo of a point on the curve of ${key.KeySpec}.`);
  let peerKey: CryptoKey;
  try {
    // Only the canonical encoding: the SPKI WebCrypto exports again, byte for byte (no trailing
    // bytes, no explicit curve parameters, an uncompressed point), in every runtime alike.
    const imported = await crypto.subtle.importKey('spki', peer as BufferSource, ecdhOf(key.KeySpec), true, []);
    const canonical = new Uint8Array(await crypto.subtle.exportKey('spki', imported));
    if (canonical.length !== peer.length || canonical.some((b, i) => b !== peer[i])) throw notAKey();
    peerKey = imported;
  } catch {
    throw notAKey();
  }
  dryRun(input);
  const material = engine.currentMaterialNow(key) ?? (await engine.currentMaterial(key));
  let secret: ArrayBuffer;
  try {
    secret = await crypto.subtle.deriveBits({ name: 'ECDH', public: peerKey }, material.key!, bits);
  } catch {
    throw new KmsError('ValidationException', `The public key is not a valid point on the curve of ${key.KeySpec}.`);
  }
  return { KeyId: engine.keyArn(key.KeyId), SharedSecret: new Uint8Array(secret), KeyAgreementAlgorithm: algorithm, KeyOrigin: key.Origin };
}
