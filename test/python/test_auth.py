"""
Issue 4, authentication and authorization through boto3 (botocore's SigV4 signer) and the aws
CLI v1, against a real edge-kms server that verifies signatures against three identities:
alice and bob in account 111122223333 and carol, a session of role/carol in 444455556666.

The same ground is covered in depth, with aws4fetch and the AWS SDK v3, by test/auth/*.test.ts;
here the point is that these two independent signers interoperate, that the rejections they get
are AWS's (error code, message, HTTP status), and that key policies and grants hold for them.
"""
from __future__ import annotations

import base64
import datetime
import json
import os
import subprocess
import urllib.error
import urllib.request

import boto3
import botocore.auth
import botocore.config
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import REGION, start_server

ACCOUNT = '111122223333'
OTHER_ACCOUNT = '444455556666'
ALICE = {'accessKeyId': 'AKIAALICEPY000000001', 'secretAccessKey': 'alice-py/secret+0000000000000000000001',
         'accountId': ACCOUNT, 'arn': f'arn:aws:iam::{ACCOUNT}:user/alice'}
BOB = {'accessKeyId': 'AKIABOBPY00000000002', 'secretAccessKey': 'bob-py/secret+00000000000000000000002',
       'accountId': ACCOUNT, 'arn': f'arn:aws:iam::{ACCOUNT}:user/bob'}
CAROL = {'accessKeyId': 'ASIACAROLPY000000003', 'secretAccessKey': 'carol-py/secret+0000000000000000000003',
         'accountId': OTHER_ACCOUNT, 'arn': f'arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/carol/carol-session'}
CAROL_ROLE = f'arn:aws:iam::{OTHER_ACCOUNT}:role/carol'
ROOT = f'arn:aws:iam::{ACCOUNT}:root'

SIGNATURE_MISMATCH = ('The request signature we calculated does not match the signature you provided. '
                      'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.')


@pytest.fixture(scope='module')
def auth_server():
    """A verifying server (identities configured) on the real clock, serving only REGION and
    ap-southeast-2 (every AWS Region is served unless KMS_REGIONS restricts the set)."""
    s = start_server(
        KMS_IDENTITIES=json.dumps([ALICE, BOB, CAROL]),
        KMS_TEST_MODE='0',
        KMS_MAINTENANCE_INTERVAL_MS='0',
        KMS_REGIONS=f'{REGION},ap-southeast-2',
    )
    yield s
    s.cleanup()


def client_as(server, who: dict, region: str = REGION, secret: str | None = None):
    return boto3.client(
        'kms',
        endpoint_url=server.url,
        region_name=region,
        aws_access_key_id=who['accessKeyId'],
        aws_secret_access_key=secret if secret is not None else who['secretAccessKey'],
        config=botocore.config.Config(retries={'total_max_attempts': 1}, connect_timeout=5, read_timeout=30),
    )


@pytest.fixture(scope='module')
def alice(auth_server):
    return client_as(auth_server, ALICE)


@pytest.fixture(scope='module')
def bob(auth_server):
    return client_as(auth_server, BOB)


@pytest.fixture(scope='module')
def carol(auth_server):
    return client_as(auth_server, CAROL)


def key_arn(key_id: str) -> str:
    return f'arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}'


