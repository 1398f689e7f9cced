/** EnableKey, DisableKey: the Enabled <-> Disabled transitions. */
import type { Engine } from '../engine.js';
import type { KeyRecord } from '../model.js';
import type { InputReader } from '../validate.js';
import { readKeyId, type Output } from './shared.js';

async function setState(engine: Engine, input: InputReader, op: string, state: 'Enabled' | 'Disabled'): Promise<Output> {
  const ref = readKeyId(input);
  input.done();
  const { KeyId } = await engine.resolve(ref);
  await engine.mutateKey(KeyId, (key) => {
    engine.requireCustomerManaged(key, op);
    engine.requireNotPendingDeletion(key);
    if (key.KeyState === state) return { result: undefined };
    const next: KeyRecord = { ...key, KeyState: state };
    return { next, result: undefined };
  });
  return {};
}

export function enableKey(engine: Engine, input: InputReader): Promise<Output> {
  return setState(engine, input, 'EnableKey', 'Enabled');
}

export function disableKey(engine: Engine, input: InputReader): Promise<Output> {
  return setState(engine, input, 'DisableKey', 'Disabled');
}
