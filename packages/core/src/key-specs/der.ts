/**
 * The little DER the key families need where WebCrypto does not parse or write a key for them:
 * reading a PKCS#8 private key down to its key bytes and a SubjectPublicKeyInfo down to its public
 * key, and writing both for secp256k1 (RFC 5915 ECPrivateKey in PKCS#8, RFC 5480 SPKI) and ML-DSA
 * (RFC 9881: PKCS#8 with the 32-byte seed, SPKI with the raw public key). A reader, not a general
 * ASN.1 library: definite lengths only, at most 4 length bytes, everything checked against the
 * buffer's end, and any surprise answers undefined (the callers turn it into AWS's error).
 */

export interface Tlv {
  tag: number;
  /** The value's bytes (a view of the input). */
  value: Uint8Array;
  /** Where the next element starts. */
  end: number;
}

/** One TLV at `at`, or undefined when the bytes are not well-formed DER. */
export function readTlv(der: Uint8Array, at = 0, limit = der.length): Tlv | undefined {
  if (at + 2 > limit) return undefined;
  const tag = der[at]!;
  if ((tag & 0x1f) === 0x1f) return undefined; // high tag numbers: none of ours
  let len = der[at + 1]!;
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > limit) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[p + i]!;
    if (len < 0x80 || (n > 1 && der[p] === 0)) return undefined; // not minimal
    p += n;
  }
  if (p + len > limit) return undefined;
  return { tag, value: der.subarray(p, p + len), end: p + len };
}

