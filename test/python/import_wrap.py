"""The customer side of "importing key material" (keys with Origin EXTERNAL) with pyca/cryptography,
as the AWS KMS documentation ("Encrypt key material") describes it; the Python twin of
test/helpers/import-wrap.ts. Import it from a test module as the others import conftest:

    from import_wrap import make_key_material, wrap_key_material

    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm='RSA_AES_KEY_WRAP_SHA_256',
                                           WrappingKeySpec='RSA_3072')
    km = make_key_material('SYMMETRIC_DEFAULT')
    kms.import_key_material(KeyId=key_id, ImportToken=params['ImportToken'],
                            EncryptedKeyMaterial=wrap_key_material(params['PublicKey'], 'RSA_AES_KEY_WRAP_SHA_256', km.material),
                            ExpirationModel='KEY_MATERIAL_DOES_NOT_EXPIRE')

Wrapping algorithms:
- RSAES_OAEP_SHA_1 / RSAES_OAEP_SHA_256: RSA-OAEP of the raw material, OAEP and MGF1 hash both
  SHA-1 / SHA-256, no label. The material must fit one OAEP block: k - 2*hLen - 2 bytes.
- RSA_AES_KEY_WRAP_SHA_1 / RSA_AES_KEY_WRAP_SHA_256: a fresh random 32-byte AES key; the material
  wrapped with AES key wrap with padding (RFC 5649); the AES key encrypted with RSA-OAEP as above;
  EncryptedKeyMaterial = RSA-OAEP(aes_key) || KWP(material), the RSA block (modulus length) first.

Material formats: SYMMETRIC_DEFAULT = 32 raw bytes; HMAC_* = the raw key bytes; asymmetric = the
private key as PKCS#8 DER.

Names here deliberately do not start with `test` (no `test_material`, no `TestMaterial`), so that
importing them into a test module does not make pytest collect them as tests.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap_with_padding, aes_key_wrap_with_padding

WRAPPING_ALGORITHMS = ('RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256')
WRAPPING_KEY_SPECS = ('RSA_2048', 'RSA_3072', 'RSA_4096')
AES_KEY_WRAP_KEY_BYTES = 32

MATERIAL_SPECS = (
    'SYMMETRIC_DEFAULT',
    'HMAC_224',
    'HMAC_256',
    'HMAC_384',
    'HMAC_512',
    'RSA_2048',
    'RSA_3072',
    'RSA_4096',
    'ECC_NIST_P256',
    'ECC_NIST_P384',
    'ECC_NIST_P521',
    'ECC_SECG_P256K1',
    'ECC_NIST_EDWARDS25519',
)
# AWS's allowed lengths of imported HMAC key material in bytes: (min, max, the length used here).
HMAC_MATERIAL_BYTES = {
    'HMAC_224': (28, 64, 32),
    'HMAC_256': (32, 64, 32),
    'HMAC_384': (48, 128, 48),
    'HMAC_512': (64, 128, 64),
}
_EC_CURVES = {
    'ECC_NIST_P256': ec.SECP256R1,
    'ECC_NIST_P384': ec.SECP384R1,
    'ECC_NIST_P521': ec.SECP521R1,
    'ECC_SECG_P256K1': ec.SECP256K1,
}


def _hash_of(algorithm: str) -> hashes.HashAlgorithm:
    if algorithm in ('RSAES_OAEP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_1'):
        return hashes.SHA1()
    if algorithm in ('RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_256'):
        return hashes.SHA256()
    raise ValueError(f'unknown wrapping algorithm: {algorithm!r}')


def _is_aes_key_wrap(algorithm: str) -> bool:
    return algorithm.startswith('RSA_AES_KEY_WRAP_')


def _oaep(algorithm: str) -> padding.OAEP:
    h = _hash_of(algorithm)
    return padding.OAEP(mgf=padding.MGF1(algorithm=h), algorithm=h, label=None)


def oaep_max_plaintext_bytes(modulus_bits: int, algorithm: str) -> int:
    """Largest plaintext one RSA-OAEP block carries: k - 2*hLen - 2 (RFC 8017 §7.1.1)."""
    return (modulus_bits + 7) // 8 - 2 * _hash_of(algorithm).digest_size - 2


def _oaep_encrypt(key: rsa.RSAPublicKey, algorithm: str, plaintext: bytes, what: str) -> bytes:
    limit = oaep_max_plaintext_bytes(key.key_size, algorithm)
    if len(plaintext) > limit:
        raise ValueError(
            f'{what} is {len(plaintext)} bytes, but RSA-OAEP with {_hash_of(algorithm).name.upper()} and a '
            f'{key.key_size}-bit wrapping key carries at most {limit} bytes: use RSA_AES_KEY_WRAP_SHA_1/'
            'RSA_AES_KEY_WRAP_SHA_256 or a larger wrapping key'
        )
    return key.encrypt(plaintext, _oaep(algorithm))


def wrap_key_material(public_key_spki: bytes | rsa.RSAPublicKey, algorithm: str, material: bytes,
                      *, aes_key: bytes | None = None) -> bytes:
    """EncryptedKeyMaterial for ImportKeyMaterial: `material` wrapped under the wrapping public key
    from GetParametersForImport (`PublicKey`, SPKI DER; an RSAPublicKey is accepted too). `aes_key`
    (RSA_AES_KEY_WRAP_* only) replaces the fresh random 32-byte AES key, for tests."""
    key = serialization.load_der_public_key(bytes(public_key_spki)) if isinstance(public_key_spki, (bytes, bytearray, memoryview)) else public_key_spki
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(f'the wrapping key must be an RSA public key, got {type(key).__name__}')
    if not material:
        raise ValueError('the key material is empty')
    _hash_of(algorithm)
    if not _is_aes_key_wrap(algorithm):
        return _oaep_encrypt(key, algorithm, bytes(material), 'the key material')
    if aes_key is None:
        aes_key = os.urandom(AES_KEY_WRAP_KEY_BYTES)
    if len(aes_key) != AES_KEY_WRAP_KEY_BYTES:
        raise ValueError(f'the AES key of {algorithm} must be {AES_KEY_WRAP_KEY_BYTES} bytes, got {len(aes_key)}')
    return _oaep_encrypt(key, algorithm, aes_key, 'the AES key') + aes_key_wrap_with_padding(aes_key, bytes(material))


def unwrap_key_material_for_test(private_key: rsa.RSAPrivateKey, algorithm: str, wrapped: bytes) -> bytes:
    """The KMS side of wrap_key_material, for tests: the material back from EncryptedKeyMaterial.
    Raises ValueError (OAEP) or cryptography's InvalidUnwrap (KWP integrity check) on bad input."""
    k = (private_key.key_size + 7) // 8
    if not _is_aes_key_wrap(algorithm):
        if len(wrapped) != k:
            raise ValueError(f'{algorithm}: the wrapped material must be {k} bytes, got {len(wrapped)}')
        return private_key.decrypt(bytes(wrapped), _oaep(algorithm))
    if len(wrapped) < k + 16:
        raise ValueError(f'{algorithm}: the wrapped material must be at least {k + 16} bytes, got {len(wrapped)}')
    aes_key = private_key.decrypt(bytes(wrapped[:k]), _oaep(algorithm))
    if len(aes_key) != AES_KEY_WRAP_KEY_BYTES:
        raise ValueError(f'{algorithm}: the unwrapped AES key is {len(aes_key)} bytes, not {AES_KEY_WRAP_KEY_BYTES}')
    return aes_key_unwrap_with_padding(aes_key, bytes(wrapped[k:]))


