/**
 * Identities for SigV4 verification, from a JSON file or env: a list of
 * `{ "accessKeyId", "secretAccessKey", "accountId", "arn" }`. Validated strictly so that a typo
 * cannot silently fall back to open mode.
 */
import type { Identity } from './types.js';

export function parseIdentities(text: string): Identity[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error('identities must be JSON');
  }
  const list = Array.isArray(doc) ? doc : (doc as { identities?: unknown })?.identities;
  if (!Array.isArray(list)) throw new Error('identities must be a JSON list (or {"identities": [...]})');
  const seen = new Set<string>();
  return list.map((x, i) => {
    const r = x as Record<string, unknown>;
    for (const f of ['accessKeyId', 'secretAccessKey', 'accountId', 'arn']) {
      if (typeof r?.[f] !== 'string' || r[f] === '') throw new Error(`identity ${i}: "${f}" must be a non-empty string`);
    }
    const id = r as unknown as Identity;
    if (!/^\d{12}$/.test(id.accountId)) throw new Error(`identity ${i}: "accountId" must be 12 digits`);
    if (!new RegExp(`^arn:aws[a-z-]*:(iam|sts)::${id.accountId}:.+$`).test(id.arn)) {
      throw new Error(`identity ${i}: "arn" must be an IAM principal ARN in account ${id.accountId}`);
    }
    if (seen.has(id.accessKeyId)) throw new Error(`identity ${i}: duplicate accessKeyId ${id.accessKeyId}`);
    seen.add(id.accessKeyId);
    return { accessKeyId: id.accessKeyId, secretAccessKey: id.secretAccessKey, accountId: id.accountId, arn: id.arn };
  });
}
