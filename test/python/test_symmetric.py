"""The symmetric foundation over the wire with boto3: keys, aliases, tags, encryption, errors."""
from __future__ import annotations

import base64
import datetime as dt
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT_ID, DAY, REGION, alias_arn, key_arn


def error(exc_info) -> tuple[str, str]:
    e = exc_info.value
    return e.response['Error']['Code'], e.response['Error'].get('Message', '')


def new_key(kms, **kwargs) -> dict:
    return kms.create_key(**kwargs)['KeyMetadata']


# --- create / describe / list ----------------------------------------------------------------


def test_create_key_metadata(kms, server):
    before = server.now()
    md = new_key(kms, Description='first key', Tags=[{'TagKey': 'team', 'TagValue': 'infra'}])
    uuid.UUID(md['KeyId'])
    assert md['Arn'] == key_arn(md['KeyId'])
    assert md['AWSAccountId'] == ACCOUNT_ID
    assert md['Description'] == 'first key'
    assert md['KeyState'] == 'Enabled'
    assert md['Enabled'] is True
    assert md['KeyUsage'] == 'ENCRYPT_DECRYPT'
    assert md['KeySpec'] == 'SYMMETRIC_DEFAULT'
    assert md['CustomerMasterKeySpec'] == 'SYMMETRIC_DEFAULT'
    assert md['EncryptionAlgorithms'] == ['SYMMETRIC_DEFAULT']
    assert md['Origin'] == 'AWS_KMS'
    assert md['KeyManager'] == 'CUSTOMER'
    assert md['MultiRegion'] is False
    assert isinstance(md['CreationDate'], dt.datetime)
    assert abs(md['CreationDate'].timestamp() - before) < 5
    assert md['CurrentKeyMaterialId']
    assert 'DeletionDate' not in md


def test_describe_key_by_id_arn_alias_and_alias_arn(kms):
    md = new_key(kms, Description='describe me')
    kms.create_alias(AliasName='alias/describe-me', TargetKeyId=md['KeyId'])
    for ref in (md['KeyId'], md['Arn'], 'alias/describe-me', alias_arn('alias/describe-me')):
        got = kms.describe_key(KeyId=ref)['KeyMetadata']
        assert got['KeyId'] == md['KeyId'], ref
        assert got['Arn'] == md['Arn']
        assert got['Description'] == 'describe me'


def test_describe_unknown_key_is_not_found(kms):
    missing = str(uuid.uuid4())
    with pytest.raises(ClientError) as ei:
        kms.describe_key(KeyId=missing)
    assert error(ei) == ('NotFoundException', f"Key '{key_arn(missing)}' does not exist")
    with pytest.raises(ClientError) as ei:
        kms.describe_key(KeyId=key_arn(missing))
    assert error(ei)[0] == 'NotFoundException'
    with pytest.raises(ClientError) as ei:
        kms.describe_key(KeyId='alias/does-not-exist')
    assert error(ei) == ('NotFoundException', f"Alias {alias_arn('alias/does-not-exist')} is not found.")


def test_key_in_other_account_or_region_is_not_found(kms):
    md = new_key(kms)
    for arn in (
        f'arn:aws:kms:eu-west-1:{ACCOUNT_ID}:key/{md["KeyId"]}',
        f'arn:aws:kms:{REGION}:999999999999:key/{md["KeyId"]}',
    ):
        with pytest.raises(ClientError) as ei:
            kms.describe_key(KeyId=arn)
        assert error(ei)[0] == 'NotFoundException'


def test_malformed_arn_is_invalid_arn(kms):
    for arn in (f'arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/not-a-key-id', 'arn:aws:kms:nope'):
        with pytest.raises(ClientError) as ei:
            kms.describe_key(KeyId=arn)
        assert error(ei)[0] == 'InvalidArnException', arn


