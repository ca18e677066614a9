"""The hardware tables (migration 0004) match their models, and a phone's derived credentials
behave as docs/security-hardware.md says: stable per generation, new on rotation, the key file
private."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from hardware.provisioning.credentials import (
    KeyFileError,
    load_or_create_key,
    provisioning_token,
    sip_password,
    token_matches,
)
from store.db import Database
from store.migrate import alembic_config, upgrade
from store.models import Base, Device, DeviceKind, DeviceProvisioning, ProvisioningFetch
from store.passwords import sip_ha1

HARDWARE_TABLES = {"device_provisioning", "provisioning_fetches", "headset_states"}


def test_migration_0004_creates_exactly_what_the_models_describe(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    db = Database(url)
    assert set(inspect(db.engine).get_table_names()) >= HARDWARE_TABLES
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)

    def touches_ours(diff: object) -> bool:
        """Alembic's diffs are tuples (or lists of tuples) naming tables in various places."""
        items = diff if isinstance(diff, list) else [diff]
        for item in items:
            for part in item if isinstance(item, tuple) else (item,):
                table = getattr(part, "table", part)
                name = part if isinstance(part, str) else getattr(table, "name", None)
                if name in HARDWARE_TABLES:
                    return True
        return False

    assert [d for d in differences if touches_ours(d)] == []
    with db.session() as session:
        device = Device(kind=DeviceKind.DESK_PHONE, extension="1001", sip_username="1001",
                        ha1="x", mac="00:15:65:aa:bb:cc", vendor="yealink")
        session.add(device)
        session.flush()
        session.add(DeviceProvisioning(device_id=device.id, vendor="yealink"))
        session.add(ProvisioningFetch(mac="001565aabbcc", device_id=device.id,
                                      address="192.0.2.7", file_name="001565aabbcc.cfg",
                                      status=200, config_version=1))
    with db.session() as session:
        row = session.get(DeviceProvisioning, 1)
        assert row is not None and row.generation == 1 and row.line_keys == []
    db.dispose()
    command.downgrade(alembic_config(url), "0002")  # and back: the tables go
    db = Database(url)
    assert not HARDWARE_TABLES & set(inspect(db.engine).get_table_names())
    db.dispose()


def test_the_key_is_created_private_once_and_refused_when_others_can_read_it(
    tmp_path: Path,
) -> None:
    key = load_or_create_key(tmp_path)
    assert len(key) == 32 and (tmp_path / "provisioning.key").stat().st_mode & 0o777 == 0o600
    assert load_or_create_key(tmp_path) == key  # never overwritten
    (tmp_path / "provisioning.key").chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_or_create_key(tmp_path)


def test_derived_passwords_are_stable_per_generation_and_new_on_rotation(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path)
    first = sip_password(key, "00:15:65:AA:BB:CC", "1001", 1)
    assert first == sip_password(key, "0015.65aa.bbcc", "1001", 1)  # re-provisioning: same
    assert len(first) == 20 and first.isalnum()
    assert sip_password(key, "001565aabbcc", "1001", 2) != first  # rotation: new
    assert sip_password(key, "001565aabbcd", "1001", 1) != first  # another phone
    assert sip_password(b"\0" * 32, "001565aabbcc", "1001", 1) != first  # another deployment
    # only the HA1 of it goes to the database, which is what Kamailio checks
    assert len(sip_ha1("1001", "centralino.local", first)) == 32
    token = provisioning_token(key, "001565aabbcc", 1)
    assert token_matches(key, "00:15:65:aa:bb:cc", 1, token)
    assert not token_matches(key, "001565aabbcc", 2, token)
    with pytest.raises(ValueError):
        sip_password(key, "001565aabbcc", "1001", 0)
