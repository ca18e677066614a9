"""A recorded greeting uploaded through the admin API plays to the next real caller: the Kamailio
edge, a switch worker running the IVR (speech recognition off: nothing is said), a test phone
that records what it hears, correlated with the stored recording and not with the TTS."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from console.admin.services import tokens
from console.admin.services.base import Actor
from ivr.flow import DEFAULT_FLOW_PATH, load_flow
from ivr.prompts import render_prompt
from store.models import Agent, Flow, Role
from telephony.testing.audio import correlation_peak, recording
from telephony.testing.deployment import SUPPORT, Deployment
from telephony.testing.edge import EdgeUnderTest, make_settings, running_edge
from telephony.testing.workers import WorkerProcess, wait_until
from tests.console.conftest import console_app
from tests.telephony.test_switch_behind_edge import kamailio_has, support_uri

pytestmark = pytest.mark.e2e

SUPPORT_FLOW = DEFAULT_FLOW_PATH.read_text(encoding="utf-8").replace("name: default",
                                                                      "name: support")


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[tuple[EdgeUnderTest, Deployment, WorkerProcess]]:
    settings = make_settings(tmp_path, heartbeat_seconds=0.5, stale_after_seconds=5.0)
    with running_edge(tmp_path, settings=settings) as edge:
        deployment = Deployment(tmp_path, db_url=edge.settings.database_url)
        try:
            config = deployment.config(
                edge=edge.address, switch=edge.switch_address, sip_domain=edge.settings.sip_domain,
                heartbeat_seconds=0.5, stale_after_seconds=5.0,
                flow="telephony.callflow.ivr:IvrFlows", extra={"speech": False},
            )
            worker = deployment.worker(1, config)
            want = [f"sip:{worker.sip_uri_host}"]
            wait_until(lambda: kamailio_has(edge, want), 12, "Kamailio has the worker", 0.5)
            yield edge, deployment, worker
        finally:
            deployment.close()


def admin_token(deployment: Deployment) -> str:
    with deployment.db.session() as session:
        admin = Agent(name="Ada Admin", username="ada", password_hash="x", role=Role.ADMIN)
        session.add(admin)
        session.flush()
        return tokens.create(session, Actor(admin.id, "ada"), {"label": "call test"}).secret


def test_the_uploaded_greeting_plays_to_the_next_caller_instead_of_the_tts(
    scene: tuple[EdgeUnderTest, Deployment, WorkerProcess], tmp_path: Path
) -> None:
    edge, deployment, worker = scene
    app = console_app(deployment.db, VAR_DIR=str(tmp_path))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {admin_token(deployment)}"}
    saved = client.post("/api/admin/flows/", headers=headers, json={"text": SUPPORT_FLOW})
    assert saved.status_code == 201, saved.text
    flow_id = saved.json["id"]
    assigned = client.post(f"/api/admin/flows/{flow_id}/assign", headers=headers,
                           json={"number": SUPPORT})
    assert assigned.status_code == 200, assigned.text
    studio = tmp_path / "studio-greeting.wav"  # 44.1 kHz stereo, a sweep unlike any speech
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", "-b", "16", str(studio),
                    "synth", "2.5", "sine", "300-1800", "vol", "0.5"],
                   check=True, capture_output=True)  # fmt: skip
    uploaded = client.post(f"/api/admin/flows/{flow_id}/recordings", headers=headers,
                           data={"prompt": "greeting", "locale": "en",
                                 "file": (studio.open("rb"), studio.name)},
                           content_type="multipart/form-data")
    assert uploaded.status_code == 201, uploaded.text
    stored = tmp_path / "recordings" / "support" / uploaded.json["recording"]
    app.extensions["centralino.worker_feed"].stop()
    app.extensions["centralino.db"].dispose()

    events = worker.events()
    caller = deployment.phone("caller")
    call = caller.call(support_uri(edge))
    caller.wait_for("state", call=call, state="confirmed", timeout=15)
    call_id = events.wait_for("answered", timeout=10)["call_id"]
    events.wait_for("ivr.prompt", timeout=20, call_id=call_id, prompt="greeting",
                    state="finished")
    caller.hangup(call)
    caller.wait_for("state", call=call, state="disconnected")
    deployment.ended_call(call_id)
    events.wait_for("ended", call_id=call_id)

    heard = recording(caller.wait_for("recorded", call=call)["path"])
    played = recording(stored)
    peak, lag = correlation_peak(heard, played)
    pieces = [correlation_peak(heard, played[s : s + 4000])[0]
              for s in range(0, len(played) - 4000, 4000)]
    # A frame the jitter buffer adds or drops shifts the rest of the sweep, which caps the
    # whole-prompt figure (about 0.4 then, 0.95 without); each half second must match clearly.
    assert peak > 0.3, f"uploaded greeting correlation {peak:.2f} at lag {lag}"  # TTS: ~0.05
    assert float(np.median(pieces)) > 0.8, f"uploaded greeting pieces correlate {pieces}"
    with deployment.db.session() as session:
        document = session.scalar(select(Flow.document).where(Flow.id == flow_id))
    assert document is not None
    assert document["prompts"]["greeting"]["en"]["recording"] == stored.name
    words = load_flow(SUPPORT_FLOW).prompt_text("greeting", "en",
                                                {"company": edge.settings.company_name})
    spoken = recording(render_prompt(words, "en", tmp_path / "prompts", 8000))
    tts_peak, _ = correlation_peak(heard, spoken)
    assert tts_peak < 0.3, f"the caller heard the TTS greeting too ({tts_peak:.2f})"
