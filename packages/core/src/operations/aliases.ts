/** CreateAlias, UpdateAlias, DeleteAlias, ListAliases. `alias/aws/` is reserved for AWS managed keys. */
import { authorize, type OperationContext } from '../auth/authorize.js';
import type { Engine } from '../engine.js';
import { KmsError, StoreConflictError } from '../errors.js';
import type { AliasRecord, KeyRecord } from '../model.js';
import type { InputReader } from '../validate.js';
import { decodeMarker, encodeMarker, readKeyId, readMarker, type Output } from './shared.js';

const ALIAS_PATTERN = /^[a-zA-Z0-9:/_-]+$/;

function readAliasName(input: InputReader): string {
  return input.string('AliasName', { required: true, min: 1, max: 256, pattern: ALIAS_PATTERN });
}

function checkCustomerAliasName(engine: Engine, name: string): void {
  if (!name.startsWith('alias/') || name.length === 'alias/'.length) {
    throw new KmsError('InvalidAliasNameException', `Alias must start with the prefix "alias/" followed by a name: ${name}`);
  }
  if (name.startsWith('alias/aws/') || name === 'alias/aws') {
    throw new KmsError('InvalidAliasNameException', `Alias ${engine.aliasArn(name)} uses the reserved prefix alias/aws/, which is reserved for AWS managed keys.`);
  }
}

function checkTarget(engine: Engine, key: KeyRecord): void {
  engine.requireNotPendingDeletion(key);
  if (key.KeyManager === 'AWS') {
    throw new KmsError('UnsupportedOperationException', `${engine.keyArn(key.KeyId)} is an AWS managed key. Aliases can only point to customer managed keys.`);
  }
}

async function commitAlias(engine: Engine, name: string, build: (current: AliasRecord | undefined) => Promise<{ alias: AliasRecord; expect: string | null }>): Promise<void> {
  await engine.withLock(`alias:${name}`, async () => {
    for (let attempt = 0; ; attempt++) {
      const current = await engine.store.getAlias(name);
      const { alias, expect } = await build(current);
      try {
        await engine.store.commit([{ type: 'putAlias', alias, expectTarget: expect }]);
        return;
      } catch (e) {
        if (!(e instanceof StoreConflictError) || attempt > 16) throw e;
      }
    }
  });
}

export async function createAlias(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const name = readAliasName(input);
  const targetRef = readKeyId(input, 'TargetKeyId');
  input.done();
  checkCustomerAliasName(engine, name);
  const target = await engine.resolve(targetRef, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'CreateAlias', key: target });
  checkTarget(engine, target);
  await commitAlias(engine, name, async (current) => {
    if (current) throw new KmsError('AlreadyExistsException', `An alias with the name ${engine.aliasArn(name)} already exists`);
    const now = engine.now();
    return { alias: { AliasName: name, TargetKeyId: target.KeyId, CreationDate: now, LastUpdatedDate: now }, expect: null };
  });
  return {};
}

export async function updateAlias(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const name = readAliasName(input);
  const targetRef = readKeyId(input, 'TargetKeyId');
  input.done();
  checkCustomerAliasName(engine, name);
  const target = await engine.resolve(targetRef, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'UpdateAlias', key: target });
  checkTarget(engine, target);
  await commitAlias(engine, name, async (current) => {
    if (!current) throw new KmsError('NotFoundException', `Alias ${engine.aliasArn(name)} is not found.`);
    const old = await engine.store.getKey(current.TargetKeyId);
    if (old) authorize(engine, ctx, { action: 'UpdateAlias', key: old });
    if (old && (old.KeySpec !== target.KeySpec || old.KeyUsage !== target.KeyUsage)) {
      throw new KmsError('ValidationException', `The new target key ${engine.keyArn(target.KeyId)} must have the same key spec and key usage as the current target.`);
    }
    return { alias: { ...current, TargetKeyId: target.KeyId, LastUpdatedDate: engine.now() }, expect: current.TargetKeyId };
  });
  return {};
}

export async function deleteAlias(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const name = readAliasName(input);
  input.done();
  checkCustomerAliasName(engine, name);
  await engine.withLock(`alias:${name}`, async () => {
    for (let attempt = 0; ; attempt++) {
      const current = await engine.store.getAlias(name);
      if (!current) throw new KmsError('NotFoundException', `Alias ${engine.aliasArn(name)} is not found.`);
      const target = await engine.store.getKey(current.TargetKeyId);
      if (target) authorize(engine, ctx, { action: 'DeleteAlias', key: target });
      try {
        await engine.store.commit([{ type: 'deleteAlias', aliasName: name, expectTarget: current.TargetKeyId }]);
        return;
      } catch (e) {
        if (!(e instanceof StoreConflictError) || attempt > 16) throw e;
      }
    }
  });
  return {};
}

export async function listAliases(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = input.string('KeyId', { min: 1, max: 2048 });
  const limit = input.int('Limit', { min: 1, max: 100 }) ?? 50;
  const marker = readMarker(input);
  input.done();
  const after = decodeMarker(marker, (p) => p.startsWith('alias/'));
  authorize(engine, ctx, { action: 'ListAliases' });
  const keyId = ref === undefined ? undefined : (await engine.resolve(ref, { caller: ctx.caller })).KeyId;
  const items: AliasRecord[] = [];
  let cursor = after;
  let more = false;
  // Read pages from the store until this page is full (a KeyId filter may skip many aliases).
  for (;;) {
    const page = await engine.store.listAliases({ after: cursor, limit: limit + 1 });
    for (const a of page.items) {
      if (keyId !== undefined && a.TargetKeyId !== keyId) {
        cursor = a.AliasName;
        continue;
      }
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(a);
      cursor = a.AliasName;
    }
    if (more || !page.next) break;
  }
  const out: Output = {
    Aliases: items.map((a) => ({
      AliasName: a.AliasName,
      AliasArn: engine.aliasArn(a.AliasName),
      TargetKeyId: a.TargetKeyId,
      CreationDate: new Date(a.CreationDate),
      LastUpdatedDate: new Date(a.LastUpdatedDate),
    })),
    Truncated: more,
  };
  if (more) out.NextMarker = encodeMarker(items[items.length - 1]!.AliasName);
  return out;
}