def generate_wrapping_key_pair(spec: str | int = 'RSA_2048') -> tuple[bytes, rsa.RSAPrivateKey]:
    """A wrapping key pair like GetParametersForImport's: (public key SPKI DER, private key)."""
    bits = spec if isinstance(spec, int) else int(spec.removeprefix('RSA_'))
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    spki = private_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return spki, private_key


@dataclass(frozen=True)
class KeyMaterial:
    spec: str
    # What to wrap: raw bytes (symmetric, HMAC) or the private key as PKCS#8 DER (asymmetric).
    material: bytes
    # Asymmetric only: the public key as SPKI DER (what GetPublicKey should return after the import).
    public_key: bytes | None = None
    # Asymmetric only: the private key object, to sign or decrypt locally.
    private_key: object | None = None


def make_key_material(spec: str, *, hmac_bytes: int | None = None) -> KeyMaterial:
    """Fresh key material of a key spec, in the format ImportKeyMaterial wants."""
    if spec == 'SYMMETRIC_DEFAULT':
        return KeyMaterial(spec, os.urandom(32))
    if spec in HMAC_MATERIAL_BYTES:
        return KeyMaterial(spec, os.urandom(hmac_bytes if hmac_bytes is not None else HMAC_MATERIAL_BYTES[spec][2]))
    if spec in ('RSA_2048', 'RSA_3072', 'RSA_4096'):
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=int(spec.removeprefix('RSA_')))
    elif spec in _EC_CURVES:
        private_key = ec.generate_private_key(_EC_CURVES[spec]())
    elif spec == 'ECC_NIST_EDWARDS25519':
        private_key = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ValueError(f'unknown key spec: {spec!r}')
    pkcs8 = private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    spki = private_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return KeyMaterial(spec, pkcs8, spki, private_key)
