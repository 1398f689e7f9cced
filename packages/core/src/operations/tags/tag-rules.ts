/** The rules tags follow wherever they are set (CreateKey, TagResource): reserved and duplicate keys, 50 a key. */
import { KmsError } from '../../errors.js';
import type { Tag } from '../../model.js';

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
