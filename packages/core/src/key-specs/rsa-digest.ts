/**
 * RSA Sign and Verify of a DIGEST (MessageType DIGEST: the caller hashed the message already) for
 * RSASSA_PKCS1_V1_5_SHA_256/384/512 and RSASSA_PSS_SHA_256/384/512. WebCrypto cannot do it: its
 * sign and verify always hash the message themselves.
 *
 * Decision. The message encoding is ours, in TypeScript over WebCrypto digests and
 * crypto.getRandomValues: EMSA-PKCS1-v1_5 with the DigestInfo prefixes of RFC 8017 §9.2 note 1,
 * and EMSA-PSS of RFC 8017 §9.1.1 with MGF1 over the same hash and a salt as long as the hash (as
 * AWS signs). The RSA private-key operation itself (m^d mod n), which must be constant-time and
 * blinded, is never written by hand: it is the crypto provider's optional rsaPrivateRaw, which on
 * Node is node:crypto's privateEncrypt with RSA_NO_PADDING (OpenSSL, blinded) on the same
 * non-extractable CryptoKey (KeyObject.from). A runtime without it (browsers, workerd, Deno, Bun
 * on WebCrypto alone) refuses RSA DIGEST signing with UnsupportedOperationException, because a
 * BigInt modexp with the private exponent would not be constant-time. Verify of a DIGEST uses
 * nothing secret, so it is portable: n and e are read from the key's SPKI (a minimal DER reader),
 * s^e mod n is a BigInt modpow, and the recovered block is checked against the expected
 * EMSA-PKCS1-v1_5 encoding (one constant-time comparison of the whole block) or by EMSA-PSS-VERIFY
 * of RFC 8017 §9.1.2 (salt length = hash length); it works in every runtime.
 */
import { constantTimeEqual, fromHex, toHex, wipe } from '../bytes.js';
import type { CryptoProvider } from '../crypto-provider.js';
import { KmsError } from '../errors.js';
import { readTlv } from './der.js';

export type RsaDigestAlgorithm =
  | 'RSASSA_PKCS1_V1_5_SHA_256'
  | 'RSASSA_PKCS1_V1_5_SHA_384'
  | 'RSASSA_PKCS1_V1_5_SHA_512'
  | 'RSASSA_PSS_SHA_256'
  | 'RSASSA_PSS_SHA_384'
  | 'RSASSA_PSS_SHA_512';

interface Hash {
  name: 'SHA-256' | 'SHA-384' | 'SHA-512';
  bytes: number;
  /** DER of DigestInfo { AlgorithmIdentifier, OCTET STRING } up to the digest (RFC 8017 §9.2 note 1). */
  digestInfo: Uint8Array;
}

const SHA_256: Hash = { name: 'SHA-256', bytes: 32, digestInfo: fromHex('3031300d060960864801650304020105000420')! };
const SHA_384: Hash = { name: 'SHA-384', bytes: 48, digestInfo: fromHex('3041300d060960864801650304020205000430')! };
const SHA_512: Hash = { name: 'SHA-512', bytes: 64, digestInfo: fromHex('3051300d060960864801650304020305000440')! };

const SCHEMES: Record<RsaDigestAlgorithm, { pss: boolean; hash: Hash }> = {
  RSASSA_PKCS1_V1_5_SHA_256: { pss: false, hash: SHA_256 },
  RSASSA_PKCS1_V1_5_SHA_384: { pss: false, hash: SHA_384 },
  RSASSA_PKCS1_V1_5_SHA_512: { pss: false, hash: SHA_512 },
  RSASSA_PSS_SHA_256: { pss: true, hash: SHA_256 },
  RSASSA_PSS_SHA_384: { pss: true, hash: SHA_384 },
  RSASSA_PSS_SHA_512: { pss: true, hash: SHA_512 },
};

const schemeOf = (algorithm: string) => (Object.hasOwn(SCHEMES, algorithm) ? SCHEMES[algorithm as RsaDigestAlgorithm] : undefined);

