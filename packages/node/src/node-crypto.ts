/**
 * The core's hot-path primitives on node:crypto. On Node every crypto.subtle call is handed to a
 * worker thread, and for the small inputs of KMS requests (a data key, a 4 KB plaintext, a
 * canonical request) that hand-off costs more than the work. node:crypto does the same AES-GCM,
 * SHA-256 and HMAC synchronously, on the same non-extractable CryptoKeys (KeyObject.from reads a
 * CryptoKey without making it extractable). The bytes produced are identical (tests check it).
 *
 * Sign, Verify, GenerateMac and VerifyMac go the same way for ECDSA, Ed25519 and HMAC (a signature
 * costs tens of µs, the hand-off more), and RSA verification; RSA signing (~250 µs a signature)
 * stays on crypto.subtle, whose worker threads use every core while the event loop serves other
 * requests; so do all of them while several KMS operations are in flight (spread()). The answers are WebCrypto's bytes (ECDSA as r ‖ s); HMACs are compared in
 * constant time.
 *
 * It also has what WebCrypto lacks: the raw RSA private-key operation (rsaPrivateRaw), which the
 * core needs to sign a DIGEST with an RSA key (key-specs/rsa-digest.ts encodes the block). It is
 * OpenSSL's RSA_NO_PADDING private encryption (constant-time and blinded, OpenSSL's defaults).
 *
 * An in-process core on Node takes it as `createKms({ crypto: createNodeCryptoProvider() })`,
 * imported from `@edge-kms/node/crypto` (this file alone: no server, LMDB or Hono loaded).
 */
import * as nodeCrypto from 'node:crypto';
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  KeyObject,
  privateEncrypt,
  sign as nodeSign,
  timingSafeEqual,
  verify as nodeVerify,
  type BinaryLike,
} from 'node:crypto';
import { operationsInFlight, type CryptoProvider, type SignParams } from '@edge-kms/core';

const TAG = 16;

// crypto.hash (Node >= 20.12) is the one-shot digest, with no Hash object per call.
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: BinaryLike, encoding: 'hex' | 'binary') => string }).hash;
const sha256Hex = oneShot ? (data: BinaryLike) => oneShot('sha256', data, 'hex') : (data: BinaryLike) => createHash('sha256').update(data).digest('hex');

/** Messages up to this many bytes are MACed through the prepared pads (SigV4 strings to sign: ~150). */
const PREPARED_HMAC_MAX = 1024;

/**
 * HMAC-SHA256 (RFC 2104) of short messages as two one-shot digests, H((K^opad) || H((K^ipad) || m)),
 * with the padded key blocks made once per key. createHmac builds an Hmac object (a native handle
 * the GC tracks) and has OpenSSL look the digest up again on every call; on the server, under
 * load, that costs SigV4 verification more than the hashing (bench/results.md, section 1). The
 * pads are as secret as the key, and live exactly as long as the CryptoKey they were made from.
 */
interface HmacPads {
  /** K^ipad, then room for the message. */
  inner: Buffer;
  /** K^opad, then room for the inner digest. */
  outer: Buffer;
}

function hmacPads(key: KeyObject): HmacPads {
  let raw = key.export();
  if (raw.length > 64) {
    const long = raw;
    raw = createHash('sha256').update(long).digest();
    long.fill(0);
  }
  const inner = Buffer.alloc(64 + PREPARED_HMAC_MAX);
  const outer = Buffer.alloc(64 + 32);
  for (let i = 0; i < 64; i++) {
    const b = i < raw.length ? raw[i]! : 0;
    inner[i] = b ^ 0x36;
    outer[i] = b ^ 0x5c;
  }
  raw.fill(0);
  return { inner, outer };
}

/** node:crypto's name of the hash in WebCrypto parameters or a key's algorithm ({ hash: 'SHA-256' } or { hash: { name } }). */
function nodeHash(params: SignParams | KeyAlgorithm): string {
  const hash = (params as { hash?: string | { name: string } }).hash;
  const name = typeof hash === 'string' ? hash : hash?.name;
  switch (name) {
    case 'SHA-256':
      return 'sha256';
    case 'SHA-384':
      return 'sha384';
    case 'SHA-512':
      return 'sha512';
    default:
      throw new TypeError(`no node:crypto hash for ${String(name)}`);
  }
}

/**
 * Whether this signature goes to crypto.subtle's worker threads rather than being made here: a
 * synchronous signature is the fastest for one operation at a time, but many at once would all run
 * on the event loop's one core while the others idle.
 */
function spread(): boolean {
  return operationsInFlight() > 1;
}

