/**
 * ECDSA signatures: WebCrypto speaks IEEE P1363 (r ‖ s, each the curve's scalar length), AWS KMS
 * and every verifier of its signatures speak DER (SEQUENCE { INTEGER r, INTEGER s }). P-521's
 * signatures are long enough for a long-form SEQUENCE length.
 */

function derInteger(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const v = bytes.subarray(i);
  const pad = v[0]! & 0x80 ? 1 : 0;
  const out = new Uint8Array(2 + pad + v.length);
  out[0] = 0x02;
  out[1] = pad + v.length;
  out.set(v, 2 + pad);
  return out;
}

/** r ‖ s (P1363) -> DER. */
export function p1363ToDer(sig: Uint8Array): Uint8Array {
  const n = sig.length / 2;
  const r = derInteger(sig.subarray(0, n));
  const s = derInteger(sig.subarray(n));
  const body = r.length + s.length;
  const head = body < 0x80 ? [0x30, body] : [0x30, 0x81, body];
  const out = new Uint8Array(head.length + body);
  out.set(head, 0);
  out.set(r, head.length);
  out.set(s, head.length + r.length);
  return out;
}

/** DER -> r ‖ s of `scalarBytes` each; undefined for anything that is not a well-formed signature. */
export function derToP1363(der: Uint8Array, scalarBytes: number): Uint8Array | undefined {
  let o = 0;
  if (der[o++] !== 0x30) return undefined;
  let len = der[o++];
  if (len === undefined) return undefined;
  if (len === 0x81) {
    len = der[o++];
    if (len === undefined || len < 0x80) return undefined;
  } else if (len >= 0x80) return undefined;
  if (o + len !== der.length) return undefined;
  const out = new Uint8Array(2 * scalarBytes);
  for (let part = 0; part < 2; part++) {
    if (der[o++] !== 0x02) return undefined;
    const l = der[o++];
    if (l === undefined || l === 0 || l >= 0x80 || o + l > der.length) return undefined;
    let v = der.subarray(o, o + l);
    o += l;
    // No needless leading zeros, and no negative integers (DER).
    if (v[0]! & 0x80) return undefined;
    if (v.length > 1 && v[0] === 0 && !(v[1]! & 0x80)) return undefined;
    if (v[0] === 0) v = v.subarray(1);
    if (v.length > scalarBytes) return undefined;
    out.set(v, part * scalarBytes + (scalarBytes - v.length));
  }
  return o === der.length ? out : undefined;
}