/** AWS's sizes are 2048, 3072 and 4096; anything in this range is encoded correctly. */
const MIN_BITS = 1024;
const MAX_BITS = 16384;

async function hash(h: Hash, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(h.name, data as BufferSource));
}

/** MGF1 (RFC 8017 §B.2.1) over `h`: at least `length` bytes of mask (a whole number of digests). */
async function mgf1(h: Hash, seed: Uint8Array, length: number): Promise<Uint8Array> {
  const count = Math.ceil(length / h.bytes);
  const inputs = Array.from({ length: count }, (_, c) => {
    const input = new Uint8Array(seed.length + 4);
    input.set(seed, 0);
    new DataView(input.buffer).setUint32(seed.length, c);
    return input;
  });
  const blocks = await Promise.all(inputs.map((input) => hash(h, input)));
  const mask = new Uint8Array(count * h.bytes);
  for (let i = 0; i < count; i++) mask.set(blocks[i]!, i * h.bytes);
  wipe(...inputs, ...blocks);
  return mask;
}

/** EMSA-PKCS1-v1_5 (RFC 8017 §9.2) of a digest, as a block of k bytes: 00 01 FF…FF 00 DigestInfo. */
function pkcs1Encode(h: Hash, digest: Uint8Array, k: number): Uint8Array {
  const tLen = h.digestInfo.length + h.bytes;
  const block = new Uint8Array(k);
  block[1] = 0x01;
  block.fill(0xff, 2, k - tLen - 1);
  block.set(h.digestInfo, k - tLen);
  block.set(digest, k - h.bytes);
  return block;
}

/**
 * EMSA-PSS-ENCODE (RFC 8017 §9.1.1) of a digest with emBits = modBits - 1, MGF1 over the same hash
 * and a random salt as long as the hash; returned as a block of k bytes (EM right-aligned).
 */
async function pssEncode(h: Hash, digest: Uint8Array, modBits: number, k: number): Promise<Uint8Array> {
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = h.bytes;
  const sLen = hLen;
  const off = k - emLen;
  const dbLen = emLen - hLen - 1;
  if (emLen < hLen + sLen + 2) throw new TypeError(`a modulus of ${modBits} bits is too short for EMSA-PSS with ${h.name}`);
  // M' = 00×8 ‖ mHash ‖ salt
  const mPrime = new Uint8Array(8 + hLen + sLen);
  mPrime.set(digest, 8);
  const salt = mPrime.subarray(8 + hLen);
  crypto.getRandomValues(salt);
  const H = await hash(h, mPrime);
  const mask = await mgf1(h, H, dbLen);
  const block = new Uint8Array(k);
  // DB = PS (zeros) ‖ 01 ‖ salt, masked in place.
  block[off + dbLen - sLen - 1] = 0x01;
  block.set(salt, off + dbLen - sLen);
  for (let i = 0; i < dbLen; i++) block[off + i]! ^= mask[i]!;
  block[off]! &= 0xff >>> (8 * emLen - emBits);
  block.set(H, off + dbLen);
  block[k - 1] = 0xbc;
  wipe(mPrime, H, mask);
  return block;
}

/** EMSA-PSS-VERIFY (RFC 8017 §9.1.2), salt length = hash length, on the k-byte block s^e mod n. */
async function pssVerify(h: Hash, digest: Uint8Array, block: Uint8Array, modBits: number): Promise<boolean> {
  const k = block.length;
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = h.bytes;
  const sLen = hLen;
  const off = k - emLen;
  if (emLen < hLen + sLen + 2) return false;
  // Everything here is public (the signature, the key, the digest): early returns leak nothing.
  for (let i = 0; i < off; i++) if (block[i] !== 0) return false; // I2OSP(m, emLen) fails
  if (block[k - 1] !== 0xbc) return false;
  const top = 0xff >>> (8 * emLen - emBits);
  if ((block[off]! & ~top & 0xff) !== 0) return false;
  const dbLen = emLen - hLen - 1;
  const H = block.subarray(off + dbLen, off + dbLen + hLen);
  const mask = await mgf1(h, H, dbLen);
  const db = new Uint8Array(dbLen);
  for (let i = 0; i < dbLen; i++) db[i] = block[off + i]! ^ mask[i]!;
  db[0]! &= top;
  const psLen = emLen - hLen - sLen - 2;
  let bad = db[psLen]! ^ 0x01;
  for (let i = 0; i < psLen; i++) bad |= db[i]!;
  const mPrime = new Uint8Array(8 + hLen + sLen);
  mPrime.set(digest, 8);
  mPrime.set(db.subarray(dbLen - sLen), 8 + hLen);
  const H2 = await hash(h, mPrime);
  const same = constantTimeEqual(H, H2);
  wipe(mask, db, mPrime, H2);
  return bad === 0 && same;
}