export function createNodeCryptoProvider(): CryptoProvider {
  const keys = new WeakMap<CryptoKey, KeyObject>();
  const pads = new WeakMap<CryptoKey, HmacPads>();
  const keyObject = (key: CryptoKey): KeyObject => {
    let k = keys.get(key);
    if (!k) keys.set(key, (k = KeyObject.from(key)));
    return k;
  };
  const aes = (key: KeyObject) => `aes-${key.symmetricKeySize! * 8}-gcm` as const;
  return {
    aesGcmEncrypt(key, iv, aad, plaintext) {
      const k = keyObject(key);
      const c = createCipheriv(aes(k) as 'aes-256-gcm', k, iv, { authTagLength: TAG });
      c.setAAD(aad);
      const head = c.update(plaintext);
      const tail = c.final();
      const tag = c.getAuthTag();
      const out = new Uint8Array(head.length + tail.length + TAG);
      out.set(head, 0);
      out.set(tail, head.length);
      out.set(tag, head.length + tail.length);
      return out;
    },
    aesGcmDecrypt(key, iv, aad, sealed) {
      if (sealed.length < TAG) throw new Error('ciphertext too short');
      const k = keyObject(key);
      const d = createDecipheriv(aes(k) as 'aes-256-gcm', k, iv, { authTagLength: TAG });
      d.setAAD(aad);
      d.setAuthTag(sealed.subarray(sealed.length - TAG));
      const head = d.update(sealed.subarray(0, sealed.length - TAG));
      const tail = d.final(); // throws when the tag does not verify
      const out = new Uint8Array(head.length + tail.length);
      out.set(head, 0);
      out.set(tail, head.length);
      return out;
    },
    sha256Hex,
    hmacSha256Hex(key, data) {
      const n = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
      if (!oneShot || n > PREPARED_HMAC_MAX) return createHmac('sha256', keyObject(key)).update(data).digest('hex');
      let p = pads.get(key);
      if (!p) pads.set(key, (p = hmacPads(keyObject(key))));
      // Synchronous from here to the end: no other call can use the buffers in between.
      if (typeof data === 'string') p.inner.write(data, 64, 'utf8');
      else p.inner.set(data, 64);
      // The inner digest as a 'binary' (latin1) string, one char per byte, rather than a Buffer: no
      // ArrayBuffer is allocated for it, which costs more than the hash.
      p.outer.write(oneShot('sha256', p.inner.subarray(0, 64 + n), 'binary'), 64, 'latin1');
      return sha256Hex(p.outer);
    },
    sign(params, key, data) {
      const name = key.algorithm.name;
      if (name !== 'HMAC' && spread()) return crypto.subtle.sign(params, key, data as BufferSource).then((b) => new Uint8Array(b));
      // Copies out of node's Buffers, which may be views of a shared pool.
      if (name === 'ECDSA') return new Uint8Array(nodeSign(nodeHash(params), data, { key: keyObject(key), dsaEncoding: 'ieee-p1363' }));
      if (name === 'Ed25519') return new Uint8Array(nodeSign(null, data, keyObject(key)));
      if (name === 'HMAC') return new Uint8Array(createHmac(nodeHash(key.algorithm), keyObject(key)).update(data).digest());
      return crypto.subtle.sign(params, key, data as BufferSource).then((b) => new Uint8Array(b));
    },
    verify(params, key, signature, data) {
      const name = key.algorithm.name;
      if (name !== 'HMAC' && spread()) return crypto.subtle.verify(params, key, signature as BufferSource, data as BufferSource);
      if (name === 'ECDSA') return nodeVerify(nodeHash(params), data, { key: keyObject(key), dsaEncoding: 'ieee-p1363' }, signature);
      if (name === 'Ed25519') return nodeVerify(null, data, keyObject(key), signature);
      if (name === 'HMAC') {
        const mac = createHmac(nodeHash(key.algorithm), keyObject(key)).update(data).digest();
        const ok = mac.length === signature.length && timingSafeEqual(mac, signature);
        mac.fill(0);
        return ok;
      }
      if (name === 'RSASSA-PKCS1-v1_5')
        return nodeVerify(nodeHash(key.algorithm), data, { key: keyObject(key), padding: constants.RSA_PKCS1_PADDING }, signature);
      if (name === 'RSA-PSS') {
        const saltLength = (params as RsaPssParams).saltLength;
        return nodeVerify(nodeHash(key.algorithm), data, { key: keyObject(key), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, signature);
      }
      return crypto.subtle.verify(params, key, signature as BufferSource, data as BufferSource);
    },
    rsaPrivateRaw(key, block) {
      const k = keyObject(key);
      if (k.type !== 'private' || k.asymmetricKeyType !== 'rsa') throw new TypeError('rsaPrivateRaw needs an RSA private key');
      const bytes = Math.ceil(k.asymmetricKeyDetails!.modulusLength! / 8);
      if (block.length !== bytes) throw new RangeError(`rsaPrivateRaw takes a block of ${bytes} bytes, not ${block.length}`);
      // OpenSSL refuses a block >= n itself ("data too large for modulus").
      const out = privateEncrypt({ key: k, padding: constants.RSA_NO_PADDING }, block);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    },
  };
}
