"""RSA encryption keys (ENCRYPT_DECRYPT, RSAES_OAEP_SHA_1/256) over the wire with boto3: Python's
`cryptography` encrypts with GetPublicKey's key and the KMS decrypts; KMS ciphertexts round-trip;
AWS's plaintext limits; ReEncrypt both ways."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from conftest import key_arn

ALGS = {'RSAES_OAEP_SHA_1': hashes.SHA1, 'RSAES_OAEP_SHA_256': hashes.SHA256}
LIMITS = {'RSAES_OAEP_SHA_1': 214, 'RSAES_OAEP_SHA_256': 190}  # RSA_2048


def error(exc_info) -> tuple[str, str]:
    e = exc_info.value
    return e.response['Error']['Code'], e.response['Error'].get('Message', '')


def oaep(alg: str) -> padding.OAEP:
    h = ALGS[alg]
    return padding.OAEP(mgf=padding.MGF1(algorithm=h()), algorithm=h(), label=None)


@pytest.fixture(scope='module')
def rsa_key(kms):
    md = kms.create_key(KeySpec='RSA_2048', KeyUsage='ENCRYPT_DECRYPT')['KeyMetadata']
    assert md['EncryptionAlgorithms'] == ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256']
    assert 'SigningAlgorithms' not in md
    return md


def test_get_public_key(kms, rsa_key):
    out = kms.get_public_key(KeyId=rsa_key['KeyId'])
    assert out['KeySpec'] == 'RSA_2048' and out['KeyUsage'] == 'ENCRYPT_DECRYPT'
    assert out['EncryptionAlgorithms'] == ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256']
    assert 'SigningAlgorithms' not in out
    pub = serialization.load_der_public_key(out['PublicKey'])
    assert isinstance(pub, rsa.RSAPublicKey) and pub.key_size == 2048


@pytest.mark.parametrize('alg', list(ALGS))
def test_cryptography_encrypts_kms_decrypts(kms, rsa_key, alg):
    pub = serialization.load_der_public_key(kms.get_public_key(KeyId=rsa_key['KeyId'])['PublicKey'])
    for plaintext in (b'x', bytes(range(LIMITS[alg]))):
        blob = pub.encrypt(plaintext, oaep(alg))
        out = kms.decrypt(KeyId=rsa_key['KeyId'], CiphertextBlob=blob, EncryptionAlgorithm=alg)
        assert out['Plaintext'] == plaintext
        assert out['KeyId'] == key_arn(rsa_key['KeyId']) and out['EncryptionAlgorithm'] == alg
        assert 'KeyMaterialId' not in out
        other = 'RSAES_OAEP_SHA_1' if alg == 'RSAES_OAEP_SHA_256' else 'RSAES_OAEP_SHA_256'
        with pytest.raises(ClientError) as ei:
            kms.decrypt(KeyId=rsa_key['KeyId'], CiphertextBlob=blob, EncryptionAlgorithm=other)
        assert error(ei)[0] == 'InvalidCiphertextException'


@pytest.mark.parametrize('alg', list(ALGS))
def test_kms_round_trip_and_limit(kms, rsa_key, alg):
    plaintext = bytes(range(LIMITS[alg]))
    enc = kms.encrypt(KeyId=rsa_key['KeyId'], Plaintext=plaintext, EncryptionAlgorithm=alg)
    assert enc['EncryptionAlgorithm'] == alg and len(enc['CiphertextBlob']) == 256
    out = kms.decrypt(KeyId=rsa_key['Arn'], CiphertextBlob=enc['CiphertextBlob'], EncryptionAlgorithm=alg)
    assert out['Plaintext'] == plaintext
    with pytest.raises(ClientError) as ei:
        kms.decrypt(CiphertextBlob=enc['CiphertextBlob'], EncryptionAlgorithm=alg)
    assert error(ei)[0] == 'InvalidCiphertextException'
    with pytest.raises(ClientError) as ei:
        kms.encrypt(KeyId=rsa_key['KeyId'], Plaintext=plaintext + b'!', EncryptionAlgorithm=alg)
    assert error(ei) == (
        'ValidationException',
        f'Algorithm {alg} and key spec RSA_2048 cannot encrypt data larger than {LIMITS[alg]} bytes.',
    )
    with pytest.raises(ClientError) as ei:
        kms.encrypt(KeyId=rsa_key['KeyId'], Plaintext=b'x')
    assert error(ei)[0] == 'InvalidKeyUsageException'
    with pytest.raises(ClientError) as ei:
        kms.encrypt(KeyId=rsa_key['KeyId'], Plaintext=b'x', EncryptionAlgorithm=alg, EncryptionContext={'a': 'b'})
    assert error(ei)[0] == 'ValidationException'


def test_re_encrypt_both_ways(kms, rsa_key):
    sym = kms.create_key()['KeyMetadata']
    blob = kms.encrypt(KeyId=sym['KeyId'], Plaintext=b'moving', EncryptionContext={'k': 'v'})['CiphertextBlob']
    to_rsa = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext={'k': 'v'},
        DestinationKeyId=rsa_key['KeyId'],
        DestinationEncryptionAlgorithm='RSAES_OAEP_SHA_256',
    )
    assert to_rsa['SourceEncryptionAlgorithm'] == 'SYMMETRIC_DEFAULT'
    assert to_rsa['DestinationEncryptionAlgorithm'] == 'RSAES_OAEP_SHA_256'
    assert 'SourceKeyMaterialId' in to_rsa and 'DestinationKeyMaterialId' not in to_rsa
    back = kms.re_encrypt(
        CiphertextBlob=to_rsa['CiphertextBlob'],
        SourceKeyId=rsa_key['KeyId'],
        SourceEncryptionAlgorithm='RSAES_OAEP_SHA_256',
        DestinationKeyId=sym['KeyId'],
    )
    assert back['SourceEncryptionAlgorithm'] == 'RSAES_OAEP_SHA_256'
    assert back['DestinationEncryptionAlgorithm'] == 'SYMMETRIC_DEFAULT'
    assert 'SourceKeyMaterialId' not in back and 'DestinationKeyMaterialId' in back
    assert kms.decrypt(CiphertextBlob=back['CiphertextBlob'])['Plaintext'] == b'moving'


def test_data_keys_refused(kms, rsa_key):
    with pytest.raises(ClientError) as ei:
        kms.generate_data_key(KeyId=rsa_key['KeyId'], KeySpec='AES_256')
    assert error(ei)[0] == 'InvalidKeyUsageException'
