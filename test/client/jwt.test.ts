/**
 * @edge-kms/client/jwt over real HTTP: the edge-kms server (SigV4 verified, identities from
 * KMS_IDENTITIES) signs JWTs for ES256, ES512, EdDSA, RS256, PS256, PS512 (one RSA_2048 key) and
 * HS256 through the SigV4 client; jose verifies the signed ones with the key from GetPublicKey;
 * verifyJwt verifies them locally and through KMS Verify / VerifyMac; the AWS SDK's own Verify
 * accepts the JOSE signature (once converted back to DER for ECDSA); ES256K on an ECC_SECG_P256K1
 * key; a caller of another account is refused by KMS (AccessDeniedException
 * arrives unchanged). And the bundles: the envelope bundle of bench/fixtures/bundle-client.ts does
 * not carry the JWT module, and `@edge-kms/client/jwt` alone carries neither the HTTP client nor
 * aws4fetch.
 * Run: npx vitest run test/client/jwt.test.ts
 */
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { createKmsClient, type KmsClient } from '@edge-kms/client';
import { joseToDer, signJwt, verifyJwt, type JwtAlgorithm } from '@edge-kms/client/jwt';
import type { SigningAlgorithmSpec } from '@aws-sdk/client-kms';
import { build } from 'esbuild';
import * as jose from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE, CAROL, clientAs, spawnVerifyingServer } from '../auth/support.js';
import { REGION, REPO_ROOT, type KmsServer } from '../helpers/server.js';

let server: KmsServer;
let alice: KmsClient;
const keys: Record<string, string> = {};
const SPECS: Record<string, string> = {
  ES256: 'ECC_NIST_P256',
  ES512: 'ECC_NIST_P521',
  EdDSA: 'ECC_NIST_EDWARDS25519',
  HS256: 'HMAC_256',
  RSA: 'RSA_2048',
};
/** The AWS SDK's SigningAlgorithm of each alg tested over HTTP. */
const KMS_ALG: Record<string, SigningAlgorithmSpec> = {
  ES256: 'ECDSA_SHA_256',
  ES512: 'ECDSA_SHA_512',
  EdDSA: 'ED25519_SHA_512',
  RS256: 'RSASSA_PKCS1_V1_5_SHA_256',
  PS256: 'RSASSA_PSS_SHA_256',
  PS512: 'RSASSA_PSS_SHA_512',
};
const keyOf = (alg: string) => keys[alg.startsWith('RS') || alg.startsWith('PS') ? 'RSA' : alg]!;

beforeAll(async () => {
  server = await spawnVerifyingServer();
  alice = createKmsClient({ endpoint: server.url, region: REGION, credentials: ALICE });
  for (const [alg, KeySpec] of Object.entries(SPECS)) {
    const KeyUsage = KeySpec.startsWith('HMAC') ? 'GENERATE_VERIFY_MAC' : 'SIGN_VERIFY';
    keys[alg] = (await alice.createKey({ KeySpec, KeyUsage })).KeyMetadata.KeyId;
  }
});
afterAll(async () => {
  await server?.dispose();
});

const pem = (der: Uint8Array) => `-----BEGIN PUBLIC KEY-----\n${Buffer.from(der).toString('base64')}\n-----END PUBLIC KEY-----\n`;

