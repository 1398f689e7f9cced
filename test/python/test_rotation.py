"""Key rotation over the wire with boto3: automatic (with the test clock), on demand, AWS managed
keys, the rotate-by-default policy, and history that survives a restart."""
from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from conftest import DAY, key_arn

ON_DEMAND_LIMIT_MESSAGE = (
    'The on-demand rotations limit has been reached for the given keyId. '
    'No more on-demand rotations can be performed for this key: {arn}'
)


def error(exc_info) -> tuple[str, str]:
    e = exc_info.value
    return e.response['Error']['Code'], e.response['Error'].get('Message', '')


def new_key(kms, **kwargs) -> dict:
    return kms.create_key(**kwargs)['KeyMetadata']


def all_rotations(kms, key_id: str, **kwargs) -> list[dict]:
    out, marker = [], None
    while True:
        page = kms.list_key_rotations(KeyId=key_id, **kwargs, **({'Marker': marker} if marker else {}))
        out += page['Rotations']
        if not page['Truncated']:
            return out
        marker = page['NextMarker']


# --- rotation settings ---------------------------------------------------------------------


def test_rotation_disabled_by_default(kms):
    md = new_key(kms)
    status = kms.get_key_rotation_status(KeyId=md['KeyId'])
    assert status['KeyRotationEnabled'] is False
    assert status['KeyId'] == md['KeyId']  # the bare key id, as AWS answers
    assert 'RotationPeriodInDays' not in status
    assert 'NextRotationDate' not in status
    assert kms.list_key_rotations(KeyId=md['KeyId'])['Rotations'] == []


def test_enable_key_rotation_default_period(kms, server):
    md = new_key(kms)
    enabled_at = server.now()
    kms.enable_key_rotation(KeyId=md['KeyId'])
    status = kms.get_key_rotation_status(KeyId=md['Arn'])
    assert status['KeyRotationEnabled'] is True
    assert status['RotationPeriodInDays'] == 365
    assert isinstance(status['NextRotationDate'], dt.datetime)
    assert status['NextRotationDate'].timestamp() == pytest.approx(enabled_at + 365 * DAY, abs=1)
    assert 'OnDemandRotationStartDate' not in status


def test_enable_key_rotation_custom_period_and_change(kms, server):
    md = new_key(kms)
    enabled_at = server.now()
    kms.enable_key_rotation(KeyId=md['KeyId'], RotationPeriodInDays=90)
    status = kms.get_key_rotation_status(KeyId=md['KeyId'])
    assert status['RotationPeriodInDays'] == 90
    assert status['NextRotationDate'].timestamp() == pytest.approx(enabled_at + 90 * DAY, abs=1)
    # Changing the period of an enabled key (AWS policy) keeps the anchor, moves the date.
    kms.enable_key_rotation(KeyId=md['KeyId'], RotationPeriodInDays=2560)
    status = kms.get_key_rotation_status(KeyId=md['KeyId'])
    assert status['KeyRotationEnabled'] is True
    assert status['RotationPeriodInDays'] == 2560
    assert status['NextRotationDate'].timestamp() == pytest.approx(enabled_at + 2560 * DAY, abs=1)
    # Disable: no period, no date.
    kms.disable_key_rotation(KeyId=md['KeyId'])
    status = kms.get_key_rotation_status(KeyId=md['KeyId'])
    assert status['KeyRotationEnabled'] is False
    assert 'RotationPeriodInDays' not in status and 'NextRotationDate' not in status
    kms.disable_key_rotation(KeyId=md['KeyId'])  # idempotent


@pytest.mark.parametrize(
    'days, constraint',
    [(89, 'greater than or equal to 90'), (2561, 'less than or equal to 2560')],
)
def test_rotation_period_out_of_range(kms_raw, days, constraint):
    md = new_key(kms_raw)
    with pytest.raises(ClientError) as ei:
        kms_raw.enable_key_rotation(KeyId=md['KeyId'], RotationPeriodInDays=days)
    assert error(ei) == (
        'ValidationException',
        f"1 validation error detected: Value '{days}' at 'rotationPeriodInDays' failed to satisfy constraint: "
        f'Member must have value {constraint}',
    )
    assert kms_raw.get_key_rotation_status(KeyId=md['KeyId'])['KeyRotationEnabled'] is False


