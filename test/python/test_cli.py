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


def test_create_and_describe_key(aws):
    md = aws('create-key', '--description', 'from the cli', '--tags', 'TagKey=via,TagValue=cli')['KeyMetadata']
    uuid.UUID(md['KeyId'])
    assert md['Arn'] == key_arn(md['KeyId'])
    assert md['KeyState'] == 'Enabled'
    assert md['KeyManager'] == 'CUSTOMER'
    assert md['KeySpec'] == 'SYMMETRIC_DEFAULT'
    assert md['Description'] == 'from the cli'
    # JSON output renders timestamps; they parse as ISO 8601 dates.
    assert dt.datetime.fromisoformat(str(md['CreationDate']))
    for ref in (md['KeyId'], md['Arn']):
        got = aws('describe-key', '--key-id', ref)['KeyMetadata']
        assert got['KeyId'] == md['KeyId']
        assert got['Description'] == 'from the cli'


def test_encrypt_decrypt_round_trip(aws, tmp_path):
    key_id = aws('create-key')['KeyMetadata']['KeyId']
    # CLI v1 sends a blob argument's text as raw bytes.
    enc = aws('encrypt', '--key-id', key_id, '--plaintext', 'hello from the aws cli', '--encryption-context', 'app=cli,stage=test')
    assert enc['KeyId'] == key_arn(key_id)
    assert enc['EncryptionAlgorithm'] == 'SYMMETRIC_DEFAULT'
    ct_file = tmp_path / 'ct.bin'
    ct_file.write_bytes(base64.b64decode(enc['CiphertextBlob']))
    dec = aws('decrypt', '--ciphertext-blob', f'fileb://{ct_file}', '--encryption-context', 'app=cli,stage=test')
    assert base64.b64decode(dec['Plaintext']) == b'hello from the aws cli'
    assert dec['KeyId'] == key_arn(key_id)
    # Binary plaintext from a file, and decrypt with --key-id.
    data = bytes(range(256))
    pt_file = tmp_path / 'pt.bin'
    pt_file.write_bytes(data)
    enc = aws('encrypt', '--key-id', key_id, '--plaintext', f'fileb://{pt_file}')
    ct_file.write_bytes(base64.b64decode(enc['CiphertextBlob']))
    dec = aws('decrypt', '--key-id', key_id, '--ciphertext-blob', f'fileb://{ct_file}')
    assert base64.b64decode(dec['Plaintext']) == data
    # --query/--output text gives the raw base64.
    proc = aws('decrypt', '--ciphertext-blob', f'fileb://{ct_file}', '--query', 'Plaintext', expect_ok=False)
    assert proc.returncode == 0 and base64.b64decode(json.loads(proc.stdout)) == data


def test_generate_data_key(aws, tmp_path):
    key_id = aws('create-key')['KeyMetadata']['KeyId']
    out = aws('generate-data-key', '--key-id', key_id, '--key-spec', 'AES_256')
    plaintext = base64.b64decode(out['Plaintext'])
    assert len(plaintext) == 32
    assert out['KeyId'] == key_arn(key_id)
    ct_file = tmp_path / 'dk.bin'
    ct_file.write_bytes(base64.b64decode(out['CiphertextBlob']))
    dec = aws('decrypt', '--ciphertext-blob', f'fileb://{ct_file}')
    assert base64.b64decode(dec['Plaintext']) == plaintext
    out = aws('generate-data-key', '--key-id', key_id, '--number-of-bytes', '64')
    assert len(base64.b64decode(out['Plaintext'])) == 64
    out = aws('generate-data-key-without-plaintext', '--key-id', key_id, '--key-spec', 'AES_128')
    assert 'Plaintext' not in out


def test_aliases(aws):
    key_id = aws('create-key')['KeyMetadata']['KeyId']
    assert aws('create-alias', '--alias-name', 'alias/cli-alias', '--target-key-id', key_id) is None
    aliases = aws('list-aliases')['Aliases']
    mine = [a for a in aliases if a['AliasName'] == 'alias/cli-alias']
    assert len(mine) == 1
    assert mine[0]['TargetKeyId'] == key_id
    assert mine[0]['AliasArn'] == alias_arn('alias/cli-alias')
    filtered = aws('list-aliases', '--key-id', key_id)['Aliases']
    assert [a['AliasName'] for a in filtered] == ['alias/cli-alias']
    assert aws('describe-key', '--key-id', 'alias/cli-alias')['KeyMetadata']['KeyId'] == key_id
    proc = aws('create-alias', '--alias-name', 'alias/cli-alias', '--target-key-id', key_id, expect_ok=False)
    assert proc.returncode != 0
    assert 'An error occurred (AlreadyExistsException)' in proc.stderr


