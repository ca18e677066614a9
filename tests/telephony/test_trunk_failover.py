"""Outbound calls leave through the trunks in priority order: a carrier that refuses with 503
(relayed as 500) or never answers hands the call to the next trunk; a busy customer (486) is
passed back, not failed over; only a worker can send a call out.

Real parts: two carriers (each a Kamailio edge of its own with our trunk as a device, which
challenges our INVITE, and the customer's phone registered there), our edge, one worker whose
control API originates the call to the customer's number."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from store.db import Database
from store.migrate import upgrade
from store.models import CallLeg, Trunk
from telephony.testing.deployment import Deployment
from telephony.testing.edge import EdgeUnderTest, make_settings, running_edge
from telephony.testing.phones import Phone
from telephony.testing.ports import free_port
from telephony.testing.workers import WorkerProcess, wait_until
from tests.harness.sipclient import SipClient, sdp_offer

pytestmark = pytest.mark.e2e

CUSTOMER = "5550001"


@dataclass
class Carrier:
    edge: EdgeUnderTest
    account: str  # our account (trunk user name) there
    password: str
    customer: Phone  # the customer's phone, registered at this carrier


@dataclass
class Outbound:
    first: Carrier
    second: Carrier
    deployment: Deployment
    worker: WorkerProcess
    db: Database
    ours: EdgeUnderTest

    def originate(self) -> str:
        response = self.worker.post("/calls", {"to": CUSTOMER})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def customer_leg_end(self, call_id: str) -> str:
        self.deployment.ended_call(call_id, timeout=20)
        with self.db.session() as session:
            reasons = session.scalars(
                select(CallLeg.end_reason).where(CallLeg.call_id == call_id,
                                                 CallLeg.role == "customer")
            ).all()
        assert len(reasons) == 1, reasons
        return reasons[0] or ""


@contextmanager
def carriers_and_us(tmp_path: Path, dead_first: bool = False) -> Iterator[Outbound]:
    """Two carriers and us, our trunk to the first tried first; *dead_first*: before both, a
    trunk to a carrier that never answers (a port nobody listens on)."""
    with ExitStack() as stack:
        deployment = Deployment(tmp_path / "ours-parts")
        stack.callback(deployment.close)
        found: list[Carrier] = []
        for name, account in (("first", "390211110000"), ("second", "390222220000")):
            # each carrier has a realm of its own (a challenge names it: each trunk's
            # credentials answer only their carrier's)
            settings = make_settings(tmp_path / name, sip_domain=f"{name}.carrier.test")
            edge = stack.enter_context(running_edge(tmp_path / name, settings=settings))
            password = edge.add_device(account)
            customer_password = edge.add_device(CUSTOMER)
            phone = deployment.phone(f"customer-at-{name}", record=False)
            registered = phone.register(edge.uri_host, CUSTOMER, customer_password,
                                        domain=edge.settings.sip_domain)
            assert registered["code"] == 200, registered
            found.append(Carrier(edge, account, password, phone))

        ours = make_settings(tmp_path / "ours", heartbeat_seconds=0.5, stale_after_seconds=2.0)
        upgrade(ours.database_url)
        db = Database.from_settings(ours)
        stack.callback(db.dispose)
        with db.session() as session:  # the second trunk is listed first: priority decides
            for priority, name, carrier in ((20, "a-second", found[1]), (10, "b-first", found[0])):
                session.add(Trunk(name=name, registrar=carrier.edge.uri_host,
                                  username=carrier.account, realm=carrier.edge.settings.sip_domain,
                                  secret=carrier.password, expires=60, priority=priority))
            if dead_first:
                session.add(Trunk(name="dead", registrar=f"127.0.0.1:{free_port()}",
                                  username="nobody", realm="dead.carrier.test", secret="x",
                                  expires=60, priority=1))
        edge = stack.enter_context(running_edge(tmp_path / "ours", settings=ours))
        worker_deployment = Deployment(tmp_path / "ours", db_url=ours.database_url)
        stack.callback(worker_deployment.close)
        config = worker_deployment.config(edge=edge.address, switch=edge.switch_address,
                                          sip_domain=ours.sip_domain, extra={"speech": False})
        worker = worker_deployment.worker(0, config)
        wait_until(lambda: edge.edge.destinations, 15, "the edge routes to the worker")
        expected = ["trunk-b-first", "trunk-a-second"]
        if dead_first:
            expected.insert(0, "trunk-dead")
        wait_until(lambda: [t.uuid for t in edge.edge.trunk_destinations] == expected, 15,
                   "the trunks, by priority")
        yield Outbound(found[0], found[1], worker_deployment, worker, db, edge)


def test_a_503_from_the_first_trunk_moves_the_call_to_the_next(tmp_path: Path) -> None:
    with carriers_and_us(tmp_path) as out:
        call_id = out.originate()
        refused = out.first.customer.wait_for("incoming", timeout=15)["call"]
        out.first.customer.answer(refused, 503)
        answered = out.second.customer.wait_for("incoming", timeout=15)["call"]
        out.second.customer.answer(answered, 200)
        out.second.customer.wait_for("state", call=answered, state="confirmed", timeout=15)
        events = out.worker.events()
        assert out.worker.post(f"/calls/{call_id}/hangup").ok
        events.wait_for("ended", call_id=call_id, timeout=15)
        out.second.customer.wait_for("state", call=answered, state="disconnected", timeout=15)
        leg_end = out.customer_leg_end(call_id)
        assert not leg_end.startswith(("4", "5")), leg_end
        assert len(out.second.customer.seen("incoming")) == 1  # one call, after our digest


def test_a_busy_customer_is_passed_back_not_failed_over(tmp_path: Path) -> None:
    with carriers_and_us(tmp_path) as out:
        call_id = out.originate()
        busy = out.first.customer.wait_for("incoming", timeout=15)["call"]
        out.first.customer.answer(busy, 486)
        assert out.customer_leg_end(call_id).startswith("486"), "486 reached the worker"
        assert out.second.customer.seen("incoming") == []  # no second carrier tried


def test_a_carrier_that_never_answers_times_out_to_the_next(tmp_path: Path) -> None:
    with carriers_and_us(tmp_path, dead_first=True) as out:
        call_id = out.originate()
        # the dead carrier's transaction times out (the edge's 2 s timer): the first live one
        answered = out.first.customer.wait_for("incoming", timeout=20)["call"]
        out.first.customer.answer(answered, 200)
        out.first.customer.wait_for("state", call=answered, state="confirmed", timeout=15)
        assert out.worker.post(f"/calls/{call_id}/hangup").ok
        out.first.customer.wait_for("state", call=answered, state="disconnected", timeout=15)
        assert out.second.customer.seen("incoming") == []


def test_only_a_worker_can_send_a_call_out_through_the_trunks(tmp_path: Path) -> None:
    """The outbound mark from a stranger or a signed-in phone is stripped: the stranger is
    challenged, the phone's call to a number we do not have is 404, and the carrier never
    sees an INVITE."""
    with SipClient(("127.0.0.1", 9)) as carrier:  # a raw socket standing in for the carrier
        settings = make_settings(tmp_path)
        upgrade(settings.database_url)
        db = Database.from_settings(settings)
        with db.session() as session:
            session.add(Trunk(name="carrier", registrar=carrier.uri_self, username="u",
                              secret="s", expires=60))
        with running_edge(tmp_path, settings=settings) as edge:
            wait_until(lambda: edge.edge.trunk_destinations, 10, "the outbound trunk")
            password = edge.add_device("2001")
            mark = {"X-Centralino-Outbound": "customer"}
            with SipClient(edge.address) as phone:
                stranger = phone.request("INVITE", f"sip:{CUSTOMER}@{edge.uri_host}", "2001",
                                         CUSTOMER, extra=mark, body=sdp_offer())
                assert stranger is not None and stranger.status == 407
                device = phone.request("INVITE", f"sip:{CUSTOMER}@{edge.uri_host}", "2001",
                                       CUSTOMER, password, extra=mark, body=sdp_offer())
                assert device is not None and device.status == 404
            # nothing to await: the carrier's socket stays without an INVITE
            assert carrier.next_request(1.0, method="INVITE") is None
        db.dispose()