def test_rotation_needs_enabled_key(kms):
    md = new_key(kms)
    kms.disable_key(KeyId=md['KeyId'])
    for call in (
        lambda: kms.enable_key_rotation(KeyId=md['KeyId']),
        lambda: kms.disable_key_rotation(KeyId=md['KeyId']),
        lambda: kms.rotate_key_on_demand(KeyId=md['KeyId']),
    ):
        with pytest.raises(ClientError) as ei:
            call()
        assert error(ei) == ('DisabledException', f"{md['Arn']} is disabled.")
    kms.enable_key(KeyId=md['KeyId'])
    kms.schedule_key_deletion(KeyId=md['KeyId'], PendingWindowInDays=7)
    for call in (
        lambda: kms.enable_key_rotation(KeyId=md['KeyId']),
        lambda: kms.disable_key_rotation(KeyId=md['KeyId']),
        lambda: kms.rotate_key_on_demand(KeyId=md['KeyId']),
    ):
        with pytest.raises(ClientError) as ei:
            call()
        assert error(ei) == ('KMSInvalidStateException', f"{md['Arn']} is pending deletion.")


def test_rotation_status_survives_disable_and_cancelled_deletion(kms):
    md = new_key(kms)
    kms.enable_key_rotation(KeyId=md['KeyId'], RotationPeriodInDays=120)
    before = kms.get_key_rotation_status(KeyId=md['KeyId'])
    # AWS: "The key rotation status does not change when you disable a KMS key."
    kms.disable_key(KeyId=md['KeyId'])
    while_disabled = kms.get_key_rotation_status(KeyId=md['KeyId'])
    for field in ('KeyRotationEnabled', 'RotationPeriodInDays', 'NextRotationDate'):
        assert while_disabled[field] == before[field], field
    kms.enable_key(KeyId=md['KeyId'])
    # AWS: "If you cancel the deletion, the original key rotation status returns to true."
    kms.schedule_key_deletion(KeyId=md['KeyId'], PendingWindowInDays=7)
    kms.cancel_key_deletion(KeyId=md['KeyId'])
    after = kms.get_key_rotation_status(KeyId=md['KeyId'])
    assert after['KeyRotationEnabled'] is True
    assert after['RotationPeriodInDays'] == 120
    assert after['NextRotationDate'] == before['NextRotationDate']


# AWS documents "While a KMS key is pending deletion, its key rotation status is false".
def test_rotation_status_is_false_while_pending_deletion(kms):
    md = new_key(kms)
    kms.enable_key_rotation(KeyId=md['KeyId'])
    kms.schedule_key_deletion(KeyId=md['KeyId'], PendingWindowInDays=7)
    status = kms.get_key_rotation_status(KeyId=md['KeyId'])
    assert status['KeyRotationEnabled'] is False


def test_rotation_operations_on_unknown_key(kms):
    missing = '00000000-0000-4000-8000-000000000000'
    for call in (
        lambda: kms.enable_key_rotation(KeyId=missing),
        lambda: kms.get_key_rotation_status(KeyId=missing),
        lambda: kms.rotate_key_on_demand(KeyId=missing),
        lambda: kms.list_key_rotations(KeyId=missing),
    ):
        with pytest.raises(ClientError) as ei:
            call()
        assert error(ei) == ('NotFoundException', f"Key '{key_arn(missing)}' does not exist")


# --- on demand -----------------------------------------------------------------------------


def test_rotate_on_demand_ten_times_then_limit(kms):
    md = new_key(kms)
    material_ids = [md['CurrentKeyMaterialId']]
    for _ in range(10):
        out = kms.rotate_key_on_demand(KeyId=md['KeyId'])
        assert out['KeyId'] == md['Arn']  # the key ARN, as AWS answers
        material_ids.append(kms.describe_key(KeyId=md['KeyId'])['KeyMetadata']['CurrentKeyMaterialId'])
    assert len(set(material_ids)) == 11
    with pytest.raises(ClientError) as ei:
        kms.rotate_key_on_demand(KeyId=md['KeyId'])
    assert error(ei) == ('LimitExceededException', ON_DEMAND_LIMIT_MESSAGE.format(arn=md['Arn']))
    # The failed attempt changed nothing.
    assert kms.describe_key(KeyId=md['KeyId'])['KeyMetadata']['CurrentKeyMaterialId'] == material_ids[-1]
    rotations = kms.list_key_rotations(KeyId=md['KeyId'])['Rotations']
    assert [r['KeyMaterialId'] for r in rotations] == material_ids[1:]
    # On-demand rotation does not enable automatic rotation.
    assert kms.get_key_rotation_status(KeyId=md['KeyId'])['KeyRotationEnabled'] is False


