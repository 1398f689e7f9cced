/** Input rules shared by several operations. */
import { KmsError } from '../errors.js';
import type { Tag } from '../model.js';
import type { InputReader } from '../validate.js';

export type Output = Record<string, unknown>;

export function readKeyId(input: InputReader, field = 'KeyId'): string {
  return input.string(field, { required: true, min: 1, max: 2048 });
}

export const MAX_TAGS_PER_KEY = 50;

/** TagException for reserved or duplicate keys. */
export function checkTags(tags: Tag[]): void {
  const seen = new Set<string>();
  for (const t of tags) {
    if (t.TagKey.startsWith('aws:')) throw new KmsError('TagException', `Tag keys beginning with "aws:" are reserved: ${t.TagKey}`);
    if (seen.has(t.TagKey)) throw new KmsError('TagException', `Duplicate tag key in request: ${t.TagKey}`);
    seen.add(t.TagKey);
  }
}

export function mergeTags(current: Tag[], added: Tag[]): Tag[] {
  const byKey = new Map(current.map((t) => [t.TagKey, t.TagValue]));
  for (const t of added) byKey.set(t.TagKey, t.TagValue);
  if (byKey.size > MAX_TAGS_PER_KEY) {
    throw new KmsError('LimitExceededException', `A KMS key can have at most ${MAX_TAGS_PER_KEY} tags.`);
  }
  return [...byKey].map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
}

/** Opaque paging markers: base64url of the position after which the next page starts. */
export function encodeMarker(position: string): string {
  return btoa(position).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function decodeMarker(marker: string | undefined, valid: (position: string) => boolean): string | undefined {
  if (marker === undefined) return undefined;
  let position: string;
  try {
    position = atob(marker.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    position = '';
  }
  if (!valid(position)) {
    throw new KmsError('InvalidMarkerException', 'The request was rejected because the marker that specifies where pagination should next begin is not valid.');
  }
  return position;
}

export function readMarker(input: InputReader): string | undefined {
  return input.string('Marker', { min: 1, max: 1024, pattern: /^[\u0020-\u00FF]*$/ });
}
