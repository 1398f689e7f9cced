/**
 * What the alias operations share: the name rules (a name without `alias/` is AWS's ValidationException;
 * `alias/aws/` is reserved for AWS managed keys), valid targets, and the commit of one alias.
 */
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import { retryOnConflict } from '../../store/retry.js';
import type { AliasRecord, KeyRecord } from '../../model.js';
import type { InputReader } from '../../validate.js';

export const ALIAS_PATTERN = /^[a-zA-Z0-9:/_-]+$/;

export function readAliasName(input: InputReader): string {
  return input.string('AliasName', { required: true, min: 1, max: 256, pattern: ALIAS_PATTERN });
}

/** AWS's message for an AliasName without the `alias/` prefix (a ValidationException in CreateAlias, UpdateAlias and DeleteAlias). */
export const ALIAS_PREFIX_MESSAGE =
  'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html';

export function checkCustomerAliasName(engine: Engine, name: string): void {
  if (!name.startsWith('alias/')) throw new KmsError('ValidationException', ALIAS_PREFIX_MESSAGE);
  if (name.length === 'alias/'.length) {
    throw new KmsError('InvalidAliasNameException', `Alias must start with the prefix "alias/" followed by a name: ${name}`);
  }
  if (name.startsWith('alias/aws/') || name === 'alias/aws') {
    throw new KmsError(
      'InvalidAliasNameException',
      `Alias ${engine.aliasArn(name)} uses the reserved prefix alias/aws/, which is reserved for AWS managed keys.`,
    );
  }
}

export function checkTarget(engine: Engine, key: KeyRecord): void {
  engine.requireNotPendingDeletion(key);
  if (key.KeyManager === 'AWS') {
    throw new KmsError('UnsupportedOperationException', `${engine.keyArn(key.KeyId)} is an AWS managed key. Aliases can only point to customer managed keys.`);
  }
}

export async function commitAlias(
  engine: Engine,
  name: string,
  build: (current: AliasRecord | undefined) => Promise<{ alias: AliasRecord; expect: string | null }>,
): Promise<void> {
  // The engine's one retry policy: a conflicting writer (another process) means read again.
  await engine.withLock(`alias:${name}`, () =>
    retryOnConflict(async () => {
      const current = await engine.store.getAlias(name);
      const { alias, expect } = await build(current);
      await engine.store.commit([{ type: 'putAlias', alias, expectTarget: expect }]);
    }),
  );
}