def test_on_demand_rotation_keeps_next_rotation_date(kms):
    md = new_key(kms)
    kms.enable_key_rotation(KeyId=md['KeyId'], RotationPeriodInDays=180)
    before = kms.get_key_rotation_status(KeyId=md['KeyId'])
    kms.rotate_key_on_demand(KeyId=md['KeyId'])
    after = kms.get_key_rotation_status(KeyId=md['KeyId'])
    assert after['NextRotationDate'] == before['NextRotationDate']
    assert after['RotationPeriodInDays'] == 180


def test_decrypt_every_version_and_re_encrypt_to_current(kms):
    md = new_key(kms)
    ciphertexts = []  # (blob, key material id at the time, plaintext)
    for i in range(4):
        current = kms.describe_key(KeyId=md['KeyId'])['KeyMetadata']['CurrentKeyMaterialId']
        gdk = kms.generate_data_key(KeyId=md['KeyId'], KeySpec='AES_256')
        assert gdk['KeyMaterialId'] == current
        pt = f'version {i}'.encode()
        ciphertexts.append((kms.encrypt(KeyId=md['KeyId'], Plaintext=pt)['CiphertextBlob'], current, pt))
        if i < 3:
            kms.rotate_key_on_demand(KeyId=md['KeyId'])
    assert len({c[1] for c in ciphertexts}) == 4
    for blob, material_id, pt in ciphertexts:
        out = kms.decrypt(CiphertextBlob=blob)
        assert out['Plaintext'] == pt
        assert out['KeyMaterialId'] == material_id
    oldest, oldest_id, pt = ciphertexts[0]
    current_id = ciphertexts[-1][1]
    moved = kms.re_encrypt(CiphertextBlob=oldest, DestinationKeyId=md['KeyId'])
    assert moved['SourceKeyId'] == moved['KeyId'] == md['Arn']
    assert moved['SourceKeyMaterialId'] == oldest_id
    assert moved['DestinationKeyMaterialId'] == current_id
    out = kms.decrypt(CiphertextBlob=moved['CiphertextBlob'])
    assert out['Plaintext'] == pt
    assert out['KeyMaterialId'] == current_id


# --- AWS managed keys ----------------------------------------------------------------------


def test_aws_managed_key(kms):
    md = kms.describe_key(KeyId='alias/aws/s3')['KeyMetadata']
    assert md['KeyManager'] == 'AWS'
    assert md['KeyState'] == 'Enabled'
    assert kms.describe_key(KeyId='alias/aws/s3')['KeyMetadata']['KeyId'] == md['KeyId']  # made once
    status = kms.get_key_rotation_status(KeyId=md['KeyId'])
    assert status['KeyRotationEnabled'] is True
    assert status['RotationPeriodInDays'] == 365
    assert isinstance(status['NextRotationDate'], dt.datetime)
    for call in (
        lambda: kms.enable_key_rotation(KeyId=md['KeyId']),
        lambda: kms.enable_key_rotation(KeyId=md['KeyId'], RotationPeriodInDays=180),
        lambda: kms.disable_key_rotation(KeyId=md['KeyId']),
        lambda: kms.rotate_key_on_demand(KeyId=md['KeyId']),
    ):
        with pytest.raises(ClientError) as ei:
            call()
        assert error(ei)[0] == 'UnsupportedOperationException'
    # Usable for encryption through its alias; listed among the aliases.
    blob = kms.encrypt(KeyId='alias/aws/s3', Plaintext=b's3 data')['CiphertextBlob']
    assert kms.decrypt(CiphertextBlob=blob)['KeyId'] == md['Arn']
    aliases = {a['AliasName']: a for a in kms.list_aliases(KeyId=md['KeyId'])['Aliases']}
    assert aliases['alias/aws/s3']['TargetKeyId'] == md['KeyId']
    # Customer operations on it are refused.
    for call in (
        lambda: kms.disable_key(KeyId=md['KeyId']),
        lambda: kms.schedule_key_deletion(KeyId=md['KeyId']),
    ):
        with pytest.raises(ClientError) as ei:
            call()
        assert error(ei)[0] == 'UnsupportedOperationException'


