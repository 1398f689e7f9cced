"""The real AWS CLI (v1) against edge-kms: `aws kms --endpoint-url URL ... --output json`."""
from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import uuid

import pytest

from conftest import DAY, REGION, alias_arn, key_arn


def cli_env(tmp_dir) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
    env.update(
        {
            'AWS_ACCESS_KEY_ID': 'test',
            'AWS_SECRET_ACCESS_KEY': 'test',
            'AWS_DEFAULT_REGION': REGION,
            # Nothing from the user's ~/.aws may change what is sent.
            'AWS_CONFIG_FILE': str(tmp_dir / 'aws-config'),
            'AWS_SHARED_CREDENTIALS_FILE': str(tmp_dir / 'aws-credentials'),
            'AWS_EC2_METADATA_DISABLED': 'true',
            'AWS_MAX_ATTEMPTS': '1',
        }
    )
    return env


@pytest.fixture(scope='module')
def aws(server, tmp_path_factory):
    env = cli_env(tmp_path_factory.mktemp('aws-cli'))

    def run(*args: str, expect_ok: bool = True):
        proc = subprocess.run(
            ['aws', 'kms', '--endpoint-url', server.url, *args, '--output', 'json'],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if not expect_ok:
            return proc
        assert proc.returncode == 0, f'aws kms {" ".join(args)} failed ({proc.returncode}):\n{proc.stderr}'
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    return run


def ts(value) -> float:
    """A timestamp as CLI v1 prints it (epoch seconds by default, ISO 8601 if configured)."""
    if isinstance(value, (int, float)):
        return float(value)
    return dt.datetime.fromisoformat(value).timestamp()


def test_create_and_describe_key(aws, server):
    md = aws('create-key', '--description', 'from the cli', '--tags', 'TagKey=via,TagValue=cli')['KeyMetadata']
    uuid.UUID(md['KeyId'])
    assert md['Arn'] == key_arn(md['KeyId'])
    assert md['KeyState'] == 'Enabled'
    assert md['KeyManager'] == 'CUSTOMER'
    assert md['KeySpec'] == 'SYMMETRIC_DEFAULT'
    assert md['Description'] == 'from the cli'
    assert ts(md['CreationDate']) == pytest.approx(server.now(), abs=5)
    got = aws('describe-key', '--key-id', md['Arn'])['KeyMetadata']
    assert got['KeyId'] == md['KeyId']
    assert got['Description'] == 'from the cli'


def test_encrypt_decrypt_round_trip(aws, kms, tmp_path):
    key_id = kms.create_key()['KeyMetadata']['KeyId']
    # CLI v1 sends a blob argument's text as raw bytes.
    enc = aws('encrypt', '--key-id', key_id, '--plaintext', 'hello from the aws cli', '--encryption-context', 'app=cli,stage=test')
    assert enc['KeyId'] == key_arn(key_id)
    assert enc['EncryptionAlgorithm'] == 'SYMMETRIC_DEFAULT'
    ct_file = tmp_path / 'ct.bin'
    ct_file.write_bytes(base64.b64decode(enc['CiphertextBlob']))
    dec = aws('decrypt', '--ciphertext-blob', f'fileb://{ct_file}', '--encryption-context', 'app=cli,stage=test')
    assert base64.b64decode(dec['Plaintext']) == b'hello from the aws cli'
    assert dec['KeyId'] == key_arn(key_id)
    # Binary plaintext from a file, and decrypt naming the key.
    data = bytes(range(256))
    pt_file = tmp_path / 'pt.bin'
    pt_file.write_bytes(data)
    enc = aws('encrypt', '--key-id', key_id, '--plaintext', f'fileb://{pt_file}')
    ct_file.write_bytes(base64.b64decode(enc['CiphertextBlob']))
    dec = aws('decrypt', '--key-id', key_id, '--ciphertext-blob', f'fileb://{ct_file}')
    assert base64.b64decode(dec['Plaintext']) == data
    # boto3 reads what the CLI wrote.
    assert kms.decrypt(CiphertextBlob=ct_file.read_bytes())['Plaintext'] == data


def test_generate_data_key(aws, kms):
    key_id = kms.create_key()['KeyMetadata']['KeyId']
    out = aws('generate-data-key', '--key-id', key_id, '--key-spec', 'AES_256')
    plaintext = base64.b64decode(out['Plaintext'])
    assert len(plaintext) == 32
    assert out['KeyId'] == key_arn(key_id)
    assert out['KeyMaterialId'] == kms.describe_key(KeyId=key_id)['KeyMetadata']['CurrentKeyMaterialId']
    assert kms.decrypt(CiphertextBlob=base64.b64decode(out['CiphertextBlob']))['Plaintext'] == plaintext


def test_aliases(aws, kms):
    key_id = kms.create_key()['KeyMetadata']['KeyId']
    assert aws('create-alias', '--alias-name', 'alias/cli-alias', '--target-key-id', key_id) is None
    aliases = aws('list-aliases')['Aliases']
    mine = [a for a in aliases if a['AliasName'] == 'alias/cli-alias']
    assert len(mine) == 1
    assert mine[0]['TargetKeyId'] == key_id
    assert mine[0]['AliasArn'] == alias_arn('alias/cli-alias')
    assert kms.describe_key(KeyId='alias/cli-alias')['KeyMetadata']['KeyId'] == key_id
    proc = aws('create-alias', '--alias-name', 'alias/cli-alias', '--target-key-id', key_id, expect_ok=False)
    assert proc.returncode != 0
    assert 'An error occurred (AlreadyExistsException) when calling the CreateAlias operation' in proc.stderr


def test_rotation(aws, kms, server):
    key_id = kms.create_key()['KeyMetadata']['KeyId']
    enabled_at = server.now()
    assert aws('enable-key-rotation', '--key-id', key_id, '--rotation-period-in-days', '180') is None
    status = aws('get-key-rotation-status', '--key-id', key_id)
    assert status['KeyRotationEnabled'] is True
    assert status['RotationPeriodInDays'] == 180
    # GetKeyRotationStatus answers the bare key id, RotateKeyOnDemand the key ARN (as AWS does).
    assert status['KeyId'] == key_id
    assert ts(status['NextRotationDate']) == pytest.approx(enabled_at + 180 * DAY, abs=1)

    out = aws('rotate-key-on-demand', '--key-id', key_id)
    assert out['KeyId'] == key_arn(key_id)
    kms.rotate_key_on_demand(KeyId=key_id)
    # --page-size 1: the CLI's auto-pagination stitches the pages together.
    rotations = aws('list-key-rotations', '--key-id', key_id, '--page-size', '1')['Rotations']
    assert len(rotations) == 2
    assert [r['RotationType'] for r in rotations] == ['ON_DEMAND', 'ON_DEMAND']
    assert [r['KeyMaterialState'] for r in rotations] == ['NON_CURRENT', 'CURRENT']
    assert all(ts(r['RotationDate']) == pytest.approx(server.now(), abs=5) for r in rotations)
    assert rotations[-1]['KeyMaterialId'] == kms.describe_key(KeyId=key_id)['KeyMetadata']['CurrentKeyMaterialId']


def test_schedule_key_deletion(aws, kms, server):
    key_id = kms.create_key()['KeyMetadata']['KeyId']
    now = server.now()
    out = aws('schedule-key-deletion', '--key-id', key_id, '--pending-window-in-days', '7')
    assert out['KeyId'] == key_arn(key_id)
    assert out['KeyState'] == 'PendingDeletion'
    assert out['PendingWindowInDays'] == 7
    assert ts(out['DeletionDate']) == pytest.approx(now + 7 * DAY, abs=1)
    assert kms.describe_key(KeyId=key_id)['KeyMetadata']['KeyState'] == 'PendingDeletion'
    proc = aws('encrypt', '--key-id', key_id, '--plaintext', 'x', expect_ok=False)
    assert proc.returncode != 0
    assert 'An error occurred (KMSInvalidStateException) when calling the Encrypt operation' in proc.stderr


def test_not_found_error(aws):
    missing = str(uuid.uuid4())
    proc = aws('describe-key', '--key-id', missing, expect_ok=False)
    assert proc.returncode != 0
    assert proc.stdout == ''
    assert 'An error occurred (NotFoundException)' in proc.stderr
    assert f"when calling the DescribeKey operation: Key '{key_arn(missing)}' does not exist" in proc.stderr
