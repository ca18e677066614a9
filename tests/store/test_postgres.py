"""The same code on PostgreSQL: migrations, demo data, atomic claims, Kamailio's registrar."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from store.db import Database
from store.demo import seed_demo
from store.kamailio_tables import location
from store.migrate import upgrade
from store.models import Agent, AgentState
from telephony.edge import Edge, EdgeTuning
from telephony.router import claim_agent
from telephony.testing.edge import EdgeUnderTest, make_settings
from tests.harness.parts import require
from tests.harness.postgres import running_postgres
from tests.harness.sipclient import SipClient


@pytest.fixture(autouse=True)
def _postgresql_is_required() -> None:
    require("postgresql")


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with running_postgres() as url:
        upgrade(url)
        yield url


def test_demo_data_and_claims_on_postgresql(postgres_url: str):
    db = Database(postgres_url)
    with db.session() as session:
        credentials = seed_demo(session, "centralino.local")
    assert credentials is not None
    with db.session() as session:
        session.execute(
            update(Agent).where(Agent.username == "alice").values(state=AgentState.AVAILABLE)
        )
    first = claim_agent(db, "call-1")
    second = claim_agent(db, "call-2")
    assert first is not None and first.name == "Alice Rossi"
    assert second is None  # alice is ringing for call-1: nobody else is available
    db.dispose()


def test_kamailio_registers_devices_against_postgresql(postgres_url: str, tmp_path: Path):
    settings = make_settings(tmp_path, database_url=postgres_url)
    db = Database(postgres_url)
    edge = Edge(settings, EdgeTuning())
    edge.start()
    try:
        running = EdgeUnderTest(settings, db, edge)
        password = running.add_device("4001")
        with SipClient(running.address) as phone:
            assert phone.register("4001", "wrong", settings.sip_domain).status == 401
            assert phone.register("4001", password, settings.sip_domain).status == 200
        with db.session() as session:
            stored = session.scalar(
                select(func.count()).select_from(location).where(location.c.username == "4001")
            )
        assert stored == 1
    finally:
        edge.stop()
        db.dispose()
