/**
 * AWS Signature Version 4 for the bench's requests (used by bench/http.ts under `npm run bench`):
 * signs one POST / TrentService call with node:crypto, so the same static, validly signed request
 * can be replayed by wrk for a few seconds (X-Amz-Date stays well inside the 15-minute window).
 * Measures nothing by itself.
 */
import { createHash, createHmac } from 'node:crypto';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** A fixed identity: edge-kms in verify mode is started with it; open mode and moto accept any. */
export const BENCH_CREDENTIALS: Credentials = { accessKeyId: 'AKIDEDGEKMSBENCH0001', secretAccessKey: 'edge-kms-bench-secret-access-key-0000000' };
export const BENCH_REGION = 'us-east-1';

const sha256Hex = (data: string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/**
 * The headers of a signed POST of `body` to `url` (path "/") for `X-Amz-Target: target`, scoped to
 * `region` (the Region the request acts in). `host` is included because it is signed; clients
 * that set it themselves (fetch) send the same value.
 */
export function signedHeaders(
  url: string,
  target: string,
  body: string,
  creds: Credentials = BENCH_CREDENTIALS,
  now = new Date(),
  region = BENCH_REGION,
): Record<string, string> {
  const host = new URL(url).host;
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, ''); // 20240101T000000Z
  const date = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.1',
    host,
    'x-amz-date': amzDate,
    'x-amz-target': target,
  };
  const names = Object.keys(headers).sort();
  const canonicalRequest = ['POST', '/', '', ...names.map((n) => `${n}:${headers[n]}`), '', names.join(';'), sha256Hex(body)].join('\n');
  const scope = `${date}/${region}/kms/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${creds.secretAccessKey}`, date);
  for (const part of [region, 'kms', 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return headers;
}
