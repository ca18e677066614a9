"""Every worker full: the caller hears "all our lines are busy" (a worker's spare slot), not a 503.

A real Kamailio edge and two real workers: their call slots are filled by callers waiting in
line (no agent), then one more caller comes through the edge. The first worker tried answers
503, the edge's last try carries the overflow hint, and that worker's spare slot plays the
message of `telephony.callflow.busy` and hangs up; what the caller recorded is that message
(correlated with the rendered prompt).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ivr.prompts import read_wav, render_prompt
from telephony.callflow import busy
from telephony.testing.audio import correlation_peak, recording
from telephony.testing.deployment import SUPPORT, Deployment
from telephony.testing.edge import EdgeUnderTest, make_settings, running_edge
from telephony.testing.workers import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[EdgeUnderTest]:
    settings = make_settings(tmp_path, heartbeat_seconds=0.5, stale_after_seconds=5.0)
    with running_edge(tmp_path, settings=settings) as running:
        yield running


def test_a_caller_beyond_capacity_hears_all_lines_busy_then_a_hang_up(
    edge: EdgeUnderTest, deployment: Deployment, tmp_path: Path
) -> None:
    config = deployment.config(
        edge=edge.address, switch=edge.switch_address, sip_domain=edge.settings.sip_domain
    )
    workers = deployment.start_workers(2, config)
    want = sorted(f"sip:{w.sip_uri_host}" for w in workers)
    wait_until(lambda: sorted(edge.edge.destinations) == want, 12, "both routed")
    capacity = workers[0].get("/health")["capacity"]
    fills = []  # (phone, call): a test phone holds at most 4 calls, one phone per worker
    for n, w in enumerate(workers):
        filler = deployment.phone(f"filler{n}", record=False)
        fills += [(filler, filler.call(f"sip:{SUPPORT}@{w.sip_uri_host}")) for _ in range(capacity)]
    for filler, call in fills:
        filler.wait_for("state", call=call, state="confirmed", timeout=15)
    for w in workers:
        wait_until(lambda w=w: w.get("/health")["load"] == capacity, 5, "the worker is full")

    caller = deployment.phone("caller")
    call = caller.call(f"sip:{SUPPORT}@{edge.uri_host}")
    caller.wait_for("state", call=call, state="confirmed", timeout=15)
    ended = caller.wait_for("state", call=call, state="disconnected", timeout=20)
    # The first worker tried said 503; the last one, hinted by the edge, played the message.
    assert sum(w.get("/health")["rejected"] for w in workers) == 1

    heard = recording(caller.wait_for("recorded", call=call)["path"]).astype(np.float64)
    text, voice = busy.message("en", edge.settings.company_name)
    reference, _ = read_wav(render_prompt(text, voice, tmp_path / "reference"))
    score, _ = correlation_peak(heard, reference.astype(np.float64))
    assert score > 0.5, f"the caller did not hear the busy message (correlation {score:.2f})"
    assert ended["code"] in (200, 0) or ended["reason"], ended
    busy_cdrs = wait_until(
        lambda: [c for c in deployment.calls() if c.outcome == busy.REASON], 5, "a busy CDR"
    )
    assert len(busy_cdrs) == 1

    fills[0][0].hangup(fills[0][1])  # a slot frees: the next caller is taken as usual
    wait_until(lambda: workers[0].get("/health")["load"] < capacity, 5, "a slot is free")
    events = workers[0].events()
    again = caller.call(f"sip:{SUPPORT}@{edge.uri_host}")
    caller.wait_for("state", call=again, state="confirmed", timeout=15)
    assert events.wait_for("queued", timeout=15)["call_id"] not in {c.id for c in busy_cdrs}
    caller.hangup(again)
    for filler, call in fills[1:]:
        filler.hangup(call)