# --- list_key_rotations paging (its own server: 25 on-demand rotations exceed the default 10) --


@pytest.fixture(scope='module')
def many_rotations(server_factory):
    s = server_factory(KMS_ON_DEMAND_ROTATION_LIMIT='100')
    kms = s.client()
    md = new_key(kms)
    versions = [(md['CurrentKeyMaterialId'], kms.encrypt(KeyId=md['KeyId'], Plaintext=b'v0')['CiphertextBlob'])]
    for i in range(25):
        kms.rotate_key_on_demand(KeyId=md['KeyId'])
        current = kms.describe_key(KeyId=md['KeyId'])['KeyMetadata']['CurrentKeyMaterialId']
        versions.append((current, kms.encrypt(KeyId=md['KeyId'], Plaintext=f'v{i + 1}'.encode())['CiphertextBlob']))
    return s, kms, md, versions


def test_list_key_rotations_paging(many_rotations):
    _, kms, md, versions = many_rotations
    ids = [v[0] for v in versions]
    assert len(set(ids)) == 26

    everything = kms.list_key_rotations(KeyId=md['KeyId'])
    assert everything['Truncated'] is False and 'NextMarker' not in everything
    rotations = everything['Rotations']
    assert len(rotations) == 25
    assert [r['KeyMaterialId'] for r in rotations] == ids[1:]
    for r in rotations:
        assert r['KeyId'] == md['KeyId']
        assert r['RotationType'] == 'ON_DEMAND'
        assert isinstance(r['RotationDate'], dt.datetime)
    assert [r['KeyMaterialState'] for r in rotations] == ['NON_CURRENT'] * 24 + ['CURRENT']

    pages, marker = [], None
    while True:
        kwargs = {'KeyId': md['Arn'], 'Limit': 10, 'IncludeKeyMaterial': 'ROTATIONS_ONLY'}
        if marker:
            kwargs['Marker'] = marker
        page = kms.list_key_rotations(**kwargs)
        pages.append(page)
        if not page['Truncated']:
            assert 'NextMarker' not in page
            break
        marker = page['NextMarker']
    assert [len(p['Rotations']) for p in pages] == [10, 10, 5]
    assert [p['Truncated'] for p in pages] == [True, True, False]
    assert [r['KeyMaterialId'] for p in pages for r in p['Rotations']] == ids[1:]

    # Pages that end exactly at the last rotation.
    exact = kms.list_key_rotations(KeyId=md['KeyId'], Limit=25)
    assert len(exact['Rotations']) == 25 and exact['Truncated'] is False and 'NextMarker' not in exact
    first = kms.list_key_rotations(KeyId=md['KeyId'], Limit=20)
    rest = kms.list_key_rotations(KeyId=md['KeyId'], Limit=5, Marker=first['NextMarker'])
    assert len(rest['Rotations']) == 5 and rest['Truncated'] is False

    # ALL_KEY_MATERIAL also lists the original material, first, without a rotation date or type.
    pages, marker = [], None
    while True:
        kwargs = {'KeyId': md['KeyId'], 'Limit': 7, 'IncludeKeyMaterial': 'ALL_KEY_MATERIAL'}
        if marker:
            kwargs['Marker'] = marker
        page = kms.list_key_rotations(**kwargs)
        pages.append(page)
        if not page['Truncated']:
            break
        marker = page['NextMarker']
    assert [len(p['Rotations']) for p in pages] == [7, 7, 7, 5]
    all_material = [r for p in pages for r in p['Rotations']]
    assert [r['KeyMaterialId'] for r in all_material] == ids
    assert 'RotationDate' not in all_material[0] and 'RotationType' not in all_material[0]
    assert all_material[0]['KeyMaterialState'] == 'NON_CURRENT'
    assert all_material[-1]['KeyMaterialState'] == 'CURRENT'
    assert all_material[-1]['KeyMaterialId'] == kms.describe_key(KeyId=md['KeyId'])['KeyMetadata']['CurrentKeyMaterialId']

    # The botocore paginator walks the same list.
    paged = [r['KeyMaterialId'] for p in kms.get_paginator('list_key_rotations').paginate(KeyId=md['KeyId'], PaginationConfig={'PageSize': 4}) for r in p['Rotations']]
    assert paged == ids[1:]


