"""The key specs edge-kms implements with @noble, over the wire with boto3 (and one AWS CLI call),
every signature checked by pyca/cryptography (OpenSSL): ECC_SECG_P256K1 (RAW and DIGEST), ECDSA
over a DIGEST, ML-DSA (RAW, and EXTERNAL_MU with mu computed here per FIPS 204), GenerateDataKeyPair
ECC_SECG_P256K1, HMAC_224, ED25519_PH_SHA_512."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess

import pytest
from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, mldsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature, encode_dss_signature

from conftest import REGION, key_arn

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
MESSAGES = [b'x', b'signed by edge-kms, verified by cryptography', os.urandom(4096)]


def error_of(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    return e.value.response['Error']


def sign(kms, key_id: str, alg: str, message: bytes, message_type: str = 'RAW') -> bytes:
    out = kms.sign(KeyId=key_id, Message=message, MessageType=message_type, SigningAlgorithm=alg)
    assert out['KeyId'] == key_arn(key_id) and out['SigningAlgorithm'] == alg
    return out['Signature']


def verify(kms, key_id: str, alg: str, message: bytes, signature: bytes, message_type: str = 'RAW') -> bool:
    return kms.verify(KeyId=key_id, Message=message, MessageType=message_type, Signature=signature, SigningAlgorithm=alg)['SignatureValid']


def test_secp256k1_raw_and_digest_signatures_verify_in_cryptography(kms):
    md = kms.create_key(KeySpec='ECC_SECG_P256K1', KeyUsage='SIGN_VERIFY')['KeyMetadata']
    assert md['KeySpec'] == 'ECC_SECG_P256K1' and md['SigningAlgorithms'] == ['ECDSA_SHA_256']
    key_id = md['KeyId']
    pub = kms.get_public_key(KeyId=key_id)
    assert pub['KeySpec'] == 'ECC_SECG_P256K1' and pub['KeyUsage'] == 'SIGN_VERIFY' and pub['SigningAlgorithms'] == ['ECDSA_SHA_256']
    assert 'EncryptionAlgorithms' not in pub
    public = serialization.load_der_public_key(pub['PublicKey'])
    assert isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256K1)
    assert public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == pub['PublicKey']
    for message in MESSAGES:
        digest = hashlib.sha256(message).digest()
        raw = sign(kms, key_id, 'ECDSA_SHA_256', message)
        public.verify(raw, message, ec.ECDSA(hashes.SHA256()))  # raises if invalid
        dig = sign(kms, key_id, 'ECDSA_SHA_256', digest, 'DIGEST')
        public.verify(dig, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        public.verify(dig, message, ec.ECDSA(hashes.SHA256()))
        for sig in (raw, dig):
            assert verify(kms, key_id, 'ECDSA_SHA_256', message, sig) is True
            assert verify(kms, key_id, 'ECDSA_SHA_256', digest, sig, 'DIGEST') is True
            # s -> n - s: valid too (cryptography agrees), and KMS does not normalize.
            r, s = decode_dss_signature(sig)
            flipped = encode_dss_signature(r, SECP256K1_N - s)
            public.verify(flipped, message, ec.ECDSA(hashes.SHA256()))
            assert verify(kms, key_id, 'ECDSA_SHA_256', digest, flipped, 'DIGEST') is True
        bad = bytearray(raw)
        bad[-1] ^= 1
        err = error_of(kms.verify, KeyId=key_id, Message=message, Signature=bytes(bad), SigningAlgorithm='ECDSA_SHA_256')
        assert err['Code'] == 'KMSInvalidSignatureException'
    err = error_of(kms.sign, KeyId=key_id, Message=b'\x00' * 31, MessageType='DIGEST', SigningAlgorithm='ECDSA_SHA_256')
    assert err == {'Code': 'ValidationException', 'Message': 'Digest is invalid length for algorithm ECDSA_SHA_256.'}


@pytest.mark.parametrize(
    'spec,alg,hash_cls,wrong',
    [('ECC_NIST_P256', 'ECDSA_SHA_256', hashes.SHA256, 48), ('ECC_NIST_P384', 'ECDSA_SHA_384', hashes.SHA384, 32), ('ECC_NIST_P521', 'ECDSA_SHA_512', hashes.SHA512, 66)],
)
def test_ecdsa_digest_signatures_verify_in_cryptography(kms, spec, alg, hash_cls, wrong):
    key_id = kms.create_key(KeySpec=spec, KeyUsage='SIGN_VERIFY')['KeyMetadata']['KeyId']
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)['PublicKey'])
    for message in MESSAGES:
        h = hashes.Hash(hash_cls())
        h.update(message)
        digest = h.finalize()
        sig = sign(kms, key_id, alg, digest, 'DIGEST')
        public.verify(sig, digest, ec.ECDSA(Prehashed(hash_cls())))
        public.verify(sig, message, ec.ECDSA(hash_cls()))
        assert verify(kms, key_id, alg, digest, sig, 'DIGEST') is True
        assert verify(kms, key_id, alg, message, sig) is True
    err = error_of(kms.sign, KeyId=key_id, Message=b'\x07' * wrong, MessageType='DIGEST', SigningAlgorithm=alg)
    assert err == {'Code': 'ValidationException', 'Message': f'Digest is invalid length for algorithm {alg}.'}


ML_DSA = [
    ('ML_DSA_44', mldsa.MLDSA44PublicKey, 1312, 2420),
    ('ML_DSA_65', mldsa.MLDSA65PublicKey, 1952, 3309),
    ('ML_DSA_87', mldsa.MLDSA87PublicKey, 2592, 4627),
]


def mu_of(public_key: bytes, message: bytes) -> bytes:
    """FIPS 204 (pure ML-DSA, empty context): mu = SHAKE256(SHAKE256(pk, 64) || 0x00 || 0x00 || M, 64)."""
    tr = hashlib.shake_256(public_key).digest(64)
    return hashlib.shake_256(tr + b'\x00\x00' + message).digest(64)


@pytest.mark.parametrize('spec,public_cls,pk_len,sig_len', ML_DSA)
def test_ml_dsa_signatures_verify_in_cryptography(kms, spec, public_cls, pk_len, sig_len):
    md = kms.create_key(KeySpec=spec, KeyUsage='SIGN_VERIFY')['KeyMetadata']
    assert md['SigningAlgorithms'] == ['ML_DSA_SHAKE_256']
    key_id = md['KeyId']
    pub = kms.get_public_key(KeyId=key_id)
    assert pub['KeySpec'] == spec and pub['SigningAlgorithms'] == ['ML_DSA_SHAKE_256']
    # cryptography reads RFC 9881's SPKI, and writes the same bytes back.
    public = serialization.load_der_public_key(pub['PublicKey'])
    assert isinstance(public, public_cls)
    assert public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == pub['PublicKey']
    raw_pk = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert len(raw_pk) == pk_len and pub['PublicKey'].endswith(raw_pk)
    for message in MESSAGES:
        sig = sign(kms, key_id, 'ML_DSA_SHAKE_256', message)
        assert len(sig) == sig_len
        public.verify(sig, message)  # raises if invalid
        with pytest.raises(InvalidSignature):
            public.verify(sig, message, b'a context')
        # EXTERNAL_MU: KMS signs the mu we computed; cryptography verifies it over the message.
        mu = mu_of(raw_pk, message)
        of_mu = sign(kms, key_id, 'ML_DSA_SHAKE_256', mu, 'EXTERNAL_MU')
        assert len(of_mu) == sig_len
        public.verify(of_mu, message)
        assert verify(kms, key_id, 'ML_DSA_SHAKE_256', message, of_mu) is True
        assert verify(kms, key_id, 'ML_DSA_SHAKE_256', mu, sig, 'EXTERNAL_MU') is True
        bad = bytearray(sig)
        bad[7] ^= 1
        with pytest.raises(InvalidSignature):
            public.verify(bytes(bad), message)
        err = error_of(kms.verify, KeyId=key_id, Message=message, Signature=bytes(bad), SigningAlgorithm='ML_DSA_SHAKE_256')
        assert err['Code'] == 'KMSInvalidSignatureException'
    err = error_of(kms.sign, KeyId=key_id, Message=b'\x00' * 63, MessageType='EXTERNAL_MU', SigningAlgorithm='ML_DSA_SHAKE_256')
    assert err['Code'] == 'ValidationException'
    err = error_of(kms.sign, KeyId=key_id, Message=b'\x00' * 64, MessageType='DIGEST', SigningAlgorithm='ML_DSA_SHAKE_256')
    assert err['Code'] == 'ValidationException'


def test_ml_dsa_signatures_of_cryptography_keys_are_not_accepted_for_kms_keys(kms):
    """A signature made by another ML-DSA key (cryptography's) does not verify under the KMS key."""
    key_id = kms.create_key(KeySpec='ML_DSA_44', KeyUsage='SIGN_VERIFY')['KeyMetadata']['KeyId']
    other = mldsa.MLDSA44PrivateKey.generate()
    sig = other.sign(b'message')
    other.public_key().verify(sig, b'message')
    err = error_of(kms.verify, KeyId=key_id, Message=b'message', Signature=sig, SigningAlgorithm='ML_DSA_SHAKE_256')
    assert err['Code'] == 'KMSInvalidSignatureException'


def test_secp256k1_data_key_pair_loads_in_cryptography(kms):
    key_id = kms.create_key()['KeyMetadata']['KeyId']
    out = kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec='ECC_SECG_P256K1', EncryptionContext={'app': 'wallet'})
    assert out['KeyPairSpec'] == 'ECC_SECG_P256K1'
    private = serialization.load_der_private_key(out['PrivateKeyPlaintext'], password=None)
    assert isinstance(private, ec.EllipticCurvePrivateKey) and isinstance(private.curve, ec.SECP256K1)
    spki = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert spki == out['PublicKey']
    public = serialization.load_der_public_key(out['PublicKey'])
    sig = private.sign(b'data', ec.ECDSA(hashes.SHA256()))
    public.verify(sig, b'data', ec.ECDSA(hashes.SHA256()))
    back = kms.decrypt(CiphertextBlob=out['PrivateKeyCiphertextBlob'], EncryptionContext={'app': 'wallet'})
    assert back['Plaintext'] == out['PrivateKeyPlaintext']
    without = kms.generate_data_key_pair_without_plaintext(KeyId=key_id, KeyPairSpec='ECC_SECG_P256K1')
    assert 'PrivateKeyPlaintext' not in without
    private2 = serialization.load_der_private_key(kms.decrypt(CiphertextBlob=without['PrivateKeyCiphertextBlob'])['Plaintext'], password=None)
    assert private2.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == without['PublicKey']


