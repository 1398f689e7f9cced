"""The import wrapping helper (import_wrap.py) on its own, no server: RFC 5649 vectors, round trips
of the four wrapping algorithms under RSA_2048/3072/4096 wrapping keys, OAEP limits, the
RSA_AES_KEY_WRAP layout, every key spec's material, and both directions against the TypeScript
twin (test/helpers/import-wrap.ts, node:crypto) in one node subprocess."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap_with_padding, aes_key_wrap_with_padding

from conftest import REPO_ROOT
from import_wrap import (
    AES_KEY_WRAP_KEY_BYTES,
    HMAC_MATERIAL_BYTES,
    MATERIAL_SPECS,
    WRAPPING_ALGORITHMS,
    WRAPPING_KEY_SPECS,
    generate_wrapping_key_pair,
    make_key_material,
    oaep_max_plaintext_bytes,
    unwrap_key_material_for_test,
    wrap_key_material,
)

RFC5649_KEK = bytes.fromhex('5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8')
RFC5649_VECTORS = [
    (bytes.fromhex('c37b7e6492584340bed12207808941155068f738'), bytes.fromhex('138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a')),
    (bytes.fromhex('466f7250617369'), bytes.fromhex('afbeb0f07dfbf5419200f2ccb50bb24f')),
]


def kwp_length(n: int) -> int:
    return 8 + (n + 7) // 8 * 8


@pytest.fixture(scope='module')
def pairs() -> dict[str, tuple[bytes, rsa.RSAPrivateKey]]:
    """One wrapping key pair per size, generated once for the module."""
    return {spec: generate_wrapping_key_pair(spec) for spec in WRAPPING_KEY_SPECS}


@pytest.mark.parametrize('key,wrapped', RFC5649_VECTORS)
def test_rfc5649_vectors(key, wrapped):
    assert aes_key_wrap_with_padding(RFC5649_KEK, key) == wrapped
    assert aes_key_unwrap_with_padding(RFC5649_KEK, wrapped) == key
    tampered = bytearray(wrapped)
    tampered[9] ^= 1
    with pytest.raises(InvalidUnwrap):
        aes_key_unwrap_with_padding(RFC5649_KEK, bytes(tampered))


@pytest.mark.parametrize('spec', WRAPPING_KEY_SPECS)
@pytest.mark.parametrize('algorithm', WRAPPING_ALGORITHMS)
def test_round_trip(pairs, spec, algorithm):
    spki, private_key = pairs[spec]
    k = int(spec.removeprefix('RSA_')) // 8
    material = os.urandom(32)
    wrapped = wrap_key_material(spki, algorithm, material)
    assert len(wrapped) == (k + kwp_length(32) if algorithm.startswith('RSA_AES_KEY_WRAP') else k)
    assert unwrap_key_material_for_test(private_key, algorithm, wrapped) == material
    again = wrap_key_material(private_key.public_key(), algorithm, material)
    assert again != wrapped
    assert unwrap_key_material_for_test(private_key, algorithm, again) == material
    other_hash = algorithm[: -len('SHA_1')] + 'SHA_256' if algorithm.endswith('SHA_1') else algorithm[: -len('SHA_256')] + 'SHA_1'
    with pytest.raises(ValueError):
        unwrap_key_material_for_test(private_key, other_hash, wrapped)


def test_aes_key_wrap_layout(pairs):
    spki, private_key = pairs['RSA_3072']
    aes_key = os.urandom(AES_KEY_WRAP_KEY_BYTES)
    material = os.urandom(100)
    for algorithm, h in (('RSA_AES_KEY_WRAP_SHA_1', hashes.SHA1()), ('RSA_AES_KEY_WRAP_SHA_256', hashes.SHA256())):
        wrapped = wrap_key_material(spki, algorithm, material, aes_key=aes_key)
        # RSA-OAEP(aes_key), as long as the modulus, first; then KWP(material) under aes_key.
        assert private_key.decrypt(wrapped[:384], padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None)) == aes_key
        assert wrapped[384:] == aes_key_wrap_with_padding(aes_key, material)
        tampered = bytearray(wrapped)
        tampered[-1] ^= 1
        with pytest.raises(InvalidUnwrap):
            unwrap_key_material_for_test(private_key, algorithm, bytes(tampered))
    with pytest.raises(ValueError, match='must be 32 bytes'):
        wrap_key_material(spki, 'RSA_AES_KEY_WRAP_SHA_256', material, aes_key=bytes(16))


def test_oaep_limits(pairs):
    assert oaep_max_plaintext_bytes(2048, 'RSAES_OAEP_SHA_256') == 190
    assert oaep_max_plaintext_bytes(2048, 'RSAES_OAEP_SHA_1') == 214
    for spec in WRAPPING_KEY_SPECS:
        spki, private_key = pairs[spec]
        for algorithm in ('RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'):
            limit = oaep_max_plaintext_bytes(private_key.key_size, algorithm)
            fits = os.urandom(limit)
            assert unwrap_key_material_for_test(private_key, algorithm, wrap_key_material(spki, algorithm, fits)) == fits
            with pytest.raises(ValueError, match=f'is {limit + 1} bytes.*at most {limit} bytes'):
                wrap_key_material(spki, algorithm, bytes(limit + 1))
    with pytest.raises(ValueError, match='must be an RSA public key'):
        wrap_key_material(make_key_material('ECC_NIST_P256').public_key, 'RSAES_OAEP_SHA_256', bytes(32))
    with pytest.raises(ValueError, match='empty'):
        wrap_key_material(pairs['RSA_2048'][0], 'RSAES_OAEP_SHA_256', b'')
    with pytest.raises(ValueError, match='unknown wrapping algorithm'):
        wrap_key_material(pairs['RSA_2048'][0], 'RSAES_PKCS1_V1_5', bytes(32))


def test_every_key_spec_material(pairs):
    spki, private_key = pairs['RSA_4096']
    for spec in MATERIAL_SPECS:
        km = make_key_material(spec)
        if spec == 'SYMMETRIC_DEFAULT':
            assert len(km.material) == 32 and km.public_key is None
        elif spec in HMAC_MATERIAL_BYTES:
            low, high, _ = HMAC_MATERIAL_BYTES[spec]
            assert low <= len(km.material) <= high and km.public_key is None
        else:
            loaded = serialization.load_der_private_key(km.material, password=None)
            assert loaded.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == km.public_key
            if spec == 'ECC_SECG_P256K1':
                assert isinstance(loaded, ec.EllipticCurvePrivateKey) and loaded.curve.name == 'secp256k1'
        for algorithm in WRAPPING_ALGORITHMS:
            if not algorithm.startswith('RSA_AES_KEY_WRAP') and len(km.material) > oaep_max_plaintext_bytes(4096, algorithm):
                with pytest.raises(ValueError, match='at most'):
                    wrap_key_material(spki, algorithm, km.material)
                continue
            assert unwrap_key_material_for_test(private_key, algorithm, wrap_key_material(spki, algorithm, km.material)) == km.material
    assert len(make_key_material('HMAC_512', hmac_bytes=128).material) == 128


NODE_SCRIPT = """
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
const { unwrapKeyMaterialForTest, wrapKeyMaterial, WRAPPING_ALGORITHMS } = await import(process.env.IMPORT_WRAP_TS);
const input = JSON.parse(readFileSync(0, 'utf8'));
const privateKey = createPrivateKey(input.privateKeyPem);
const hex = (s) => new Uint8Array(Buffer.from(s, 'hex'));
const unwrapped = input.wrapped.map(({ algorithm, wrapped }) => Buffer.from(unwrapKeyMaterialForTest(privateKey, algorithm, hex(wrapped))).toString('hex'));
const wrapped = WRAPPING_ALGORITHMS.map((algorithm) => ({ algorithm, wrapped: Buffer.from(wrapKeyMaterial(hex(input.spki), algorithm, hex(input.material))).toString('hex') }));
process.stdout.write(JSON.stringify({ unwrapped, wrapped }));
"""


@pytest.mark.skipif(shutil.which('node') is None or not (REPO_ROOT / 'node_modules' / 'tsx').is_dir(), reason='needs node and tsx')
def test_against_the_typescript_helper(pairs):
    """Python wraps, node:crypto unwraps; node:crypto wraps, Python unwraps (one subprocess)."""
    spki, private_key = pairs['RSA_3072']
    material = os.urandom(57)
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    ours = [{'algorithm': a, 'wrapped': wrap_key_material(spki, a, material).hex()} for a in WRAPPING_ALGORITHMS]
    proc = subprocess.run(
        ['node', '--import', 'tsx', '--input-type=module', '-e', NODE_SCRIPT],
        cwd=REPO_ROOT,
        env={**os.environ, 'IMPORT_WRAP_TS': (REPO_ROOT / 'test' / 'helpers' / 'import-wrap.ts').as_uri()},
        input=json.dumps({'privateKeyPem': pem, 'spki': spki.hex(), 'material': material.hex(), 'wrapped': ours}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out['unwrapped'] == [material.hex()] * len(WRAPPING_ALGORITHMS)
    assert [w['algorithm'] for w in out['wrapped']] == list(WRAPPING_ALGORITHMS)
    for w in out['wrapped']:
        assert unwrap_key_material_for_test(private_key, w['algorithm'], bytes.fromhex(w['wrapped'])) == material
