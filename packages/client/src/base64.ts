/** Base64 for the wire: native Uint8Array.toBase64/fromBase64 where the runtime has them. */

export function b64encode(b: Uint8Array): string {
  const native = (b as unknown as { toBase64?: () => string }).toBase64;
  if (native) return native.call(b);
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000) as unknown as number[]);
  return btoa(s);
}

export function b64decode(s: string): Uint8Array {
  const native = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64;
  if (native) return native(s);
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
