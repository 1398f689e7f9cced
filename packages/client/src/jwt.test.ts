/**
 * JWTs signed and verified with KMS keys, against an in-process edge-kms: tokens signed by
 * edge-kms (ES256, ES384, ES512, EdDSA, RS256/384/512 and PS256/384/512 on RSA_2048/3072/4096)
 * verify in jose with the key imported from GetPublicKey's SPKI; HS256/384/512 tokens made through
 * GenerateMac verify through VerifyMac and fail once tampered; jose-made tokens under foreign keys
 * fail; algorithm confusion (HS256 signed with the EC or RSA key's public key, alg none, another
 * curve, RS256 relabelled PS256, an RSA key verified without alg, an alg the options do not allow)
 * is refused; ES256K through a stand-in KMS on node:crypto's secp256k1 (always verified by KMS
 * Verify; an ES256K header signed by a P-256 key refused) and against edge-kms's ECC_SECG_P256K1
 * keys; malformed tokens; the claims checks (exp, nbf, iss, aud, sub, typ,
 * maxTokenAge) against jose's own; the DER <-> r‖s conversion against node:crypto; the public key
 * cache.
 * Run: npx vitest run packages/client/src/jwt.test.ts
 */
import { createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { createKms } from '@edge-kms/core';
import * as jose from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createKmsClient, type KmsClient } from './client.js';
import { clearJwtKeyCache, derToJose, joseToDer, JwtError, signJwt, verifyJwt, type JwtAlgorithm, type JwtKms, type VerifyJwtOptions } from './jwt.js';

const enc = new TextEncoder();
const b64url = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');
const pem = (der: Uint8Array) =>
  `-----BEGIN PUBLIC KEY-----\n${Buffer.from(der)
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END PUBLIC KEY-----\n`;

const kms = createKms();
const client = createKmsClient({ kms });
const keys: Record<string, string> = {};
const SPECS = {
  ES256: 'ECC_NIST_P256',
  ES384: 'ECC_NIST_P384',
  ES512: 'ECC_NIST_P521',
  EdDSA: 'ECC_NIST_EDWARDS25519',
  HS256: 'HMAC_256',
  HS384: 'HMAC_384',
  HS512: 'HMAC_512',
} as const;
const SIGNING = ['ES256', 'ES384', 'ES512', 'EdDSA'] as const;
const MACS = ['HS256', 'HS384', 'HS512'] as const;
const RSA_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;
/** One key of each RSA size for the whole file (RSA key generation is slow). */
const RSA_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const;

beforeAll(async () => {
  for (const [alg, KeySpec] of Object.entries(SPECS)) {
    const KeyUsage = KeySpec.startsWith('HMAC') ? 'GENERATE_VERIFY_MAC' : 'SIGN_VERIFY';
    keys[alg] = (await client.createKey({ KeySpec, KeyUsage })).KeyMetadata.KeyId;
  }
  await Promise.all(
    RSA_SPECS.map(async (KeySpec) => {
      keys[KeySpec] = (await client.createKey({ KeySpec, KeyUsage: 'SIGN_VERIFY' })).KeyMetadata.KeyId;
    }),
  );
}, 120_000);
afterEach(() => {
  clearJwtKeyCache();
  vi.restoreAllMocks();
});

/** The JwtError a promise fails with; fails the test if it resolves or fails otherwise. */
async function refusal(p: Promise<unknown>): Promise<JwtError> {
  const e = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(e instanceof JwtError)) throw new Error(`expected a JwtError, got ${String(e)}`);
  return e;
}

