/**
 * How an engine is configured: the options of createKms that the engine reads, the rotation
 * policies, AWS's defaults (account, Region, rotation period, on-demand limit) and the default key
 * policy. No engine here: sigv4 and the shells read these defaults without the engine.
 */
import type { Clock } from './clock.js';
import type { CryptoProvider } from './crypto-provider.js';
import type { MaterialProtector } from './material.js';
import type { KmsStore } from './store/types.js';

/** How automatic rotation behaves for customer managed keys. */
export type RotationPolicyName = 'aws' | 'rotate-by-default';

export interface RotationPolicy {
  name: RotationPolicyName;
  /** New symmetric customer managed keys start with automatic rotation enabled. */
  enabledByDefault: boolean;
  /** EnableKeyRotation may change the period of a key whose rotation is already enabled. */
  allowPeriodChangeWhileEnabled: boolean;
}

export const ROTATION_POLICIES: Record<RotationPolicyName, RotationPolicy> = {
  aws: { name: 'aws', enabledByDefault: false, allowPeriodChangeWhileEnabled: true },
  'rotate-by-default': { name: 'rotate-by-default', enabledByDefault: true, allowPeriodChangeWhileEnabled: false },
};

export interface KmsOptions {
  store?: KmsStore;
  accountId?: string;
  /**
   * The default Region: requests that name none (in-process calls, unsigned requests to a custom
   * endpoint) act in it, and the records of a store written before Regions existed are moved
   * into it. Default us-east-1.
   */
  region?: string;
  /** The Regions served (any AWS Region name when absent); a request for another is refused. */
  regions?: readonly string[];
  /** The ARN partition; by default the partition of each Region (aws, aws-cn, aws-us-gov, …). */
  partition?: string;
  clock?: Clock;
  protector?: MaterialProtector;
  rotationPolicy?: RotationPolicyName;
  /** On-demand rotations allowed per key (AWS's original quota: 10). */
  onDemandRotationLimit?: number;
  /** Called with every unexpected (non-KMS) error; the caller only sees KMSInternalException. */
  onInternalError?: (error: unknown) => void;
  /** Upper bound of the in-memory cache of opened key material versions. */
  materialCacheSize?: number;
  /** Hot-path primitives; WebCrypto by default (the Node server injects node:crypto). */
  crypto?: CryptoProvider;
}

export const DEFAULT_ACCOUNT_ID = '111122223333';
export const DEFAULT_REGION = 'us-east-1';
export const DEFAULT_ROTATION_PERIOD_DAYS = 365;
export const AWS_MANAGED_ROTATION_PERIOD_DAYS = 365;
export const DEFAULT_ON_DEMAND_ROTATION_LIMIT = 10;

export function defaultKeyPolicy(accountId: string, partition = 'aws'): string {
  return JSON.stringify(
    {
      Version: '2012-10-17',
      Id: 'key-default-1',
      Statement: [
        {
          Sid: 'Enable IAM User Permissions',
          Effect: 'Allow',
          Principal: { AWS: `arn:${partition}:iam::${accountId}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    },
    null,
    2,
  );
}