describe('over HTTP with SigV4', () => {
  for (const alg of ['ES256', 'ES512', 'EdDSA', 'RS256', 'PS256', 'PS512'] as JwtAlgorithm[]) {
    it(`${alg}: signed through the HTTP client, verified by jose, by verifyJwt (local and KMS Verify) and by the AWS SDK's Verify`, async () => {
      const keyId = keyOf(alg);
      const token = await signJwt(alice, { keyId, alg, payload: { sub: 'alice', aud: 'api' }, issuedAt: true, expirationTime: '5m' });
      const { PublicKey } = await alice.getPublicKey({ KeyId: keyId });
      const { payload } = await jose.jwtVerify(token, await jose.importSPKI(pem(PublicKey), alg), { audience: 'api', algorithms: [alg] });
      expect(payload.sub).toBe('alice');
      // An RSA key signs six algs: verifyJwt wants alg for it.
      const alg0 = alg.startsWith('RS') || alg.startsWith('PS') ? alg : undefined;
      await expect(verifyJwt(alice, token, { keyId, alg: alg0, audience: 'api' })).resolves.toMatchObject({ payload: { sub: 'alice' } });
      await expect(verifyJwt(alice, token, { keyId, alg, via: 'kms' })).resolves.toMatchObject({ payload: { sub: 'alice' } });

      const [h, p, s] = token.split('.') as [string, string, string];
      const sig = Buffer.from(s, 'base64url');
      const sdk = await clientAs(server.url, ALICE).verify({
        KeyId: keyId,
        Message: new TextEncoder().encode(`${h}.${p}`),
        MessageType: 'RAW',
        Signature: alg.startsWith('ES') ? joseToDer(sig) : sig,
        SigningAlgorithm: KMS_ALG[alg],
      });
      expect(sdk.SignatureValid).toBe(true);
      const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'root', aud: 'api' })).toString('base64url')}.${s}`;
      for (const via of ['local', 'kms'] as const) {
        await expect(verifyJwt(alice, forged, { keyId, alg, via })).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
      }
    });
  }

  it('an RSA key without alg is a TypeError; an RS256 token on the EC key is refused', async () => {
    const token = await signJwt(alice, { keyId: keys.RSA!, alg: 'RS256', payload: {} });
    await expect(verifyJwt(alice, token, { keyId: keys.RSA! })).rejects.toThrow(/RSA_2048 key, which signs RS256, .* options.alg must name/);
    await expect(verifyJwt(alice, token, { keyId: keys.ES256! })).rejects.toMatchObject({ code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
    await expect(verifyJwt(alice, token, { keyId: keys.ES256!, alg: 'RS256', via: 'kms' })).rejects.toMatchObject({ code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
  });

  it('ES256K: an ECC_SECG_P256K1 key over HTTP; OpenSSL and the AWS SDK verify the signature, verifyJwt through KMS Verify', async () => {
    const keyId = (await alice.createKey({ KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata.KeyId;
    const token = await signJwt(alice, { keyId, alg: 'ES256K', payload: { sub: 'alice' } });
    const [h, p, s] = token.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    expect(sig.length).toBe(64);
    const { PublicKey } = await alice.getPublicKey({ KeyId: keyId });
    // jose 6 has no ES256K; node:crypto (OpenSSL) checks JOSE's r‖s.
    const key = createPublicKey({ key: Buffer.from(PublicKey), format: 'der', type: 'spki' });
    expect(nodeVerify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
    const sdk = await clientAs(server.url, ALICE).verify({
      KeyId: keyId,
      Message: new TextEncoder().encode(`${h}.${p}`),
      MessageType: 'RAW',
      Signature: joseToDer(sig),
      SigningAlgorithm: 'ECDSA_SHA_256',
    });
    expect(sdk.SignatureValid).toBe(true);
    await expect(verifyJwt(alice, token, { keyId })).resolves.toMatchObject({ payload: { sub: 'alice' } });
    await expect(verifyJwt(alice, token, { keyId, alg: 'ES256K' })).resolves.toMatchObject({ payload: { sub: 'alice' } });
    await expect(verifyJwt(alice, token, { keyId: keys.ES256!, alg: 'ES256K' })).rejects.toMatchObject({ code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
  });

  it('HS256: GenerateMac and VerifyMac over HTTP; a tampered token fails', async () => {
    const token = await signJwt(alice, { keyId: keys.HS256!, alg: 'HS256', payload: { role: 'reader' } });
    await expect(verifyJwt(alice, token, { keyId: keys.HS256! })).resolves.toMatchObject({ payload: { role: 'reader' } });
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ role: 'admin' })).toString('base64url')}.${s}`;
    await expect(verifyJwt(alice, forged, { keyId: keys.HS256! })).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });

  it("a caller of another account: KMS's AccessDeniedException arrives unchanged, for signing and verifying", async () => {
    const carol = createKmsClient({ endpoint: server.url, region: REGION, credentials: CAROL, maxAttempts: 1 });
    const token = await signJwt(alice, { keyId: keys.ES256!, alg: 'ES256', payload: {} });
    const arn = `arn:aws:kms:${REGION}:111122223333:key/${keys.ES256}`;
    await expect(signJwt(carol, { keyId: arn, alg: 'ES256', payload: {} })).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(verifyJwt(carol, token, { keyId: arn, alg: 'ES256' })).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(verifyJwt(carol, token, { keyId: arn, alg: 'ES256', via: 'kms' })).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });
});

describe('bundles', () => {
  async function bundle(entry: { file: string } | { contents: string }) {
    const out = await build({
      ...('file' in entry ? { entryPoints: [entry.file] } : { stdin: { contents: entry.contents, resolveDir: REPO_ROOT, loader: 'ts' as const } }),
      bundle: true,
      write: false,
      minify: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      metafile: true,
      logLevel: 'error',
    });
    return { inputs: Object.keys(out.metafile.inputs), gzipped: gzipSync(out.outputFiles[0]!.contents, { level: 9 }).length };
  }

  it('the envelope bundle (bench/fixtures/bundle-client.ts) does not carry the JWT module', async () => {
    const { inputs } = await bundle({ file: fileURLToPath(new URL('../../bench/fixtures/bundle-client.ts', import.meta.url)) });
    expect(inputs.some((p) => p.endsWith('packages/client/src/envelope.ts'))).toBe(true);
    expect(inputs.filter((p) => /jwt/.test(p))).toEqual([]);
  });

  it('@edge-kms/client/jwt alone is jwt.ts and base64.ts: no HTTP client, no aws4fetch', async () => {
    const { inputs, gzipped } = await bundle({ contents: "export { signJwt, verifyJwt } from '@edge-kms/client/jwt';" });
    expect(
      inputs
        .filter((p) => p !== '<stdin>')
        .map((p) => p.replace(/^.*packages\//, 'packages/'))
        .sort(),
    ).toEqual(['packages/client/src/base64.ts', 'packages/client/src/jwt.ts']);
    expect(gzipped).toBeLessThan(6 * 1024);
  });
});