/** A client that counts its calls by method name. */
function counted(inner: KmsClient = client) {
  const calls: Record<string, number> = {};
  const kms = new Proxy(inner, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        calls[String(prop)] = (calls[String(prop)] ?? 0) + 1;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { kms, calls };
}

async function joseKeyOf(alg: string, keyId = keys[alg]!) {
  const { PublicKey } = await client.getPublicKey({ KeyId: keyId });
  return jose.importSPKI(pem(PublicKey), alg);
}

/** A token whose signature is made by KMS over any header and payload bytes (bypassing signJwt's checks). */
async function rawToken(alg: 'ES256' | 'HS256', header: unknown, payload: string | Uint8Array) {
  const h = b64url(typeof header === 'string' ? header : JSON.stringify(header));
  const input = `${h}.${b64url(payload)}`;
  const Message = enc.encode(input);
  const sig =
    alg === 'HS256'
      ? (await client.generateMac({ KeyId: keys.HS256!, Message, MacAlgorithm: 'HMAC_SHA_256' })).Mac
      : derToJose((await client.sign({ KeyId: keys.ES256!, Message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' })).Signature, 32);
  return `${input}.${b64url(sig)}`;
}

/**
 * A token over any header, its signature made by KMS Sign with any SigningAlgorithm (bypassing
 * signJwt, which picks the one the header's alg names): ECDSA's DER becomes r‖s of `scalar` bytes.
 */
async function kmsSigned(kms: JwtKms, keyId: string, header: Record<string, unknown>, payload: Record<string, unknown>, SigningAlgorithm: string) {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const Message = enc.encode(input);
  const { Signature } = await kms.sign({ KeyId: keyId, Message, MessageType: 'RAW', SigningAlgorithm });
  const sig = SigningAlgorithm.startsWith('ECDSA') ? derToJose(Signature, 32) : Signature;
  const valid = await kms.verify({ KeyId: keyId, Message, MessageType: 'RAW', Signature, SigningAlgorithm }).then(
    (r) => r.SignatureValid,
    (e: Error) => e.name,
  );
  return { token: `${input}.${b64url(sig)}`, kmsVerifies: valid };
}

describe('tokens signed by edge-kms', () => {
  for (const alg of SIGNING) {
    it(`${alg}: jose verifies it with the key from GetPublicKey's SPKI; verifyJwt verifies it locally and through KMS Verify`, async () => {
      const now = new Date('2030-01-01T00:00:00Z');
      const token = await signJwt(client, {
        keyId: keys[alg]!,
        alg,
        payload: { sub: 'user-42', iss: 'https://issuer.example', aud: ['api', 'web'], scope: 'read' },
        header: { kid: keys[alg]! },
        issuedAt: true,
        expirationTime: '2h',
        currentDate: now,
      });
      const [h, , s] = token.split('.');
      expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({ alg, typ: 'JWT', kid: keys[alg] });
      expect(Buffer.from(s!, 'base64url').length).toBe({ ES256: 64, ES384: 96, ES512: 132, EdDSA: 64 }[alg]);

      const { payload, protectedHeader } = await jose.jwtVerify(token, await joseKeyOf(alg), {
        algorithms: [alg],
        issuer: 'https://issuer.example',
        audience: 'api',
        typ: 'JWT',
        currentDate: new Date(now.getTime() + 3600_000),
      });
      expect(payload).toEqual({ sub: 'user-42', iss: 'https://issuer.example', aud: ['api', 'web'], scope: 'read', iat: 1893456000, exp: 1893463200 });
      expect(protectedHeader.alg).toBe(alg);

      const opts: VerifyJwtOptions = { keyId: keys[alg]!, issuer: 'https://issuer.example', audience: 'web', currentDate: now };
      for (const o of [opts, { ...opts, alg }, { ...opts, via: 'kms' as const }, { ...opts, alg, via: 'kms' as const }]) {
        const out = await verifyJwt(client, token, o);
        expect(out.payload).toEqual(payload);
        expect(out.protectedHeader).toEqual({ alg, typ: 'JWT', kid: keys[alg] });
      }
    });
  }

  it('ES512: many signatures, each 132 bytes, each verified by jose (the DER conversion of 66-byte scalars)', async () => {
    const key = await joseKeyOf('ES512');
    for (let i = 0; i < 25; i++) {
      const token = await signJwt(client, { keyId: keys.ES512!, alg: 'ES512', payload: { i } });
      await expect(jose.jwtVerify(token, key)).resolves.toMatchObject({ payload: { i } });
      await expect(verifyJwt(client, token, { keyId: keys.ES512!, alg: 'ES512' })).resolves.toMatchObject({ payload: { i } });
    }
  });

  it('EdDSA keys also accept the fully-specified alg Ed25519 (RFC 9864), which jose verifies', async () => {
    const token = await signJwt(client, { keyId: keys.EdDSA!, alg: 'Ed25519', payload: { a: 1 } });
    await expect(jose.jwtVerify(token, await joseKeyOf('Ed25519', keys.EdDSA))).resolves.toMatchObject({ payload: { a: 1 } });
    await expect(verifyJwt(client, token, { keyId: keys.EdDSA! })).resolves.toMatchObject({ payload: { a: 1 } });
    expect((await refusal(verifyJwt(client, token, { keyId: keys.EdDSA!, alg: 'EdDSA' }))).code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
  });

  it('an alias works as keyId for signing and verifying', async () => {
    await client.createAlias({ AliasName: 'alias/jwt-signer', TargetKeyId: keys.ES256! });
    const token = await signJwt(client, { keyId: 'alias/jwt-signer', alg: 'ES256', payload: { a: 1 } });
    await expect(verifyJwt(client, token, { keyId: 'alias/jwt-signer' })).resolves.toMatchObject({ payload: { a: 1 } });
    await expect(verifyJwt(client, token, { keyId: keys.ES256! })).resolves.toMatchObject({ payload: { a: 1 } });
  });
});

describe('RSA keys: RS256/384/512 and PS256/384/512', () => {
  const SIZE = { RSA_2048: 256, RSA_3072: 384, RSA_4096: 512 } as const;

  for (const alg of RSA_ALGS) {
    it(`${alg} on RSA_2048: jose verifies it with GetPublicKey's SPKI; verifyJwt locally (WebCrypto) and through KMS Verify`, async () => {
      const keyId = keys.RSA_2048!;
      const now = new Date('2030-01-01T00:00:00Z');
      const token = await signJwt(client, { keyId, alg, payload: { sub: 'user-7', aud: 'api' }, header: { kid: 'rsa-1' }, issuedAt: true, currentDate: now });
      const [h, , s] = token.split('.');
      expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({ alg, typ: 'JWT', kid: 'rsa-1' });
      expect(Buffer.from(s!, 'base64url').length).toBe(256);

      const { payload, protectedHeader } = await jose.jwtVerify(token, await joseKeyOf(alg, keyId), { algorithms: [alg], audience: 'api', currentDate: now });
      expect(payload).toEqual({ sub: 'user-7', aud: 'api', iat: 1893456000 });
      expect(protectedHeader.alg).toBe(alg);

      for (const via of ['local', 'kms'] as const) {
        await expect(verifyJwt(client, token, { keyId, alg, via, audience: 'api', currentDate: now })).resolves.toEqual({ payload, protectedHeader });
        // The other scheme of the same hash, and the same scheme with another hash, are refused by the options.
        const other = (alg.startsWith('RS') ? `PS${alg.slice(2)}` : `RS${alg.slice(2)}`) as JwtAlgorithm;
        expect((await refusal(verifyJwt(client, token, { keyId, alg: other, via }))).code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
      }
    });
  }

  for (const spec of ['RSA_3072', 'RSA_4096'] as const) {
    it(`${spec}: RS512 and PS384 signatures are ${SIZE[spec]} bytes, verified by jose and by verifyJwt (local and KMS Verify)`, async () => {
      const keyId = keys[spec]!;
      for (const alg of ['RS512', 'PS384'] as const) {
        const token = await signJwt(client, { keyId, alg, payload: { spec } });
        expect(Buffer.from(token.split('.')[2]!, 'base64url').length).toBe(SIZE[spec]);
        await expect(jose.jwtVerify(token, await joseKeyOf(alg, keyId), { algorithms: [alg] })).resolves.toMatchObject({ payload: { spec } });
        for (const via of ['local', 'kms'] as const) await expect(verifyJwt(client, token, { keyId, alg, via })).resolves.toMatchObject({ payload: { spec } });
        // A signature of another RSA size fails before any KMS call.
        const { kms, calls } = counted();
        const short = `${token.split('.').slice(0, 2).join('.')}.${b64url(new Uint8Array(256))}`;
        expect((await refusal(verifyJwt(kms, short, { keyId, alg }))).code).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
        expect(calls).toEqual({ getPublicKey: 1 });
      }
    });
  }

  it('a tampered payload, header or signature fails, locally and through KMS Verify', async () => {
    const keyId = keys.RSA_2048!;
    for (const alg of ['RS256', 'PS256'] as const) {
      const token = await signJwt(client, { keyId, alg, payload: { role: 'reader' } });
      const [h, p, s] = token.split('.') as [string, string, string];
      const sig = Buffer.from(s, 'base64url');
      sig[100]! ^= 1;
      const forged = [
        `${h}.${b64url(JSON.stringify({ role: 'admin' }))}.${s}`,
        `${b64url(JSON.stringify({ alg, typ: 'JWT', kid: 'x' }))}.${p}.${s}`,
        `${h}.${p}.${b64url(sig)}`,
        `${h}.${p}.${b64url(sig.subarray(1))}`,
      ];
      for (const bad of forged) {
        for (const via of ['local', 'kms'] as const) {
          expect((await refusal(verifyJwt(client, bad, { keyId, alg, via }))).code).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
        }
        await expect(jose.jwtVerify(bad, await joseKeyOf(alg, keyId))).rejects.toThrow();
      }
    }
  });

  it('a header alg that does not match the signature scheme (an RS256 header over a PSS signature, …) fails; relabelling breaks the signature', async () => {
    const keyId = keys.RSA_2048!;
    const cases = [
      ['PS256', 'RSASSA_PKCS1_V1_5_SHA_256'],
      ['RS256', 'RSASSA_PSS_SHA_256'],
      ['RS256', 'RSASSA_PKCS1_V1_5_SHA_384'],
      ['PS256', 'RSASSA_PSS_SHA_512'],
      ['PS384', 'RSASSA_PSS_SHA_256'],
      ['RS512', 'RSASSA_PSS_SHA_512'],
    ] as const;
    for (const [label, scheme] of cases) {
      const { token, kmsVerifies } = await kmsSigned(client, keyId, { alg: label }, { admin: true }, scheme);
      expect(kmsVerifies).toBe(true);
      for (const via of ['local', 'kms'] as const) {
        expect([label, scheme, via, (await refusal(verifyJwt(client, token, { keyId, alg: label, via }))).code]).toEqual([
          label,
          scheme,
          via,
          'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
        ]);
      }
      await expect(jose.jwtVerify(token, await joseKeyOf(label, keyId))).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    }
    // The header's alg and the scheme agreeing: the same way of making tokens verifies.
    const { token } = await kmsSigned(client, keyId, { alg: 'PS384' }, { admin: true }, 'RSASSA_PSS_SHA_384');
    for (const via of ['local', 'kms'] as const) await expect(verifyJwt(client, token, { keyId, alg: 'PS384', via })).resolves.toBeDefined();
    // A token of signJwt relabelled: the header is signed, so the signature fails whatever the options allow.
    const rs256 = await signJwt(client, { keyId, alg: 'RS256', payload: {} });
    const [, p, s] = rs256.split('.');
    const relabelled = `${b64url(JSON.stringify({ alg: 'PS256', typ: 'JWT' }))}.${p}.${s}`;
    for (const via of ['local', 'kms'] as const) {
      expect((await refusal(verifyJwt(client, relabelled, { keyId, alg: ['RS256', 'PS256'], via }))).code).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
      expect((await refusal(verifyJwt(client, relabelled, { keyId, alg: 'RS256', via }))).code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
    }
  });

  it('an RSA key must be verified with alg: without it, a TypeError naming the six algorithms, whatever the token', async () => {
    const token = await signJwt(client, { keyId: keys.RSA_2048!, alg: 'RS256', payload: {} });
    const hs = await new jose.SignJWT({}).setProtectedHeader({ alg: 'HS256' }).sign(new Uint8Array(32));
    for (const t of [token, hs]) {
      const { kms, calls } = counted();
      const e = await verifyJwt(kms, t, { keyId: keys.RSA_2048! }).catch((e: unknown) => e);
      expect(e).toBeInstanceOf(TypeError);
      expect((e as Error).message).toMatch(
        /KMS key .* is an RSA_2048 key, which signs RS256, RS384, RS512, PS256, PS384 or PS512: options.alg must name the one \(or ones\) its tokens use/,
      );
      expect(calls).toEqual({ describeKey: 1 });
    }
    await expect(verifyJwt(client, token, { keyId: keys.RSA_2048!, alg: ['RS256', 'PS256'] })).resolves.toBeDefined();
  });

  it('RSA algs on other keys, and other algs on an RSA key, are refused', async () => {
    const rs = await signJwt(client, { keyId: keys.RSA_2048!, alg: 'RS256', payload: {} });
    const es = await signJwt(client, { keyId: keys.ES256!, alg: 'ES256', payload: {} });
    // KMS refuses to sign with an algorithm the key does not have.
    await expect(signJwt(client, { keyId: keys.ES256!, alg: 'RS256', payload: {} })).rejects.toMatchObject({ name: 'InvalidKeyUsageException' });
    await expect(signJwt(client, { keyId: keys.RSA_2048!, alg: 'ES256', payload: {} })).rejects.toMatchObject({ name: 'InvalidKeyUsageException' });
    await expect(signJwt(client, { keyId: keys.RSA_2048!, alg: 'HS256', payload: {} })).rejects.toMatchObject({ name: 'InvalidKeyUsageException' });
    // RS256 checked against the EC key: by its spec (DescribeKey or GetPublicKey), or by KMS Verify.
    const e = await refusal(verifyJwt(client, rs, { keyId: keys.ES256! }));
    expect(e.message).toMatch(/the key is ECC_NIST_P256 with usage SIGN_VERIFY, for ES256; RS256 needs an RSA_2048, RSA_3072 or RSA_4096 key/);
    for (const via of ['local', 'kms'] as const) {
      expect((await refusal(verifyJwt(client, rs, { keyId: keys.ES256!, alg: 'RS256', via }))).code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
      expect((await refusal(verifyJwt(client, es, { keyId: keys.RSA_2048!, alg: 'ES256', via }))).code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
      expect((await refusal(verifyJwt(client, rs, { keyId: keys.HS256!, alg: 'RS256', via }))).code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
    }
    expect((await refusal(verifyJwt(client, rs, { keyId: keys.HS256! }))).message).toMatch(/the key is HMAC_256 .*; RS256 needs an RSA_2048/);
  });

  it('HS256 "signed" with the RSA public key (DER or PEM) as the HMAC secret is refused', async () => {
    const { PublicKey } = await client.getPublicKey({ KeyId: keys.RSA_2048! });
    for (const secret of [PublicKey, enc.encode(pem(PublicKey))]) {
      const token = await new jose.SignJWT({ admin: true }).setProtectedHeader({ alg: 'HS256' }).sign(secret);
      expect((await refusal(verifyJwt(client, token, { keyId: keys.RSA_2048!, alg: 'RS256' }))).code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
      expect((await refusal(verifyJwt(client, token, { keyId: keys.RSA_2048!, alg: 'HS256' }))).code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
    }
  });

  it('jose tokens under a foreign RSA key fail, locally and through KMS Verify', async () => {
    for (const alg of ['RS256', 'PS256', 'PS512'] as const) {
      const { privateKey } = await jose.generateKeyPair(alg, { modulusLength: 2048 });
      const token = await new jose.SignJWT({ sub: 'mallory' }).setProtectedHeader({ alg }).sign(privateKey);
      for (const via of ['local', 'kms'] as const) {
        expect((await refusal(verifyJwt(client, token, { keyId: keys.RSA_2048!, alg, via }))).code).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
      }
    }
  });

  it('one GetPublicKey per key for all six algorithms; via kms, one Verify per token', async () => {
    const keyId = keys.RSA_2048!;
    const tokens = await Promise.all(RSA_ALGS.map((alg) => signJwt(client, { keyId, alg, payload: { alg } })));
    const { kms, calls } = counted();
    for (let round = 0; round < 2; round++) {
      await Promise.all(tokens.map((t, i) => verifyJwt(kms, t, { keyId, alg: RSA_ALGS[i]! })));
    }
    await Promise.all(tokens.map((t) => verifyJwt(kms, t, { keyId, alg: [...RSA_ALGS] })));
    expect(calls).toEqual({ getPublicKey: 1 });
    for (const [i, t] of tokens.entries()) await verifyJwt(kms, t, { keyId, alg: RSA_ALGS[i]!, via: 'kms' });
    expect(calls).toEqual({ getPublicKey: 1, verify: 6 });
  });
});

/**
 * A stand-in KMS with one ECC_SECG_P256K1 key, on node:crypto (OpenSSL's secp256k1): Sign answers
 * DER ECDSA_SHA_256 signatures over RAW messages, Verify takes DER, as KMS does. It exercises the
 * client's ES256K path apart from the core's own secp256k1.
 */
function secp256k1Kms() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
  const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  const KEY = '1234abcd-12ab-34cd-56ef-1234567890ab';
  const refuse = (name: string) => Object.assign(new Error(name), { name });
  const check = (KeyId: string, alg?: string) => {
    if (KeyId !== KEY) throw refuse('NotFoundException');
    if (alg !== undefined && alg !== 'ECDSA_SHA_256') throw refuse('InvalidKeyUsageException');
  };
  const calls: Record<string, number> = {};
  const count = (op: string) => void (calls[op] = (calls[op] ?? 0) + 1);
  const kms: JwtKms = {
    async sign({ KeyId, Message, SigningAlgorithm }) {
      count('sign');
      check(KeyId, SigningAlgorithm);
      return { Signature: new Uint8Array(nodeSign('sha256', Message, { key: privateKey, dsaEncoding: 'der' })) };
    },
    async verify({ KeyId, Message, Signature, SigningAlgorithm }) {
      count('verify');
      check(KeyId, SigningAlgorithm);
      if (!nodeVerify('sha256', Message, { key: publicKey, dsaEncoding: 'der' }, Signature)) throw refuse('KMSInvalidSignatureException');
      return { SignatureValid: true };
    },
    async getPublicKey({ KeyId }) {
      count('getPublicKey');
      check(KeyId);
      return { PublicKey: spki, KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'SIGN_VERIFY' };
    },
    async describeKey({ KeyId }) {
      count('describeKey');
      check(KeyId);
      return { KeyMetadata: { KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'SIGN_VERIFY' } };
    },
    generateMac: async () => Promise.reject(refuse('InvalidKeyUsageException')),
    verifyMac: async () => Promise.reject(refuse('InvalidKeyUsageException')),
  };
  return { kms, keyId: KEY, publicKey, calls };
}

/** What every ES256K test checks, against the stand-in or edge-kms: `kms` holds `keyId`, an ECC_SECG_P256K1 key. */
async function checkEs256k(kms: JwtKms, keyId: string, spki: Uint8Array) {
  const publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  expect(publicKey.asymmetricKeyDetails?.namedCurve).toBe('secp256k1');
  for (let i = 0; i < 20; i++) {
    const token = await signJwt(kms, { keyId, alg: 'ES256K', payload: { i }, header: { kid: 'k1' } });
    const [h, p, s] = token.split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ alg: 'ES256K', typ: 'JWT', kid: 'k1' });
    const sig = Buffer.from(s, 'base64url');
    expect(sig.length).toBe(64);
    // JOSE's r‖s, as OpenSSL reads IEEE P1363 signatures (jose 6 has no ES256K: node:crypto is the independent verifier).
    expect(nodeVerify('sha256', Buffer.from(`${h}.${p}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
    for (const o of [{}, { alg: 'ES256K' as const }, { alg: 'ES256K' as const, via: 'kms' as const }]) {
      await expect(verifyJwt(kms, token, { keyId, ...o })).resolves.toMatchObject({ payload: { i }, protectedHeader: { alg: 'ES256K' } });
    }
  }
  const token = await signJwt(kms, { keyId, alg: 'ES256K', payload: { role: 'reader' } });
  const [h, p, s] = token.split('.') as [string, string, string];
  const sig = Buffer.from(s, 'base64url');
  sig[5]! ^= 1;
  const forged = [`${h}.${b64url(JSON.stringify({ role: 'admin' }))}.${s}`, `${h}.${p}.${b64url(sig)}`];
  for (const bad of forged) expect((await refusal(verifyJwt(kms, bad, { keyId, alg: 'ES256K' }))).code).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  // An ES256 header signed by the secp256k1 key (KMS's ECDSA_SHA_256, which KMS Verify accepts): the key is not P-256, whichever way it is checked.
  const { token: es256, kmsVerifies } = await kmsSigned(kms, keyId, { alg: 'ES256' }, { admin: true }, 'ECDSA_SHA_256');
  expect(kmsVerifies).toBe(true);
  for (const o of [
    {},
    { alg: 'ES256' as const },
    { alg: 'ES256' as const, via: 'kms' as const },
    { alg: ['ES256', 'ES256K'] as JwtAlgorithm[], via: 'kms' as const },
  ]) {
    const e = await refusal(verifyJwt(kms, es256, { keyId, ...o }));
    expect([e.code, e.message]).toEqual([
      'ERR_JOSE_ALG_NOT_ALLOWED',
      expect.stringMatching(/the key is ECC_SECG_P256K1 .*, for ES256K; ES256 needs an ECC_NIST_P256 key/),
    ]);
  }
  return token;
}

describe('ES256K (ECDSA_SHA_256 on an ECC_SECG_P256K1 key)', () => {
  it('against a stand-in KMS: r‖s of 32-byte scalars that OpenSSL verifies; verified through KMS Verify only (no WebCrypto secp256k1)', async () => {
    const { kms, keyId, calls } = secp256k1Kms();
    await checkEs256k(kms, keyId, (await kms.getPublicKey({ KeyId: keyId })).PublicKey);
    // Signing and verifying ES256K asked DescribeKey once (the key's spec, cached) and GetPublicKey
    // never: every ES256K token went to Verify (60 + 2 forged), since WebCrypto cannot check it.
    // GetPublicKey: the SPKI above, and the local check of the ES256 label; Verify: kmsSigned's own.
    expect(calls).toEqual({ sign: 22, describeKey: 1, getPublicKey: 2, verify: 20 * 3 + 2 + 1 });
  });

  it('against a stand-in KMS: a token signed by a foreign secp256k1 key fails; a disabled key fails (no local verification to fall back on)', async () => {
    const { kms, keyId } = secp256k1Kms();
    const other = secp256k1Kms();
    const token = await signJwt(other.kms, { keyId: other.keyId, alg: 'ES256K', payload: {} });
    expect((await refusal(verifyJwt(kms, token, { keyId, alg: 'ES256K' }))).code).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    const disabled: JwtKms = { ...kms, verify: async () => Promise.reject(Object.assign(new Error('disabled'), { name: 'DisabledException' })) };
    const mine = await signJwt(kms, { keyId, alg: 'ES256K', payload: {} });
    await expect(verifyJwt(disabled, mine, { keyId, alg: 'ES256K' })).rejects.toMatchObject({ name: 'DisabledException' });
  });

  it('ES256K with a P-256 key: signJwt refuses it before Sign (KMS would sign ECDSA_SHA_256), verifyJwt refuses an ES256K header the P-256 key signed', async () => {
    const { kms, calls } = counted();
    const e = await refusal(signJwt(kms, { keyId: keys.ES256!, alg: 'ES256K', payload: {} }));
    expect([e.code, e.message]).toEqual([
      'ERR_JOSE_ALG_NOT_ALLOWED',
      expect.stringMatching(/the key is ECC_NIST_P256 .*; ES256K needs an ECC_SECG_P256K1 key/),
    ]);
    expect(calls).toEqual({ describeKey: 1 });
    // KMS Verify alone accepts it: ECDSA_SHA_256 with the P-256 key. The key's spec refuses it.
    const { token, kmsVerifies } = await kmsSigned(client, keys.ES256!, { alg: 'ES256K' }, { admin: true }, 'ECDSA_SHA_256');
    expect(kmsVerifies).toBe(true);
    for (const o of [{}, { alg: 'ES256K' as const }, { alg: 'ES256K' as const, via: 'kms' as const }, { alg: ['ES256', 'ES256K'] as JwtAlgorithm[] }]) {
      const r = await refusal(verifyJwt(client, token, { keyId: keys.ES256!, ...o }));
      expect([r.code, r.message]).toEqual([
        'ERR_JOSE_ALG_NOT_ALLOWED',
        expect.stringMatching(/the key is ECC_NIST_P256 .*; ES256K needs an ECC_SECG_P256K1 key/),
      ]);
    }
  });

  it('against edge-kms: an ECC_SECG_P256K1 key signs ES256K tokens that OpenSSL and verifyJwt verify; an ES256 label is refused', async () => {
    const keyId = (await client.createKey({ KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata.KeyId;
    const { PublicKey, KeySpec, SigningAlgorithms } = await client.getPublicKey({ KeyId: keyId });
    expect([KeySpec, SigningAlgorithms]).toEqual(['ECC_SECG_P256K1', ['ECDSA_SHA_256']]);
    const token = await checkEs256k(client, keyId, PublicKey);
    // An ES256K token checked against a P-256 key: the spec, not KMS, refuses it.
    for (const o of [{}, { alg: 'ES256K' as const }]) {
      expect((await refusal(verifyJwt(client, token, { keyId: keys.ES256!, ...o }))).code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
    }
  });
});

describe('HMAC tokens', () => {
  for (const alg of MACS) {
    it(`${alg}: signJwt through GenerateMac verifies through VerifyMac; a tampered payload, header or MAC fails`, async () => {
      const { kms, calls } = counted();
      const token = await signJwt(kms, { keyId: keys[alg]!, alg, payload: { sub: 'svc', n: 1 } });
      expect(calls).toEqual({ generateMac: 1 });
      expect(Buffer.from(token.split('.')[2]!, 'base64url').length).toBe(Number(alg.slice(2)) / 8);
      await expect(verifyJwt(kms, token, { keyId: keys[alg]!, alg, subject: 'svc' })).resolves.toMatchObject({ payload: { sub: 'svc', n: 1 } });
      await expect(verifyJwt(kms, token, { keyId: keys[alg]! })).resolves.toMatchObject({ payload: { n: 1 } });
      expect(calls).toEqual({ generateMac: 1, verifyMac: 2, describeKey: 1 });

      const [h, p, s] = token.split('.') as [string, string, string];
      const payload2 = b64url(JSON.stringify({ sub: 'svc', n: 2 }));
      const header2 = b64url(JSON.stringify({ alg, typ: 'JWS' }));
      const mac = Buffer.from(s, 'base64url');
      mac[0]! ^= 1;
      for (const bad of [`${h}.${payload2}.${s}`, `${header2}.${p}.${s}`, `${h}.${p}.${b64url(mac)}`, `${h}.${p}.${b64url(mac.subarray(1))}`]) {
        expect((await refusal(verifyJwt(kms, bad, { keyId: keys[alg]!, alg }))).code).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
      }
    });
  }

  it('a token made by hand through GenerateMac (no signJwt) verifies; the same MAC over another payload does not', async () => {
    const token = await rawToken('HS256', { alg: 'HS256' }, JSON.stringify({ hello: 'world' }));
    await expect(verifyJwt(client, token, { keyId: keys.HS256!, alg: 'HS256' })).resolves.toEqual({
      payload: { hello: 'world' },
      protectedHeader: { alg: 'HS256' },
    });
    const [h, , s] = token.split('.');
    const forged = `${h}.${b64url(JSON.stringify({ hello: 'admin' }))}.${s}`;
    expect((await refusal(verifyJwt(client, forged, { keyId: keys.HS256! }))).code).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('HS384 on an HMAC_256 key is refused (by the key spec, or by KMS when alg is given), and HS256 on an HMAC_384 key', async () => {
    const token = await signJwt(client, { keyId: keys.HS256!, alg: 'HS256', payload: {} });
    const e = await refusal(verifyJwt(client, token, { keyId: keys.HS384! }));
    expect(e.code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
    expect(e.message).toMatch(/the key is HMAC_384 with usage GENERATE_VERIFY_MAC, for HS384; HS256 needs an HMAC_256 key/);
    const k = await refusal(verifyJwt(client, token, { keyId: keys.HS384!, alg: 'HS256' }));
    expect(k.code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
    expect(k.message).toMatch(/incompatible with key spec HMAC_384/);
    await expect(signJwt(client, { keyId: keys.HS256!, alg: 'HS384', payload: {} })).rejects.toMatchObject({ name: 'InvalidKeyUsageException' });
  });
});

describe('tokens made by jose with foreign keys fail', () => {
  for (const alg of SIGNING) {
    it(`${alg}: a jose token under a key of the same curve fails, locally and through KMS Verify`, async () => {
      const { privateKey } = await jose.generateKeyPair(alg);
      const token = await new jose.SignJWT({ sub: 'mallory' }).setProtectedHeader({ alg, typ: 'JWT' }).setIssuedAt().sign(privateKey);
      for (const via of ['local', 'kms'] as const) {
        expect((await refusal(verifyJwt(client, token, { keyId: keys[alg]!, via }))).code).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
        expect((await refusal(verifyJwt(client, token, { keyId: keys[alg]!, alg, via }))).code).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
      }
    });
  }

  for (const alg of MACS) {
    it(`${alg}: a jose token under a random secret fails VerifyMac`, async () => {
      const secret = crypto.getRandomValues(new Uint8Array(Number(alg.slice(2)) / 8));
      const token = await new jose.SignJWT({ sub: 'mallory' }).setProtectedHeader({ alg }).sign(secret);
      expect((await refusal(verifyJwt(client, token, { keyId: keys[alg]! }))).code).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    });
  }
});

describe('algorithm confusion', () => {
  it('HS256 "signed" with the EC key\'s public key as the HMAC secret is refused, with or without alg, before any MAC is checked', async () => {
    const { PublicKey } = await client.getPublicKey({ KeyId: keys.ES256! });
    for (const secret of [PublicKey, enc.encode(pem(PublicKey))]) {
      const token = await new jose.SignJWT({ admin: true }).setProtectedHeader({ alg: 'HS256' }).sign(secret);
      const { kms, calls } = counted();
      const e = await refusal(verifyJwt(kms, token, { keyId: keys.ES256! }));
      expect(e.code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
      expect(e.message).toMatch(/alg HS256 does not fit KMS key .*: the key is ECC_NIST_P256 with usage SIGN_VERIFY, for ES256; HS256 needs an HMAC_256 key/);
      expect(calls).toEqual({ describeKey: 1 });
      expect((await refusal(verifyJwt(kms, token, { keyId: keys.ES256!, alg: 'ES256' }))).code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
      expect((await refusal(verifyJwt(kms, token, { keyId: keys.ES256!, alg: ['ES256', 'ES384'] }))).message).toMatch(/accepts ES256, ES384/);
      // Allowing HS256 for an EC key: KMS VerifyMac refuses the key.
      expect((await refusal(verifyJwt(kms, token, { keyId: keys.ES256!, alg: 'HS256' }))).code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
    }
  });

  it('alg none (an unsecured JWT) is never accepted, in any spelling the options could allow', async () => {
    const token = new jose.UnsecuredJWT({ admin: true }).encode();
    expect(token.endsWith('.')).toBe(true);
    for (const o of [{ keyId: keys.ES256! }, { keyId: keys.HS256! }, { keyId: keys.ES256!, alg: 'ES256' as const }]) {
      const e = await refusal(verifyJwt(client, token, o));
      expect(e.code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
    }
    expect((await refusal(verifyJwt(client, token, { keyId: keys.ES256! }))).message).toMatch(/"none" .* never accepted/);
    await expect(verifyJwt(client, token, { keyId: keys.ES256!, alg: 'none' as JwtAlgorithm })).rejects.toThrow(/"none"/);
    await expect(signJwt(client, { keyId: keys.ES256!, alg: 'none' as JwtAlgorithm, payload: {} })).rejects.toThrow(/"none"/);
  });

  it('another curve: an ES384 token on a P-256 key, and an EdDSA header on a P-256 signature, are refused', async () => {
    const es384 = await signJwt(client, { keyId: keys.ES384!, alg: 'ES384', payload: {} });
    expect((await refusal(verifyJwt(client, es384, { keyId: keys.ES256! }))).message).toMatch(/the key is ECC_NIST_P256/);
    // Allowed by the options: the public key's spec still decides (local), or KMS Verify does.
    expect((await refusal(verifyJwt(client, es384, { keyId: keys.ES256!, alg: ['ES256', 'ES384'] }))).code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
    expect((await refusal(verifyJwt(client, es384, { keyId: keys.ES256!, alg: ['ES256', 'ES384'], via: 'kms' }))).code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
    const es256 = await signJwt(client, { keyId: keys.ES256!, alg: 'ES256', payload: {} });
    const [, p, s] = es256.split('.');
    const relabelled = `${b64url(JSON.stringify({ alg: 'EdDSA' }))}.${p}.${s}`;
    expect((await refusal(verifyJwt(client, relabelled, { keyId: keys.ES256! }))).code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
    expect((await refusal(verifyJwt(client, relabelled, { keyId: keys.EdDSA! }))).code).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('an EC token checked against an HMAC key, and a HMAC token against an EC key, are refused', async () => {
    const es256 = await signJwt(client, { keyId: keys.ES256!, alg: 'ES256', payload: {} });
    expect((await refusal(verifyJwt(client, es256, { keyId: keys.HS256! }))).message).toMatch(/the key is HMAC_256 with usage GENERATE_VERIFY_MAC, for HS256/);
    expect((await refusal(verifyJwt(client, es256, { keyId: keys.HS256!, alg: 'ES256' }))).code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
    expect((await refusal(verifyJwt(client, es256, { keyId: keys.HS256!, alg: 'ES256', via: 'kms' }))).code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
  });

  it('unknown algorithms: a clear error listing the supported ones', async () => {
    for (const alg of ['XS999', 'RS1', 'ES256k', 'PS']) {
      const s = await refusal(signJwt(client, { keyId: keys.ES256!, alg: alg as JwtAlgorithm, payload: {} }));
      expect([s.code, s.message]).toEqual(['ERR_JOSE_NOT_SUPPORTED', expect.stringMatching(/is not supported .*supported: .*ES256K.*RS256.*PS512/)]);
      expect((await refusal(verifyJwt(client, 'a.b.c', { keyId: keys.ES256!, alg: alg as JwtAlgorithm }))).code).toBe('ERR_JOSE_NOT_SUPPORTED');
      const token = `${b64url(JSON.stringify({ alg }))}.${b64url('{}')}.${b64url('sig')}`;
      expect((await refusal(verifyJwt(client, token, { keyId: keys.ES256! }))).message).toMatch(`alg "${alg}" is not supported`);
    }
    // A foreign RS256 token on an EC key: the alg is known, and does not fit the key.
    const { privateKey } = await jose.generateKeyPair('RS256');
    const rs = await new jose.SignJWT({}).setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
    const e = await refusal(verifyJwt(client, rs, { keyId: keys.ES256! }));
    expect(e.code).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
    expect(e.message).toMatch(/the key is ECC_NIST_P256 .*; RS256 needs an RSA_2048, RSA_3072 or RSA_4096 key with usage SIGN_VERIFY/);
  });
});

describe('malformed tokens', () => {
  it('are refused with ERR_JWS_INVALID / ERR_JWT_INVALID (a signature of the wrong length: ERR_JWS_SIGNATURE_VERIFICATION_FAILED) before any KMS call', async () => {
    const good = await signJwt(client, { keyId: keys.ES256!, alg: 'ES256', payload: { a: 1 } });
    const [h, p, s] = good.split('.') as [string, string, string];
    // 64 bytes: the last character carries 2 bits and 4 spare ones; setting a spare bit changes the text, not the bytes.
    const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const nonCanonical = s.slice(0, -1) + ALPHABET[ALPHABET.indexOf(s.at(-1)!) ^ 1];
    expect(Buffer.from(nonCanonical, 'base64url')).toEqual(Buffer.from(s, 'base64url'));
    const cases: [unknown, string, RegExp][] = [
      [42, 'ERR_JWS_INVALID', /not a string/],
      ['', 'ERR_JWS_INVALID', /1 parts/],
      [`${h}.${p}`, 'ERR_JWS_INVALID', /2 parts/],
      [`${good}.x`, 'ERR_JWS_INVALID', /4 parts/],
      ['a.b.c.d.e', 'ERR_JWT_INVALID', /JWE/],
      [`.${p}.${s}`, 'ERR_JWS_INVALID', /header is empty/],
      [`${h}..${s}`, 'ERR_JWS_INVALID', /payload is empty/],
      [`${h}=.${p}.${s}`, 'ERR_JWS_INVALID', /header is not base64url/],
      [`${h}.${p}.${s.replace(/.$/, '+')}`, 'ERR_JWS_INVALID', /signature is not base64url/],
      [`${h}.${p}.${s} `, 'ERR_JWS_INVALID', /signature is not base64url/],
      [`${h}.${p}.${nonCanonical}`, 'ERR_JWS_INVALID', /signature is not base64url/],
      [`${h}.${p}.${s}A`, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', /signature verification failed/], // 65 bytes: the wrong length
      [`${h}.${p}.`, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', /signature verification failed/],
      [`${b64url('not json')}.${p}.${s}`, 'ERR_JWS_INVALID', /not UTF-8 JSON/],
      [`${b64url(new Uint8Array([0x7b, 0xff, 0x7d]))}.${p}.${s}`, 'ERR_JWS_INVALID', /not UTF-8 JSON/],
      [`${b64url('["ES256"]')}.${p}.${s}`, 'ERR_JWS_INVALID', /not a JSON object/],
      [`${b64url('{"typ":"JWT"}')}.${p}.${s}`, 'ERR_JWS_INVALID', /"alg" is missing/],
      [`${b64url('{"alg":256}')}.${p}.${s}`, 'ERR_JWS_INVALID', /"alg" is missing or not a string/],
      [`${b64url('{"alg":"ES256","b64":false}')}.${p}.${s}`, 'ERR_JWS_INVALID', /b64/],
      [`${b64url('{"alg":"ES256","crit":["exp"],"exp":1}')}.${p}.${s}`, 'ERR_JOSE_NOT_SUPPORTED', /"exp" critical/],
      [`${b64url('{"alg":"ES256","crit":["x"]}')}.${p}.${s}`, 'ERR_JWS_INVALID', /not in the header/],
      [`${b64url('{"alg":"ES256","crit":["kid"],"kid":"k"}')}.${p}.${s}`, 'ERR_JWS_INVALID', /registered parameter "kid"/],
      [`${b64url('{"alg":"ES256","crit":[]}')}.${p}.${s}`, 'ERR_JWS_INVALID', /non-empty array/],
    ];
    const { kms, calls } = counted();
    for (const [token, code, message] of cases) {
      const e = await refusal(verifyJwt(kms, token as string, { keyId: keys.ES256!, alg: 'ES256' }));
      expect([token, e.code, e.message]).toEqual([token, code, expect.stringMatching(message)]);
    }
    expect(calls).toEqual({});
  });

  it('a claims set that is not a JSON object is ERR_JWT_INVALID (after the signature verifies)', async () => {
    for (const payload of ['[1,2]', 'null', '"str"', 'not json', new Uint8Array([0x7b, 0xc3, 0x28, 0x7d])]) {
      for (const alg of ['ES256', 'HS256'] as const) {
        const token = await rawToken(alg, { alg }, payload);
        const e = await refusal(verifyJwt(client, token, { keyId: keys[alg]! }));
        expect(e.code).toBe('ERR_JWT_INVALID');
      }
    }
  });

  it('a crit extension the application names in options.crit is accepted', async () => {
    const token = await signJwt(client, { keyId: keys.ES256!, alg: 'ES256', payload: {}, header: { crit: ['ext'], ext: 1 } });
    expect((await refusal(verifyJwt(client, token, { keyId: keys.ES256! }))).code).toBe('ERR_JOSE_NOT_SUPPORTED');
    await expect(verifyJwt(client, token, { keyId: keys.ES256!, crit: ['ext'] })).resolves.toMatchObject({ protectedHeader: { crit: ['ext'], ext: 1 } });
  });
});

describe('claims', () => {
  const NOW = new Date('2031-06-01T12:00:00Z');
  const now = Math.floor(NOW.getTime() / 1000);
  const sign = (payload: Record<string, unknown>, header?: Record<string, unknown>) => signJwt(client, { keyId: keys.ES256!, alg: 'ES256', payload, header });

  /** Our verdict and jose's on the same token and options. */
  async function both(token: string, o: Omit<VerifyJwtOptions, 'keyId'>): Promise<[string, string]> {
    const ours = await verifyJwt(client, token, { keyId: keys.ES256!, ...o }).then(
      () => 'ok',
      (e: JwtError) => `${e.code} ${e.claim ?? ''}`.trim(),
    );
    const theirs = await jose.jwtVerify(token, await joseKeyOf('ES256'), o as jose.JWTVerifyOptions).then(
      () => 'ok',
      (e: { code: string; claim?: string }) => `${e.code} ${e.claim ?? ''}`.trim(),
    );
    return [ours, theirs];
  }

  it('exp, nbf, iat, iss, aud, sub, typ, requiredClaims: the same verdicts as jose.jwtVerify', async () => {
    const cases: [Record<string, unknown>, Omit<VerifyJwtOptions, 'keyId'>, string, Record<string, unknown>?][] = [
      [{ exp: now + 10 }, {}, 'ok'],
      [{ exp: now }, {}, 'ERR_JWT_EXPIRED exp'],
      [{ exp: now - 30 }, { clockTolerance: '1 minute' }, 'ok'],
      [{ exp: now - 30 }, { clockTolerance: 10 }, 'ERR_JWT_EXPIRED exp'],
      [{ nbf: now + 60 }, {}, 'ERR_JWT_CLAIM_VALIDATION_FAILED nbf'],
      [{ nbf: now + 60 }, { clockTolerance: '2m' }, 'ok'],
      [{ nbf: now }, {}, 'ok'],
      [{ iat: now - 7200 }, { maxTokenAge: '1h' }, 'ERR_JWT_EXPIRED iat'],
      [{ iat: now - 1800 }, { maxTokenAge: 3600 }, 'ok'],
      [{ iat: now + 600 }, { maxTokenAge: '1h' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED iat'],
      [{}, { maxTokenAge: '1h' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED iat'],
      [{ iss: 'a' }, { issuer: ['b', 'a'] }, 'ok'],
      [{ iss: 'a' }, { issuer: 'b' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED iss'],
      [{}, { issuer: 'b' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED iss'],
      [{ aud: ['x', 'y'] }, { audience: 'y' }, 'ok'],
      [{ aud: 'x' }, { audience: ['z', 'x'] }, 'ok'],
      [{ aud: ['x', 'y'] }, { audience: ['z'] }, 'ERR_JWT_CLAIM_VALIDATION_FAILED aud'],
      [{ sub: 's' }, { subject: 's' }, 'ok'],
      [{ sub: 's' }, { subject: 't' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED sub'],
      [{ jti: '1' }, { requiredClaims: ['jti'] }, 'ok'],
      [{}, { requiredClaims: ['jti'] }, 'ERR_JWT_CLAIM_VALIDATION_FAILED jti'],
      [{}, { typ: 'JWT' }, 'ok'],
      [{}, { typ: 'application/jwt' }, 'ok'],
      [{}, { typ: 'at+jwt' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED typ'],
      [{}, { typ: 'application/at+JWT' }, 'ok', { typ: 'at+jwt' }],
      [{}, { typ: 'JWT' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED typ', { typ: undefined }],
    ];
    for (const [payload, o, verdict, header] of cases) {
      const token = await sign(payload, header);
      expect([payload, o, await both(token, { currentDate: NOW, ...o })]).toEqual([payload, o, [verdict, verdict]]);
    }
  });

  it('a NumericDate claim that is not a number (made around signJwt) is refused, as jose does', async () => {
    for (const claim of ['exp', 'nbf', 'iat']) {
      const token = await rawToken('ES256', { alg: 'ES256' }, JSON.stringify({ [claim]: 'tomorrow' }));
      expect(await both(token, { currentDate: NOW })).toEqual([`ERR_JWT_CLAIM_VALIDATION_FAILED ${claim}`, `ERR_JWT_CLAIM_VALIDATION_FAILED ${claim}`]);
    }
  });

  it('a claim failure carries the claim, the reason and the verified claims set', async () => {
    const token = await sign({ exp: now - 1, sub: 'x' });
    const e = await refusal(verifyJwt(client, token, { keyId: keys.ES256!, currentDate: NOW }));
    expect(e).toMatchObject({ code: 'ERR_JWT_EXPIRED', claim: 'exp', reason: 'check_failed', payload: { exp: now - 1, sub: 'x' } });
    expect(e.name).toBe('JwtError');
  });

  it('the signature is checked before the claims: an expired token with a bad signature is a signature failure', async () => {
    const token = await sign({ exp: now - 1 });
    const bad = `${token.slice(0, -4)}AAAA`;
    expect((await refusal(verifyJwt(client, bad, { keyId: keys.ES256!, currentDate: NOW }))).code).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('signJwt sets iat, nbf, exp from dates, numbers and spans; copies the payload; refuses bad claims and headers', async () => {
    const payload = { sub: 'x' };
    const token = await signJwt(client, {
      keyId: keys.ES256!,
      alg: 'ES256',
      payload,
      issuedAt: '-10s',
      notBefore: new Date(NOW.getTime() + 5000),
      expirationTime: now + 100,
      currentDate: NOW,
    });
    expect(jose.decodeJwt(token)).toEqual({ sub: 'x', iat: now - 10, nbf: now + 5, exp: now + 100 });
    expect(payload).toEqual({ sub: 'x' });
    const base = { keyId: keys.ES256!, alg: 'ES256' as const };
    await expect(signJwt(client, { ...base, payload: [] as unknown as Record<string, unknown> })).rejects.toThrow(/JSON object/);
    await expect(signJwt(client, { ...base, payload: { exp: Number.NaN } })).rejects.toThrow(/"exp" claim must be a finite number/);
    await expect(signJwt(client, { ...base, payload: {}, expirationTime: 'soon' })).rejects.toThrow(/invalid time span/);
    await expect(signJwt(client, { ...base, payload: {}, header: { alg: 'HS256' } })).rejects.toThrow(/conflicts/);
    await expect(signJwt(client, { ...base, payload: {}, header: { b64: false } })).rejects.toThrow(/b64/);
    await expect(signJwt(client, { ...base, payload: {}, header: { crit: ['missing'] } })).rejects.toThrow(/crit/);
    expect(jose.decodeProtectedHeader(await signJwt(client, { ...base, payload: {}, header: { alg: 'ES256', typ: 'at+jwt', kid: 'k1' } }))).toEqual({
      alg: 'ES256',
      typ: 'at+jwt',
      kid: 'k1',
    });
  });

  it('a signing input over 4096 bytes (KMS RAW limit) is refused before KMS is called', async () => {
    const { kms, calls } = counted();
    for (const alg of ['ES256', 'HS256'] as const) {
      const e = await refusal(signJwt(kms, { keyId: keys[alg]!, alg, payload: { big: 'x'.repeat(4000) } }));
      expect(e.code).toBe('ERR_JOSE_NOT_SUPPORTED');
      expect(e.message).toMatch(/at most 4096 bytes/);
    }
    expect(calls).toEqual({});
    // Just under the limit works.
    const token = await signJwt(kms, { keyId: keys.ES256!, alg: 'ES256', payload: { big: 'x'.repeat(3000) } });
    await expect(verifyJwt(kms, token, { keyId: keys.ES256! })).resolves.toBeDefined();
  });
});

describe('key state and caching', () => {
  it('local verification asks GetPublicKey (and DescribeKey without alg) once per key; via kms calls Verify per token', async () => {
    const { kms, calls } = counted();
    const tokens = await Promise.all([1, 2, 3].map((n) => signJwt(client, { keyId: keys.ES384!, alg: 'ES384', payload: { n } })));
    for (const t of tokens) await verifyJwt(kms, t, { keyId: keys.ES384! });
    await Promise.all(tokens.map((t) => verifyJwt(kms, t, { keyId: keys.ES384!, alg: 'ES384' })));
    expect(calls).toEqual({ describeKey: 1, getPublicKey: 1 });
    for (const t of tokens) await verifyJwt(kms, t, { keyId: keys.ES384!, alg: 'ES384', via: 'kms' });
    expect(calls).toEqual({ describeKey: 1, getPublicKey: 1, verify: 3 });
    clearJwtKeyCache(kms as JwtKms);
    await verifyJwt(kms, tokens[0]!, { keyId: keys.ES384! });
    expect(calls).toEqual({ describeKey: 2, getPublicKey: 2, verify: 3 });
  });

  it('a failed key lookup is not cached', async () => {
    const { kms, calls } = counted();
    let fail = true;
    const flaky = {
      ...kms,
      getPublicKey: (i: { KeyId: string }) => (fail ? ((fail = false), Promise.reject(new Error('network down'))) : kms.getPublicKey(i)),
    };
    const token = await signJwt(client, { keyId: keys.ES256!, alg: 'ES256', payload: {} });
    await expect(verifyJwt(flaky, token, { keyId: keys.ES256!, alg: 'ES256' })).rejects.toThrow('network down');
    await expect(verifyJwt(flaky, token, { keyId: keys.ES256!, alg: 'ES256' })).resolves.toBeDefined();
    expect(calls.getPublicKey).toBe(1);
  });

  it('a disabled key: local verification still passes (the public key is cached), KMS Verify and signing fail with DisabledException', async () => {
    const keyId = (await client.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata.KeyId;
    const token = await signJwt(client, { keyId, alg: 'ES256', payload: {} });
    await verifyJwt(client, token, { keyId, alg: 'ES256' });
    await client.disableKey({ KeyId: keyId });
    await expect(verifyJwt(client, token, { keyId, alg: 'ES256' })).resolves.toBeDefined();
    await expect(verifyJwt(client, token, { keyId, alg: 'ES256', via: 'kms' })).rejects.toMatchObject({ name: 'DisabledException' });
    await expect(signJwt(client, { keyId, alg: 'ES256', payload: {} })).rejects.toMatchObject({ name: 'DisabledException' });
  });

  it('an alias moved to another key: its cached public key expires after 5 minutes (key ids are kept)', async () => {
    const other = (await client.createKey({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })).KeyMetadata.KeyId;
    await client.createAlias({ AliasName: 'alias/jwt-moving', TargetKeyId: keys.ES256! });
    const first = await signJwt(client, { keyId: 'alias/jwt-moving', alg: 'ES256', payload: {} });
    await verifyJwt(client, first, { keyId: 'alias/jwt-moving', alg: 'ES256' });
    await client.updateAlias({ AliasName: 'alias/jwt-moving', TargetKeyId: other });
    const second = await signJwt(client, { keyId: 'alias/jwt-moving', alg: 'ES256', payload: {} });
    // Still the old key's public key for now.
    expect((await refusal(verifyJwt(client, second, { keyId: 'alias/jwt-moving', alg: 'ES256' }))).code).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    await expect(verifyJwt(client, second, { keyId: 'alias/jwt-moving', alg: 'ES256', via: 'kms' })).resolves.toBeDefined();
    const t0 = Date.now();
    vi.spyOn(Date, 'now').mockReturnValue(t0 + 5 * 60_000 + 1);
    await expect(verifyJwt(client, second, { keyId: 'alias/jwt-moving', alg: 'ES256' })).resolves.toBeDefined();
    expect((await refusal(verifyJwt(client, first, { keyId: 'alias/jwt-moving', alg: 'ES256' }))).code).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('option errors are TypeErrors', async () => {
    const token = await signJwt(client, { keyId: keys.ES256!, alg: 'ES256', payload: {} });
    await expect(verifyJwt(client, token, { keyId: keys.ES256!, alg: [] })).rejects.toThrow(TypeError);
    await expect(verifyJwt(client, token, { keyId: keys.ES256!, via: 'remote' as 'kms' })).rejects.toThrow(TypeError);
    await expect(verifyJwt(client, token, { keyId: keys.ES256!, clockTolerance: -1 })).rejects.toThrow(TypeError);
    await expect(verifyJwt(client, token, { keyId: keys.ES256!, maxTokenAge: 'forever' })).rejects.toThrow(TypeError);
  });
});

describe('ECDSA signature encodings', () => {
  const CURVES = [
    ['prime256v1', 'sha256', 32],
    ['secp384r1', 'sha384', 48],
    ['secp521r1', 'sha512', 66],
  ] as const;
  for (const [curve, hash, size] of CURVES) {
    it(`${curve}: derToJose of node:crypto's DER signatures verifies as IEEE P1363, joseToDer gives node's DER back, short r and s included`, () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      let short = 0;
      for (let i = 0; short < 3 && i < 5000; i++) {
        const msg = Buffer.from(`m${i}`);
        const der = new Uint8Array(nodeSign(hash, msg, { key: privateKey, dsaEncoding: 'der' }));
        const raw = derToJose(der, size);
        expect(raw.length).toBe(2 * size);
        if (raw[0] === 0 || raw[size] === 0) short++;
        if (i < 50 || raw[0] === 0 || raw[size] === 0) {
          expect(nodeVerify(hash, msg, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw)).toBe(true);
          expect(Buffer.from(joseToDer(raw))).toEqual(Buffer.from(der));
        }
      }
      expect(short).toBe(3);
    });
  }

  it('derToJose refuses what is not a DER ECDSA-Sig-Value', () => {
    const good = new Uint8Array(
      nodeSign('sha256', Buffer.from('x'), { key: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, dsaEncoding: 'der' }),
    );
    const bad = [new Uint8Array(0), Uint8Array.of(0x31, ...good.subarray(1)), good.subarray(0, -1), Uint8Array.of(...good, 0), Uint8Array.of(0x30, 0x00)];
    for (const b of bad) expect(() => derToJose(b, 32)).toThrow(JwtError);
    expect(() => derToJose(good, 16)).toThrow(/not DER/);
  });
});
