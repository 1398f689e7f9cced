/** PolicyName: every key has one policy, named "default". */
import { KmsError } from '../../errors.js';
import type { InputReader } from '../../validate.js';

export function readPolicyName(input: InputReader): void {
  const name = input.string('PolicyName', { min: 1, max: 128, pattern: /^[\w]+$/ });
  input.done();
  if (name !== undefined && name !== 'default') throw new KmsError('NotFoundException', `No such policy exists: ${name}. A key has one policy, "default".`);
}
