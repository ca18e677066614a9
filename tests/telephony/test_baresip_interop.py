"""Calls from and to baresip 1.0.0 (Debian), a phone no one here wrote, through the edge.

baresip calls the support number and talks with the agent's pjsua2 phone, and is the agent's
phone for a pjsua2 caller; each with PCMU and PCMA forced in baresip's offer. The codec is
checked on the wire (payload types of baresip's RTP both ways) and the audio by tones both
ways. Hold and resume from baresip keep the call, and audio flows again both ways after it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from telephony.testing.audio import recording, tone_share
from telephony.testing.deployment import Deployment
from telephony.testing.edge import EdgeUnderTest, make_settings, running_edge
from telephony.testing.workers import EventStream
from tests.harness.baresip import Baresip, RtpWatch, tone_wav
from tests.harness.parts import require
from tests.telephony.test_switch_behind_edge import registered_agent, start_workers, support_uri

pytestmark = pytest.mark.e2e

PAYLOAD_TYPES = {"PCMU": 0, "PCMA": 8}
TELEPHONE_EVENT = 101
BARESIP_HZ, OTHER_HZ = 1000, 1500


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[EdgeUnderTest]:
    require("baresip")
    settings = make_settings(tmp_path, heartbeat_seconds=0.5, stale_after_seconds=2.0)
    with running_edge(tmp_path, settings=settings) as running:
        yield running


@pytest.fixture
def baresips(tmp_path: Path) -> Iterator[list[Baresip]]:
    started: list[Baresip] = []
    yield started
    for phone in started:
        phone.stop()


def start_baresip(
    baresips: list[Baresip],
    root: Path,
    edge: EdgeUnderTest,
    extension: str,
    codec: str,
    freq: float = BARESIP_HZ,
) -> Baresip:
    """A baresip registered with the edge as *extension*, offering *codec* alone."""
    phone = Baresip(root, f"baresip{extension}", tone_wav(root / f"tone-{freq}.wav", freq))
    baresips.append(phone)
    password = edge.add_device(extension)
    phone.register(extension, password, edge.settings.sip_domain, edge.uri_host, codecs=codec)
    return phone


def let_audio_flow(seconds: float) -> None:
    """Audio needs real time to pass; this is a duration of media, not a wait for an event."""
    time.sleep(seconds)


def assert_codec_on_the_wire(watch: RtpWatch, codec: str) -> None:
    want = PAYLOAD_TYPES[codec]
    for direction, counts in (("sent", watch.sent), ("received", watch.received)):
        audio = {pt: n for pt, n in counts.items() if pt != TELEPHONE_EVENT}
        assert set(audio) == {want} and audio[want] > 25, f"baresip {direction} {counts}"


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
def test_baresip_calls_support_and_talks_with_the_agent(
    edge: EdgeUnderTest,
    deployment: Deployment,
    baresips: list[Baresip],
    tmp_path: Path,
    codec: str,
) -> None:
    agent = registered_agent(deployment, edge, "1001")
    (worker,) = start_workers(deployment, edge, 1)
    events = worker.events()
    caller = start_baresip(baresips, tmp_path, edge, "2001", codec)
    watch = RtpWatch(caller.rtp_low)
    try:
        caller.dial(support_uri(edge))
        caller.wait_for("CALL_ESTABLISHED")
        call_id = events.wait_for("agent.ringing", timeout=15)["call_id"]
        events.wait_for("bridged", timeout=10)
        agent_call = agent.wait_for("incoming")["call"]
        agent.wait_for("state", call=agent_call, state="confirmed")
        agent.tone(agent_call, OTHER_HZ)
        let_audio_flow(1.0)
        caller.hangup()
        caller.wait_for("CALL_CLOSED")
        agent.wait_for("state", call=agent_call, state="disconnected")
    finally:
        watch.stop()
    assert_codec_on_the_wire(watch, codec)
    heard_by_agent = recording(agent.wait_for("recorded", call=agent_call)["path"])
    assert tone_share(heard_by_agent, BARESIP_HZ) > 0.5
    assert tone_share(recording(caller.dump("dec")), OTHER_HZ) > 0.5
    assert deployment.ended_call(call_id).outcome == "completed"


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
def test_baresip_is_the_agents_phone_for_a_caller(
    edge: EdgeUnderTest,
    deployment: Deployment,
    baresips: list[Baresip],
    tmp_path: Path,
    codec: str,
) -> None:
    agent = start_baresip(baresips, tmp_path, edge, "1001", codec)
    deployment.add_agent("1001")
    (worker,) = start_workers(deployment, edge, 1)
    events = worker.events()
    watch = RtpWatch(agent.rtp_low)
    caller = deployment.phone("caller")
    try:
        call = caller.call(support_uri(edge))
        caller.wait_for("state", call=call, state="confirmed")
        call_id = events.wait_for("agent.ringing", timeout=15)["call_id"]
        agent.wait_for("CALL_INCOMING")
        agent.accept()
        agent.wait_for("CALL_ESTABLISHED")
        events.wait_for("bridged", timeout=10)
        caller.tone(call, OTHER_HZ)
        let_audio_flow(1.0)
        caller.hangup(call)
        agent.wait_for("CALL_CLOSED")
    finally:
        watch.stop()
    assert_codec_on_the_wire(watch, codec)
    heard_by_caller = recording(caller.wait_for("recorded", call=call)["path"])
    assert tone_share(heard_by_caller, BARESIP_HZ) > 0.5
    assert tone_share(recording(agent.dump("dec")), OTHER_HZ) > 0.5
    assert deployment.ended_call(call_id).outcome == "completed"


def test_hold_and_resume_from_baresip_keep_the_call_and_audio_comes_back(
    edge: EdgeUnderTest,
    deployment: Deployment,
    baresips: list[Baresip],
    tmp_path: Path,
) -> None:
    agent = registered_agent(deployment, edge, "1001")
    (worker,) = start_workers(deployment, edge, 1)
    events: EventStream = worker.events()
    caller = start_baresip(baresips, tmp_path, edge, "2001", "PCMU")
    watch = RtpWatch(caller.rtp_low)
    caller.dial(support_uri(edge))
    caller.wait_for("CALL_ESTABLISHED")
    call_id = events.wait_for("bridged", timeout=20)["call_id"]
    agent_call = agent.wait_for("incoming")["call"]
    agent.wait_for("state", call=agent_call, state="confirmed")
    agent.tone(agent_call, OTHER_HZ)
    let_audio_flow(0.6)

    caller.hold()
    let_audio_flow(1.0)  # a second on hold
    assert not [e for e in events.events if e["type"] == "ended"], "hold ended the call"
    assert deployment.call(call_id).ended_at is None
    # New tones from both sides, only after the resume: hearing them proves audio is back.
    agent.tone(agent_call, 2000)
    caller.resume()
    resumed = time.monotonic()
    caller.switch_source(tone_wav(tmp_path / "tone-2500.wav", 2500))
    let_audio_flow(1.2)
    caller.hangup()
    caller.wait_for("CALL_CLOSED")
    agent.wait_for("state", call=agent_call, state="disconnected")
    watch.stop()

    assert not caller.seen("CALL_CLOSED")[:-1], "the call was closed before the hang-up"
    heard_by_agent = recording(agent.wait_for("recorded", call=agent_call)["path"])
    assert tone_share(heard_by_agent, 2500) > 0.5, "the agent hears nothing after the resume"
    # The switch's RTP to baresip after the resume, decoded from the wire: baresip 1.0.0's own
    # decoder stays silent after it resumes, with the switch and with a bare pjsua2 phone alike
    # (the stream goes on with the next sequence number and the same SSRC), so its dump cannot
    # say whether audio came back.
    sent_to_caller = watch.audio_received(after=resumed, payload_type=PAYLOAD_TYPES["PCMU"])
    assert len(sent_to_caller) > 8000 * 0.8, "the switch sends nothing after the resume"
    assert tone_share(sent_to_caller, 2000) > 0.5, "the caller is sent silence after the resume"
    before_hold = recording(caller.dump("dec"))
    assert tone_share(before_hold, OTHER_HZ) > 0.5  # baresip did decode the call before
    assert deployment.ended_call(call_id).outcome == "completed"