def test_list_key_rotations_bad_input(many_rotations):
    s, _, md, _ = many_rotations
    raw = s.client(validate=False)
    with pytest.raises(ClientError) as ei:
        raw.list_key_rotations(KeyId=md['KeyId'], Marker='garbage')
    assert error(ei)[0] == 'InvalidMarkerException'
    for limit in (0, 1001):
        with pytest.raises(ClientError) as ei:
            raw.list_key_rotations(KeyId=md['KeyId'], Limit=limit)
        assert error(ei)[0] == 'ValidationException'
    with pytest.raises(ClientError) as ei:
        raw.list_key_rotations(KeyId=md['KeyId'], IncludeKeyMaterial='SOME')
    assert error(ei)[0] == 'ValidationException'


def test_decrypt_every_one_of_26_versions(many_rotations):
    _, kms, md, versions = many_rotations
    for i, (material_id, blob) in enumerate(versions):
        out = kms.decrypt(CiphertextBlob=blob)
        assert out['Plaintext'] == f'v{i}'.encode()
        assert out['KeyMaterialId'] == material_id
        assert out['KeyId'] == md['Arn']
    moved = kms.re_encrypt(CiphertextBlob=versions[0][1], DestinationKeyId=md['KeyId'])
    assert moved['SourceKeyMaterialId'] == versions[0][0]
    assert moved['DestinationKeyMaterialId'] == versions[-1][0]
    assert kms.decrypt(CiphertextBlob=moved['CiphertextBlob'])['KeyMaterialId'] == versions[-1][0]


def test_on_demand_limit_is_configurable(many_rotations):
    _, kms, _, _ = many_rotations
    other = new_key(kms)
    for _ in range(11):  # past AWS's default 10
        kms.rotate_key_on_demand(KeyId=other['KeyId'])
    assert len(kms.list_key_rotations(KeyId=other['KeyId'])['Rotations']) == 11


# --- automatic rotation across three simulated years -----------------------------------------


def test_automatic_rotation_over_three_years(server_factory):
    s = server_factory(KMS_MAINTENANCE_INTERVAL_MS='0')
    kms = s.client()
    md = new_key(kms)
    start = s.now()
    kms.enable_key_rotation(KeyId=md['KeyId'])
    idle = new_key(kms)  # rotation never enabled: never rotated
    disabled = new_key(kms)
    kms.enable_key_rotation(KeyId=disabled['KeyId'])
    kms.disable_key_rotation(KeyId=disabled['KeyId'])
    doomed = new_key(kms)
    kms.create_alias(AliasName='alias/doomed', TargetKeyId=doomed['KeyId'])
    kms.schedule_key_deletion(KeyId=doomed['KeyId'], PendingWindowInDays=7)

    blobs = [(kms.encrypt(KeyId=md['KeyId'], Plaintext=b'year 0')['CiphertextBlob'], md['CurrentKeyMaterialId'])]
    for year in (1, 2, 3):
        s.advance_days(364)
        report = s.maintenance()
        assert md['KeyId'] not in report['rotated'], year
        if year == 1:
            # The key scheduled for deletion 7 days after the start is gone.
            assert report['deleted'] == [doomed['KeyId']]
            assert 'alias/doomed' not in [a['AliasName'] for a in kms.list_aliases()['Aliases']]
            with pytest.raises(ClientError) as ei:
                kms.describe_key(KeyId=doomed['KeyId'])
            assert error(ei)[0] == 'NotFoundException'
        assert len(kms.list_key_rotations(KeyId=md['KeyId'])['Rotations']) == year - 1
        s.advance_days(1)
        report = s.maintenance()
        assert report['rotated'] == [md['KeyId']], year
        rotations = kms.list_key_rotations(KeyId=md['KeyId'])['Rotations']
        assert len(rotations) == year
        assert rotations[-1]['RotationType'] == 'AUTOMATIC'
        assert rotations[-1]['KeyMaterialState'] == 'CURRENT'
        assert rotations[-1]['RotationDate'].timestamp() == pytest.approx(start + year * 365 * DAY, abs=1)
        status = kms.get_key_rotation_status(KeyId=md['KeyId'])
        assert status['NextRotationDate'].timestamp() == pytest.approx(start + (year + 1) * 365 * DAY, abs=1)
        current = kms.describe_key(KeyId=md['KeyId'])['KeyMetadata']['CurrentKeyMaterialId']
        assert current == rotations[-1]['KeyMaterialId']
        blobs.append((kms.encrypt(KeyId=md['KeyId'], Plaintext=f'year {year}'.encode())['CiphertextBlob'], current))

    assert [r['RotationType'] for r in kms.list_key_rotations(KeyId=md['KeyId'])['Rotations']] == ['AUTOMATIC'] * 3
    for i, (blob, material_id) in enumerate(blobs):
        out = kms.decrypt(CiphertextBlob=blob)
        assert out['Plaintext'] == f'year {i}'.encode()
        assert out['KeyMaterialId'] == material_id
    for other in (idle, disabled):
        assert kms.list_key_rotations(KeyId=other['KeyId'])['Rotations'] == []
        assert kms.describe_key(KeyId=other['KeyId'])['KeyMetadata']['CurrentKeyMaterialId'] == other['CurrentKeyMaterialId']


