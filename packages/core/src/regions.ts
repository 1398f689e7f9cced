/**
 * AWS Region names: which strings are Regions, the partition a Region belongs to, and where a
 * request names its Region (the SigV4 credential scope, or the `kms.<region>.amazonaws.com` host).
 */

/** An AWS Region name: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, `eusc-de-east-1`. */
export const REGION_RE = /^[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}$/;

export function isRegionName(name: string): boolean {
  return name.length <= 32 && REGION_RE.test(name);
}

/**
 * The Regions AWS KMS is in (commercial, GovCloud, China, ISO, the European Sovereign Cloud), as
 * of 2026: what the KMS serves when `regions` is not given. A Region AWS opens later is served
 * once listed here, or at once by naming it in `regions` (KMS_REGIONS).
 */
export const AWS_REGIONS: readonly string[] = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-south-1',
  'ap-south-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ca-central-1',
  'ca-west-1',
  'eu-central-1',
  'eu-central-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-south-1',
  'eu-south-2',
  'eu-north-1',
  'il-central-1',
  'me-south-1',
  'me-central-1',
  'mx-central-1',
  'sa-east-1',
  'us-gov-east-1',
  'us-gov-west-1',
  'cn-north-1',
  'cn-northwest-1',
  'us-iso-east-1',
  'us-iso-west-1',
  'us-isob-east-1',
  'eusc-de-east-1',
];
const AWS_REGION_SET = new Set(AWS_REGIONS);

export function isAwsRegion(name: string): boolean {
  return AWS_REGION_SET.has(name);
}

/** The partition of a Region, as AWS assigns it. */
export function partitionOf(region: string): string {
  if (region.startsWith('eusc-')) return 'aws-eusc';
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