def test_hmac_224_round_trip(kms):
    md = kms.create_key(KeySpec='HMAC_224', KeyUsage='GENERATE_VERIFY_MAC')['KeyMetadata']
    assert md['KeySpec'] == 'HMAC_224' and md['MacAlgorithms'] == ['HMAC_SHA_224']
    key_id = md['KeyId']
    out = kms.generate_mac(KeyId=key_id, Message=b'webhook', MacAlgorithm='HMAC_SHA_224')
    assert len(out['Mac']) == 28 and out['KeyId'] == key_arn(key_id) and out['MacAlgorithm'] == 'HMAC_SHA_224'
    assert kms.generate_mac(KeyId=key_id, Message=b'webhook', MacAlgorithm='HMAC_SHA_224')['Mac'] == out['Mac']
    assert kms.generate_mac(KeyId=key_id, Message=b'webhooK', MacAlgorithm='HMAC_SHA_224')['Mac'] != out['Mac']
    ok = kms.verify_mac(KeyId=key_id, Message=b'webhook', MacAlgorithm='HMAC_SHA_224', Mac=out['Mac'])
    assert ok == {**ok, 'KeyId': key_arn(key_id), 'MacValid': True, 'MacAlgorithm': 'HMAC_SHA_224'}
    for bad in (bytes([out['Mac'][0] ^ 1]) + out['Mac'][1:], out['Mac'][:27]):
        err = error_of(kms.verify_mac, KeyId=key_id, Message=b'webhook', MacAlgorithm='HMAC_SHA_224', Mac=bad)
        assert err['Code'] == 'KMSInvalidMacException'
    err = error_of(kms.generate_mac, KeyId=key_id, Message=b'webhook', MacAlgorithm='HMAC_SHA_256')
    assert err == {'Code': 'InvalidKeyUsageException', 'Message': 'Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_224.'}


