"""A live call survives every admin edit: a caller bridged to an agent through a real Kamailio
edge and worker while an admin, through the console's test client, adds and edits a trunk,
adds a number, edits a queue, saves a flow version and edits the agent's own device. After each
edit the caller's audio reaches the agent (a tone of its own per edit, found in the agent's
recording in order), the agent's reaches the caller to the end, and neither Kamailio nor the
worker restarted (same pids, the worker's row unchanged)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from ivr.flow import DEFAULT_FLOW_PATH
from store.models import Agent, Device, Role, Worker
from store.passwords import hash_password
from telephony.testing.audio import goertzel_power, recording, tone_share
from telephony.testing.deployment import SUPPORT, Deployment
from telephony.testing.edge import make_settings, running_edge
from telephony.testing.workers import wait_until
from tests.console.conftest import TEST_PASSWORD_COST, console_app, csrf_token

pytestmark = pytest.mark.e2e

#: The caller's tone before the edits and after each of the five; the agent's all along.
CALLER_TONES = (600.0, 800.0, 1100.0, 1300.0, 1500.0, 1700.0)
AGENT_TONE = 400.0
ADMIN_PASSWORD = "correct horse battery"
FLOW = DEFAULT_FLOW_PATH.read_text(encoding="utf-8").replace("name: default", "name: support")


def let_audio_flow(seconds: float) -> None:
    """Audio needs real time to pass; this is a duration of media, not a wait for an event."""
    time.sleep(seconds)


def _admin_token(client: Any) -> dict[str, str]:
    login = csrf_token(client.get("/login").text)
    signed = client.post("/login", data={"username": "root", "password": ADMIN_PASSWORD,
                                         "csrf_token": login})
    assert signed.status_code == 302, signed.text
    token = csrf_token(client.get(signed.location).text)
    page = client.post("/admin/tokens/", data={"label": "edits", "csrf_token": token})
    start = page.text.index('id="token-secret">') + len('id="token-secret">')
    return {"Authorization": f"Bearer {page.text[start:page.text.index('<', start)]}"}


def _first_block_with(samples: np.ndarray, freq: float, block: int = 400) -> int | None:
    """Index of the first 50 ms block whose energy is mostly at *freq*."""
    for index, start in enumerate(range(0, len(samples) - block, block)):
        chunk = samples[start : start + block]
        energy = float(np.dot(chunk, chunk))
        if energy > block * 100.0**2 and 2.0 * goertzel_power(chunk, freq) / energy > 0.5:
            return index
    return None


def test_a_bridged_call_keeps_its_media_through_every_admin_edit(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, heartbeat_seconds=0.5, stale_after_seconds=2.0)
    with running_edge(tmp_path, settings=settings) as edge:
        deployment = Deployment(tmp_path, db_url=settings.database_url)
        app = console_app(edge.db)
        try:
            with edge.db.session() as session:
                session.add(Agent(name="Root", username="root", role=Role.ADMIN,
                                  password_hash=hash_password(ADMIN_PASSWORD,
                                                              TEST_PASSWORD_COST)))
            password = edge.add_device("1001")
            deployment.add_agent("1001")
            agent = deployment.phone("agent1001", auto_answer=True)
            registered = agent.register(edge.uri_host, "1001", password,
                                        domain=settings.sip_domain)
            assert registered["code"] == 200, registered
            config = deployment.config(edge=edge.address, switch=edge.switch_address,
                                       sip_domain=settings.sip_domain)
            worker = deployment.worker(1, config)
            wait_until(lambda: edge.edge.destinations, 15, "the edge routes to the worker")
            events = worker.events()
            assert edge.edge.process is not None
            kamailio_pid, worker_pid = edge.edge.process.pid, worker.process.pid
            with edge.db.session() as session:
                row = session.scalar(select(Worker).where(Worker.name == worker.name))
                assert row is not None
                worker_started = (row.pid, row.started_at)

            caller = deployment.phone("caller")
            call = caller.call(f"sip:{SUPPORT}@{edge.uri_host}")
            caller.wait_for("state", call=call, state="confirmed", timeout=15)
            events.wait_for("bridged", timeout=20)
            agent_call = agent.wait_for("incoming", timeout=10)["call"]
            agent.wait_for("state", call=agent_call, state="confirmed", timeout=10)
            agent.tone(agent_call, AGENT_TONE)
            caller.tone(call, CALLER_TONES[0])
            let_audio_flow(0.8)

            admin = app.test_client()
            api = _admin_token(admin)

            def edit_trunk() -> None:
                made = admin.post("/api/admin/trunks/", headers=api, json={
                    "name": "carrier", "registrar": "127.0.0.1:9", "username": "390200000000",
                    "secret": "from-the-carrier", "realm": "carrier.test", "priority": 20})
                assert made.status_code == 201, made.text
                moved = admin.patch(f"/api/admin/trunks/{made.json['id']}", headers=api,
                                    json={"priority": 5})
                assert moved.status_code == 200, moved.text
                wait_until(lambda: [t.uuid for t in edge.edge.trunk_destinations]
                           == ["trunk-carrier"], 10, "the edge's outbound trunks")

            def edit_number() -> None:
                made = admin.post("/api/admin/numbers/", headers=api, json={
                    "number": "801", "name": "Sales", "locale": "en", "queue": "support"})
                assert made.status_code == 201, made.text
                wait_until(lambda: "801" in edge.edge.numbers, 10, "the edge serves 801")

            def edit_queue() -> None:
                made = admin.post("/api/admin/queues/", headers=api, json={"name": "support"})
                assert made.status_code == 201, made.text
                saved = admin.patch(f"/api/admin/queues/{made.json['id']}", headers=api, json={
                    "ring_timeout_seconds": 25, "callback_offer": False})
                assert saved.status_code == 200, saved.text

            def edit_flow() -> None:
                saved = admin.post("/api/admin/flows/", headers=api,
                                   json={"text": FLOW, "note": "during a call"})
                assert saved.status_code == 201, saved.text

            def edit_device() -> None:
                with edge.db.session() as session:
                    device_id = session.scalar(select(Device.id).where(Device.extension == "1001"))
                saved = admin.patch(f"/api/admin/devices/{device_id}", headers=api,
                                    json={"label": "Agent 1001's desk"})
                assert saved.status_code == 200, saved.text

            edits = (edit_trunk, edit_number, edit_queue, edit_flow, edit_device)
            for edit, tone in zip(edits, CALLER_TONES[1:], strict=True):
                edit()
                caller.tone(call, tone)
                let_audio_flow(0.8)
                assert caller.seen("state", call=call, state="disconnected") == [], edit
                assert agent.seen("state", call=agent_call, state="disconnected") == [], edit

            assert edge.edge.running and edge.edge.process.pid == kamailio_pid
            assert worker.process.poll() is None and worker.process.pid == worker_pid
            with edge.db.session() as session:
                row = session.scalar(select(Worker).where(Worker.name == worker.name))
                assert row is not None and (row.pid, row.started_at) == worker_started
            actions = [e["action"] for e in admin.get("/api/admin/audit/?limit=20",
                                                      headers=api).json]
            for action in ("trunk.create", "trunk.update", "number.create", "queue.update",
                           "flow.save", "device.update"):
                assert action in actions, (action, actions)

            caller.hangup(call)
            agent.wait_for("state", call=agent_call, state="disconnected", timeout=10)
            heard_by_agent = recording(agent.wait_for("recorded", call=agent_call)["path"])
            heard_by_caller = recording(caller.wait_for("recorded", call=call)["path"])
            blocks = [_first_block_with(heard_by_agent, tone) for tone in CALLER_TONES]
            assert None not in blocks, dict(zip(CALLER_TONES, blocks, strict=True))
            assert blocks == sorted(blocks), blocks  # each edit's tone after the one before
            assert tone_share(heard_by_caller[-4000:], AGENT_TONE) > 0.5  # to the last edit
        finally:
            app.extensions["centralino.worker_feed"].stop()
            app.extensions["centralino.db"].dispose()
            deployment.close()
