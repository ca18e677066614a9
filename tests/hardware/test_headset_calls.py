"""`centralino headset` for real: registered at a real Kamailio edge as an agent's device, on a
clocked JACK dummy sound card, called by a real pjsua2 test phone. What the caller says comes
out of the earpiece and what the microphone hears reaches the caller (tone detection both
ways); mute silences the caller's side; simulated hook-switch reports of a captured Plantronics
descriptor answer and hang up, and its lamps follow; the buffers hold their depth.

The call lasts about 20 s of real time: latency growth over an hour and ten minutes of drift
is shown in virtual time by test_drift.py.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from hardware.headset.bridge import MAX_LATENESS_MS, TARGET_MS, TRIM_ABOVE_MS
from store.models import DeviceKind
from telephony.testing.audio import recording, tone_share
from telephony.testing.edge import EdgeUnderTest, running_edge
from telephony.testing.phones import Phone
from telephony.testing.ports import rtp_base
from tests.hardware.clocks import dominant_hz
from tests.hardware.headset_process import HeadsetProcess
from tests.hardware.jack import RATE, JackServer, Room, jack_env, jack_server

pytestmark = pytest.mark.e2e

PLANTRONICS = Path(__file__).parent / "data" / "hid" / "plantronics_blackwire_3220_telephony.hex"
HOOK_OFF, HOOK_ON = "hid 0802", "hid 0800"  # report 8: bit 1 is the hook switch


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[EdgeUnderTest]:
    with running_edge(tmp_path) as running:
        yield running


@pytest.fixture
def sound() -> Iterator[JackServer]:
    with jack_server() as server:
        yield server


def start_headset(edge: EdgeUnderTest, tmp_path: Path, sound: str | None, password: str,
                  *extra: str, extension: str = "1001") -> HeadsetProcess:
    secret = tmp_path / f"password-{extension}"
    secret.write_text(password + "\n")
    secret.chmod(0o600)
    env = jack_env(sound) if sound else {**os.environ, "JACK_DEFAULT_SERVER": "no-such-server"}
    argv = ["--extension", extension, "--server", edge.uri_host, "--domain",
            edge.settings.sip_domain, "--password-file", str(secret), "--bind", "127.0.0.1",
            "--rtp-port", str(rtp_base(100)), *extra]
    if sound and "--device" not in extra:
        argv += ["--device", "system"]  # PortAudio's JACK device (ALSA's "jack" pcm is another)
    return HeadsetProcess(argv, env, tmp_path / f"headset-{extension}.log")


def window(samples: np.ndarray, start: float, end: float, rate: int = 8000) -> np.ndarray:
    return samples[int(start * rate) : int(end * rate)]


def level_dbfs(samples: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0
    return 20 * np.log10(max(rms, 1e-3) * np.sqrt(2) / 32768)


def test_a_caller_reaches_the_headset_both_ways_mute_and_hook_switch_work(
    edge: EdgeUnderTest, sound: JackServer, tmp_path: Path
) -> None:
    password = edge.add_device("1001", kind=DeviceKind.HEADSET)
    headset = start_headset(edge, tmp_path, sound.name, password, "--hid-replay",
                            str(PLANTRONICS))
    room: Room | None = None
    caller: Phone | None = None
    try:
        registered = headset.wait_for("registered", timeout=20)
        assert registered["device"] == "system" and registered["extension"] == "1001"
        room = Room(sound.name, tone_hz=1000.0)
        room.wire()

        caller = Phone.start("caller2000", record_dir=tmp_path)
        caller_password = edge.add_device("2000")
        assert caller.register(edge.uri_host, "2000", caller_password,
                               domain=edge.settings.sip_domain)["code"] == 200
        call = caller.call(f"sip:1001@{edge.uri_host}")
        assert not headset.wait_for("incoming", timeout=10)["intercom"]
        headset.wait_for("lamps", report="1801")  # the ring lamp is lit
        caller.wait_for("state", call=call, state="early", timeout=5)

        headset.send(HOOK_OFF)  # the agent lifts the boom: the hook switch answers
        assert headset.wait_for("button")["button"] == "hook_off"
        answered = headset.wait_for("answered", timeout=10)
        # G.711, though the caller offers pjmedia's speex/16000 first: the speex decoder turned
        # the room's tone into full-scale noise at the caller on a loaded machine
        assert headset.wait_for("media", active=True)["codec"] == "PCMU/8000"
        headset.wait_for("lamps", report="1701")  # off-hook lamp
        caller.wait_for("state", call=call, state="confirmed", timeout=5)
        media_at = caller.wait_for("media", call=call, timeout=5)["t"]
        caller.tone(call, 440.0)

        talk = answered["t"]
        room_seconds = 4.0
        time.sleep(room_seconds)  # audio needs real time to pass (a duration, not a wait)
        heard = room.heard_between(talk + 1.5, talk + room_seconds)
        assert heard.size > RATE  # the earpiece played
        assert dominant_hz(heard[-RATE:], RATE) == pytest.approx(440, abs=3)

        headset.send("mute")
        muted_at = headset.wait_for("muted", muted=True)["t"]
        headset.wait_for("lamps", report="0901")  # mute lamp
        time.sleep(2.0)
        headset.send("unmute")
        unmuted_at = headset.wait_for("muted", muted=False)["t"]
        time.sleep(1.5)

        states = [e for e in headset.seen("state") if e["call"] == "in_call"]
        headset.send(HOOK_ON)  # boom down: the hook switch hangs up
        assert headset.wait_for("button")["button"] == "hook_on"
        headset.wait_for("ended", timeout=10)
        caller.wait_for("state", call=call, state="disconnected", timeout=10)
        headset.wait_for("lamps", report="1700")

        said = recording(caller.wait_for("recorded", call=call)["path"])
        speaking = window(said, talk - media_at + 1.5, muted_at - media_at - 0.2)
        silenced = window(said, muted_at - media_at + 0.4, unmuted_at - media_at - 0.2)
        again = window(said, unmuted_at - media_at + 0.6, unmuted_at - media_at + 1.4)
        assert tone_share(speaking, 1000.0) > 0.8  # the microphone reached the caller
        assert level_dbfs(speaking) > -20
        assert level_dbfs(silenced) < -60  # mute: nothing of the room
        assert tone_share(again, 1000.0) > 0.8

        settled = [s for s in states if s["t"] > talk + 2.0]
        assert len(settled) >= 3
        depths = [(s["playback_ms"], s["capture_ms"]) for s in settled]
        flat = [d for pair in depths for d in pair]
        # held near the target, not growing: 40 ms plus the guard a host with late sound-card
        # periods earns (at most MAX_LATENESS_MS); each depth is its buffer at its lowest (the
        # margin left for a late thread), which a loaded machine pulls down for a while. The
        # depths are smoothed over SMOOTHING_SECONDS: a late period's burst early in the call
        # shows for a few seconds (a backlog above TRIM_ABOVE_MS is cut after a second), so
        # every reading stays under the trim bound and the call ends near the target.
        last = settled[-1]
        target = last["target_ms"]
        assert TARGET_MS <= target <= TARGET_MS + MAX_LATENESS_MS, target
        assert max(flat) < target + TRIM_ABOVE_MS + 20 and min(flat) > 10, (target, depths)
        assert max(depths[-1]) < target + 40, (target, depths)
        # no gap once the guard has what it needs: a reading may add underruns only when the
        # lateness guard grew over it (it learns from the late period that caused them) or is
        # already at its cap (a host later than MAX_LATENESS_MS, which it is not built for)
        cap = TARGET_MS + MAX_LATENESS_MS
        unexcused = [
            (now["t"] - talk, before["target_ms"], now["target_ms"], now["underruns"])
            for before, now in pairwise(settled)
            if now["underruns"] > before["underruns"]
            and now["target_ms"] <= before["target_ms"] and before["target_ms"] < cap]
        assert not unexcused, (unexcused, [
            (s["t"] - talk, s["target_ms"], s["playback_underruns"], s["capture_underruns"])
            for s in states])
        assert settled[-1]["spoken_dbfs"] > -30 and settled[-1]["heard_dbfs"] > -30
    finally:
        if caller is not None:
            caller.stop()
        if room is not None:
            room.close()
        headset.stop()


def test_an_intercom_call_is_answered_at_once_and_others_ring(
    edge: EdgeUnderTest, sound: JackServer, tmp_path: Path
) -> None:
    password = edge.add_device("1001", kind=DeviceKind.HEADSET)
    headset = start_headset(edge, tmp_path, sound.name, password, "--no-hid")
    caller = Phone.start("caller2001", record_dir=None)
    try:
        headset.wait_for("registered", timeout=20)
        caller_password = edge.add_device("2001")
        caller.register(edge.uri_host, "2001", caller_password, domain=edge.settings.sip_domain)
        # Intercom hints count only from the switch: the edge strips them from anyone else, so
        # the intercom call enters through the edge's switch socket, as a worker's would.
        switch_host = "{}:{}".format(*edge.switch_address)
        intercom = {"Call-Info": f"<sip:{switch_host}>;answer-after=0"}
        call = caller.call(f"sip:1001@{switch_host}", headers=intercom)
        assert headset.wait_for("incoming", timeout=10)["intercom"]
        headset.wait_for("answered", timeout=5)  # nobody pressed anything
        caller.wait_for("state", call=call, state="confirmed", timeout=5)
        caller.hangup(call)
        headset.wait_for("ended", timeout=10)

        plain = caller.call(f"sip:1001@{edge.uri_host}")
        assert not headset.wait_for("incoming", timeout=10)["intercom"]
        caller.wait_for("state", call=plain, state="early", timeout=5)
        headset.send("answer")  # the agent's command (what a console "answer" would do)
        headset.wait_for("answered", timeout=5)
        caller.wait_for("state", call=plain, state="confirmed", timeout=5)
        headset.send("hangup")
        caller.wait_for("state", call=plain, state="disconnected", timeout=10)
    finally:
        caller.stop()
        headset.stop()


def test_refused_credentials_and_missing_devices_exit_with_a_clear_error(
    edge: EdgeUnderTest, sound: JackServer, tmp_path: Path
) -> None:
    edge.add_device("1001", kind=DeviceKind.HEADSET)
    wrong = start_headset(edge, tmp_path, sound.name, "not-the-password", "--no-hid")
    assert wrong.exit_code() == 3
    assert "refused extension 1001" in wrong.log_path.read_text()

    unknown = start_headset(edge, tmp_path, sound.name, "x", "--no-hid", "--device", "Jabra")
    assert unknown.exit_code() == 5
    text = unknown.log_path.read_text()
    assert "no sound device named 'Jabra'" in text and "system [JACK" in text

    sound.stop()  # no sound server, and this machine has no sound card: no device at all
    nothing = start_headset(edge, tmp_path, None, "x", "--no-hid")
    assert nothing.exit_code() == 5
    assert "no sound device" in nothing.log_path.read_text()


def test_a_device_that_disappears_mid_call_resumes_on_the_default_and_the_call_stays_up(
    edge: EdgeUnderTest, sound: JackServer, tmp_path: Path
) -> None:
    password = edge.add_device("1001", kind=DeviceKind.HEADSET)
    headset = start_headset(edge, tmp_path, sound.name, password, "--no-hid", "--auto-answer")
    caller = Phone.start("caller2002", record_dir=tmp_path)
    room: Room | None = None
    try:
        headset.wait_for("registered", timeout=20)
        caller_password = edge.add_device("2002")
        caller.register(edge.uri_host, "2002", caller_password, domain=edge.settings.sip_domain)
        call = caller.call(f"sip:1001@{edge.uri_host}")
        headset.wait_for("answered", timeout=10)
        assert headset.wait_for("media", active=True)["codec"] == "PCMU/8000"
        caller.wait_for("state", call=call, state="confirmed", timeout=5)
        caller.tone(call, 440.0)

        sound.stop()  # the sound card goes away mid-call (as an unplugged USB headset)
        lost = headset.wait_for("device_lost", timeout=10)
        assert lost["device"] == "system"
        sound.start()  # a default device is there again (same server name, new card)
        resumed = headset.wait_for("device_resumed", timeout=20)
        room = Room(sound.name, tone_hz=1000.0)
        room.wire()
        time.sleep(3.0)  # audio needs real time to pass
        now = time.monotonic()
        heard = room.heard_between(now - 1.5, now)
        assert heard.size and dominant_hz(heard, RATE) == pytest.approx(440, abs=3)
        assert caller.seen("state", call=call, state="disconnected") == []
        assert headset.seen("ended") == []
        caller.hangup(call)
        headset.wait_for("ended", timeout=10)
        said = recording(caller.wait_for("recorded", call=call)["path"])
        media_at = caller.seen("media")[0]["t"]
        after = window(said, now - 1.5 - media_at, now - media_at)
        assert tone_share(after, 1000.0) > 0.8  # the new device's microphone reaches the caller
        assert resumed["t"] > lost["t"]
        log = headset.log_path.read_text()
        assert "sound device system stopped" in log or "sound device system went silent" in log
    finally:
        caller.stop()
        if room is not None:
            room.close()
        headset.stop()