def test_ed25519ph_round_trip_and_message_type_errors(kms):
    key_id = kms.create_key(KeySpec='ECC_NIST_EDWARDS25519', KeyUsage='SIGN_VERIFY')['KeyMetadata']['KeyId']
    digest = hashlib.sha512(b'a release').digest()
    sig = sign(kms, key_id, 'ED25519_PH_SHA_512', digest, 'DIGEST')
    assert len(sig) == 64
    assert verify(kms, key_id, 'ED25519_PH_SHA_512', digest, sig, 'DIGEST') is True
    # Not a pure Ed25519 signature of the digest.
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)['PublicKey'])
    with pytest.raises(InvalidSignature):
        public.verify(sig, digest)
    err = error_of(kms.sign, KeyId=key_id, Message=digest, MessageType='RAW', SigningAlgorithm='ED25519_PH_SHA_512')
    assert err == {'Code': 'ValidationException', 'Message': 'ED25519_PH_SHA_512 requires MessageType DIGEST.'}
    err = error_of(kms.sign, KeyId=key_id, Message=digest, MessageType='EXTERNAL_MU', SigningAlgorithm='ED25519_SHA_512')
    assert err == {'Code': 'ValidationException', 'Message': 'MessageType EXTERNAL_MU is valid only for ML_DSA_SHAKE_256, not ED25519_SHA_512.'}


def test_aws_cli_signs_a_secp256k1_digest(server, kms, tmp_path):
    """`aws kms sign --message-type DIGEST` (CLI v1) on a secp256k1 key; cryptography verifies."""
    from test_cli import cli_env

    key_id = kms.create_key(KeySpec='ECC_SECG_P256K1', KeyUsage='SIGN_VERIFY')['KeyMetadata']['KeyId']
    message = b'signed through the aws cli'
    digest_file = tmp_path / 'digest.bin'
    digest_file.write_bytes(hashlib.sha256(message).digest())
    proc = subprocess.run(
        [
            'aws', 'kms', '--endpoint-url', server.url, 'sign',
            '--key-id', key_id,
            '--message', f'fileb://{digest_file}',
            '--message-type', 'DIGEST',
            '--signing-algorithm', 'ECDSA_SHA_256',
            '--region', REGION,
            '--output', 'json',
        ],
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out['KeyId'] == key_arn(key_id) and out['SigningAlgorithm'] == 'ECDSA_SHA_256'
    sig = base64.b64decode(out['Signature'])
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)['PublicKey'])
    public.verify(sig, message, ec.ECDSA(hashes.SHA256()))
    assert verify(kms, key_id, 'ECDSA_SHA_256', message, sig) is True
