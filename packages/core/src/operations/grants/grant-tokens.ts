/**
 * Grant tokens: base64url(kind ‖ key id ‖ grant id ‖ nonce), so RetireGrant by token needs no
 * search. The kind is 0x01 for a UUID key id, 0x02 for a multi-Region key's `mrk-` id (the same
 * 16 bytes as in the ciphertext header).
 */
import { concat, fromBase64Url, fromHex, isMrkId, randomBytes, toBase64Url, toHex, uuidFromBytes, uuidToBytes } from '../../bytes.js';
import { KmsError } from '../../errors.js';

/** Grant token: base64url(kind ‖ key id (16) ‖ grant id (32) ‖ nonce (16)). */
export function makeGrantToken(keyId: string, grantId: string): string {
  const mrk = isMrkId(keyId);
  const id = mrk ? fromHex(keyId.slice(4))! : uuidToBytes(keyId);
  const bytes = concat(new Uint8Array([mrk ? 2 : 1]), id, fromHex(grantId)!, randomBytes(16));
  return toBase64Url(bytes);
}

export function parseGrantToken(token: string): { keyId: string; grantId: string } | undefined {
  const bytes = fromBase64Url(token);
  if (bytes?.length !== 65 || (bytes[0] !== 1 && bytes[0] !== 2)) return undefined;
  const id = bytes.subarray(1, 17);
  return { keyId: bytes[0] === 1 ? uuidFromBytes(id) : `mrk-${toHex(id)}`, grantId: toHex(bytes.subarray(17, 49)) };
}

export function invalidToken(): KmsError {
  return new KmsError('InvalidGrantTokenException', 'The grant token is not valid.');
}

/** GrantTokens given to any operation must be tokens this KMS issued. */
export function checkGrantTokens(tokens: string[] | undefined): void {
  for (const t of tokens ?? []) if (!parseGrantToken(t)) throw invalidToken();
}
