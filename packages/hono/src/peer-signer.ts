/**
 * The SigV4 signer of the peer channel between deployments (multi-Region keys, @edge-kms/core
 * replication.ts): aws4fetch, the well-kept WebCrypto SigV4 signer, so the core keeps no
 * dependencies. Pass it as `peerSigner` to createKms with `peers`.
 */
import type { PeerSigner } from '@edge-kms/core';
import { AwsClient } from 'aws4fetch';

export function createPeerSigner(): PeerSigner {
  return (url, init, credentials) => new AwsClient({ ...credentials, retries: 0 }).sign(url, init);
}