function unsupported(algorithm: string): KmsError {
  return new KmsError(
    'UnsupportedOperationException',
    `${algorithm} with MessageType DIGEST needs the raw RSA private-key operation, which WebCrypto does not have: it is supported on Node with the node:crypto provider (createNodeCryptoProvider() from @edge-kms/node/crypto), not on WebCrypto alone (browsers, workerd, Deno, Bun).`,
  );
}

/**
 * Signs a DIGEST (a hash the caller made) with an RSA private CryptoKey of either WebCrypto kind:
 * encodes it (EMSA-PKCS1-v1_5 or EMSA-PSS) and has the provider's rsaPrivateRaw do m^d mod n.
 * Throws UnsupportedOperationException when the provider has no rsaPrivateRaw, and
 * ValidationException when the digest is not as long as the algorithm's hash.
 */
export async function rsaDigestSign(
  provider: CryptoProvider,
  key: CryptoKey,
  algorithm: RsaDigestAlgorithm,
  digest: Uint8Array,
  modulusBits: number,
): Promise<Uint8Array> {
  const scheme = schemeOf(algorithm);
  if (!scheme) throw new TypeError(`not an RSA signing algorithm: ${algorithm}`);
  if (!provider.rsaPrivateRaw) throw unsupported(algorithm);
  if (digest.length !== scheme.hash.bytes) throw new KmsError('ValidationException', `Digest is invalid length for algorithm ${algorithm}.`);
  const alg = key.algorithm as Partial<RsaHashedKeyAlgorithm>;
  if (key.type !== 'private' || (alg.name !== 'RSASSA-PKCS1-v1_5' && alg.name !== 'RSA-PSS')) throw new TypeError('rsaDigestSign needs an RSA private key');
  if (
    !Number.isInteger(modulusBits) ||
    modulusBits < MIN_BITS ||
    modulusBits > MAX_BITS ||
    (alg.modulusLength !== undefined && alg.modulusLength !== modulusBits)
  ) {
    throw new TypeError(`rsaDigestSign: modulus of ${modulusBits} bits does not fit the key (${alg.modulusLength} bits)`);
  }
  const k = Math.ceil(modulusBits / 8);
  const block = scheme.pss ? await pssEncode(scheme.hash, digest, modulusBits, k) : pkcs1Encode(scheme.hash, digest, k);
  try {
    const signature = await provider.rsaPrivateRaw(key, block);
    if (signature.length !== k) throw new KmsError('KMSInternalException', 'The RSA private-key operation returned a block of the wrong length.');
    return signature;
  } finally {
    wipe(block);
  }
}

// --- Verify: public, portable -------------------------------------------------------------------

const RSA_ENCRYPTION = '2a864886f70d010101'; // 1.2.840.113549.1.1.1

const badSpki = () => new TypeError('not a DER SubjectPublicKeyInfo of an RSA public key');

/** One DER element at `o` with the given tag (der.ts's reader), or throws. */
function tlv(b: Uint8Array, o: number, tag: number): { body: Uint8Array; next: number } {
  const t = readTlv(b, o);
  if (!t || t.tag !== tag) throw badSpki();
  return { body: t.value, next: t.end };
}

