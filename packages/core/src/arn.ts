/**
 * Key references: key id, key ARN, alias name, alias ARN. Parses them into what to look up, with
 * AWS's errors for the malformed ones.
 */
import { isKeyId } from './bytes.js';
import { KmsError } from './errors.js';

export type KeyRef =
  | { kind: 'key'; keyId: string }
  | { kind: 'alias'; aliasName: string }
  /** A well-formed reference to another account or region: it can only be "not found". */
  | { kind: 'foreign'; ref: string };

const ARN_RE = /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-eusc):kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;

export interface Scope {
  partition: string;
  region: string;
  accountId: string;
}

export function keyArn(scope: Scope, keyId: string): string {
  return `arn:${scope.partition}:kms:${scope.region}:${scope.accountId}:key/${keyId}`;
}

export function aliasArn(scope: Scope, aliasName: string): string {
  return `arn:${scope.partition}:kms:${scope.region}:${scope.accountId}:${aliasName}`;
}

export function parseKeyRef(scope: Scope, ref: string, allowAlias: boolean): KeyRef {
  if (ref.startsWith('arn:')) {
    const m = ARN_RE.exec(ref);
    if (!m) throw new KmsError('InvalidArnException', `Invalid arn ${ref}`);
    const [, partition, region, account, type, rest] = m as unknown as [string, string, string, string, string, string];
    if (type === 'key' && !isKeyId(rest)) {
      throw new KmsError('InvalidArnException', `Invalid arn ${ref}`);
    }
    if (type === 'alias' && !allowAlias) throw new KmsError('NotFoundException', `Invalid keyId ${ref}`);
    if (partition !== scope.partition || region !== scope.region || account !== scope.accountId) {
      return { kind: 'foreign', ref };
    }
    return type === 'key' ? { kind: 'key', keyId: rest } : { kind: 'alias', aliasName: `alias/${rest}` };
  }
  if (ref.startsWith('alias/')) {
    if (!allowAlias) throw new KmsError('NotFoundException', `Invalid keyId ${ref}`);
    return { kind: 'alias', aliasName: ref };
  }
  if (isKeyId(ref)) return { kind: 'key', keyId: ref };
  throw new KmsError('NotFoundException', `Invalid keyId ${ref}`);
}
