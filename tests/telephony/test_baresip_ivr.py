"""baresip through the production IVR: it hears the greeting and keys its account by RFC 4733.

The deployment is `tests.telephony.test_ivr_calls`' (Kamailio edge, a worker with the IVR flow,
the speech service, the agent's pjsua2 phone; support number 800 in Korean). What baresip heard
(its decoder's dump) is compared with the greeting the production flow renders; the keys are
checked in the worker's events and in the agent's screen pop. The second test puts a bad network
between baresip and the switch (`tests.harness.impair`: 5 % loss and 30 ms jitter both ways).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ivr.flow import default_flow
from ivr.prompts import render_prompt
from telephony.testing.audio import correlation_peak, recording
from tests.harness.baresip import Baresip, silence_wav
from tests.harness.impair import ImpairedLine, Impairment
from tests.harness.parts import require
from tests.telephony.test_ivr_calls import ACCOUNT, Scene, ivr_scene
from tests.telephony.test_switch_behind_edge import support_uri

pytestmark = pytest.mark.e2e

PIECE = 4000  # half a second of the prompt


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    require("baresip")
    with ivr_scene(tmp_path_factory.mktemp("baresip-ivr")) as built:
        yield built


@pytest.fixture
def caller(scene: Scene, tmp_path: Path) -> Iterator[Baresip]:
    phone = Baresip(tmp_path, "baresip", silence_wav(tmp_path / "silence.wav"))
    yield phone
    phone.stop()
    scene.free_agents()


def greeting(scene: Scene) -> np.ndarray:
    """The production flow's greeting for the number's locale, rendered as the worker does."""
    text = default_flow().prompt_text(
        "greeting", "ko", {"company": scene.edge.settings.company_name}
    )
    return recording(render_prompt(text, "ko", scene.root / "reference", 8000))


def heard_greeting(heard: np.ndarray, prompt: np.ndarray) -> tuple[float, float]:
    """The whole prompt's correlation peak in *heard*, and the median over its half-seconds."""
    peak, _ = correlation_peak(heard, prompt)
    pieces = [
        correlation_peak(heard, prompt[s : s + PIECE])[0]
        for s in range(0, len(prompt) - PIECE, PIECE)
    ]
    return peak, float(np.median(pieces))


def call_and_key(
    scene: Scene, caller: Baresip, extension: str, proxy: str
) -> tuple[str, dict[str, Any]]:
    """Register (via *proxy*), call the support number, hear the greeting out, key the account
    and '#'."""
    password = scene.edge.add_device(extension)
    caller.register(extension, password, scene.edge.settings.sip_domain, proxy, codecs="PCMU")
    caller.dial(support_uri(scene.edge))
    caller.wait_for("CALL_ESTABLISHED")
    call_id = scene.events.wait_for("answered", timeout=10)["call_id"]
    scene.wait("ivr.prompt", call_id, prompt="greeting", state="finished", timeout=30)
    caller.send_digits(ACCOUNT + "#")
    ringing = scene.at_agent(call_id)
    caller.hangup()
    caller.wait_for("CALL_CLOSED")
    scene.deployment.ended_call(call_id)
    scene.wait("ended", call_id)
    return call_id, ringing


def assert_keys_heard(scene: Scene, call_id: str, ringing: dict[str, Any]) -> None:
    keys = [e for e in scene.seen("dtmf", call_id) if e.get("role") == "customer"]
    assert "".join(e["digit"] for e in keys) == ACCOUNT + "#", keys
    assert {e["method"] for e in keys} == {"rfc4733"}
    data = ringing["call_data"]
    assert data["identified"] is True and data["account_number"] == ACCOUNT, data
    assert data["customer_id"] == scene.customer_id


def test_baresip_hears_the_greeting_and_its_keys_reach_the_agents_pop(
    scene: Scene, caller: Baresip
) -> None:
    call_id, ringing = call_and_key(scene, caller, "2001", scene.edge.uri_host)
    assert_keys_heard(scene, call_id, ringing)
    peak, pieces = heard_greeting(recording(caller.dump("dec")), greeting(scene))
    print(f"clean network: greeting peak {peak:.2f}, median piece {pieces:.2f}")
    assert peak > 0.45 and pieces > 0.8, (peak, pieces)  # silence or another prompt: ~0.1


def test_through_a_bad_network_the_greeting_is_recognisable_and_every_key_is_heard(
    scene: Scene, caller: Baresip
) -> None:
    bad = Impairment(loss=0.05, jitter_ms=30)
    with ImpairedLine(scene.edge.address, to_switch=bad, to_phone=bad, seed=16) as line:
        call_id, ringing = call_and_key(scene, caller, "2002", line.uri_host)
    assert_keys_heard(scene, call_id, ringing)
    for path in (line.to_switch, line.to_phone):  # the network really was bad, both ways
        assert path.counts.packets > 100, path.counts
        assert 0.02 < path.counts.dropped / path.counts.packets < 0.09, path.counts
    assert line.relayed_payload_types["to_switch"].get(101, 0) > 0, "keys went around the relay"
    peak, pieces = heard_greeting(recording(caller.dump("dec")), greeting(scene))
    print(f"5 % loss, 30 ms jitter: greeting peak {peak:.2f}, median piece {pieces:.2f}")
    assert pieces > 0.5, (peak, pieces)