def test_list_keys_paging(kms, fresh):
    created = {new_key(kms)['KeyId'] for _ in range(5)}
    seen: list[str] = []
    pages = []
    marker = None
    while True:
        kwargs = {'Limit': 2}
        if marker:
            kwargs['Marker'] = marker
        page = kms.list_keys(**kwargs)
        pages.append(page)
        for k in page['Keys']:
            assert k['KeyArn'] == key_arn(k['KeyId'])
            seen.append(k['KeyId'])
        if not page['Truncated']:
            assert 'NextMarker' not in page
            break
        marker = page['NextMarker']
    assert [len(p['Keys']) for p in pages] == [2, 2, 1]
    assert [p['Truncated'] for p in pages] == [True, True, False]
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == created
    # Without Limit everything fits in one page; the paginator agrees.
    assert {k['KeyId'] for k in kms.list_keys()['Keys']} == created
    paged = [k['KeyId'] for p in kms.get_paginator('list_keys').paginate(PaginationConfig={'PageSize': 3}) for k in p['Keys']]
    assert sorted(paged) == sorted(created)
    # A page that ends exactly at the last key is not truncated.
    exact = kms.list_keys(Limit=5)
    assert len(exact['Keys']) == 5
    assert exact['Truncated'] is False and 'NextMarker' not in exact
    last = kms.list_keys(Limit=4)
    tail = kms.list_keys(Limit=1, Marker=last['NextMarker'])
    assert len(tail['Keys']) == 1 and tail['Truncated'] is False


def test_list_keys_bad_marker(kms_raw):
    with pytest.raises(ClientError) as ei:
        kms_raw.list_keys(Marker='not-a-marker')
    assert error(ei)[0] == 'InvalidMarkerException'


# --- encrypt / decrypt ---------------------------------------------------------------------


def test_encrypt_decrypt_with_and_without_key_id(kms):
    md = new_key(kms)
    kms.create_alias(AliasName='alias/ed', TargetKeyId=md['KeyId'])
    out = kms.encrypt(KeyId='alias/ed', Plaintext=b'hello edge-kms')
    assert out['KeyId'] == md['Arn']
    assert out['EncryptionAlgorithm'] == 'SYMMETRIC_DEFAULT'
    blob = out['CiphertextBlob']
    assert isinstance(blob, bytes) and b'hello' not in blob
    plain = kms.decrypt(CiphertextBlob=blob)
    assert plain['Plaintext'] == b'hello edge-kms'
    assert plain['KeyId'] == md['Arn']
    assert plain['EncryptionAlgorithm'] == 'SYMMETRIC_DEFAULT'
    assert plain['KeyMaterialId'] == md['CurrentKeyMaterialId']
    for ref in (md['KeyId'], md['Arn'], 'alias/ed', alias_arn('alias/ed')):
        assert kms.decrypt(CiphertextBlob=blob, KeyId=ref)['Plaintext'] == b'hello edge-kms', ref
    # Encrypt by id and ARN too; every ciphertext is different (fresh IV).
    blobs = {kms.encrypt(KeyId=ref, Plaintext=b'x')['CiphertextBlob'] for ref in (md['KeyId'], md['Arn'], md['KeyId'])}
    assert len(blobs) == 3


def test_encrypt_binary_and_max_size(kms):
    md = new_key(kms)
    data = bytes(range(256)) * 16  # exactly 4096 bytes, every byte value
    blob = kms.encrypt(KeyId=md['KeyId'], Plaintext=data)['CiphertextBlob']
    assert kms.decrypt(CiphertextBlob=blob)['Plaintext'] == data


def test_encryption_context(kms):
    md = new_key(kms)
    ctx = {'purpose': 'test', 'tenant': 'ünïcode ✓'}
    blob = kms.encrypt(KeyId=md['KeyId'], Plaintext=b'secret', EncryptionContext=ctx)['CiphertextBlob']
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)['Plaintext'] == b'secret'
    # Order of the pairs does not matter.
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=dict(reversed(list(ctx.items()))))['Plaintext'] == b'secret'
    for wrong in (None, {}, {'purpose': 'test'}, {**ctx, 'extra': '1'}, {'purpose': 'TEST', 'tenant': ctx['tenant']}):
        kwargs = {'CiphertextBlob': blob}
        if wrong is not None:
            kwargs['EncryptionContext'] = wrong
        with pytest.raises(ClientError) as ei:
            kms.decrypt(**kwargs)
        assert error(ei)[0] == 'InvalidCiphertextException', wrong
    # A ciphertext made without a context decrypts with an empty one.
    bare = kms.encrypt(KeyId=md['KeyId'], Plaintext=b'bare')['CiphertextBlob']
    assert kms.decrypt(CiphertextBlob=bare, EncryptionContext={})['Plaintext'] == b'bare'


