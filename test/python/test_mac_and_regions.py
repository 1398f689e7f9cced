"""HMAC keys and multi-Region keys over the wire with boto3 (the real botocore client)."""
from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCOUNT_ID, key_arn


def client_in(server, region: str):
    return boto3.client(
        'kms',
        region_name=region,
        endpoint_url=server.url,
        aws_access_key_id='AKIDPYTEST',
        aws_secret_access_key='secret',
        config=Config(retries={'max_attempts': 1}),
    )


def test_generate_and_verify_mac(kms):
    md = kms.create_key(KeySpec='HMAC_256', KeyUsage='GENERATE_VERIFY_MAC')['KeyMetadata']
    assert md['MacAlgorithms'] == ['HMAC_SHA_256']
    assert 'EncryptionAlgorithms' not in md
    out = kms.generate_mac(KeyId=md['KeyId'], Message=b'webhook', MacAlgorithm='HMAC_SHA_256')
    assert len(out['Mac']) == 32 and out['KeyId'] == key_arn(md['KeyId'])
    ok = kms.verify_mac(KeyId=md['KeyId'], Message=b'webhook', MacAlgorithm='HMAC_SHA_256', Mac=out['Mac'])
    assert ok['MacValid'] is True
    bad = bytes([out['Mac'][0] ^ 1]) + out['Mac'][1:]
    with pytest.raises(ClientError) as e:
        kms.verify_mac(KeyId=md['KeyId'], Message=b'webhook', MacAlgorithm='HMAC_SHA_256', Mac=bad)
    assert e.value.response['Error']['Code'] == 'KMSInvalidMacException'
    with pytest.raises(ClientError) as e:
        kms.generate_mac(KeyId=md['KeyId'], Message=b'webhook', MacAlgorithm='HMAC_SHA_384')
    assert e.value.response['Error'] == {'Code': 'InvalidKeyUsageException', 'Message': 'Algorithm HMAC_SHA_384 is incompatible with key spec HMAC_256.'}


def test_multi_region_key_across_regions(server):
    us = client_in(server, 'us-east-1')
    eu = client_in(server, 'eu-west-1')
    key_id = us.create_key(MultiRegion=True)['KeyMetadata']['KeyId']
    assert key_id.startswith('mrk-')
    rep = us.replicate_key(KeyId=key_id, ReplicaRegion='eu-west-1')
    assert rep['ReplicaKeyMetadata']['Arn'] == f'arn:aws:kms:eu-west-1:{ACCOUNT_ID}:key/{key_id}'
    blob = us.encrypt(KeyId=key_id, Plaintext=b'hello')['CiphertextBlob']
    us.rotate_key_on_demand(KeyId=key_id)
    assert [r['KeyMaterialId'] for r in eu.list_key_rotations(KeyId=key_id)['Rotations']] == [
        r['KeyMaterialId'] for r in us.list_key_rotations(KeyId=key_id)['Rotations']
    ]
    out = eu.decrypt(CiphertextBlob=blob)
    assert out['Plaintext'] == b'hello' and out['KeyId'] == f'arn:aws:kms:eu-west-1:{ACCOUNT_ID}:key/{key_id}'
    with pytest.raises(ClientError) as e:
        eu.rotate_key_on_demand(KeyId=key_id)
    assert e.value.response['Error']['Code'] == 'UnsupportedOperationException'
    md = eu.describe_key(KeyId=key_id)['KeyMetadata']['MultiRegionConfiguration']
    assert md['MultiRegionKeyType'] == 'REPLICA' and md['PrimaryKey']['Region'] == 'us-east-1'


@pytest.mark.parametrize(
    'spec,alg,hash_name',
    [('ECC_NIST_P256', 'ECDSA_SHA_256', 'SHA256'), ('ECC_NIST_P384', 'ECDSA_SHA_384', 'SHA384'), ('ECC_NIST_P521', 'ECDSA_SHA_512', 'SHA512')],
)
def test_ecdsa_signatures_verify_in_cryptography(kms, spec, alg, hash_name):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key_id = kms.create_key(KeySpec=spec, KeyUsage='SIGN_VERIFY')['KeyMetadata']['KeyId']
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)['PublicKey'])
    message = b'signed by edge-kms, verified by cryptography'
    sig = kms.sign(KeyId=key_id, Message=message, SigningAlgorithm=alg)['Signature']
    public.verify(sig, message, ec.ECDSA(getattr(hashes, hash_name)()))  # raises if invalid
    assert kms.verify(KeyId=key_id, Message=message, Signature=sig, SigningAlgorithm=alg)['SignatureValid'] is True
    with pytest.raises(ClientError) as e:
        kms.verify(KeyId=key_id, Message=message + b'!', Signature=sig, SigningAlgorithm=alg)
    assert e.value.response['Error']['Code'] == 'KMSInvalidSignatureException'


def test_ed25519_signatures_verify_in_cryptography(kms):
    from cryptography.hazmat.primitives import serialization

    key_id = kms.create_key(KeySpec='ECC_NIST_EDWARDS25519', KeyUsage='SIGN_VERIFY')['KeyMetadata']['KeyId']
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)['PublicKey'])
    sig = kms.sign(KeyId=key_id, Message=b'eddsa', SigningAlgorithm='ED25519_SHA_512')['Signature']
    public.verify(sig, b'eddsa')


def test_data_key_pair_loads_in_cryptography(kms):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key_id = kms.create_key()['KeyMetadata']['KeyId']
    out = kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec='ECC_NIST_P384', EncryptionContext={'app': 'py'})
    private = serialization.load_der_private_key(out['PrivateKeyPlaintext'], password=None)
    public = serialization.load_der_public_key(out['PublicKey'])
    sig = private.sign(b'data', ec.ECDSA(hashes.SHA384()))
    public.verify(sig, b'data', ec.ECDSA(hashes.SHA384()))
    back = kms.decrypt(CiphertextBlob=out['PrivateKeyCiphertextBlob'], EncryptionContext={'app': 'py'})
    assert back['Plaintext'] == out['PrivateKeyPlaintext']


def test_rsa_pss_and_pkcs1_signatures_verify_in_cryptography(kms):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    key_id = kms.create_key(KeySpec='RSA_2048', KeyUsage='SIGN_VERIFY')['KeyMetadata']['KeyId']
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)['PublicKey'])
    for alg, pad in [
        ('RSASSA_PSS_SHA_256', padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)),
        ('RSASSA_PKCS1_V1_5_SHA_256', padding.PKCS1v15()),
    ]:
        sig = kms.sign(KeyId=key_id, Message=b'rsa', SigningAlgorithm=alg)['Signature']
        public.verify(sig, b'rsa', pad, hashes.SHA256())