def test_disabled_and_pending_deletion_keys_do_not_rotate(server_factory):
    s = server_factory(KMS_MAINTENANCE_INTERVAL_MS='0')
    kms = s.client()
    disabled, pending, control = new_key(kms), new_key(kms), new_key(kms)
    for md in (disabled, pending, control):
        kms.enable_key_rotation(KeyId=md['KeyId'], RotationPeriodInDays=90)
    kms.disable_key(KeyId=disabled['KeyId'])
    s.advance_days(85)
    kms.schedule_key_deletion(KeyId=pending['KeyId'], PendingWindowInDays=30)  # deleted on day 115
    s.advance_days(10)  # day 95: every key's rotation (day 90) is overdue
    assert s.maintenance()['rotated'] == [control['KeyId']]
    for md in (disabled, pending):
        assert kms.describe_key(KeyId=md['KeyId'])['KeyMetadata']['CurrentKeyMaterialId'] == md['CurrentKeyMaterialId']
    # Re-enabled with material older than the period: rotated at once.
    kms.enable_key(KeyId=disabled['KeyId'])
    kms.cancel_key_deletion(KeyId=pending['KeyId'])
    kms.enable_key(KeyId=pending['KeyId'])
    report = s.maintenance()
    assert sorted(report['rotated']) == sorted([disabled['KeyId'], pending['KeyId']])
    for md in (disabled, pending):
        rotations = kms.list_key_rotations(KeyId=md['KeyId'])['Rotations']
        assert [r['RotationType'] for r in rotations] == ['AUTOMATIC']


def test_overdue_rotation_applies_on_use_without_maintenance(server_factory):
    s = server_factory(KMS_MAINTENANCE_INTERVAL_MS='0')
    kms = s.client()
    md = new_key(kms)
    kms.enable_key_rotation(KeyId=md['KeyId'], RotationPeriodInDays=90)
    s.advance_days(91)
    # No maintenance run: the first use of the key must not use the stale material.
    out = kms.generate_data_key(KeyId=md['KeyId'], KeySpec='AES_256')
    assert out['KeyMaterialId'] != md['CurrentKeyMaterialId']
    rotations = kms.list_key_rotations(KeyId=md['KeyId'])['Rotations']
    assert len(rotations) == 1 and rotations[0]['RotationType'] == 'AUTOMATIC'
    assert rotations[0]['KeyMaterialId'] == out['KeyMaterialId']


def test_aws_managed_key_rotates_yearly(server_factory):
    s = server_factory(KMS_MAINTENANCE_INTERVAL_MS='0')
    kms = s.client()
    md = kms.describe_key(KeyId='alias/aws/ebs')['KeyMetadata']
    s.advance_days(365)
    assert md['KeyId'] in s.maintenance()['rotated']
    rotations = kms.list_key_rotations(KeyId=md['KeyId'])['Rotations']
    assert [r['RotationType'] for r in rotations] == ['AUTOMATIC']


# --- rotate-by-default policy --------------------------------------------------------------