def test_decrypt_with_other_key_id_is_incorrect_key(kms):
    a, b = new_key(kms), new_key(kms)
    blob = kms.encrypt(KeyId=a['KeyId'], Plaintext=b'for a')['CiphertextBlob']
    with pytest.raises(ClientError) as ei:
        kms.decrypt(CiphertextBlob=blob, KeyId=b['KeyId'])
    assert error(ei)[0] == 'IncorrectKeyException'
    with pytest.raises(ClientError) as ei:
        kms.re_encrypt(CiphertextBlob=blob, SourceKeyId=b['Arn'], DestinationKeyId=a['KeyId'])
    assert error(ei)[0] == 'IncorrectKeyException'


def test_tampered_ciphertext_every_byte(kms):
    md = new_key(kms)
    blob = kms.encrypt(KeyId=md['KeyId'], Plaintext=b'do not touch', EncryptionContext={'k': 'v'})['CiphertextBlob']
    for i in range(len(blob)):
        for mask in (0x01, 0xFF):
            bad = bytearray(blob)
            bad[i] ^= mask
            with pytest.raises(ClientError) as ei:
                kms.decrypt(CiphertextBlob=bytes(bad), EncryptionContext={'k': 'v'})
            assert error(ei)[0] == 'InvalidCiphertextException', (i, mask)
    # Truncated, extended, and garbage blobs too.
    for bad in (blob[:-1], blob + b'\x00', blob[: len(blob) // 2], b'\x00' * len(blob), b'x'):
        with pytest.raises(ClientError) as ei:
            kms.decrypt(CiphertextBlob=bad, EncryptionContext={'k': 'v'})
        assert error(ei)[0] == 'InvalidCiphertextException'
    # The untouched blob still works.
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={'k': 'v'})['Plaintext'] == b'do not touch'


def test_ciphertext_of_deleted_key_is_invalid(kms, server):
    # Not the same thing as a deleted key (that needs the clock); a ciphertext naming an unknown
    # key must not reveal that the key is unknown.
    md = new_key(kms)
    blob = bytearray(kms.encrypt(KeyId=md['KeyId'], Plaintext=b'x')['CiphertextBlob'])
    blob[4:20] = uuid.uuid4().bytes
    with pytest.raises(ClientError) as ei:
        kms.decrypt(CiphertextBlob=bytes(blob))
    assert error(ei)[0] == 'InvalidCiphertextException'


def test_encrypt_4097_bytes_is_validation_error(kms_raw):
    md = new_key(kms_raw)
    with pytest.raises(ClientError) as ei:
        kms_raw.encrypt(KeyId=md['KeyId'], Plaintext=b'a' * 4097)
    assert error(ei) == (
        'ValidationException',
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
        'Member must have length less than or equal to 4096',
    )


def test_encrypt_empty_plaintext_is_validation_error(kms_raw):
    md = new_key(kms_raw)
    with pytest.raises(ClientError) as ei:
        kms_raw.encrypt(KeyId=md['KeyId'], Plaintext=b'')
    code, msg = error(ei)
    assert code == 'ValidationException'
    assert msg.startswith('1 validation error detected: ')
    assert "'plaintext'" in msg


def test_encrypt_unknown_key(kms):
    missing = str(uuid.uuid4())
    with pytest.raises(ClientError) as ei:
        kms.encrypt(KeyId=missing, Plaintext=b'x')
    assert error(ei) == ('NotFoundException', f"Key '{key_arn(missing)}' does not exist")


# --- re-encrypt ----------------------------------------------------------------------------


def test_re_encrypt_between_keys(kms):
    a, b = new_key(kms), new_key(kms)
    blob = kms.encrypt(KeyId=a['KeyId'], Plaintext=b'move me', EncryptionContext={'from': 'a'})['CiphertextBlob']
    out = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext={'from': 'a'},
        DestinationKeyId=b['KeyId'],
        DestinationEncryptionContext={'to': 'b'},
    )
    assert out['SourceKeyId'] == a['Arn']
    assert out['KeyId'] == b['Arn']
    assert out['SourceEncryptionAlgorithm'] == out['DestinationEncryptionAlgorithm'] == 'SYMMETRIC_DEFAULT'
    assert out['SourceKeyMaterialId'] == a['CurrentKeyMaterialId']
    assert out['DestinationKeyMaterialId'] == b['CurrentKeyMaterialId']
    moved = out['CiphertextBlob']
    plain = kms.decrypt(CiphertextBlob=moved, EncryptionContext={'to': 'b'})
    assert plain['Plaintext'] == b'move me'
    assert plain['KeyId'] == b['Arn']
    with pytest.raises(ClientError) as ei:
        kms.decrypt(CiphertextBlob=moved, EncryptionContext={'from': 'a'})
    assert error(ei)[0] == 'InvalidCiphertextException'
    # The source context is checked too.
    with pytest.raises(ClientError) as ei:
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=b['KeyId'])
    assert error(ei)[0] == 'InvalidCiphertextException'


