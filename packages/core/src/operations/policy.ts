/** Key policy documents: reading and checking the JSON (evaluation arrives with authorization). */
import { KmsError } from '../errors.js';
import type { InputReader } from '../validate.js';

export function readPolicy(input: InputReader, field: string, required: boolean): string | undefined {
  const policy = input.string(field, { required, min: 1, max: 32768, pattern: /^[\u0009\u000A\u000D\u0020-\u00FF]+$/, sensitive: true });
  if (policy === undefined) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(policy);
  } catch {
    throw new KmsError('MalformedPolicyDocumentException', 'The policy document is not valid JSON.');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc) || !('Statement' in doc)) {
    throw new KmsError('MalformedPolicyDocumentException', 'The policy document must be a JSON object with a Statement.');
  }
  return policy;
}
