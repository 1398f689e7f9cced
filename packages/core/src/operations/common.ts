/**
 * What every operation reads the same way: the key id, grant tokens, DryRun and paging markers,
 * and the Output type. (Grant tokens are validated here as a list; kms.ts execute checks once per
 * call that each one is a token this KMS issued.)
 */
import { fromBase64Url, fromUtf8, toBase64Url, utf8 } from '../bytes.js';
import { KmsError } from '../errors.js';
import type { InputReader } from '../validate.js';

export type Output = Record<string, unknown>;

export function readKeyId(input: InputReader, field = 'KeyId'): string {
  return input.string(field, { required: true, min: 1, max: 2048 });
}

export function readGrantTokens(input: InputReader): string[] | undefined {
  return input.stringList('GrantTokens', { maxItems: 10, itemMin: 1, itemMax: 8192 });
}

export function dryRun(input: InputReader): void {
  if (input.bool('DryRun')) {
    throw new KmsError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
  }
}

/** Opaque paging markers: base64url of the position after which the next page starts. */
export function encodeMarker(position: string): string {
  return toBase64Url(utf8(position));
}

export function decodeMarker(marker: string | undefined, valid: (position: string) => boolean): string | undefined {
  if (marker === undefined) return undefined;
  let position = '';
  const bytes = fromBase64Url(marker);
  try {
    if (bytes) position = fromUtf8(bytes);
  } catch {
    // not UTF-8: not a marker of ours
  }
  if (!valid(position)) {
    throw new KmsError('InvalidMarkerException', 'The request was rejected because the marker that specifies where pagination should next begin is not valid.');
  }
  return position;
}

export function readMarker(input: InputReader): string | undefined {
  return input.string('Marker', { min: 1, max: 1024, pattern: /^[\u0020-\u00FF]*$/ });
}
