/**
 * The memory record store's paging: listIds gives ids in ascending order after `after`, whatever
 * puts and deletes came between pages, as a plain sort of the current ids would (a property test
 * against that model). Run: npx vitest run packages/client/src/record-store.test.ts
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryRecordStore } from './record-store.js';

const record = (id: string) => ({ id, keyId: 'arn:aws:kms:us-east-1:111122223333:key/k', wrappedKey: new Uint8Array([1]), body: new Uint8Array([2]) });

describe('memory record store', () => {
  it('listIds pages in ascending order after any mix of puts, deletes and re-puts', async () => {
    const id = fc.stringMatching(/^[a-z0-9ü-]{0,6}$/);
    const op = fc.oneof(
      fc.record({ put: id }),
      fc.record({ del: id }),
      fc.record({ list: fc.option(id, { nil: undefined }), limit: fc.integer({ min: 1, max: 5 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const store = createMemoryRecordStore();
        const model = new Set<string>();
        for (const o of ops) {
          if ('put' in o) {
            await store.putRecord('ns', record(o.put));
            model.add(o.put);
          } else if ('del' in o) {
            await store.deleteRecord('ns', o.del);
            model.delete(o.del);
          } else {
            const want = [...model]
              .filter((k) => o.list === undefined || k > o.list)
              .sort()
              .slice(0, o.limit);
            expect(await store.listIds('ns', { after: o.list, limit: o.limit })).toEqual(want);
          }
        }
        expect(await store.count('ns')).toBe(model.size);
      }),
      { numRuns: 300 },
    );
  });

  it('a namespace of 20,000 records pages through in order, each id once', async () => {
    const store = createMemoryRecordStore();
    for (let i = 19_999; i >= 0; i--) await store.putRecord('ns', record(`r${String(i).padStart(5, '0')}`));
    const seen: string[] = [];
    for (let after: string | undefined; ; ) {
      const ids = await store.listIds('ns', { after, limit: 1024 });
      if (ids.length === 0) break;
      seen.push(...ids);
      after = ids[ids.length - 1];
    }
    expect(seen).toHaveLength(20_000);
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(20_000);
  });
});
