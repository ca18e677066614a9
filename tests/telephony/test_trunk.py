"""Trunks: we register to a carrier (a second Kamailio) and its calls to our DIDs reach a worker."""

from __future__ import annotations

import select
import socket
import time
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select as sql_select

from store.db import Database
from store.kamailio_tables import location
from store.migrate import upgrade
from store.models import Did, SupportNumber, Trunk
from telephony.edge import Edge, EdgeTuning, sync_trunk_registrations
from telephony.testing.edge import make_settings, running_edge
from tests.harness.sipclient import SipClient, sdp_offer

pytestmark = pytest.mark.e2e

DID = "390212340000"


def test_trunk_registers_and_carrier_calls_reach_the_support_number(tmp_path: Path):
    with running_edge(tmp_path / "carrier") as carrier:
        trunk_password = carrier.add_device(DID)  # the carrier's account for our trunk
        caller_password = carrier.add_device("5551234")  # somebody calling us via the carrier

        ours = make_settings(tmp_path / "ours")
        upgrade(ours.database_url)
        db = Database.from_settings(ours)
        with db.session() as session:
            support = SupportNumber(number="800", name="support")
            trunk = Trunk(
                name="carrier",
                registrar=carrier.uri_host,
                realm=carrier.settings.sip_domain,
                username=DID,
                secret=trunk_password,
                expires=60,
            )
            session.add_all([support, trunk])
            session.flush()
            session.add(Did(number=DID, trunk_id=trunk.id, support_number_id=support.id))
        assert sync_trunk_registrations(db, ours) == 1

        worker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        worker.bind(("127.0.0.1", 0))
        edge = Edge(ours, EdgeTuning(trunk_timer_s=1))
        edge.set_workers([f"sip:127.0.0.1:{worker.getsockname()[1]}"])
        edge.start()
        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not _registered(carrier.db, DID):
                time.sleep(0.1)
            assert _registered(carrier.db, DID), "our trunk never registered at the carrier"

            with SipClient(carrier.address) as caller:
                caller.send_raw(
                    caller.build(
                        "INVITE",
                        f"sip:{DID}@{carrier.uri_host}",
                        "5551234",
                        DID,
                        "trunk-call-1",
                        body=sdp_offer(),
                    )
                )
                challenge = caller.final_response(5)
                assert challenge is not None and challenge.status == 407
                response = caller.request(
                    "INVITE",
                    f"sip:{DID}@{carrier.uri_host}",
                    "5551234",
                    DID,
                    caller_password,
                    body=sdp_offer(),
                    timeout=0.5,
                )
                readable, _, _ = select.select([worker], [], [], 10)
                assert readable, "the carrier's call never reached a switch worker"
                invite = worker.recv(65535).decode(errors="replace")
            request_line = invite.split("\r\n", 1)[0]
            assert request_line.startswith("INVITE sip:800@"), request_line
            assert f"X-Centralino-DID: {DID}" in invite
            assert response is None or response.status < 300
        finally:
            edge.stop()
            worker.close()
            db.dispose()


def _registered(db: Database, username: str) -> bool:
    with db.session() as session:
        count = session.scalar(
            sql_select(func.count()).select_from(location).where(location.c.username == username)
        )
    return bool(count)
