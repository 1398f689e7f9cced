/** RetireGrant: by token, or by key id and grant id; by the retiring principal, the grantee (with RetireGrant) or the issuer. */
import { accessDenied, type OperationContext } from '../../auth/authorize.js';
import { isKeyId } from '../../bytes.js';
import type { Engine } from '../../engine.js';
import { KmsError } from '../../errors.js';
import type { InputReader } from '../../validate.js';
import type { Output } from '../common.js';
import { invalidToken, parseGrantToken } from './grant-tokens.js';
import { GRANT_ID_RE, mayRetire, removeGrant } from './grant-rules.js';

export async function retireGrant(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  const token = input.string('GrantToken', { min: 1, max: 8192 });
  const ref = input.string('KeyId', { min: 1, max: 2048 });
  const grantIdIn = input.string('GrantId', { min: 1, max: 128 });
  input.done();
  let keyId: string;
  let grantId: string;
  if (token !== undefined) {
    const parsed = parseGrantToken(token);
    if (!parsed) throw invalidToken();
    ({ keyId, grantId } = parsed);
    if (grantIdIn !== undefined && grantIdIn !== grantId) throw new KmsError('InvalidGrantIdException', 'The GrantId does not match the grant token.');
  } else {
    if (ref === undefined || grantIdIn === undefined) {
      throw new KmsError('ValidationException', 'Specify either GrantToken, or both KeyId and GrantId.');
    }
    if (!GRANT_ID_RE.test(grantIdIn)) throw new KmsError('InvalidGrantIdException', `The grant ID ${grantIdIn} is not valid.`);
    keyId = (await engine.resolve(ref, { caller: ctx.caller })).KeyId;
    grantId = grantIdIn;
  }
  if (!isKeyId(keyId)) throw invalidToken();
  await engine.loadKey(keyId);
  await removeGrant(engine, keyId, grantId, (g) => {
    if (!mayRetire(ctx.caller, g)) throw accessDenied(ctx.caller!, 'RetireGrant', engine.keyArn(keyId), false);
  });
  return {};
}