# --- data keys and random ------------------------------------------------------------------


def test_generate_data_key_key_spec_and_number_of_bytes(kms):
    md = new_key(kms)
    for kwargs, size in (({'KeySpec': 'AES_256'}, 32), ({'KeySpec': 'AES_128'}, 16), ({'NumberOfBytes': 64}, 64), ({'NumberOfBytes': 1}, 1)):
        out = kms.generate_data_key(KeyId=md['KeyId'], EncryptionContext={'dk': 'yes'}, **kwargs)
        assert len(out['Plaintext']) == size, kwargs
        assert out['KeyId'] == md['Arn']
        assert out['KeyMaterialId'] == md['CurrentKeyMaterialId']
        back = kms.decrypt(CiphertextBlob=out['CiphertextBlob'], EncryptionContext={'dk': 'yes'})
        assert back['Plaintext'] == out['Plaintext']
    a = kms.generate_data_key(KeyId=md['KeyId'], KeySpec='AES_256')['Plaintext']
    b = kms.generate_data_key(KeyId=md['KeyId'], KeySpec='AES_256')['Plaintext']
    assert a != b


def test_generate_data_key_without_plaintext(kms):
    md = new_key(kms)
    kms.create_alias(AliasName='alias/gdk', TargetKeyId=md['KeyId'])
    out = kms.generate_data_key_without_plaintext(KeyId='alias/gdk', KeySpec='AES_256')
    assert 'Plaintext' not in out
    assert out['KeyId'] == md['Arn']
    assert len(kms.decrypt(CiphertextBlob=out['CiphertextBlob'])['Plaintext']) == 32
    out = kms.generate_data_key_without_plaintext(KeyId=md['KeyId'], NumberOfBytes=100)
    assert len(kms.decrypt(CiphertextBlob=out['CiphertextBlob'])['Plaintext']) == 100


def test_generate_data_key_needs_exactly_one_of_key_spec_or_bytes(kms_raw):
    md = new_key(kms_raw)
    for op in (kms_raw.generate_data_key, kms_raw.generate_data_key_without_plaintext):
        for kwargs in ({}, {'KeySpec': 'AES_256', 'NumberOfBytes': 32}):
            with pytest.raises(ClientError) as ei:
                op(KeyId=md['KeyId'], **kwargs)
            assert error(ei) == ('ValidationException', 'Please specify either number of bytes or key spec.'), kwargs
    with pytest.raises(ClientError) as ei:
        kms_raw.generate_data_key(KeyId=md['KeyId'], NumberOfBytes=1025)
    code, msg = error(ei)
    assert code == 'ValidationException'
    assert "Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024" in msg
    with pytest.raises(ClientError) as ei:
        kms_raw.generate_data_key(KeyId=md['KeyId'], KeySpec='AES_512')
    code, msg = error(ei)
    assert code == 'ValidationException'
    assert "'keySpec'" in msg and 'enum value set' in msg