def error_of(call, *args, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return info.value


def assert_error(err: ClientError, code: str, status: int = 400, message: str | None = None) -> None:
    assert err.response['Error']['Code'] == code, err.response
    assert err.response['ResponseMetadata']['HTTPStatusCode'] == status
    if message is not None:
        assert err.response['Error']['Message'] == message


def not_authorized(who: str, action: str, resource: str) -> str:
    return (f'User: {who} is not authorized to perform: kms:{action} on resource: {resource} '
            f'because no resource-based policy allows the kms:{action} action')


def explicitly_denied(who: str, action: str, resource: str) -> str:
    return (f'User: {who} is not authorized to perform: kms:{action} on resource: {resource} '
            'with an explicit deny in a resource-based policy')


def run_aws(server, who: dict, *args: str, secret: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
    env.update({
        'AWS_ACCESS_KEY_ID': who['accessKeyId'],
        'AWS_SECRET_ACCESS_KEY': secret if secret is not None else who['secretAccessKey'],
        'AWS_DEFAULT_REGION': REGION,
        'AWS_CONFIG_FILE': '/dev/null',
        'AWS_SHARED_CREDENTIALS_FILE': '/dev/null',
        'AWS_MAX_ATTEMPTS': '1',
        'AWS_PAGER': '',
    })
    return subprocess.run(['aws', 'kms', '--endpoint-url', server.url, '--output', 'json', *args],
                          env=env, capture_output=True, text=True, timeout=60)


def policy(*statements: dict) -> str:
    return json.dumps({'Version': '2012-10-17', 'Statement': list(statements)})


def allow(principal: str, action, **extra) -> dict:
    return {'Effect': 'Allow', 'Principal': {'AWS': principal}, 'Action': action, 'Resource': '*', **extra}


# --- SigV4 interop ------------------------------------------------------------------------------

def test_boto3_signs_valid_requests_for_each_identity(alice, bob):
    key_id = alice.create_key(Description='boto3')['KeyMetadata']['KeyId']
    blob = alice.encrypt(KeyId=key_id, Plaintext=b'boto3 signed', EncryptionContext={'p': 'y'})['CiphertextBlob']
    out = bob.decrypt(CiphertextBlob=blob, EncryptionContext={'p': 'y'})
    assert out['Plaintext'] == b'boto3 signed'
    assert out['KeyId'] == key_arn(key_id)


def test_aws_cli_signs_valid_requests(auth_server, alice):
    created = run_aws(auth_server, ALICE, 'create-key', '--description', 'from the cli')
    assert created.returncode == 0, created.stderr
    key_id = json.loads(created.stdout)['KeyMetadata']['KeyId']
    assert alice.describe_key(KeyId=key_id)['KeyMetadata']['Description'] == 'from the cli'
    enc = run_aws(auth_server, BOB, 'encrypt', '--key-id', key_id, '--plaintext', 'cli text')
    assert enc.returncode == 0, enc.stderr
    blob = base64.b64decode(json.loads(enc.stdout)['CiphertextBlob'])
    assert alice.decrypt(CiphertextBlob=blob)['Plaintext'] == b'cli text'
    policy_out = run_aws(auth_server, ALICE, 'get-key-policy', '--key-id', key_id, '--policy-name', 'default')
    assert policy_out.returncode == 0, policy_out.stderr
    doc = json.loads(json.loads(policy_out.stdout)['Policy'])
    assert doc['Statement'][0]['Principal'] == {'AWS': ROOT}


def test_aws_cli_with_a_wrong_secret_or_unknown_key_fails(auth_server):
    bad = run_aws(auth_server, ALICE, 'list-keys', secret='not-the-secret')
    assert bad.returncode != 0
    assert 'InvalidSignatureException' in bad.stderr
    unknown = run_aws(auth_server, {'accessKeyId': 'AKIANOBODY0000000000', 'secretAccessKey': 'x'}, 'list-keys')
    assert unknown.returncode != 0
    assert 'UnrecognizedClientException' in unknown.stderr


def test_boto3_wrong_secret_is_invalid_signature(auth_server):
    err = error_of(client_as(auth_server, ALICE, secret='wrong').list_keys)
    assert_error(err, 'InvalidSignatureException', 400, SIGNATURE_MISMATCH)


def test_boto3_unknown_access_key_is_unrecognized_client(auth_server):
    nobody = {'accessKeyId': 'AKIANOBODY0000000000', 'secretAccessKey': 'whatever'}
    err = error_of(client_as(auth_server, nobody).list_keys)
    assert_error(err, 'UnrecognizedClientException', 400, 'The security token included in the request is invalid.')


def test_boto3_credential_scope_for_a_region_outside_kms_regions(auth_server):
    err = error_of(client_as(auth_server, ALICE, region='eu-west-1').list_keys)
    assert_error(err, 'InvalidSignatureException', 400)
    assert "Credential should be scoped to a valid region, not 'eu-west-1'." in err.response['Error']['Message']


@pytest.mark.parametrize('minutes, prefix', [(-16, 'Signature expired: '), (16, 'Signature not yet current: ')])
def test_boto3_signing_clock_skewed_by_16_minutes(auth_server, alice, monkeypatch, minutes, prefix):
    before = len(alice.list_keys()['Keys'])
    skewed = client_as(auth_server, ALICE)
    real = botocore.auth.get_current_datetime
    monkeypatch.setattr(botocore.auth, 'get_current_datetime', lambda *a, **k: real(*a, **k) + datetime.timedelta(minutes=minutes))
    err = error_of(skewed.create_key, Description='must not exist')
    monkeypatch.undo()
    assert_error(err, 'InvalidSignatureException', 400)
    assert err.response['Error']['Message'].startswith(prefix)
    assert '15 min.' in err.response['Error']['Message']
    assert len(alice.list_keys()['Keys']) == before


def _botocore_signed(server, target: str, body: dict, who: dict = ALICE) -> AWSRequest:
    req = AWSRequest(method='POST', url=server.url + '/', data=json.dumps(body).encode(),
                     headers={'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': f'TrentService.{target}'})
    botocore.auth.SigV4Auth(Credentials(who['accessKeyId'], who['secretAccessKey']), 'kms', REGION).add_auth(req)
    return req


def _send(req: AWSRequest, body: bytes | None = None, drop: tuple[str, ...] = (), replace: dict | None = None):
    headers = {k: v for k, v in req.headers.items() if k.lower() not in drop}
    headers.update(replace or {})
    raw = urllib.request.Request(req.url, data=body if body is not None else req.body, method='POST', headers=headers)
    try:
        with urllib.request.urlopen(raw, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b'{}'), dict(resp.headers)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b'{}'), dict(e.headers)


def test_botocore_signed_request_tampered_in_flight_changes_nothing(auth_server, alice):
    key_id = alice.create_key(Description='tamper target')['KeyMetadata']['KeyId']
    keys_before = sorted(k['KeyId'] for k in alice.list_keys()['Keys'])

    # The untouched request works (the signer and the sender are right).
    status, body, _ = _send(_botocore_signed(auth_server, 'DescribeKey', {'KeyId': key_id}))
    assert status == 200 and body['KeyMetadata']['KeyId'] == key_id

    # Body changed after signing.
    req = _botocore_signed(auth_server, 'ScheduleKeyDeletion', {'KeyId': key_id, 'PendingWindowInDays': 30})
    status, body, headers = _send(req, body=json.dumps({'KeyId': key_id, 'PendingWindowInDays': 7}).encode())
    assert (status, body) == (400, {'__type': 'InvalidSignatureException', 'message': SIGNATURE_MISMATCH})
    assert headers.get('x-amzn-RequestId') or headers.get('x-amzn-requestid')

    # A signed header changed: DescribeKey signed, ScheduleKeyDeletion sent.
    req = _botocore_signed(auth_server, 'DescribeKey', {'KeyId': key_id})
    status, body, _ = _send(req, replace={'X-Amz-Target': 'TrentService.ScheduleKeyDeletion'})
    assert (status, body['__type']) == (400, 'InvalidSignatureException')

    # Malformed Authorization.
    req = _botocore_signed(auth_server, 'CreateKey', {})
    status, body, _ = _send(req, replace={'Authorization': 'AWS4-HMAC-SHA256 Credential=AKIAALICEPY000000001'})
    assert status == 400 and body['__type'] == 'IncompleteSignatureException'
    assert set(body) == {'__type', 'message'}

    # No Authorization at all.
    status, body, _ = _send(_botocore_signed(auth_server, 'CreateKey', {}), drop=('authorization',))
    assert (status, body) == (403, {'__type': 'MissingAuthenticationTokenException', 'message': 'Missing Authentication Token'})

    assert sorted(k['KeyId'] for k in alice.list_keys()['Keys']) == keys_before
    md = alice.describe_key(KeyId=key_id)['KeyMetadata']
    assert md['KeyState'] == 'Enabled' and 'DeletionDate' not in md


# --- key policies -------------------------------------------------------------------------------

def test_default_policy_and_policy_checks(alice, bob):
    key_id = alice.create_key()['KeyMetadata']['KeyId']
    out = alice.get_key_policy(KeyId=key_id, PolicyName='default')
    doc = json.loads(out['Policy'])
    assert doc['Statement'] == [{'Sid': 'Enable IAM User Permissions', 'Effect': 'Allow',
                                 'Principal': {'AWS': ROOT}, 'Action': 'kms:*', 'Resource': '*'}]
    assert alice.list_key_policies(KeyId=key_id)['PolicyNames'] == ['default']

    assert_error(error_of(alice.put_key_policy, KeyId=key_id, PolicyName='default', Policy='{nope'),
                 'MalformedPolicyDocumentException')
    assert_error(error_of(alice.put_key_policy, KeyId=key_id, PolicyName='default',
                          Policy=json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow'}]})),
                 'MalformedPolicyDocumentException')
    only_bob = policy(allow(BOB['arn'], 'kms:*'))
    assert_error(error_of(alice.put_key_policy, KeyId=key_id, PolicyName='default', Policy=only_bob),
                 'MalformedPolicyDocumentException', 400,
                 'The new key policy will not allow you to update the key policy in the future.')
    assert alice.get_key_policy(KeyId=key_id, PolicyName='default')['Policy'] == out['Policy']

    alice.put_key_policy(KeyId=key_id, PolicyName='default', Policy=only_bob, BypassPolicyLockoutSafetyCheck=True)
    assert_error(error_of(alice.get_key_policy, KeyId=key_id, PolicyName='default'), 'AccessDeniedException', 400,
                 not_authorized(ALICE['arn'], 'GetKeyPolicy', key_arn(key_id)))
    assert bob.get_key_policy(KeyId=key_id, PolicyName='default')['Policy'] == only_bob


def test_one_key_three_principals(alice, bob, carol):
    doc = policy(
        {'Sid': 'AliceAdministers', **allow(ALICE['arn'], 'kms:*')},
        {'Sid': 'BobEncrypts', **allow(BOB['arn'], 'kms:Encrypt')},
        {'Sid': 'BobDecryptsForAcme', **allow(BOB['arn'], 'kms:Decrypt',
                                               Condition={'StringEquals': {'kms:EncryptionContext:tenant': 'acme'}})},
        {'Sid': 'BobManagesRotation', **allow(BOB['arn'], 'kms:*Rotation*')},
        {'Sid': 'ButBobNeverRotates', 'Effect': 'Deny', 'Principal': {'AWS': BOB['arn']},
         'Action': ['kms:RotateKeyOnDemand', 'kms:EnableKeyRotation'], 'Resource': '*'},
        {'Sid': 'CarolDescribes', **allow(CAROL_ROLE, 'kms:DescribeKey')},
    )
    md = alice.create_key(Policy=doc)['KeyMetadata']
    key_id, arn = md['KeyId'], md['Arn']
    acme, globex = {'tenant': 'acme'}, {'tenant': 'globex'}

    for who in (alice, bob):
        assert who.encrypt(KeyId=key_id, Plaintext=b'x', EncryptionContext=acme)['KeyId'] == arn
    assert_error(error_of(carol.encrypt, KeyId=arn, Plaintext=b'x'), 'AccessDeniedException', 400,
                 not_authorized(CAROL['arn'], 'Encrypt', arn))

    for_acme = alice.encrypt(KeyId=key_id, Plaintext=b'acme', EncryptionContext=acme)['CiphertextBlob']
    for_globex = alice.encrypt(KeyId=key_id, Plaintext=b'globex', EncryptionContext=globex)['CiphertextBlob']
    assert bob.decrypt(CiphertextBlob=for_acme, EncryptionContext=acme)['Plaintext'] == b'acme'
    assert alice.decrypt(CiphertextBlob=for_globex, EncryptionContext=globex)['Plaintext'] == b'globex'
    assert_error(error_of(bob.decrypt, CiphertextBlob=for_globex, EncryptionContext=globex), 'AccessDeniedException', 400,
                 not_authorized(BOB['arn'], 'Decrypt', arn))

    assert carol.describe_key(KeyId=arn)['KeyMetadata']['Arn'] == arn

    before = alice.describe_key(KeyId=key_id)['KeyMetadata']['CurrentKeyMaterialId']
    assert_error(error_of(bob.rotate_key_on_demand, KeyId=key_id), 'AccessDeniedException', 400,
                 explicitly_denied(BOB['arn'], 'RotateKeyOnDemand', arn))
    assert_error(error_of(bob.enable_key_rotation, KeyId=key_id), 'AccessDeniedException', 400,
                 explicitly_denied(BOB['arn'], 'EnableKeyRotation', arn))
    assert_error(error_of(carol.rotate_key_on_demand, KeyId=arn), 'AccessDeniedException', 400,
                 not_authorized(CAROL['arn'], 'RotateKeyOnDemand', arn))
    assert bob.get_key_rotation_status(KeyId=key_id)['KeyRotationEnabled'] is False
    assert alice.describe_key(KeyId=key_id)['KeyMetadata']['CurrentKeyMaterialId'] == before
    assert alice.list_key_rotations(KeyId=key_id)['Rotations'] == []

    alice.rotate_key_on_demand(KeyId=key_id)
    assert alice.describe_key(KeyId=key_id)['KeyMetadata']['CurrentKeyMaterialId'] != before
    assert len(alice.list_key_rotations(KeyId=key_id)['Rotations']) == 1


# --- grants -------------------------------------------------------------------------------------

def test_grant_for_carol(alice, bob, carol):
    md = alice.create_key(Policy=policy(allow(ALICE['arn'], 'kms:*')))['KeyMetadata']
    key_id, arn = md['KeyId'], md['Arn']
    acme = {'tenant': 'acme'}
    assert_error(error_of(carol.encrypt, KeyId=arn, Plaintext=b'x', EncryptionContext=acme), 'AccessDeniedException')

    params = dict(KeyId=key_id, GranteePrincipal=CAROL_ROLE, RetiringPrincipal=BOB['arn'],
                  Operations=['Encrypt', 'Decrypt'], Constraints={'EncryptionContextSubset': acme}, Name='carol-acme')
    grant = alice.create_grant(**params)
    token = grant['GrantToken']

    blob = carol.encrypt(KeyId=arn, Plaintext=b'granted', EncryptionContext=acme, GrantTokens=[token])['CiphertextBlob']
    assert carol.decrypt(KeyId=arn, CiphertextBlob=blob, EncryptionContext=acme, GrantTokens=[token])['Plaintext'] == b'granted'
    assert_error(error_of(carol.encrypt, KeyId=arn, Plaintext=b'x'), 'AccessDeniedException', 400,
                 not_authorized(CAROL['arn'], 'Encrypt', arn))

    assert alice.create_grant(**params)['GrantId'] == grant['GrantId']
    grants = alice.list_grants(KeyId=key_id)['Grants']
    assert [g['GrantId'] for g in grants] == [grant['GrantId']]
    assert grants[0]['GranteePrincipal'] == CAROL_ROLE and grants[0]['Constraints'] == {'EncryptionContextSubset': acme}
    retirable = bob.list_retirable_grants(RetiringPrincipal=BOB['arn'])['Grants']
    assert [g['GrantId'] for g in retirable] == [grant['GrantId']]

    bob.retire_grant(GrantToken=token)
    assert alice.list_grants(KeyId=key_id)['Grants'] == []
    assert_error(error_of(carol.encrypt, KeyId=arn, Plaintext=b'x', EncryptionContext=acme), 'AccessDeniedException')

    second = alice.create_grant(KeyId=key_id, GranteePrincipal=CAROL_ROLE, Operations=['Encrypt'],
                                Constraints={'EncryptionContextSubset': acme})
    carol.encrypt(KeyId=arn, Plaintext=b'x', EncryptionContext=acme)
    alice.revoke_grant(KeyId=key_id, GrantId=second['GrantId'])
    assert_error(error_of(carol.encrypt, KeyId=arn, Plaintext=b'x', EncryptionContext=acme), 'AccessDeniedException')


# --- open mode ----------------------------------------------------------------------------------

def test_open_mode_accepts_dummy_credentials_and_refuses_unsigned():
    s = start_server(KMS_TEST_MODE='0', KMS_MAINTENANCE_INTERVAL_MS='0')
    try:
        assert 'OPEN MODE' in s.wait_for_output('OPEN MODE')
        kms = s.client()  # dummy credentials 'test'/'test'
        key_id = kms.create_key()['KeyMetadata']['KeyId']
        assert kms.describe_key(KeyId=key_id)['KeyMetadata']['AWSAccountId'] == ACCOUNT
        raw = urllib.request.Request(s.url + '/', data=b'{}', method='POST',
                                     headers={'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'TrentService.ListKeys'})
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(raw, timeout=30)
        assert info.value.code == 403
        assert json.loads(info.value.read()) == {'__type': 'MissingAuthenticationTokenException', 'message': 'Missing Authentication Token'}
    finally:
        s.cleanup()
