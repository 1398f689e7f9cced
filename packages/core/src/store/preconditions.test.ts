/**
 * The shared precondition checks over an asynchronous reader (what the IndexedDB and KV stores
 * use): every read is issued before any is awaited, each thing is read once, and the checks see
 * only what was read. The rules themselves run against every store in the conformance suite
 * (test/conformance/store-conformance.ts). Run: npx vitest run packages/core/src/store/preconditions.test.ts
 */
import { describe, expect, it } from 'vitest';
import { StoreConflictError } from '../errors.js';
import type { AliasRecord, KeyRecord, MaterialVersion } from '../model.js';
import { checkWritesAsync, readPreconditionView, type PreconditionReader } from './preconditions.js';
import type { StoreWrite } from './types.js';

const key = (KeyId: string, Revision: number) => ({ KeyId, Revision }) as KeyRecord;
const version = (KeyId: string, Version: number, KeyMaterialId = 'm') =>
  ({ KeyId, Version, KeyMaterialId, Material: { kind: 'wrapped', alg: 'x', data: new Uint8Array(1) } }) as MaterialVersion;
const alias = (AliasName: string, TargetKeyId: string): AliasRecord => ({ AliasName, TargetKeyId, CreationDate: 1, LastUpdatedDate: 1 });

/** A reader over fixed state whose answers wait until release(): shows what is asked, and when. */
function pendingReader(state: { keys?: KeyRecord[]; versions?: [string, number, string?][]; aliases?: AliasRecord[] }) {
  const asked: string[] = [];
  const waiting: (() => void)[] = [];
  const later = <T>(what: string, value: T) => {
    asked.push(what);
    return new Promise<T>((r) => waiting.push(() => r(value)));
  };
  const reader: PreconditionReader = {
    getKey: (id) =>
      later(
        `key ${id}`,
        state.keys?.find((k) => k.KeyId === id),
      ),
    hasVersion: (id, v) => later(`version ${id}/${v}`, state.versions?.some(([i, n]) => i === id && n === v) ?? false),
    versionMaterialIds: (id, v) =>
      later(
        `material ids ${id}/${v}`,
        (state.versions ?? []).filter(([i, n]) => i === id && n === v).map(([, , m]) => m ?? 'm'),
      ),
    getAlias: (n) =>
      later(
        `alias ${n}`,
        state.aliases?.find((a) => a.AliasName === n),
      ),
  };
  return {
    reader,
    asked,
    release: () => {
      for (const f of waiting.splice(0)) f();
    },
  };
}

describe('readPreconditionView', () => {
  it('asks for everything at once, each key, version and alias once', async () => {
    const { reader, asked, release } = pendingReader({ keys: [key('a', 1)], versions: [['a', 1]], aliases: [alias('alias/x', 'a')] });
    const writes: StoreWrite[] = [
      { type: 'putKey', key: key('a', 2), expectRevision: 1 },
      { type: 'putVersion', version: version('a', 2) },
      { type: 'putVersion', version: version('a', 2) },
      { type: 'deleteKey', keyId: 'a', expectRevision: 1 },
      { type: 'putAlias', alias: alias('alias/x', 'b'), expectTarget: 'a' },
      { type: 'deleteAlias', aliasName: 'alias/x', expectTarget: 'a' },
    ];
    const view = readPreconditionView(reader, writes);
    // Every request is out before the first answer: inside an IndexedDB transaction nothing but
    // these requests is awaited.
    expect(asked).toEqual(['key a', 'version a/2', 'alias alias/x']);
    release();
    const v = await view;
    expect(v.getKey('a')?.Revision).toBe(1);
    expect(v.hasVersion('a', 2)).toBe(false);
    expect(v.getAlias('alias/x')?.TargetKeyId).toBe('a');
  });

  it('a commit that repeats a version conflicts even though the version was not there', async () => {
    const { reader, release } = pendingReader({});
    const p = checkWritesAsync(reader, [
      { type: 'putVersion', version: version('a', 1) },
      { type: 'putVersion', version: version('a', 1) },
    ]);
    release();
    await expect(p).rejects.toBeInstanceOf(StoreConflictError);
  });

  it('replaceVersion: reads the stored KeyMaterialIds once, and passes only when the version exists with the same one', async () => {
    const state = { versions: [['a', 1, 'm1'] as [string, number, string]] };
    const r = pendingReader(state);
    const view = readPreconditionView(r.reader, [
      { type: 'replaceVersion', version: version('a', 1, 'm1') },
      { type: 'replaceVersion', version: version('a', 1, 'm1') },
    ]);
    expect(r.asked).toEqual(['material ids a/1']);
    r.release();
    expect((await view).versionMaterialIds('a', 1)).toEqual(['m1']);
    const check = async (writes: StoreWrite[]) => {
      const { reader, release } = pendingReader(state);
      const p = checkWritesAsync(reader, writes);
      release();
      await p;
    };
    await check([{ type: 'replaceVersion', version: version('a', 1, 'm1') }]);
    await expect(check([{ type: 'replaceVersion', version: version('a', 1, 'other') }])).rejects.toBeInstanceOf(StoreConflictError);
    await expect(check([{ type: 'replaceVersion', version: version('a', 2, 'm1') }])).rejects.toBeInstanceOf(StoreConflictError);
    // One version written twice in a commit, however: refused.
    await expect(
      check([
        { type: 'replaceVersion', version: version('a', 1, 'm1') },
        { type: 'replaceVersion', version: version('a', 1, 'm1') },
      ]),
    ).rejects.toBeInstanceOf(StoreConflictError);
    await expect(
      check([
        { type: 'putVersion', version: version('a', 2, 'm2') },
        { type: 'replaceVersion', version: version('a', 2, 'm2') },
      ]),
    ).rejects.toBeInstanceOf(StoreConflictError);
  });

  it('calls checkVersion for each version write that passed, in order with the other checks', async () => {
    const seen: number[] = [];
    const { reader, release } = pendingReader({ keys: [key('a', 1)] });
    const ok = checkWritesAsync(
      reader,
      [
        { type: 'putVersion', version: version('a', 2) },
        { type: 'putVersion', version: version('a', 3) },
      ],
      { checkVersion: (v) => void seen.push(v.Version) },
    );
    release();
    await ok;
    expect(seen).toEqual([2, 3]);
    // A conflict before a refused version wins; a refused version before a conflict wins.
    const refuse = () => {
      throw new Error('refused');
    };
    const r1 = pendingReader({ keys: [key('a', 1)] });
    const first = checkWritesAsync(
      r1.reader,
      [
        { type: 'putKey', key: key('a', 3), expectRevision: 2 },
        { type: 'putVersion', version: version('a', 2) },
      ],
      { checkVersion: refuse },
    );
    r1.release();
    await expect(first).rejects.toBeInstanceOf(StoreConflictError);
    const r2 = pendingReader({ keys: [key('a', 1)] });
    const second = checkWritesAsync(
      r2.reader,
      [
        { type: 'putVersion', version: version('a', 2) },
        { type: 'putKey', key: key('a', 3), expectRevision: 2 },
      ],
      { checkVersion: refuse },
    );
    r2.release();
    await expect(second).rejects.toThrow('refused');
  });
});