def test_generate_random(kms, kms_raw):
    for n in (1, 32, 1024):
        assert len(kms.generate_random(NumberOfBytes=n)['Plaintext']) == n
    assert kms.generate_random(NumberOfBytes=32)['Plaintext'] != kms.generate_random(NumberOfBytes=32)['Plaintext']
    for n in (0, 1025):
        with pytest.raises(ClientError) as ei:
            kms_raw.generate_random(NumberOfBytes=n)
        code, msg = error(ei)
        assert code == 'ValidationException'
        assert f"Value '{n}' at 'numberOfBytes' failed to satisfy constraint" in msg


# --- key state -----------------------------------------------------------------------------


def test_disable_and_enable_key(kms):
    md = new_key(kms)
    blob = kms.encrypt(KeyId=md['KeyId'], Plaintext=b'before')['CiphertextBlob']
    kms.disable_key(KeyId=md['KeyId'])
    got = kms.describe_key(KeyId=md['KeyId'])['KeyMetadata']
    assert got['KeyState'] == 'Disabled' and got['Enabled'] is False
    calls = (
        lambda: kms.encrypt(KeyId=md['KeyId'], Plaintext=b'x'),
        lambda: kms.decrypt(CiphertextBlob=blob),
        lambda: kms.generate_data_key(KeyId=md['KeyId'], KeySpec='AES_256'),
        lambda: kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=md['KeyId']),
    )
    for call in calls:
        with pytest.raises(ClientError) as ei:
            call()
        assert error(ei) == ('DisabledException', f"{md['Arn']} is disabled.")
    kms.disable_key(KeyId=md['KeyId'])  # idempotent
    kms.enable_key(KeyId=md['Arn'])
    assert kms.describe_key(KeyId=md['KeyId'])['KeyMetadata']['KeyState'] == 'Enabled'
    assert kms.decrypt(CiphertextBlob=blob)['Plaintext'] == b'before'


def test_schedule_and_cancel_key_deletion(kms, kms_raw, server):
    md = new_key(kms)
    blob = kms.encrypt(KeyId=md['KeyId'], Plaintext=b'x')['CiphertextBlob']
    now = server.now()
    out = kms.schedule_key_deletion(KeyId=md['KeyId'], PendingWindowInDays=7)
    assert out['KeyId'] == md['Arn']
    assert out['KeyState'] == 'PendingDeletion'
    assert out['PendingWindowInDays'] == 7
    assert abs(out['DeletionDate'].timestamp() - (now + 7 * DAY)) < 5
    got = kms.describe_key(KeyId=md['KeyId'])['KeyMetadata']
    assert got['KeyState'] == 'PendingDeletion'
    assert got['Enabled'] is False
    assert got['DeletionDate'] == out['DeletionDate']
    assert got['PendingDeletionWindowInDays'] == 7
    pending = ('KMSInvalidStateException', f"{md['Arn']} is pending deletion.")
    for call in (
        lambda: kms.encrypt(KeyId=md['KeyId'], Plaintext=b'x'),
        lambda: kms.decrypt(CiphertextBlob=blob),
        lambda: kms.enable_key(KeyId=md['KeyId']),
        lambda: kms.disable_key(KeyId=md['KeyId']),
        lambda: kms.schedule_key_deletion(KeyId=md['KeyId']),
        lambda: kms.update_key_description(KeyId=md['KeyId'], Description='no'),
    ):
        with pytest.raises(ClientError) as ei:
            call()
        assert error(ei) == pending
    cancelled = kms.cancel_key_deletion(KeyId=md['KeyId'])
    assert cancelled['KeyId'] == md['Arn']
    got = kms.describe_key(KeyId=md['KeyId'])['KeyMetadata']
    assert got['KeyState'] == 'Disabled'
    assert 'DeletionDate' not in got and 'PendingDeletionWindowInDays' not in got
    with pytest.raises(ClientError) as ei:
        kms.cancel_key_deletion(KeyId=md['KeyId'])
    assert error(ei)[0] == 'KMSInvalidStateException'
    kms.enable_key(KeyId=md['KeyId'])
    assert kms.decrypt(CiphertextBlob=blob)['Plaintext'] == b'x'
    # Default window is 30 days; out-of-range windows are refused by the server.
    out = kms.schedule_key_deletion(KeyId=md['KeyId'])
    assert out['PendingWindowInDays'] == 30
    kms.cancel_key_deletion(KeyId=md['KeyId'])
    for days in (6, 31):
        with pytest.raises(ClientError) as ei:
            kms_raw.schedule_key_deletion(KeyId=md['KeyId'], PendingWindowInDays=days)
        code, msg = error(ei)
        assert code == 'ValidationException'
        assert f"Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint" in msg


