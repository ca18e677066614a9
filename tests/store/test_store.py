"""Settings, password hashing, migrations and demo data."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from store.db import Database
from store.demo import seed_demo
from store.kamailio_tables import KAMAILIO_TABLE_VERSIONS, PRESENCE_TABLE_VERSIONS, version
from store.migrate import upgrade
from store.models import Agent, Customer, Device
from store.passwords import hash_password, sip_ha1, verify_password
from store.settings import load_settings


def test_settings_come_from_toml_then_environment(tmp_path: Path):
    config = tmp_path / "centralino.toml"
    config.write_text('sip_port = 5070\nworkers = 3\ncompany_name = "ACME"\n')
    settings = load_settings(
        config,
        env={
            "CENTRALINO_WORKERS": "5",
            "CENTRALINO_VAR_DIR": str(tmp_path / "v"),
            "CENTRALINO_SPEECH_MODEL_EN": "/models/en",
        },
    )
    assert settings.sip_port == 5070
    assert settings.workers == 5
    assert settings.company_name == "ACME"
    assert settings.database_url == f"sqlite:///{tmp_path / 'v' / 'centralino.sqlite'}"
    assert settings.speech_models == {"en": "/models/en"}


def test_switch_workers_bind_the_edge_address_unless_their_host_has_its_own(tmp_path: Path):
    config = tmp_path / "host.toml"
    config.write_text('sip_address = "10.0.0.1"\n')
    assert load_settings(config, env={}).worker_address == "10.0.0.1"  # one machine
    host = load_settings(config, env={"CENTRALINO_SWITCH_ADDRESS": "10.0.0.12"})
    assert (host.worker_address, host.sip_address) == ("10.0.0.12", "10.0.0.1")


def test_unknown_settings_are_refused_by_name(tmp_path: Path):
    config = tmp_path / "bad.toml"
    config.write_text("sip_prot = 5070\n")
    with pytest.raises(ValueError, match=r"unknown setting.*sip_prot"):
        load_settings(config, env={})


def test_missing_config_file_says_which(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.toml"):
        load_settings(tmp_path / "nowhere.toml", env={})


def test_passwords_are_salted_hashes():
    first, second = hash_password("s3cret"), hash_password("s3cret")
    assert first != second and "s3cret" not in first
    assert verify_password("s3cret", first)
    assert not verify_password("S3cret", first)
    assert not verify_password("s3cret", "garbage")
    assert (
        sip_ha1("1001", "centralino.local", "pw") == "f77db28b32d9be291ae85992378a785a"
    )  # RFC 2617 HA1


def test_migrations_create_our_tables_and_kamailios(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    upgrade(url)  # idempotent
    db = Database(url)
    tables = set(inspect(db.engine).get_table_names())
    assert {
        "customers",
        "agents",
        "devices",
        "trunks",
        "dids",
        "calls",
        "call_legs",
        "interactions",
        "workers",
        "location",
        "uacreg",
        "version",
    } <= tables
    with db.session() as session:
        rows = session.execute(select(version.c.table_name, version.c.table_version)).all()
    versions = {name: number for name, number in rows}
    assert versions == KAMAILIO_TABLE_VERSIONS | PRESENCE_TABLE_VERSIONS
    db.dispose()


def test_demo_data_is_seeded_once_with_fresh_secrets(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    db = Database(url)
    with db.session() as session:
        credentials = seed_demo(session, "centralino.local")
    with db.session() as session:
        assert seed_demo(session, "centralino.local") is None
        agents = session.scalars(select(Agent)).all()
        devices = session.scalars(select(Device)).all()
        assert session.scalars(select(Customer)).all()
    assert credentials is not None
    assert {a.username for a in agents} == set(credentials.console)
    for agent in agents:
        password = credentials.console[agent.username]
        assert verify_password(password, agent.password_hash)
        assert password not in agent.password_hash
    for device in devices:
        password = credentials.sip[device.extension]
        assert device.ha1 == sip_ha1(device.sip_username, "centralino.local", password)
    db.dispose()
