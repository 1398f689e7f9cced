"""Issue 18, imported key material (Origin EXTERNAL), with boto3 and the AWS CLI against the real
server: the customer side done with pyca/cryptography (import_wrap.py), every result checked
independently of edge-kms where it can be (ciphertexts opened with AESGCM and the imported bytes,
per docs/ciphertext-format.md; MACs with hmac; signatures with the customer's own public key)."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import json
import struct
import subprocess
import time

import pytest
from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conftest import DAY, key_arn
from import_wrap import HMAC_MATERIAL_BYTES, WRAPPING_ALGORITHMS, make_key_material, wrap_key_material
from test_cli import cli_env

DOES_NOT_EXPIRE = 'KEY_MATERIAL_DOES_NOT_EXPIRE'


# --- helpers -----------------------------------------------------------------------------------

def error_code(ei) -> str:
    return ei.value.response['Error']['Code']


def error_message(ei) -> str:
    return ei.value.response['Error']['Message']


def external_key(kms, spec: str = 'SYMMETRIC_DEFAULT', usage: str | None = None) -> str:
    if usage is None:
        usage = 'ENCRYPT_DECRYPT' if spec == 'SYMMETRIC_DEFAULT' else 'GENERATE_VERIFY_MAC' if spec.startswith('HMAC_') else 'SIGN_VERIFY'
    md = kms.create_key(Origin='EXTERNAL', KeySpec=spec, KeyUsage=usage)['KeyMetadata']
    assert md['KeyState'] == 'PendingImport'
    assert md['Enabled'] is False
    assert md['Origin'] == 'EXTERNAL'
    assert 'CurrentKeyMaterialId' not in md
    return md['KeyId']


def parameters(kms, key_id: str, algorithm: str = 'RSA_AES_KEY_WRAP_SHA_256', spec: str = 'RSA_2048') -> dict:
    """GetParametersForImport, retrying ThrottlingException as boto3's default retry mode would
    (the clients here make one attempt; RSA wrapping keys are generated through one gate)."""
    for _ in range(100):
        try:
            return kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm=algorithm, WrappingKeySpec=spec)
        except ClientError as e:
            if e.response['Error']['Code'] != 'ThrottlingException':
                raise
            time.sleep(0.2)
    raise AssertionError('GetParametersForImport stayed throttled')


def import_material(kms, key_id: str, material: bytes, algorithm: str = 'RSA_AES_KEY_WRAP_SHA_256', spec: str = 'RSA_2048',
                    params: dict | None = None, **extra) -> dict:
    params = params or parameters(kms, key_id, algorithm, spec)
    request = {
        'KeyId': key_id,
        'ImportToken': params['ImportToken'],
        'EncryptedKeyMaterial': wrap_key_material(params['PublicKey'], algorithm, material),
    }
    if 'ValidTo' not in extra:
        request['ExpirationModel'] = DOES_NOT_EXPIRE
    request.update(extra)
    return kms.import_key_material(**request)


def expected_material_id(key_id: str, material: bytes) -> str:
    """SHA-256 over a label, the key id and the material (decision 0009)."""
    return hashlib.sha256(b'edge-kms key material id\x00' + key_id.encode() + b'\x00' + material).hexdigest()


def encode_context(context: dict[str, str] | None) -> bytes:
    pairs = sorted(((k.encode(), v.encode()) for k, v in (context or {}).items()), key=lambda p: p[0])
    out = struct.pack('>I', len(pairs))
    for k, v in pairs:
        out += struct.pack('>I', len(k)) + k + struct.pack('>I', len(v)) + v
    return out


def local_decrypt(material: bytes, blob: bytes, context: dict[str, str] | None = None) -> bytes:
    """An edge-kms ciphertext opened with AESGCM and the imported bytes (docs/ciphertext-format.md)."""
    header, iv, body = blob[:36], blob[24:36], blob[36:]
    return AESGCM(material).decrypt(iv, body, header + encode_context(context))


# --- symmetric ---------------------------------------------------------------------------------

@pytest.mark.parametrize('algorithm,spec', [
    ('RSAES_OAEP_SHA_1', 'RSA_2048'),
    ('RSAES_OAEP_SHA_256', 'RSA_3072'),
    ('RSA_AES_KEY_WRAP_SHA_1', 'RSA_4096'),
    ('RSA_AES_KEY_WRAP_SHA_256', 'RSA_2048'),
])
def test_symmetric_import_then_encrypt_decrypt(kms, server, algorithm, spec):
    assert algorithm in WRAPPING_ALGORITHMS
    key_id = external_key(kms)
    params = parameters(kms, key_id, algorithm, spec)
    assert params['KeyId'] == key_arn(key_id)
    public = serialization.load_der_public_key(params['PublicKey'])
    assert public.key_size == int(spec.removeprefix('RSA_'))
    valid_to = params['ParametersValidTo'].timestamp()
    assert valid_to == pytest.approx(server.now() + DAY, abs=10)

    km = make_key_material('SYMMETRIC_DEFAULT')
    out = import_material(kms, key_id, km.material, algorithm, params=params)
    assert out['KeyId'] == key_arn(key_id)
    assert out['KeyMaterialId'] == expected_material_id(key_id, km.material)
    md = kms.describe_key(KeyId=key_id)['KeyMetadata']
    assert md['KeyState'] == 'Enabled' and md['Enabled'] is True
    assert md['CurrentKeyMaterialId'] == out['KeyMaterialId']
    assert md['ExpirationModel'] == DOES_NOT_EXPIRE

    context = {'via': 'boto3', 'algorithm': algorithm}
    blob = kms.encrypt(KeyId=key_id, Plaintext=b'imported with python', EncryptionContext=context)['CiphertextBlob']
    # AES-256-GCM under exactly the bytes we imported.
    assert local_decrypt(km.material, blob, context) == b'imported with python'
    dec = kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
    assert dec['Plaintext'] == b'imported with python'
    assert dec['KeyMaterialId'] == out['KeyMaterialId']


# --- HMAC --------------------------------------------------------------------------------------

@pytest.mark.parametrize('spec', sorted(HMAC_MATERIAL_BYTES))
def test_hmac_import_then_generate_mac_equals_python_hmac(kms, spec):
    key_id = external_key(kms, spec)
    low, high, _ = HMAC_MATERIAL_BYTES[spec]
    digest = {'HMAC_224': hashlib.sha224, 'HMAC_256': hashlib.sha256, 'HMAC_384': hashlib.sha384, 'HMAC_512': hashlib.sha512}[spec]
    km = make_key_material(spec, hmac_bytes=high)
    import_material(kms, key_id, km.material, 'RSAES_OAEP_SHA_256')
    algorithm = 'HMAC_SHA_' + spec.removeprefix('HMAC_')
    for message in (b'webhook body', os.urandom(4096)):
        mac = kms.generate_mac(KeyId=key_id, Message=message, MacAlgorithm=algorithm)['Mac']
        assert mac == hmac.new(km.material, message, digest).digest()
        assert kms.verify_mac(KeyId=key_id, Message=message, MacAlgorithm=algorithm, Mac=mac)['MacValid'] is True
    # One byte below AWS's lower bound is refused (on a fresh key of the same spec).
    short_key = external_key(kms, spec)
    with pytest.raises(ClientError) as ei:
        import_material(kms, short_key, os.urandom(low - 1), 'RSAES_OAEP_SHA_256')
    assert error_code(ei) == 'IncorrectKeyMaterialException'
    assert kms.describe_key(KeyId=short_key)['KeyMetadata']['KeyState'] == 'PendingImport'


# --- asymmetric --------------------------------------------------------------------------------

def test_ec_p256_private_key_import_signatures_verify_with_own_public_key(kms):
    key_id = external_key(kms, 'ECC_NIST_P256')
    km = make_key_material('ECC_NIST_P256')
    import_material(kms, key_id, km.material, 'RSAES_OAEP_SHA_256')
    assert kms.get_public_key(KeyId=key_id)['PublicKey'] == km.public_key
    message = b'signed by my own P-256 key, inside the KMS'
    signature = kms.sign(KeyId=key_id, Message=message, MessageType='RAW', SigningAlgorithm='ECDSA_SHA_256')['Signature']
    own_public = km.private_key.public_key()
    own_public.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        own_public.verify(signature, b'another message', ec.ECDSA(hashes.SHA256()))
    # A signature made locally verifies in the KMS.
    local = km.private_key.sign(message, ec.ECDSA(hashes.SHA256()))
    assert kms.verify(KeyId=key_id, Message=message, Signature=local, SigningAlgorithm='ECDSA_SHA_256')['SignatureValid'] is True


def test_rsa_2048_private_key_import_through_key_wrap_pss_verifies(kms):
    key_id = external_key(kms, 'RSA_2048')
    km = make_key_material('RSA_2048')
    # RSA private keys need RSA_AES_KEY_WRAP_*.
    with pytest.raises(ClientError) as ei:
        kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm='RSAES_OAEP_SHA_256', WrappingKeySpec='RSA_4096')
    assert error_code(ei) == 'ValidationException'
    import_material(kms, key_id, km.material, 'RSA_AES_KEY_WRAP_SHA_256')
    assert kms.get_public_key(KeyId=key_id)['PublicKey'] == km.public_key
    message = b'PSS over an imported RSA key'
    signature = kms.sign(KeyId=key_id, Message=message, SigningAlgorithm='RSASSA_PSS_SHA_256')['Signature']
    km.private_key.public_key().verify(signature, message, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())


# --- delete and re-import ----------------------------------------------------------------------

def test_delete_imported_key_material_then_reimport_restores_decryption(kms):
    key_id = external_key(kms)
    km = make_key_material('SYMMETRIC_DEFAULT')
    first = import_material(kms, key_id, km.material)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b'made before the delete')['CiphertextBlob']

    deleted = kms.delete_imported_key_material(KeyId=key_id)
    assert deleted.get('KeyMaterialId', first['KeyMaterialId']) == first['KeyMaterialId']
    md = kms.describe_key(KeyId=key_id)['KeyMetadata']
    assert md['KeyState'] == 'PendingImport' and md['Enabled'] is False
    with pytest.raises(ClientError) as ei:
        kms.decrypt(CiphertextBlob=blob)
    assert error_code(ei) == 'KMSInvalidStateException'
    assert error_message(ei) == f'{key_arn(key_id)} is pending import.'

    # Other material is refused; the same bytes, under a new token and another algorithm, restore it.
    with pytest.raises(ClientError) as ei:
        import_material(kms, key_id, os.urandom(32))
    assert error_code(ei) == 'IncorrectKeyMaterialException'
    again = import_material(kms, key_id, km.material, 'RSAES_OAEP_SHA_1', 'RSA_3072')
    assert again['KeyMaterialId'] == first['KeyMaterialId']
    assert kms.decrypt(CiphertextBlob=blob)['Plaintext'] == b'made before the delete'


def test_second_material_rotated_in_on_demand(kms):
    key_id = external_key(kms)
    m1, m2 = os.urandom(32), os.urandom(32)
    import_material(kms, key_id, m1)
    old = kms.encrypt(KeyId=key_id, Plaintext=b'old')['CiphertextBlob']
    second = import_material(kms, key_id, m2, ImportType='NEW_KEY_MATERIAL', KeyMaterialDescription='second')
    rotations = kms.list_key_rotations(KeyId=key_id, IncludeKeyMaterial='ALL_KEY_MATERIAL')['Rotations']
    assert [r['KeyMaterialState'] for r in rotations] == ['CURRENT', 'PENDING_ROTATION']
    assert rotations[1]['KeyMaterialDescription'] == 'second'
    kms.rotate_key_on_demand(KeyId=key_id)
    new = kms.encrypt(KeyId=key_id, Plaintext=b'new')['CiphertextBlob']
    assert local_decrypt(m2, new) == b'new'
    assert kms.decrypt(CiphertextBlob=new)['KeyMaterialId'] == second['KeyMaterialId']
    assert kms.decrypt(CiphertextBlob=old)['Plaintext'] == b'old'
    with pytest.raises(ClientError) as ei:
        kms.rotate_key_on_demand(KeyId=key_id)
    assert error_code(ei) == 'KMSInvalidStateException'
    assert error_message(ei) == f'No available key material pending rotation for the key: {key_arn(key_id)}.'


# --- errors through botocore -------------------------------------------------------------------

def test_import_errors(kms):
    key_id = external_key(kms)
    other = external_key(kms)
    material = os.urandom(32)
    params = parameters(kms, key_id)
    wrapped = wrap_key_material(params['PublicKey'], 'RSA_AES_KEY_WRAP_SHA_256', material)

    # ExpirationModel defaults to KEY_MATERIAL_EXPIRES: without ValidTo it is a ValidationException.
    with pytest.raises(ClientError) as ei:
        kms.import_key_material(KeyId=key_id, ImportToken=params['ImportToken'], EncryptedKeyMaterial=wrapped)
    assert error_code(ei) == 'ValidationException'
    assert error_message(ei) == 'A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES'

    # A garbage token, and this key's token for another key.
    with pytest.raises(ClientError) as ei:
        kms.import_key_material(KeyId=key_id, ImportToken=os.urandom(41), EncryptedKeyMaterial=wrapped, ExpirationModel=DOES_NOT_EXPIRE)
    assert error_code(ei) == 'InvalidImportTokenException'
    with pytest.raises(ClientError) as ei:
        kms.import_key_material(KeyId=other, ImportToken=params['ImportToken'], EncryptedKeyMaterial=wrapped, ExpirationModel=DOES_NOT_EXPIRE)
    assert error_code(ei) == 'InvalidImportTokenException'

    # 31 bytes are not symmetric key material.
    with pytest.raises(ClientError) as ei:
        kms.import_key_material(KeyId=key_id, ImportToken=params['ImportToken'], ExpirationModel=DOES_NOT_EXPIRE,
                                EncryptedKeyMaterial=wrap_key_material(params['PublicKey'], 'RSA_AES_KEY_WRAP_SHA_256', material[:31]))
    assert error_code(ei) == 'IncorrectKeyMaterialException'

    # Wrapped with the wrong algorithm.
    with pytest.raises(ClientError) as ei:
        kms.import_key_material(KeyId=key_id, ImportToken=params['ImportToken'], ExpirationModel=DOES_NOT_EXPIRE,
                                EncryptedKeyMaterial=wrap_key_material(params['PublicKey'], 'RSA_AES_KEY_WRAP_SHA_1', material))
    assert error_code(ei) == 'InvalidCiphertextException'

    # A key generated by KMS has no import.
    generated = kms.create_key()['KeyMetadata']['KeyId']
    with pytest.raises(ClientError) as ei:
        kms.get_parameters_for_import(KeyId=generated, WrappingAlgorithm='RSAES_OAEP_SHA_256', WrappingKeySpec='RSA_2048')
    assert error_code(ei) == 'UnsupportedOperationException'
    assert error_message(ei) == f'{key_arn(generated)} origin is AWS_KMS which is not valid for this operation.'

    # Nothing of it changed the key; the token still works.
    assert kms.describe_key(KeyId=key_id)['KeyMetadata']['KeyState'] == 'PendingImport'
    kms.import_key_material(KeyId=key_id, ImportToken=params['ImportToken'], EncryptedKeyMaterial=wrapped, ExpirationModel=DOES_NOT_EXPIRE)
    assert kms.describe_key(KeyId=key_id)['KeyMetadata']['KeyState'] == 'Enabled'


def test_expiry_and_expired_token_on_the_test_clock(kms, server):
    key_id = external_key(kms)
    material = os.urandom(32)
    params = parameters(kms, key_id)
    valid_to = dt.datetime.fromtimestamp(int(server.now()) + 3600, tz=dt.timezone.utc)
    import_material(kms, key_id, material, params=params, ExpirationModel='KEY_MATERIAL_EXPIRES', ValidTo=valid_to)
    md = kms.describe_key(KeyId=key_id)['KeyMetadata']
    assert md['ExpirationModel'] == 'KEY_MATERIAL_EXPIRES'
    assert md['ValidTo'] == valid_to
    blob = kms.encrypt(KeyId=key_id, Plaintext=b'for an hour')['CiphertextBlob']

    server.advance_days(1 / 24)
    report = server.maintenance()
    assert key_id in report.get('expired', [])
    assert kms.describe_key(KeyId=key_id)['KeyMetadata']['KeyState'] == 'PendingImport'
    with pytest.raises(ClientError) as ei:
        kms.decrypt(CiphertextBlob=blob)
    assert error_code(ei) == 'KMSInvalidStateException'

    # The same token re-imports within its 24 hours…
    kms.import_key_material(KeyId=key_id, ImportToken=params['ImportToken'], ExpirationModel=DOES_NOT_EXPIRE,
                            EncryptedKeyMaterial=wrap_key_material(params['PublicKey'], 'RSA_AES_KEY_WRAP_SHA_256', material))
    assert kms.decrypt(CiphertextBlob=blob)['Plaintext'] == b'for an hour'
    # …and not after them.
    kms.delete_imported_key_material(KeyId=key_id)
    server.advance_days(1)
    with pytest.raises(ClientError) as ei:
        kms.import_key_material(KeyId=key_id, ImportToken=params['ImportToken'], ExpirationModel=DOES_NOT_EXPIRE,
                                EncryptedKeyMaterial=wrap_key_material(params['PublicKey'], 'RSA_AES_KEY_WRAP_SHA_256', material))
    assert error_code(ei) == 'ExpiredImportTokenException'


# --- the AWS CLI -------------------------------------------------------------------------------

def test_cli_get_parameters_for_import_and_import_key_material(server, kms, tmp_path):
    env = cli_env(tmp_path)

    def aws(*args: str):
        proc = subprocess.run(['aws', 'kms', '--endpoint-url', server.url, *args, '--output', 'json'],
                              env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, f'aws kms {" ".join(args)} failed ({proc.returncode}):\n{proc.stderr}'
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    key_id = aws('create-key', '--origin', 'EXTERNAL')['KeyMetadata']['KeyId']
    params = aws('get-parameters-for-import', '--key-id', key_id,
                 '--wrapping-algorithm', 'RSA_AES_KEY_WRAP_SHA_256', '--wrapping-key-spec', 'RSA_3072')
    assert params['KeyId'] == key_arn(key_id)
    public_key = base64.b64decode(params['PublicKey'])
    assert serialization.load_der_public_key(public_key).key_size == 3072
    token = tmp_path / 'token.bin'
    token.write_bytes(base64.b64decode(params['ImportToken']))
    material = os.urandom(32)
    wrapped = tmp_path / 'wrapped.bin'
    wrapped.write_bytes(wrap_key_material(public_key, 'RSA_AES_KEY_WRAP_SHA_256', material))
    out = aws('import-key-material', '--key-id', key_id, '--import-token', f'fileb://{token}',
              '--encrypted-key-material', f'fileb://{wrapped}', '--expiration-model', DOES_NOT_EXPIRE)
    assert out['KeyMaterialId'] == expected_material_id(key_id, material)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b'via the cli')['CiphertextBlob']
    assert local_decrypt(material, blob) == b'via the cli'
