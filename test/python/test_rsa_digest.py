"""RSA signing of a DIGEST over the wire (the Node server signs through node:crypto, decision 0008),
every signature checked by Python's `cryptography`, and cryptography's signatures verified by KMS."""
from __future__ import annotations

import hashlib

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

HASHES = {'256': (hashes.SHA256, hashlib.sha256), '384': (hashes.SHA384, hashlib.sha384), '512': (hashes.SHA512, hashlib.sha512)}


def scheme(algorithm: str):
    bits = algorithm[-3:]
    h, _ = HASHES[bits]
    if 'PSS' in algorithm:
        return padding.PSS(mgf=padding.MGF1(h()), salt_length=h.digest_size), h
    return padding.PKCS1v15(), h


@pytest.fixture(scope='module')
def rsa_key(kms):
    md = kms.create_key(KeySpec='RSA_2048', KeyUsage='SIGN_VERIFY')['KeyMetadata']
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=md['KeyId'])['PublicKey'])
    return md['KeyId'], public


@pytest.mark.parametrize('algorithm', [f'RSASSA_{s}_SHA_{b}' for s in ('PKCS1_V1_5', 'PSS') for b in ('256', '384', '512')])
def test_digest_signatures_verify_in_cryptography(kms, rsa_key, algorithm):
    key_id, public = rsa_key
    pad, h = scheme(algorithm)
    message = b'a message hashed by the caller'
    digest = hashlib.new(h.name, message).digest()
    sig = kms.sign(KeyId=key_id, Message=digest, MessageType='DIGEST', SigningAlgorithm=algorithm)['Signature']
    public.verify(sig, message, pad, h())
    public.verify(sig, digest, pad, Prehashed(h()))
    # The RAW signature of the same message verifies under the DIGEST path, and the reverse.
    raw = kms.sign(KeyId=key_id, Message=message, MessageType='RAW', SigningAlgorithm=algorithm)['Signature']
    assert kms.verify(KeyId=key_id, Message=digest, MessageType='DIGEST', SigningAlgorithm=algorithm, Signature=raw)['SignatureValid']
    assert kms.verify(KeyId=key_id, Message=message, MessageType='RAW', SigningAlgorithm=algorithm, Signature=sig)['SignatureValid']
    with pytest.raises(ClientError) as e:
        kms.verify(KeyId=key_id, Message=hashlib.new(h.name, b'other').digest(), MessageType='DIGEST', SigningAlgorithm=algorithm, Signature=sig)
    assert e.value.response['Error']['Code'] == 'KMSInvalidSignatureException'


def test_digest_of_the_wrong_length(kms, rsa_key):
    key_id, _ = rsa_key
    with pytest.raises(ClientError) as e:
        kms.sign(KeyId=key_id, Message=b'x' * 31, MessageType='DIGEST', SigningAlgorithm='RSASSA_PSS_SHA_256')
    assert e.value.response['Error'] == {'Code': 'ValidationException', 'Message': 'Digest is invalid length for algorithm RSASSA_PSS_SHA_256.'}


def test_digest_verify_refuses_another_keys_signature_rsa_3072(kms):
    # A signature Python made with its own key of the same size is refused; KMS's own verifies in Python.
    md = kms.create_key(KeySpec='RSA_3072', KeyUsage='SIGN_VERIFY')['KeyMetadata']
    other = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    digest = hashlib.sha384(b'm').digest()
    forged = other.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA384()))
    with pytest.raises(ClientError) as e:
        kms.verify(KeyId=md['KeyId'], Message=digest, MessageType='DIGEST', SigningAlgorithm='RSASSA_PKCS1_V1_5_SHA_384', Signature=forged)
    assert e.value.response['Error']['Code'] == 'KMSInvalidSignatureException'
    sig = kms.sign(KeyId=md['KeyId'], Message=digest, MessageType='DIGEST', SigningAlgorithm='RSASSA_PKCS1_V1_5_SHA_384')['Signature']
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=md['KeyId'])['PublicKey'])
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 3072
    public.verify(sig, b'm', padding.PKCS1v15(), hashes.SHA384())