def test_rotation(aws, server):
    key_id = aws('create-key')['KeyMetadata']['KeyId']
    enabled_at = server.now()
    assert aws('enable-key-rotation', '--key-id', key_id, '--rotation-period-in-days', '180') is None
    status = aws('get-key-rotation-status', '--key-id', key_id)
    assert status['KeyRotationEnabled'] is True
    assert status['RotationPeriodInDays'] == 180
    assert status['KeyId'] == key_arn(key_id)
    next_date = dt.datetime.fromisoformat(str(status['NextRotationDate']))
    assert next_date.timestamp() == pytest.approx(enabled_at + 180 * DAY, abs=1)

    out = aws('rotate-key-on-demand', '--key-id', key_id)
    assert out['KeyId'] == key_id
    aws('rotate-key-on-demand', '--key-id', key_id)
    rotations = aws('list-key-rotations', '--key-id', key_id)['Rotations']
    assert len(rotations) == 2
    assert [r['RotationType'] for r in rotations] == ['ON_DEMAND', 'ON_DEMAND']
    assert [r['KeyMaterialState'] for r in rotations] == ['NON_CURRENT', 'CURRENT']
    current = aws('describe-key', '--key-id', key_id)['KeyMetadata']['CurrentKeyMaterialId']
    assert rotations[-1]['KeyMaterialId'] == current
    everything = aws('list-key-rotations', '--key-id', key_id, '--include-key-material', 'ALL_KEY_MATERIAL')['Rotations']
    assert len(everything) == 3
    # The CLI's auto-pagination stitches pages of one together.
    paged = aws('list-key-rotations', '--key-id', key_id, '--page-size', '1')['Rotations']
    assert [r['KeyMaterialId'] for r in paged] == [r['KeyMaterialId'] for r in rotations]

    proc = aws('enable-key-rotation', '--key-id', key_id, '--rotation-period-in-days', '89', expect_ok=False)
    assert proc.returncode != 0  # the CLI or the server refuses it; either way nothing changes
    assert aws('get-key-rotation-status', '--key-id', key_id)['RotationPeriodInDays'] == 180
    assert aws('disable-key-rotation', '--key-id', key_id) is None
    assert aws('get-key-rotation-status', '--key-id', key_id) == {'KeyRotationEnabled': False, 'KeyId': key_arn(key_id)}


def test_schedule_key_deletion(aws, server):
    key_id = aws('create-key')['KeyMetadata']['KeyId']
    now = server.now()
    out = aws('schedule-key-deletion', '--key-id', key_id, '--pending-window-in-days', '7')
    assert out['KeyId'] == key_arn(key_id)
    assert out['KeyState'] == 'PendingDeletion'
    assert out['PendingWindowInDays'] == 7
    assert dt.datetime.fromisoformat(str(out['DeletionDate'])).timestamp() == pytest.approx(now + 7 * DAY, abs=1)
    assert aws('describe-key', '--key-id', key_id)['KeyMetadata']['KeyState'] == 'PendingDeletion'
    proc = aws('encrypt', '--key-id', key_id, '--plaintext', 'x', expect_ok=False)
    assert proc.returncode != 0
    assert 'An error occurred (KMSInvalidStateException) when calling the Encrypt operation' in proc.stderr
    assert aws('cancel-key-deletion', '--key-id', key_id)['KeyId'] == key_arn(key_id)
    assert aws('describe-key', '--key-id', key_id)['KeyMetadata']['KeyState'] == 'Disabled'


def test_not_found_error(aws):
    missing = str(uuid.uuid4())
    proc = aws('describe-key', '--key-id', missing, expect_ok=False)
    assert proc.returncode != 0
    assert proc.stdout == ''
    assert 'An error occurred (NotFoundException)' in proc.stderr
    assert f"when calling the DescribeKey operation: Key '{key_arn(missing)}' does not exist" in proc.stderr
    proc = aws('describe-key', '--key-id', 'alias/no-such-alias', expect_ok=False)
    assert proc.returncode != 0
    assert 'An error occurred (NotFoundException)' in proc.stderr


def test_generate_random(aws):
    out = aws('generate-random', '--number-of-bytes', '48')
    assert len(base64.b64decode(out['Plaintext'])) == 48
