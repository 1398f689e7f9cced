/** Grant tokens: base64url(0x01 ‖ key id ‖ grant id ‖ nonce), so RetireGrant by token needs no search. */
import { concat, fromBase64Url, randomBytes, toBase64Url, toHex, uuidFromBytes, uuidToBytes } from '../../bytes.js';
import { KmsError } from '../../errors.js';

/** Grant token: base64url(0x01 ‖ key id (16) ‖ grant id (32) ‖ nonce (16)). */
export function makeGrantToken(keyId: string, grantId: string): string {
  const bytes = concat(new Uint8Array([1]), uuidToBytes(keyId), new Uint8Array(grantId.match(/../g)!.map((h) => parseInt(h, 16))), randomBytes(16));
  return toBase64Url(bytes);
}

export function parseGrantToken(token: string): { keyId: string; grantId: string } | undefined {
  const bytes = fromBase64Url(token);
  if (bytes?.length !== 65 || bytes[0] !== 1) return undefined;
  return { keyId: uuidFromBytes(bytes.subarray(1, 17)), grantId: toHex(bytes.subarray(17, 49)) };
}

export function invalidToken(): KmsError {
  return new KmsError('InvalidGrantTokenException', 'The grant token is not valid.');
}

/** GrantTokens given to any operation must be tokens this KMS issued. */
export function checkGrantTokens(tokens: string[] | undefined): void {
  for (const t of tokens ?? []) if (!parseGrantToken(t)) throw invalidToken();
}
