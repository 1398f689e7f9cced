/**
 * What the asymmetric families share: a WebCrypto key pair made extractable for one moment to
 * export the private key as PKCS#8 (the raw material the protector seals, then wiped) and the
 * public key as SubjectPublicKeyInfo (kept in the version record: it is public).
 */
import { KmsError } from '../errors.js';

/**
 * RSA key generation is slow (an RSA-4096 key can take a second) and runs on the runtime's
 * crypto thread pool, which every AES-GCM call of Encrypt and Decrypt shares: one generation at a
 * time, a few waiting, and ThrottlingException beyond (AWS throttles RSA key pairs hard too), so
 * that a burst of RSA CreateKey / GenerateDataKeyPair calls cannot stall every other request.
 */
const RSA_QUEUE_LIMIT = 4;
let rsaRunning: Promise<unknown> = Promise.resolve();
let rsaWaiting = 0;

function isRsa(algorithm: EcKeyGenParams | RsaHashedKeyGenParams | Algorithm): boolean {
  return algorithm.name.startsWith('RSA');
}

/** How many requests' RSA generations are running or waiting at the gate (a background pool fills only at 0). */
export function rsaGenerationsWaiting(): number {
  return rsaWaiting;
}

/** A fresh key pair's private key as PKCS#8 and public key as SPKI (no JWK, no private part in JavaScript strings). */
export async function generateKeyPair(
  algorithm: EcKeyGenParams | RsaHashedKeyGenParams | Algorithm,
  usages: globalThis.KeyUsage[],
  options: { background?: boolean } = {},
): Promise<{ pkcs8: Uint8Array; spki: Uint8Array }> {
  const make = async () => {
    const pair = (await crypto.subtle.generateKey(algorithm, true, usages)) as CryptoKeyPair;
    const [pkcs8, spki] = await Promise.all([crypto.subtle.exportKey('pkcs8', pair.privateKey), crypto.subtle.exportKey('spki', pair.publicKey)]);
    return { pkcs8: new Uint8Array(pkcs8), spki: new Uint8Array(spki) };
  };
  if (!isRsa(algorithm)) return make();
  // A background generation (a pool refilling) queues like any other but takes no request's
  // place in the limit: only requests are throttled, by requests.
  const background = options.background === true;
  if (!background && rsaWaiting >= RSA_QUEUE_LIMIT)
    throw new KmsError('ThrottlingException', 'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.');
  if (!background) rsaWaiting++;
  const mine = rsaRunning.then(make, make);
  rsaRunning = mine.catch(() => undefined);
  try {
    return await mine;
  } finally {
    if (!background) rsaWaiting--;
  }
}

export async function generatePkcs8(algorithm: EcKeyGenParams | RsaHashedKeyGenParams | Algorithm, usages: globalThis.KeyUsage[]): Promise<Uint8Array> {
  return (await generateKeyPair(algorithm, usages)).pkcs8;
}

/** The SPKI DER of the public half of a PKCS#8 private key (through its JWK: drop the private part). */
export async function spkiOf(
  pkcs8: Uint8Array,
  algorithm: EcKeyImportParams | Algorithm,
  privateUsage: globalThis.KeyUsage,
  publicUsage: globalThis.KeyUsage,
): Promise<Uint8Array> {
  const priv = await crypto.subtle.importKey('pkcs8', pkcs8 as BufferSource, algorithm, true, [privateUsage]);
  const jwk = await crypto.subtle.exportKey('jwk', priv);
  for (const k of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) delete jwk[k];
  jwk.key_ops = [publicUsage];
  const pub = await crypto.subtle.importKey('jwk', jwk, algorithm, true, [publicUsage]);
  return new Uint8Array(await crypto.subtle.exportKey('spki', pub));
}