def test_rotate_by_default_policy(server_factory):
    s = server_factory(KMS_ROTATION_POLICY='rotate-by-default', KMS_MAINTENANCE_INTERVAL_MS='0')
    kms = s.client()
    created_at = s.now()
    md = new_key(kms)
    status = kms.get_key_rotation_status(KeyId=md['KeyId'])
    assert status['KeyRotationEnabled'] is True
    assert status['RotationPeriodInDays'] == 365
    assert status['NextRotationDate'].timestamp() == pytest.approx(created_at + 365 * DAY, abs=1)
    # Enabling again with the same period is a no-op; a different period is refused while enabled.
    kms.enable_key_rotation(KeyId=md['KeyId'])
    with pytest.raises(ClientError) as ei:
        kms.enable_key_rotation(KeyId=md['KeyId'], RotationPeriodInDays=180)
    assert error(ei)[0] == 'KMSInvalidStateException'
    assert kms.get_key_rotation_status(KeyId=md['KeyId'])['RotationPeriodInDays'] == 365
    # Disable, then enable with the new period.
    kms.disable_key_rotation(KeyId=md['KeyId'])
    assert kms.get_key_rotation_status(KeyId=md['KeyId'])['KeyRotationEnabled'] is False
    kms.enable_key_rotation(KeyId=md['KeyId'], RotationPeriodInDays=180)
    status = kms.get_key_rotation_status(KeyId=md['KeyId'])
    assert status['RotationPeriodInDays'] == 180
    assert status['NextRotationDate'].timestamp() == pytest.approx(s.now() + 180 * DAY, abs=1)
    # The default key really rotates after a year.
    other = new_key(kms)
    s.advance_days(365)
    report = s.maintenance()
    assert other['KeyId'] in report['rotated']
    assert md['KeyId'] in report['rotated']


# --- restart -------------------------------------------------------------------------------


def test_history_survives_restart(server_factory):
    first = server_factory()
    data_dir = first.data_dir
    kms = first.client()
    md = new_key(kms, Description='durable')
    kms.create_alias(AliasName='alias/durable', TargetKeyId=md['KeyId'])
    kms.enable_key_rotation(KeyId=md['KeyId'], RotationPeriodInDays=200)
    blobs = [(kms.encrypt(KeyId=md['KeyId'], Plaintext=b'gen 0')['CiphertextBlob'], md['CurrentKeyMaterialId'])]
    for i in range(3):
        kms.rotate_key_on_demand(KeyId=md['KeyId'])
        current = kms.describe_key(KeyId=md['KeyId'])['KeyMetadata']['CurrentKeyMaterialId']
        blobs.append((kms.encrypt(KeyId=md['KeyId'], Plaintext=f'gen {i + 1}'.encode())['CiphertextBlob'], current))
    history = kms.list_key_rotations(KeyId=md['KeyId'], IncludeKeyMaterial='ALL_KEY_MATERIAL')['Rotations']
    status = kms.get_key_rotation_status(KeyId=md['KeyId'])
    first.stop()

    second = server_factory(data_dir=data_dir)
    kms = second.client()
    got = kms.describe_key(KeyId='alias/durable')['KeyMetadata']
    assert got['KeyId'] == md['KeyId']
    assert got['Description'] == 'durable'
    assert got['CurrentKeyMaterialId'] == blobs[-1][1]
    assert kms.list_key_rotations(KeyId=md['KeyId'], IncludeKeyMaterial='ALL_KEY_MATERIAL')['Rotations'] == history
    after = kms.get_key_rotation_status(KeyId=md['KeyId'])
    assert after['KeyRotationEnabled'] is True
    assert after['RotationPeriodInDays'] == 200
    assert after['NextRotationDate'] == status['NextRotationDate']
    for i, (blob, material_id) in enumerate(blobs):
        out = kms.decrypt(CiphertextBlob=blob)
        assert out['Plaintext'] == f'gen {i}'.encode()
        assert out['KeyMaterialId'] == material_id
    # The on-demand count persisted too: 3 used before the restart, 7 left.
    for _ in range(7):
        kms.rotate_key_on_demand(KeyId=md['KeyId'])
    with pytest.raises(ClientError) as ei:
        kms.rotate_key_on_demand(KeyId=md['KeyId'])
    assert error(ei) == ('LimitExceededException', ON_DEMAND_LIMIT_MESSAGE.format(arn=md['Arn']))
