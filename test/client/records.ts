/**
 * The records the namespace crash/reload tests put (shared by the Node child, the Node test and
 * the Chromium page): ids that sort in insertion order, plaintexts from 0 to ~1.2 KB so that, with
 * 256-byte chunks, some records span several chunks and some are empty.
 */
export const recordId = (i: number): string => `rec-${String(i).padStart(4, '0')}`;

export function recordText(i: number): string {
  return `record ${i} `.repeat(1 + (i % 97)).slice(0, (i * 37) % 1200);
}
