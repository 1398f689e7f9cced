/** The Region member of the multi-Region key operations (ReplicaRegion, PrimaryRegion). */
import { KmsError } from '../../errors.js';
import type { Engine } from '../../engine.js';
import { partitionOf } from '../../regions.js';
import type { InputReader } from '../../validate.js';

/** The model's RegionType: 1..32 characters, `^([a-z]+-){2,3}\d+$`. */
export function readRegion(input: InputReader, field: string): string {
  return input.string(field, { required: true, min: 1, max: 32, pattern: /^([a-z]+-){2,3}\d+$/ });
}

/** A Region of the key's partition that this KMS serves, or AWS-shaped refusal. */
export function requireSetRegion(engine: Engine, region: string, field: string): void {
  if (partitionOf(region) !== partitionOf(engine.region)) {
    throw new KmsError(
      'ValidationException',
      `${field} ${region} is not in the partition of ${engine.region}: the keys of a multi-Region set share one partition.`,
    );
  }
  if (!engine.regional?.serves(region) && !engine.regional?.remote?.isRemote(region)) {
    throw new KmsError('UnsupportedOperationException', `${field} ${region} is not a Region this KMS serves.`);
  }
}

export function notPrimary(engine: Engine, keyId: string): KmsError {
  return new KmsError('UnsupportedOperationException', `${engine.keyArn(keyId)} is not a multi-region primary key.`);
}
