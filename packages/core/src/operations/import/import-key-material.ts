/**
 * ImportKeyMaterial: material wrapped under a GetParametersForImport wrapping key, unwrapped,
 * checked for the key's spec and stored like generated material (sealed by the protector). The
 * first material makes the key usable; on a symmetric key a NEW_KEY_MATERIAL import after that
 * waits, PENDING_ROTATION, for RotateKeyOnDemand; EXISTING_KEY_MATERIAL brings back material that
 * was deleted or expired (the same bytes: the same KeyMaterialId). A failed import changes nothing,
 * and nothing of the material reaches an error or a log.
 */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import { wipe } from '../../bytes.js';
import { givenMaterialId, type Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import { pendingRotation, withImported } from '../../imported-material.js';
import { checkImportedMaterial, unwrapMaterial } from '../../imports.js';
import type { ImportedMaterial, KeyRecord } from '../../model.js';
import type { StoreWrite } from '../../store/types.js';
import type { InputReader } from '../../validate.js';
import { readKeyId, type Output } from '../common.js';
import { KEY_MATERIAL_ID, requireExternal } from './import-shared.js';

const EXPIRATION_MODELS = ['KEY_MATERIAL_EXPIRES', 'KEY_MATERIAL_DOES_NOT_EXPIRE'] as const;
const IMPORT_TYPES = ['NEW_KEY_MATERIAL', 'EXISTING_KEY_MATERIAL'] as const;
const DESCRIPTION = /^[a-zA-Z0-9:/_\s.-]*$/;
const MAX_VALID_TO_MS = 365 * 24 * 60 * 60 * 1000;

export async function importKeyMaterial(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  const token = input.blob('ImportToken', { required: true, min: 1, max: 6144 });
  const encrypted = input.blob('EncryptedKeyMaterial', { required: true, min: 1, max: 6144 });
  const validTo = input.timestamp('ValidTo');
  const model = input.enumValue('ExpirationModel', EXPIRATION_MODELS) ?? 'KEY_MATERIAL_EXPIRES';
  const importType = input.enumValue('ImportType', IMPORT_TYPES);
  const description = input.string('KeyMaterialDescription', { min: 0, max: 256 });
  if (description !== undefined && !DESCRIPTION.test(description)) {
    input.invalid('KeyMaterialDescription', description, 'Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_\\s.-]+$');
  }
  const namedId = input.string('KeyMaterialId', { min: 64, max: 64 });
  if (namedId !== undefined && !KEY_MATERIAL_ID.test(namedId))
    input.invalid('KeyMaterialId', namedId, 'Member must satisfy regular expression pattern: ^[a-f0-9]+$');
  input.done();

  const now = engine.now();
  if (model === 'KEY_MATERIAL_EXPIRES' && validTo === undefined) {
    throw new KmsError('ValidationException', 'A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES');
  }
  if (model === 'KEY_MATERIAL_DOES_NOT_EXPIRE' && validTo !== undefined) {
    throw new KmsError('ValidationException', 'A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE');
  }
  if (validTo !== undefined && validTo <= now) throw new KmsError('ValidationException', 'The validTo date must be in the future.');
  if (validTo !== undefined && validTo > now + MAX_VALID_TO_MS)
    throw new KmsError('ValidationException', 'The validTo date must be at most 365 days in the future.');

  const resolved = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'ImportKeyMaterial', key: resolved });
  requireExternal(engine, resolved);
  engine.requireNotPendingDeletion(resolved);
  const symmetric = resolved.KeySpec === 'SYMMETRIC_DEFAULT';
  if (!symmetric && (importType !== undefined || namedId !== undefined || description !== undefined)) {
    throw new KmsError('ValidationException', 'ImportType, KeyMaterialId and KeyMaterialDescription are valid only for symmetric encryption KMS keys.');
  }
  if (importType === 'NEW_KEY_MATERIAL' && namedId !== undefined) {
    throw new KmsError('ValidationException', 'A KeyMaterialId cannot be specified with ImportType NEW_KEY_MATERIAL.');
  }
  const entry = engine.importTokens.entryFor(token, resolved.KeyId, now);
  const raw = await unwrapMaterial(entry, encrypted);
  try {
    const publicKey = await checkImportedMaterial(resolved, raw);
    const id = await givenMaterialId(resolved.KeyId, raw);
    if (namedId !== undefined && namedId !== id) {
      throw new KmsError('IncorrectKeyMaterialException', `The key material does not match the key material ID ${namedId}.`);
    }
    const out = await engine.mutateKey(resolved.KeyId, async (key) => {
      engine.requireNotPendingDeletion(key);
      return decide(engine, key, raw, { keyMaterialId: id, publicKey }, { importType, model, validTo, description });
    });
    engine.forgetMaterial(resolved.KeyId);
    return { KeyId: engine.keyArn(resolved.KeyId), KeyMaterialId: out };
  } finally {
    wipe(raw);
  }
}

