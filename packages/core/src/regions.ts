/**
 * AWS Region names: which strings are Regions, the partition a Region belongs to, and where a
 * request names its Region (the SigV4 credential scope, or the `kms.<region>.amazonaws.com` host).
 */

/** An AWS Region name: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, `eusc-de-east-1`. */
export const REGION_RE = /^[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}$/;

export function isRegionName(name: string): boolean {
  return name.length <= 32 && REGION_RE.test(name);
}

/** The partition of a Region, as AWS assigns it. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  return 'aws';
}

const CREDENTIAL_REGION_RE = /Credential=[^/,\s]*\/\d{8}\/([a-z0-9-]+)\//;
const QUERY_REGION_RE = /[?&]X-Amz-Credential=[^&/]*(?:\/|%2F)\d{8}(?:\/|%2F)([a-z0-9-]+)(?:\/|%2F)/i;
const HOST_REGION_RE = /^https?:\/\/kms(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?(?::\d+)?\//;

/**
 * The Region a request names without checking any signature: its credential scope (header or
 * presigned query), else its host when that is an AWS KMS endpoint. For `none` authentication,
 * where nothing is verified; a verifying server takes the Region from the verified scope.
 */
export function requestRegion(url: string, authorization: string | null): string | undefined {
  const named =
    (authorization !== null ? CREDENTIAL_REGION_RE.exec(authorization) : url.includes('?') ? QUERY_REGION_RE.exec(url) : null) ?? HOST_REGION_RE.exec(url);
  const region = named?.[1];
  return region !== undefined && isRegionName(region) ? region : undefined;
}