# --- aliases -------------------------------------------------------------------------------


def test_alias_lifecycle(kms, fresh):
    a, b = new_key(kms), new_key(kms)
    kms.create_alias(AliasName='alias/app', TargetKeyId=a['KeyId'])
    kms.create_alias(AliasName='alias/other', TargetKeyId=b['Arn'])
    with pytest.raises(ClientError) as ei:
        kms.create_alias(AliasName='alias/app', TargetKeyId=b['KeyId'])
    assert error(ei) == ('AlreadyExistsException', f"An alias with the name {alias_arn('alias/app')} already exists")

    aliases = {x['AliasName']: x for x in kms.list_aliases()['Aliases']}
    assert set(aliases) >= {'alias/app', 'alias/other'}
    app = aliases['alias/app']
    assert app['AliasArn'] == alias_arn('alias/app')
    assert app['TargetKeyId'] == a['KeyId']
    assert isinstance(app['CreationDate'], dt.datetime) and isinstance(app['LastUpdatedDate'], dt.datetime)
    only_a = kms.list_aliases(KeyId=a['KeyId'])['Aliases']
    assert [x['AliasName'] for x in only_a] == ['alias/app']

    blob = kms.encrypt(KeyId='alias/app', Plaintext=b'via alias')['CiphertextBlob']
    kms.update_alias(AliasName='alias/app', TargetKeyId=b['KeyId'])
    assert kms.describe_key(KeyId='alias/app')['KeyMetadata']['KeyId'] == b['KeyId']
    assert kms.encrypt(KeyId='alias/app', Plaintext=b'x')['KeyId'] == b['Arn']
    assert kms.decrypt(CiphertextBlob=blob)['KeyId'] == a['Arn']  # old ciphertexts still name key a
    assert sorted(x['AliasName'] for x in kms.list_aliases(KeyId=b['KeyId'])['Aliases']) == ['alias/app', 'alias/other']

    kms.delete_alias(AliasName='alias/app')
    with pytest.raises(ClientError) as ei:
        kms.describe_key(KeyId='alias/app')
    assert error(ei) == ('NotFoundException', f"Alias {alias_arn('alias/app')} is not found.")
    with pytest.raises(ClientError) as ei:
        kms.delete_alias(AliasName='alias/app')
    assert error(ei)[0] == 'NotFoundException'
    with pytest.raises(ClientError) as ei:
        kms.update_alias(AliasName='alias/app', TargetKeyId=a['KeyId'])
    assert error(ei)[0] == 'NotFoundException'
    with pytest.raises(ClientError) as ei:
        kms.create_alias(AliasName='alias/x', TargetKeyId=str(uuid.uuid4()))
    assert error(ei)[0] == 'NotFoundException'


def test_alias_names_reserved_and_invalid(kms):
    md = new_key(kms)
    for name in ('alias/aws/mine', 'alias/aws/s3'):
        with pytest.raises(ClientError) as ei:
            kms.create_alias(AliasName=name, TargetKeyId=md['KeyId'])
        assert error(ei)[0] == 'InvalidAliasNameException', name
    prefix = ('ValidationException', 'Alias must start with the prefix "alias/". Please see '
              'https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html')
    with pytest.raises(ClientError) as ei:
        kms.create_alias(AliasName='no-prefix', TargetKeyId=md['KeyId'])
    assert error(ei) == prefix
    with pytest.raises(ClientError) as ei:
        kms.update_alias(AliasName='no-prefix', TargetKeyId=md['KeyId'])
    assert error(ei) == prefix
    with pytest.raises(ClientError) as ei:
        kms.delete_alias(AliasName='no-prefix')
    assert error(ei) == prefix
    with pytest.raises(ClientError) as ei:
        kms.delete_alias(AliasName='alias/aws/s3')
    assert error(ei)[0] == 'InvalidAliasNameException'
    with pytest.raises(ClientError) as ei:
        kms.create_alias(AliasName='alias/has space', TargetKeyId=md['KeyId'])
    assert error(ei)[0] == 'ValidationException'


