/**
 * Builds an edge-kms from a Worker's environment: the root key from the KMS_ROOT_KEY secret
 * (base64, 32 bytes; key material at rest is wrapped under it), identities from the
 * KMS_IDENTITIES secret (JSON). Without identities the Worker refuses to serve unless
 * KMS_ALLOW_OPEN=1 says open development mode is wanted: an edge is never "localhost only".
 */
import {
  createKms,
  createRootKeyProtector,
  createTestClock,
  errorResponse,
  fromBase64,
  KmsError,
  parseIdentities,
  parsePeers,
  parseRequestQuotas,
  systemClock,
  type Kms,
  type KmsStore,
  type RotationPolicyName,
  type TestClock,
} from '@edge-kms/core';
import { createPeerSigner } from '@edge-kms/hono';

export interface KmsEnv {
  KMS_ROOT_KEY?: string;
  KMS_IDENTITIES?: string;
  KMS_ALLOW_OPEN?: string;
  KMS_ACCOUNT_ID?: string;
  /** The default Region (requests that name none act in it); every Region is served unless KMS_REGIONS restricts. */
  KMS_REGION?: string;
  /** Comma-separated: serve only these Regions. */
  KMS_REGIONS?: string;
  /** JSON list of peer deployments for multi-Region keys (a secret: it holds the link secrets). */
  KMS_PEERS?: string;
  KMS_ROTATION_POLICY?: string;
  KMS_ON_DEMAND_ROTATION_LIMIT?: string;
  KMS_CORS_ORIGINS?: string;
  KMS_TEST_MODE?: string;
  /** Request-rate quotas: off (default), aws, or JSON RequestQuotaOptions (see parseRequestQuotas). */
  KMS_REQUEST_QUOTAS?: string;
}

export class ConfigurationError extends Error {}

export interface BuiltKms {
  kms: Kms;
  testClock?: TestClock;
}

export async function buildKms(env: KmsEnv, store: KmsStore): Promise<BuiltKms> {
  const root = env.KMS_ROOT_KEY ? fromBase64(env.KMS_ROOT_KEY.trim()) : undefined;
  if (root?.length !== 32) throw new ConfigurationError('KMS_ROOT_KEY must be a secret holding 32 random bytes, base64-encoded');
  const protector = await createRootKeyProtector(root);
  root.fill(0);
  const identities = env.KMS_IDENTITIES ? parseIdentities(env.KMS_IDENTITIES) : [];
  if (identities.length === 0 && env.KMS_ALLOW_OPEN !== '1') {
    throw new ConfigurationError('No identities configured (KMS_IDENTITIES secret). Set KMS_ALLOW_OPEN=1 to run in open development mode.');
  }
  const limit = env.KMS_ON_DEMAND_ROTATION_LIMIT ? Number(env.KMS_ON_DEMAND_ROTATION_LIMIT) : undefined;
  const testMode = env.KMS_TEST_MODE === '1';
  const testClock = testMode ? createTestClock(Date.now()) : undefined;
  const kms = createKms({
    store,
    protector,
    accountId: env.KMS_ACCOUNT_ID || undefined,
    region: env.KMS_REGION || undefined,
    regions: env.KMS_REGIONS
      ? env.KMS_REGIONS.split(',')
          .map((r) => r.trim())
          .filter(Boolean)
      : undefined,
    peers: parsePeers(env.KMS_PEERS),
    peerSigner: env.KMS_PEERS ? createPeerSigner() : undefined,
    clock: testClock ?? systemClock,
    rotationPolicy: (env.KMS_ROTATION_POLICY || undefined) as RotationPolicyName | undefined,
    onDemandRotationLimit: limit,
    authentication: identities.length ? { mode: 'verify', identities } : { mode: 'open' },
    // Counted per Durable Object (one per account and Region: exact), or per isolate with KV.
    requestQuotas: parseRequestQuotas(env.KMS_REQUEST_QUOTAS),
  });
  return { kms, testClock };
}

export function corsOrigins(env: KmsEnv): string[] | '*' | undefined {
  const v = env.KMS_CORS_ORIGINS;
  if (!v) return undefined;
  return v === '*'
    ? '*'
    : v
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean);
}

/** The answer while the KMS cannot be built: KMSInternalException, the reason in the Worker's log only. */
export function configurationErrorResponse(e: unknown): Response {
  console.error('edge-kms configuration error:', e instanceof Error ? e.message : e);
  return errorResponse(new KmsError('KMSInternalException', 'The KMS is not configured. See the Worker logs.'));
}
