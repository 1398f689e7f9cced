/**
 * ListKeyRotations: the key's rotations oldest first (ROTATIONS_ONLY, the default), or every key
 * material version including the original (ALL_KEY_MATERIAL); Limit 1..1000 with Marker paging.
 */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import type { InputReader } from '../../validate.js';
import { supportsOnDemandRotation } from '../rotation/rotation-shared.js';
import { materialState } from '../../imported-material.js';
import type { ImportedMaterial } from '../../model.js';
import { decodeMarker, encodeMarker, readKeyId, readMarker, type Output } from '../common.js';

export async function listKeyRotations(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  const include = input.enumValue('IncludeKeyMaterial', ['ALL_KEY_MATERIAL', 'ROTATIONS_ONLY'] as const) ?? 'ROTATIONS_ONLY';
  const limit = input.int('Limit', { min: 1, max: 1000 }) ?? 100;
  const marker = readMarker(input);
  input.done();
  const key = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'ListKeyRotations', key });
  if (!supportsOnDemandRotation(key)) {
    throw new KmsError('UnsupportedOperationException', `${engine.keyArn(key.KeyId)} does not support key rotations.`);
  }
  engine.requireNotPendingDeletion(key);
  const first = include === 'ROTATIONS_ONLY' ? 1 : 0;
  // Imported material: by id, with its import state; ALL_KEY_MATERIAL lists the one pending rotation too.
  const byVersion = new Map<number, [string, ImportedMaterial]>(Object.entries(key.Imported ?? {}).map(([id, m]) => [m.Version, [id, m]]));
  const last = include === 'ALL_KEY_MATERIAL' ? Math.max(key.CurrentVersion, ...[...byVersion.keys()]) : key.CurrentVersion;
  const after = decodeMarker(marker, (p) => /^\d{1,10}$/.test(p) && Number(p) >= first && Number(p) <= last);
  const start = after === undefined ? first : Number(after);
  // Read one more than asked to know whether the list goes on; never past the committed current version.
  const versions = (await engine.store.listVersions(key.KeyId, { after: start, limit: limit + 1 })).filter((v) => v.Version <= last);
  const page = versions.slice(0, limit);
  const lacking = new Set<string>();
  for (const [id, m] of byVersion.values()) if (m.Version > key.CurrentVersion && (await engine.replicasLacking(key, id)).length > 0) lacking.add(id);
  const truncated = versions.length > limit;
  const out: Output = {
    Rotations: page.map((v) => {
      const entry: Output = {
        KeyId: key.KeyId,
        KeyMaterialId: v.KeyMaterialId,
        KeyMaterialState: v.Version === key.CurrentVersion ? 'CURRENT' : 'NON_CURRENT',
      };
      const imported = byVersion.get(v.Version);
      if (imported) {
        const [id, m] = imported;
        entry.KeyMaterialState = materialState(key, m);
        // A multi-Region key's new material waits for every Region to import it.
        if (entry.KeyMaterialState === 'PENDING_ROTATION' && (m.ImportState !== 'IMPORTED' || lacking.has(id))) {
          if (key.MultiRegion) entry.KeyMaterialState = 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION';
        }
        if (m.Description !== undefined) entry.KeyMaterialDescription = m.Description;
        entry.ImportState = m.ImportState;
        if (m.ExpirationModel) entry.ExpirationModel = m.ExpirationModel;
        if (m.ValidTo !== undefined) entry.ValidTo = new Date(m.ValidTo);
      }
      if (v.Origin !== 'CREATE' && entry.KeyMaterialState !== 'PENDING_ROTATION') {
        entry.RotationDate = new Date(v.CreationDate);
        entry.RotationType = v.Origin;
      }
      return entry;
    }),
    Truncated: truncated,
  };
  if (truncated) out.NextMarker = encodeMarker(String(page[page.length - 1]!.Version));
  return out;
}