def test_list_aliases_paging(kms, fresh):
    md = new_key(kms)
    names = [f'alias/page-{i:02d}' for i in range(7)]
    for n in names:
        kms.create_alias(AliasName=n, TargetKeyId=md['KeyId'])
    got, marker, sizes = [], None, []
    while True:
        kwargs = {'Limit': 3, 'KeyId': md['KeyId']}
        if marker:
            kwargs['Marker'] = marker
        page = kms.list_aliases(**kwargs)
        sizes.append(len(page['Aliases']))
        got += [a['AliasName'] for a in page['Aliases']]
        if not page['Truncated']:
            break
        marker = page['NextMarker']
    assert sizes == [3, 3, 1]
    assert got == names
    exact = kms.list_aliases(KeyId=md['KeyId'], Limit=7)
    assert len(exact['Aliases']) == 7 and exact['Truncated'] is False and 'NextMarker' not in exact


# --- tags and description ------------------------------------------------------------------


def test_tags(kms):
    md = new_key(kms, Tags=[{'TagKey': 'env', 'TagValue': 'dev'}])
    kms.tag_resource(KeyId=md['KeyId'], Tags=[{'TagKey': 'env', 'TagValue': 'prod'}, {'TagKey': 'owner', 'TagValue': 'me'}])
    tags = kms.list_resource_tags(KeyId=md['KeyId'])
    assert tags['Truncated'] is False
    assert sorted((t['TagKey'], t['TagValue']) for t in tags['Tags']) == [('env', 'prod'), ('owner', 'me')]
    kms.untag_resource(KeyId=md['Arn'], TagKeys=['env'])
    assert kms.list_resource_tags(KeyId=md['KeyId'])['Tags'] == [{'TagKey': 'owner', 'TagValue': 'me'}]
    with pytest.raises(ClientError) as ei:
        kms.tag_resource(KeyId=md['KeyId'], Tags=[{'TagKey': 'aws:reserved', 'TagValue': 'x'}])
    assert error(ei) == ('TagException', 'Tags beginning with aws: are reserved')
    with pytest.raises(ClientError) as ei:
        new_key(kms, Tags=[{'TagKey': 'AWS:Reserved', 'TagValue': 'x'}])
    assert error(ei) == ('TagException', 'Tags beginning with aws: are reserved')
    with pytest.raises(ClientError) as ei:
        kms.tag_resource(KeyId=str(uuid.uuid4()), Tags=[{'TagKey': 'a', 'TagValue': 'b'}])
    assert error(ei)[0] == 'NotFoundException'
    # Paging.
    kms.tag_resource(KeyId=md['KeyId'], Tags=[{'TagKey': f't{i}', 'TagValue': str(i)} for i in range(5)])
    first = kms.list_resource_tags(KeyId=md['KeyId'], Limit=4)
    assert first['Truncated'] is True and len(first['Tags']) == 4
    second = kms.list_resource_tags(KeyId=md['KeyId'], Limit=4, Marker=first['NextMarker'])
    assert second['Truncated'] is False and len(second['Tags']) == 2
    assert {t['TagKey'] for t in first['Tags'] + second['Tags']} == {'owner', 't0', 't1', 't2', 't3', 't4'}


def test_update_key_description(kms):
    md = new_key(kms, Description='old')
    kms.update_key_description(KeyId=md['KeyId'], Description='new description')
    assert kms.describe_key(KeyId=md['Arn'])['KeyMetadata']['Description'] == 'new description'
    kms.update_key_description(KeyId=md['KeyId'], Description='')
    assert kms.describe_key(KeyId=md['KeyId'])['KeyMetadata']['Description'] == ''
    with pytest.raises(ClientError) as ei:
        kms.update_key_description(KeyId=str(uuid.uuid4()), Description='x')
    assert error(ei)[0] == 'NotFoundException'


