/**
 * What the asymmetric families share: a WebCrypto key pair made extractable for one moment to
 * export the private key as PKCS#8 (the raw material the protector seals, then wiped) and the
 * public key as SubjectPublicKeyInfo (kept in the version record: it is public).
 */
export async function generatePkcs8(algorithm: EcKeyGenParams | Algorithm, usages: globalThis.KeyUsage[]): Promise<Uint8Array> {
  const pair = (await crypto.subtle.generateKey(algorithm, true, usages)) as CryptoKeyPair;
  return new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey));
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
