"""A carrier's call to our DID, end to end: carrier Kamailio -> our edge -> a worker's IVR."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from store.db import Database
from store.kamailio_tables import location
from store.migrate import upgrade
from store.models import Did, SupportNumber, Trunk
from telephony.testing.deployment import SUPPORT, Deployment
from telephony.testing.edge import make_settings, running_edge
from telephony.testing.workers import wait_until

pytestmark = pytest.mark.e2e

DID = "390298760000"


def _registered(db: Database, username: str) -> bool:
    with db.session() as session:
        return bool(
            session.scalar(
                select(func.count()).select_from(location).where(location.c.username == username)
            )
        )


def test_a_carrier_call_to_our_did_reaches_the_ivr(tmp_path: Path):
    with running_edge(tmp_path / "carrier") as carrier:
        trunk_password = carrier.add_device(DID)
        caller_password = carrier.add_device("5550001")

        ours = make_settings(tmp_path / "ours", heartbeat_seconds=0.5, stale_after_seconds=2.0)
        upgrade(ours.database_url)
        db = Database.from_settings(ours)
        with db.session() as session:
            support = SupportNumber(number=SUPPORT, name="support", locale="en")
            trunk = Trunk(
                name="carrier",
                registrar=carrier.uri_host,
                username=DID,
                realm=carrier.settings.sip_domain,
                secret=trunk_password,
                expires=60,
            )
            session.add_all([support, trunk])
            session.flush()
            session.add(Did(number=DID, trunk_id=trunk.id, support_number_id=support.id))
        with running_edge(tmp_path / "ours", settings=ours) as edge:
            deployment = Deployment(tmp_path / "ours", db_url=ours.database_url)
            try:
                config = deployment.config(
                    edge=edge.address,
                    switch=edge.switch_address,
                    sip_domain=ours.sip_domain,
                    flow="telephony.callflow.ivr:IvrFlows",
                    extra={"speech": False},
                )
                worker = deployment.worker(0, config)
                events = worker.events()
                wait_until(lambda: edge.edge.destinations, 15, "the edge routes to the worker")
                wait_until(lambda: _registered(carrier.db, DID), 15, "our trunk registered")

                caller = deployment.phone("carrier-caller")
                registration = caller.register(
                    carrier.uri_host, "5550001", caller_password, domain=carrier.settings.sip_domain
                )
                assert registration["code"] == 200, registration
                call = caller.call(f"sip:{DID}@{carrier.uri_host}")
                caller.wait_for("state", call=call, state="confirmed", timeout=15)
                step = events.wait_for("ivr.step", timeout=20)
                stored = wait_until(
                    lambda: deployment.find_call(step["call_id"]), 10, "the call's CDR"
                )
                assert stored.dialled == SUPPORT  # the DID was mapped to its support number
                caller.hangup(call)
                events.wait_for("ended", call_id=step["call_id"], timeout=15)
            finally:
                deployment.close()
        db.dispose()
