"""A callback to a caller who came in through a carrier leaves through the trunk: the customer
calls our DID from the carrier, waits in line, presses 1 and hangs up; when the agent is free
their phone rings first, then the worker calls the customer's number, which the edge sends to
the carrier (answering its challenge with the trunk's credentials); the two are bridged."""

from __future__ import annotations

from pathlib import Path

import pytest

from store.db import Database
from store.migrate import upgrade
from store.models import AgentState, Did, SupportNumber, Trunk
from telephony.testing.deployment import SUPPORT, Deployment
from telephony.testing.edge import make_settings, running_edge
from telephony.testing.workers import wait_until
from tests.telephony.test_switch_queueing import assert_talking, set_state
from tests.telephony.test_trunk_call import _registered

pytestmark = pytest.mark.e2e

DID = "390298760001"
CUSTOMER = "5550002"


def test_a_callback_to_a_carrier_caller_goes_out_through_the_trunk(tmp_path: Path) -> None:
    carrier_settings = make_settings(tmp_path / "carrier", sip_domain="carrier.test")
    with running_edge(tmp_path / "carrier", settings=carrier_settings) as carrier:
        trunk_password = carrier.add_device(DID)
        customer_password = carrier.add_device(CUSTOMER)
        ours = make_settings(tmp_path / "ours", heartbeat_seconds=0.5, stale_after_seconds=2.0)
        upgrade(ours.database_url)
        db = Database.from_settings(ours)
        with db.session() as session:
            support = session.query(SupportNumber).filter_by(number=SUPPORT).one_or_none()
            if support is None:
                support = SupportNumber(number=SUPPORT, name="support", locale="en")
                session.add(support)
            trunk = Trunk(name="carrier", registrar=carrier.uri_host, username=DID,
                          realm="carrier.test", secret=trunk_password, expires=60)
            session.add(trunk)
            session.flush()
            session.add(Did(number=DID, trunk_id=trunk.id, support_number_id=support.id))
        with running_edge(tmp_path / "ours", settings=ours) as edge:
            deployment = Deployment(tmp_path / "ours", db_url=ours.database_url)
            try:
                agent_password = edge.add_device("1001")
                agent_id = deployment.add_agent("1001")
                set_state(deployment, agent_id, AgentState.PAUSED)
                headset = deployment.phone("agent1001", auto_answer=True)
                assert headset.register(edge.uri_host, "1001", agent_password,
                                        domain=ours.sip_domain)["code"] == 200
                config = deployment.config(edge=edge.address, switch=edge.switch_address,
                                           sip_domain=ours.sip_domain)
                worker = deployment.worker(0, config)
                events = worker.events()
                wait_until(lambda: edge.edge.destinations, 15, "the edge routes to the worker")
                wait_until(lambda: _registered(carrier.db, DID), 15, "our trunk registered")

                customer = deployment.phone("customer")
                assert customer.register(carrier.uri_host, CUSTOMER, customer_password,
                                         domain="carrier.test")["code"] == 200
                call = customer.call(f"sip:{DID}@{carrier.uri_host}")
                customer.wait_for("state", call=call, state="confirmed", timeout=15)
                queued = events.wait_for("queued", timeout=20)
                events.wait_for("queue.position", timeout=20)
                customer.dtmf(call, "1")
                assert events.wait_for("queue.callback", timeout=10)["number"] == CUSTOMER
                customer.wait_for("state", call=call, state="disconnected", timeout=20)

                set_state(deployment, agent_id, AgentState.AVAILABLE)
                ringing = events.wait_for("agent.ringing", timeout=15)
                assert (ringing["kind"], ringing["caller"]) == ("callback", CUSTOMER)
                agent_call = headset.wait_for("incoming", timeout=10)["call"]
                back = customer.wait_for("incoming", timeout=15)["call"]  # via the carrier
                customer.answer(back)
                events.wait_for("bridged", timeout=10, agent_id=agent_id)
                customer.wait_for("state", call=back, state="confirmed", timeout=10)
                assert_talking(customer, back, headset, agent_call)
                assert deployment.ended_call(ringing["call_id"]).outcome == "completed"
                assert queued["call_id"] != ringing["call_id"]
            finally:
                deployment.close()
        db.dispose()