/** The elements of a constructed value (SEQUENCE, context tag), or undefined. */
export function readChildren(value: Uint8Array): Tlv[] | undefined {
  const out: Tlv[] = [];
  let at = 0;
  while (at < value.length) {
    const t = readTlv(value, at);
    if (!t) return undefined;
    out.push(t);
    at = t.end;
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const head = len < 0x80 ? [tag, len] : len < 0x100 ? [tag, 0x81, len] : [tag, 0x82, len >> 8, len & 0xff];
  const out = new Uint8Array(head.length + len);
  out.set(head, 0);
  let at = head.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const OCTET_STRING = 0x04;
const BIT_STRING = 0x03;

/** OIDs as their DER encodings (tag and length included). */
export const OIDS = {
  ecPublicKey: new Uint8Array([0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]),
  secp256k1: new Uint8Array([0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a]),
  p256: new Uint8Array([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
  p384: new Uint8Array([0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]),
  p521: new Uint8Array([0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23]),
  ed25519: new Uint8Array([0x06, 0x03, 0x2b, 0x65, 0x70]),
  mlDsa44: new Uint8Array([0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x11]),
  mlDsa65: new Uint8Array([0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x12]),
  mlDsa87: new Uint8Array([0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x13]),
} as const;

/** The AlgorithmIdentifier's OIDs as DER (the algorithm, then its parameters' OID if any). */
function algorithmOids(algId: Tlv): Uint8Array[] | undefined {
  if (algId.tag !== SEQUENCE) return undefined;
  const parts = readChildren(algId.value);
  if (!parts || parts.length < 1 || parts.length > 2) return undefined;
  const enc = (t: Tlv) => tlvBytes(t);
  return parts.map(enc);
}

function tlvBytes(t: Tlv): Uint8Array {
  return tlv(t.tag, t.value);
}

/**
 * PKCS#8 (OneAsymmetricKey v1 or v2) -> the AlgorithmIdentifier's OIDs and the privateKey OCTET
 * STRING's contents; undefined when it is not one.
 */
export function readPkcs8(der: Uint8Array): { oids: Uint8Array[]; privateKey: Uint8Array } | undefined {
  const top = readTlv(der);
  if (!top || top.tag !== SEQUENCE || top.end !== der.length) return undefined;
  const parts = readChildren(top.value);
  if (!parts || parts.length < 3) return undefined;
  const [version, algId, key] = parts as [Tlv, Tlv, Tlv];
  if (version.tag !== INTEGER || version.value.length !== 1 || version.value[0]! > 1) return undefined;
  const oids = algorithmOids(algId);
  if (!oids || key.tag !== OCTET_STRING) return undefined;
  return { oids, privateKey: key.value };
}

/** SPKI -> the AlgorithmIdentifier's OIDs and the public key's bytes; undefined when it is not one. */
export function readSpki(der: Uint8Array): { oids: Uint8Array[]; publicKey: Uint8Array } | undefined {
  const top = readTlv(der);
  if (!top || top.tag !== SEQUENCE || top.end !== der.length) return undefined;
  const parts = readChildren(top.value);
  if (parts?.length !== 2) return undefined;
  const [algId, bits] = parts as [Tlv, Tlv];
  const oids = algorithmOids(algId);
  if (!oids || bits.tag !== BIT_STRING || bits.value.length < 2 || bits.value[0] !== 0) return undefined;
  return { oids, publicKey: bits.value.subarray(1) };
}

/** Whether the OIDs are exactly `expected`. */
export function oidsAre(oids: Uint8Array[], ...expected: Uint8Array[]): boolean {
  return oids.length === expected.length && oids.every((o, i) => sameBytes(o, expected[i]!));
}

/**
 * An elliptic-curve PKCS#8 of `curve` -> its private scalar (`scalarBytes` long, left-padded if
 * the encoder dropped leading zeros); undefined otherwise. A view into `der`: copy before keeping.
 */
export function ecPrivateScalar(der: Uint8Array, curve: Uint8Array, scalarBytes: number): Uint8Array | undefined {
  const p = readPkcs8(der);
  if (!p || !oidsAre(p.oids, OIDS.ecPublicKey, curve)) return undefined;
  const ec = readTlv(p.privateKey);
  if (!ec || ec.tag !== SEQUENCE || ec.end !== p.privateKey.length) return undefined;
  const parts = readChildren(ec.value);
  if (!parts || parts.length < 2) return undefined;
  const [version, d] = parts as [Tlv, Tlv];
  if (version.tag !== INTEGER || version.value.length !== 1 || version.value[0] !== 1) return undefined;
  if (d.tag !== OCTET_STRING || d.value.length === 0 || d.value.length > scalarBytes) return undefined;
  if (d.value.length === scalarBytes) return d.value;
  const out = new Uint8Array(scalarBytes);
  out.set(d.value, scalarBytes - d.value.length);
  return out;
}

/** An Ed25519 PKCS#8 (RFC 8410) -> its 32-byte seed (a view into `der`), or undefined. */
export function ed25519Seed(der: Uint8Array): Uint8Array | undefined {
  const p = readPkcs8(der);
  if (!p || !oidsAre(p.oids, OIDS.ed25519)) return undefined;
  const inner = readTlv(p.privateKey);
  if (!inner || inner.tag !== OCTET_STRING || inner.end !== p.privateKey.length || inner.value.length !== 32) return undefined;
  return inner.value;
}

/** PKCS#8 of an elliptic-curve private key (RFC 5915 ECPrivateKey with its public key). */
export function ecPkcs8(curve: Uint8Array, scalar: Uint8Array, publicPoint: Uint8Array): Uint8Array {
  const ecPrivateKey = tlv(SEQUENCE, new Uint8Array([INTEGER, 1, 1]), tlv(OCTET_STRING, scalar), tlv(0xa1, tlv(BIT_STRING, new Uint8Array([0]), publicPoint)));
  return tlv(SEQUENCE, new Uint8Array([INTEGER, 1, 0]), tlv(SEQUENCE, OIDS.ecPublicKey, curve), tlv(OCTET_STRING, ecPrivateKey));
}

/** SPKI of an elliptic-curve public point (uncompressed). */
export function ecSpki(curve: Uint8Array, publicPoint: Uint8Array): Uint8Array {
  return tlv(SEQUENCE, tlv(SEQUENCE, OIDS.ecPublicKey, curve), tlv(BIT_STRING, new Uint8Array([0]), publicPoint));
}

/** PKCS#8 of an ML-DSA private key in RFC 9881's seed form: privateKey = [0] IMPLICIT OCTET STRING (32 bytes). */
export function mlDsaPkcs8(oid: Uint8Array, seed: Uint8Array): Uint8Array {
  return tlv(SEQUENCE, new Uint8Array([INTEGER, 1, 0]), tlv(SEQUENCE, oid), tlv(OCTET_STRING, tlv(0x80, seed)));
}

/** An ML-DSA PKCS#8 (seed form, RFC 9881) -> the 32-byte seed (a view into `der`), or undefined. */
export function mlDsaSeed(der: Uint8Array, oid: Uint8Array): Uint8Array | undefined {
  const p = readPkcs8(der);
  if (!p || !oidsAre(p.oids, oid)) return undefined;
  const seed = readTlv(p.privateKey);
  if (seed?.tag !== 0x80 || seed.end !== p.privateKey.length || seed.value.length !== 32) return undefined;
  return seed.value;
}

/** SPKI of an ML-DSA public key (RFC 9881: no parameters). */
export function mlDsaSpki(oid: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return tlv(SEQUENCE, tlv(SEQUENCE, oid), tlv(BIT_STRING, new Uint8Array([0]), publicKey));
}