def test_management_operations_do_not_take_aliases(kms):
    md = new_key(kms)
    kms.create_alias(AliasName='alias/mgmt', TargetKeyId=md['KeyId'])
    # AWS: DisableKey, EnableKey, ScheduleKeyDeletion... take a key id or key ARN only.
    with pytest.raises(ClientError) as ei:
        kms.disable_key(KeyId='alias/mgmt')
    assert error(ei)[0] == 'NotFoundException'
    assert kms.describe_key(KeyId=md['KeyId'])['KeyMetadata']['KeyState'] == 'Enabled'


def test_raw_wire_protocol(server):
    """The JSON 1.1 protocol itself, signed with SigV4 by hand: blobs are base64, timestamps
    epoch seconds, errors {"__type", "message"}; an unsigned request is refused."""
    import json
    import urllib.error
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    def call(op, body, sign=True):
        headers = {'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': f'TrentService.{op}'}
        data = json.dumps(body).encode()
        if sign:
            req = AWSRequest(method='POST', url=server.url + '/', data=data, headers=headers)
            SigV4Auth(Credentials('test', 'test'), 'kms', REGION).add_auth(req)
            headers = dict(req.headers.items())
        req = urllib.request.Request(server.url + '/', data=data, method='POST', headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    status, created = call('CreateKey', {})
    assert status == 200
    assert isinstance(created['KeyMetadata']['CreationDate'], (int, float))
    key_id = created['KeyMetadata']['KeyId']
    status, enc = call('Encrypt', {'KeyId': key_id, 'Plaintext': base64.b64encode(b'wire').decode()})
    assert status == 200
    status, dec = call('Decrypt', {'CiphertextBlob': enc['CiphertextBlob']})
    assert status == 200 and base64.b64decode(dec['Plaintext']) == b'wire'
    status, err = call('DescribeKey', {'KeyId': str(uuid.uuid4())})
    assert status == 400 and err['__type'] == 'NotFoundException' and 'does not exist' in err['message']
    status, err = call('DescribeKey', {'KeyId': key_id}, sign=False)
    assert (status, err['__type']) == (403, 'MissingAuthenticationTokenException')


def test_dry_run_and_wrong_algorithm(kms):
    md = new_key(kms)
    for call in (
        lambda: kms.encrypt(KeyId=md['KeyId'], Plaintext=b'x', DryRun=True),
        lambda: kms.generate_data_key(KeyId=md['KeyId'], KeySpec='AES_256', DryRun=True),
    ):
        with pytest.raises(ClientError) as ei:
            call()
        assert error(ei)[0] == 'DryRunOperationException'
    blob = kms.encrypt(KeyId=md['KeyId'], Plaintext=b'x')['CiphertextBlob']
    with pytest.raises(ClientError) as ei:
        kms.decrypt(CiphertextBlob=blob, DryRun=True)
    assert error(ei)[0] == 'DryRunOperationException'
    with pytest.raises(ClientError) as ei:
        kms.encrypt(KeyId=md['KeyId'], Plaintext=b'x', EncryptionAlgorithm='RSAES_OAEP_SHA_256')
    assert error(ei)[0] == 'InvalidKeyUsageException'


def test_tag_limit(kms):
    md = new_key(kms, Tags=[{'TagKey': f'k{i}', 'TagValue': 'v'} for i in range(50)])
    assert len(kms.list_resource_tags(KeyId=md['KeyId'])['Tags']) == 50
    with pytest.raises(ClientError) as ei:
        kms.tag_resource(KeyId=md['KeyId'], Tags=[{'TagKey': 'one-too-many', 'TagValue': 'v'}])
    assert error(ei) == ('TagException', 'Too many tags')
    kms.tag_resource(KeyId=md['KeyId'], Tags=[{'TagKey': 'k0', 'TagValue': 'replaced'}])  # replacing is fine
