"""In-dialog requests keep their order through the edge: a burst of SIP INFO keys arrives whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephony.testing.deployment import SUPPORT, Deployment
from telephony.testing.edge import EdgeUnderTest
from telephony.testing.workers import wait_until

pytestmark = pytest.mark.e2e


def test_a_burst_of_info_keys_arrives_complete_and_in_order(edge: EdgeUnderTest, tmp_path: Path):
    deployment = Deployment(tmp_path, db_url=edge.settings.database_url)
    try:
        config = deployment.config(
            edge=edge.address, switch=edge.switch_address, sip_domain=edge.settings.sip_domain
        )
        events = deployment.worker(0, config).events()
        wait_until(lambda: edge.edge.destinations, 15, "the edge routes to the worker")
        caller = deployment.phone("caller", record=False)
        call = caller.call(f"sip:{SUPPORT}@{edge.uri_host}")
        caller.wait_for("state", call=call, state="confirmed", timeout=15)
        call_id = events.wait_for("answered", timeout=10)["call_id"]
        caller.dtmf(call, "123456789", method="info")  # all nine INFOs leave at once
        keys = [events.wait_for("dtmf", call_id=call_id, timeout=10) for _ in range(9)]
        assert "".join(key["digit"] for key in keys) == "123456789"
        assert {key["method"] for key in keys} == {"info"}
        caller.hangup(call)
        events.wait_for("ended", call_id=call_id, timeout=10)
    finally:
        deployment.close()
