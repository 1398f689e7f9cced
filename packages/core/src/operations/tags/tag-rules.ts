/**
 * The rules tags follow wherever they are set (CreateKey, TagResource), in AWS's errors: duplicate
 * keys in one request, more than 50 tags on a key, and keys beginning with `aws:` (in any case) are
 * a TagException. (Over-long keys and values are the ValidationException of the input reader.)
 */
import { KmsError } from '../../errors.js';
import type { Tag } from '../../model.js';

export const MAX_TAGS_PER_KEY = 50;

function tooMany(): KmsError {
  return new KmsError('TagException', 'Too many tags');
}

/** The tags of one request: TagException for duplicate keys, more than 50 tags, or a reserved `aws:` key. */
export function checkTags(tags: Tag[]): void {
  const seen = new Set<string>();
  for (const t of tags) {
    if (seen.has(t.TagKey)) throw new KmsError('TagException', `Duplicate tag key in request: ${t.TagKey}`);
    seen.add(t.TagKey);
  }
  if (tags.length > MAX_TAGS_PER_KEY) throw tooMany();
  for (const t of tags) {
    if (t.TagKey.toLowerCase().startsWith('aws:')) throw new KmsError('TagException', 'Tags beginning with aws: are reserved');
  }
}

/** The key's tags after adding `added` (a key already there takes the new value); TagException past 50. */
export function mergeTags(current: Tag[], added: Tag[]): Tag[] {
  const byKey = new Map(current.map((t) => [t.TagKey, t.TagValue]));
  for (const t of added) byKey.set(t.TagKey, t.TagValue);
  if (byKey.size > MAX_TAGS_PER_KEY) throw tooMany();
  return [...byKey].map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
}
