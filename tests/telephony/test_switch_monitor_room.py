"""No room for the supervisor's leg, on a fresh worker of its own (after the other monitor
tests in one module, a leftover leg of theirs changed the count; run alone it is exact)."""

from __future__ import annotations

from telephony.testing.audio import tone_share
from telephony.testing.workers import wait_until
from tests.telephony.test_switch_behind_edge import let_audio_flow, support_uri
from tests.telephony.test_switch_monitor import CALLER_HZ, Floor, pytestmark  # noqa: F401
from tests.telephony.test_switch_monitor import floor as floor


def test_no_room_for_the_supervisors_leg_is_a_503_and_the_call_goes_on(floor: Floor) -> None:
    """The PyPI wheel's pjsua2 holds 4 calls, one kept spare: a bridged call (2 legs) and a
    second caller waiting in line (1 leg) fill the worker, so the supervisor's leg is refused
    plainly, nobody rings and the call carries on; once the second caller goes, it fits."""
    caller, call, agent_call, call_id = floor.call()
    second = floor.deployment.phone(f"caller{len(floor.deployment.phones)}")
    waiting = second.call(support_uri(floor.edge))
    second.wait_for("state", call=waiting, state="confirmed")
    floor.events.wait_for("queued", timeout=20)  # the agent is busy: the caller is in line
    health = wait_until(
        lambda: (h := floor.worker.get("/health"))["load"] >= h["capacity"] and h, 10, "full"
    )
    rings = len(floor.supervisor.seen("incoming"))
    refused = floor.monitor(call_id, "listen")
    assert refused.status_code == 503, refused.text
    assert "no room for another leg" in refused.json()["error"]
    let_audio_flow(1.0)
    assert len(floor.supervisor.seen("incoming")) == rings  # nobody was rung
    assert not [
        e for e in floor.events.events if e["type"] == "monitor.started" and e["call_id"] == call_id
    ]
    assert caller.seen("state", call=call, state="disconnected") == []
    assert floor.agent.seen("state", call=agent_call, state="disconnected") == []
    second.hangup(waiting)
    second.wait_for("state", call=waiting, state="disconnected")
    wait_until(
        lambda: floor.worker.get("/health")["load"] < health["capacity"], 10, "room again"
    )
    sup_call = floor.join(call_id, "listen")  # the same call, now with room
    floor.leave(call_id, sup_call)
    caller.hangup(call)
    caller.wait_for("state", call=call, state="disconnected")
    heard = floor.heard(floor.agent, agent_call)
    assert tone_share(heard, CALLER_HZ) > 0.25  # the agent heard the caller throughout
    floor.events.wait_for("ended", call_id=call_id, timeout=10)
