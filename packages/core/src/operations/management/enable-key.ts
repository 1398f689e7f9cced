/** EnableKey: Disabled -> Enabled. */
import type { OperationContext } from '../../auth/authorize.js';
import type { Engine } from '../../engine.js';
import type { InputReader } from '../../validate.js';
import type { Output } from '../common.js';
import { setState } from './key-state.js';

export function enableKey(engine: Engine, input: InputReader, ctx: OperationContext): Promise<Output> {
  return setState(engine, input, ctx, 'EnableKey', 'Enabled');
}
