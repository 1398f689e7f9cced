/** RevokeGrant: the key's administrators remove a grant. */
import { authorize, type OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import type { InputReader } from '../../validate.js';
import { readKeyId, type Output } from '../common.js';
import { dryRun, readGrantTokens } from '../common.js';
import { GRANT_ID_RE, removeGrant } from './grant-rules.js';

export async function revokeGrant(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const ref = readKeyId(input);
  const grantId = input.string('GrantId', { required: true, min: 1, max: 128 });
  readGrantTokens(input);
  input.done();
  if (!GRANT_ID_RE.test(grantId)) throw new KmsError('InvalidGrantIdException', `The grant ID ${grantId} is not valid.`);
  const key = await engine.resolve(ref, { caller: ctx.caller });
  authorize(engine, ctx, { action: 'RevokeGrant', key });
  dryRun(input);
  await removeGrant(engine, key.KeyId, grantId, () => undefined);
  return {};
}