function bigIntOf(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${toHex(bytes)}`);
}

/** I2OSP: x < 256^k as k big-endian bytes. */
function bytesOf(x: bigint, k: number): Uint8Array {
  return fromHex(x.toString(16).padStart(2 * k, '0'))!;
}

/** A positive DER INTEGER. */
function positiveInteger(body: Uint8Array): bigint {
  if (body.length === 0 || body[0]! & 0x80 || (body.length > 1 && body[0] === 0 && !(body[1]! & 0x80))) throw badSpki();
  return bigIntOf(body);
}

interface RsaPublicKey {
  n: bigint;
  e: bigint;
  bits: number;
}

/**
 * n and e of SubjectPublicKeyInfo { AlgorithmIdentifier { rsaEncryption, NULL }, BIT STRING {
 * RSAPublicKey { INTEGER n, INTEGER e } } } (RFC 5280, RFC 8017 §A.1.1).
 */
function rsaPublicKeyOf(spki: Uint8Array): RsaPublicKey {
  const outer = tlv(spki, 0, 0x30);
  if (outer.next !== spki.length) throw badSpki();
  const algId = tlv(outer.body, 0, 0x30);
  const oid = tlv(algId.body, 0, 0x06);
  if (toHex(oid.body) !== RSA_ENCRYPTION) throw badSpki();
  if (oid.next !== algId.body.length) {
    const params = tlv(algId.body, oid.next, 0x05);
    if (params.body.length !== 0 || params.next !== algId.body.length) throw badSpki();
  }
  const bits = tlv(outer.body, algId.next, 0x03);
  if (bits.next !== outer.body.length || bits.body[0] !== 0) throw badSpki();
  const rsaKey = tlv(bits.body, 1, 0x30);
  if (rsaKey.next !== bits.body.length) throw badSpki();
  const nTlv = tlv(rsaKey.body, 0, 0x02);
  const eTlv = tlv(rsaKey.body, nTlv.next, 0x02);
  if (eTlv.next !== rsaKey.body.length) throw badSpki();
  const n = positiveInteger(nTlv.body);
  const e = positiveInteger(eTlv.body);
  const nBits = n.toString(2).length;
  if (!(n & 1n) || nBits < MIN_BITS || nBits > MAX_BITS || !(e & 1n) || e < 3n || e >= n) throw badSpki();
  return { n, e, bits: nBits };
}

/** base^exp mod m by square-and-multiply. Not constant-time: for the public exponent only. */
function modPowPublic(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  let b = base % m;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
  }
  return result;
}

/**
 * Verifies an RSA signature of a DIGEST against the key's public key (DER SubjectPublicKeyInfo),
 * in any runtime. False for anything that is not a valid signature: an unknown algorithm, a digest
 * not as long as the hash, a signature not as long as the modulus or ≥ n, a bad encoding (a PSS
 * signature checked as PKCS #1 v1.5, or the reverse; a PSS salt not as long as the hash). Throws
 * TypeError only when `spki` is not an RSA public key (the key's own stored data, not request input).
 */
export async function rsaDigestVerify(spki: Uint8Array, algorithm: RsaDigestAlgorithm, digest: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const { n, e, bits } = rsaPublicKeyOf(spki);
  const scheme = schemeOf(algorithm);
  if (!scheme || digest.length !== scheme.hash.bytes) return false;
  const k = Math.ceil(bits / 8);
  if (signature.length !== k) return false;
  const s = bigIntOf(signature);
  if (s >= n) return false;
  const block = bytesOf(modPowPublic(s, e, n), k);
  if (scheme.pss) {
    const ok = await pssVerify(scheme.hash, digest, block, bits);
    wipe(block);
    return ok;
  }
  if (k < scheme.hash.digestInfo.length + scheme.hash.bytes + 11) return false;
  const expected = pkcs1Encode(scheme.hash, digest, k);
  const ok = constantTimeEqual(block, expected);
  wipe(block, expected);
  return ok;
}