interface ImportRequest {
  importType?: (typeof IMPORT_TYPES)[number];
  model: (typeof EXPIRATION_MODELS)[number];
  validTo?: number;
  description?: string;
}

/** An imported material's record after an import: the request's expiration, its description or the one it had. */
function expiration(m: Pick<ImportedMaterial, 'Version' | 'Description'>, req: ImportRequest): ImportedMaterial {
  const description = req.description ?? m.Description;
  return {
    Version: m.Version,
    ImportState: 'IMPORTED',
    ExpirationModel: req.model,
    ...(req.validTo !== undefined && { ValidTo: req.validTo }),
    ...(description !== undefined && { Description: description }),
  };
}

/** What an import of material `id` does to `key`: a new version, or the deleted one restored. */
async function decide(engine: Engine, key: KeyRecord, raw: Uint8Array, derived: { keyMaterialId: string; publicKey?: Uint8Array }, req: ImportRequest) {
  const id = derived.keyMaterialId;
  const imported = key.Imported ?? {};
  const known = imported[id];
  const replica = key.MultiRegionConfiguration?.MultiRegionKeyType === 'REPLICA';
  // A replica imports what its primary has (it knows the materials' ids): EXISTING by default.
  const type = req.importType ?? (Object.keys(imported).length === 0 && !replica ? 'NEW_KEY_MATERIAL' : 'EXISTING_KEY_MATERIAL');
  const arn = engine.keyArn(key.KeyId);
  if (type === 'NEW_KEY_MATERIAL' && replica) {
    throw new KmsError(
      'UnsupportedOperationException',
      `${arn} is a multi-Region replica key: import new key material into its primary key in ${key.MultiRegionConfiguration!.PrimaryRegion}, then the same material here with ImportType EXISTING_KEY_MATERIAL.`,
    );
  }
  let version: number;
  if (type === 'EXISTING_KEY_MATERIAL') {
    if (!known) {
      throw new KmsError('IncorrectKeyMaterialException', `The key material is not the key material previously imported into ${arn}.`);
    }
    if (known.ImportState === 'IMPORTED') {
      // The same material again while it is imported: its expiration (and description) change,
      // nothing else (AWS's reimport to update ExpirationModel and ValidTo).
      const m = expiration(known, req);
      return { next: withImported(key, { ...imported, [id]: m }), writes: [], result: id };
    }
    version = known.Version;
  } else {
    if (known) {
      throw new KmsError(
        'IncorrectKeyMaterialException',
        `The key material is already associated with ${arn}: import it with ImportType EXISTING_KEY_MATERIAL.`,
      );
    }
    const pending = pendingRotation(key);
    if (pending) {
      throw new KmsError(
        'KMSInvalidStateException',
        `New key material (id: ${id}) cannot be imported into KMS key ${key.KeyId}, because another key material (id: ${pending[0]}) is pending rotation.`,
      );
    }
    version = Math.max(0, ...Object.values(imported).map((m) => m.Version)) + 1;
  }
  const made = await engine.newVersion(key, version, version === 1 ? 'CREATE' : 'ON_DEMAND', raw, derived);
  let writes: StoreWrite[];
  // The same version again (deleted, expired, or a replica's record without bytes), as it was
  // made (its date and origin), with its material back.
  const old = known ? await engine.store.getVersion(key.KeyId, version) : undefined;
  if (old) {
    if (old.KeyMaterialId !== id) throw new Error(`version ${version} of ${key.KeyId} is not material ${id}`);
    writes = [{ type: 'replaceVersion', version: { ...made, CreationDate: old.CreationDate, Origin: old.Origin } }];
  } else {
    writes = [{ type: 'putVersion', version: made }];
  }
  const m = expiration({ Version: version, ...(known?.Description !== undefined && { Description: known.Description }) }, req);
  const first = key.CurrentVersion === 0;
  const base: KeyRecord = first ? { ...key, CurrentVersion: version, CurrentKeyMaterialId: id } : key;
  const next = withImported(base, { ...imported, [id]: m });
  return { next, writes, result: id };
}
