"""The supervisor's floor: the snapshot read from the database, acknowledging alerts, watched
phrases, the agent's raised hand, and who may reach any of it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from console.supervisor import floor
from store.models import Agent, AgentState, Call, CallState, Customer, QueueEntry, utcnow
from store.supervision import AlertRow, TranscriptLine, WatchedPhrase
from tests.console.conftest import Deployment, sign_in

SUPERVISOR_GETS = [
    "/supervisor/",
    "/supervisor/api/floor",
    "/supervisor/floor/stream",
    "/supervisor/events",
    "/supervisor/api/calls",
    "/supervisor/charts",
]
SUPERVISOR_POSTS = [
    "/supervisor/api/alerts/1/ack",
    "/supervisor/api/phrases",
    "/supervisor/api/phrases/1/delete",
    "/supervisor/thresholds",
    "/supervisor/thresholds/presence",
]
EDITOR_PATHS = ["/supervisor/phrases", "/supervisor/api/phrases", "/supervisor/thresholds"]


def person(deployment: Deployment, username: str) -> Agent:
    with deployment.db.session() as session:
        agent = session.scalars(select(Agent).where(Agent.username == username)).one()
        session.expunge(agent)
        return agent


def live_call(deployment: Deployment, call_id: str = "c-1", caller: str = "+3902") -> None:
    now = utcnow()
    alice = person(deployment, "alice")
    with deployment.db.session() as session:
        customer = session.scalars(select(Customer)).first()
        assert customer is not None
        session.add(
            Call(
                id=call_id,
                caller=caller,
                dialled="800",
                state=CallState.BRIDGED,
                customer_id=customer.id,
                agent_id=alice.id,
                started_at=now - timedelta(seconds=75),
                bridged_at=now - timedelta(seconds=40),
                call_data={"queue": "support"},
            )
        )
        session.query(Agent).filter_by(id=alice.id).update(
            {"state": AgentState.ON_CALL, "claimed_by_call": call_id}
        )
        for n, (speaker, text, mood) in enumerate(
            [
                ("caller", "hello", "neutral"),
                ("agent", "how can I help", None),
                ("caller", "I want to cancel", "neutral"),
                ("caller", "this is terrible", "upset"),
            ]
        ):
            session.add(
                TranscriptLine(
                    call_id=call_id,
                    speaker=speaker,
                    text=text,
                    mood=mood,
                    at=now - timedelta(seconds=30 - n),
                )
            )
        session.add(
            AlertRow(
                call_id=call_id,
                queue="support",
                kind="topic",
                reason="caller said “cancel”",
                words=["cancel"],
                detail={},
                agent_id=alice.id,
            )
        )
        for minutes, state, waited in [
            (50, "connected", 5),
            (40, "connected", 60),
            (30, "abandoned", 30),
            (1, "waiting", 0),
        ]:
            enqueued = now - timedelta(minutes=minutes)
            session.add(
                QueueEntry(
                    call_id=f"q-{minutes}",
                    queue="support",
                    state=state,
                    enqueued_at=enqueued,
                    updated_at=enqueued + timedelta(seconds=waited),
                )
            )
        session.add(QueueEntry(call_id="cb", queue="support", kind="callback", state="waiting"))


def test_the_snapshot_reads_queues_agents_calls_and_alerts_from_the_store(
    deployment: Deployment,
) -> None:
    live_call(deployment)
    with deployment.db.session() as session:
        shot = floor.snapshot(session)
    (support,) = [q for q in shot["queues"] if q["name"] == "support"]
    assert support["waiting"] == 1 and 55 <= support["longest_wait_seconds"] <= 70
    assert support["service_level"] == 25 and support["callbacks_pending"] == 1
    (alice,) = [a for a in shot["agents"] if a["name"].startswith("Alice")] or [None]
    assert alice is not None
    assert alice["state"] == "on_call" and alice["current_call"] == "c-1"
    assert alice["calls_today"] == 1
    (call,) = shot["calls"]
    assert call["caller"] == "+3902" and call["queue"] == "support" and call["customer"]
    assert call["mood"] == "upset" and 74 <= call["duration_seconds"] <= 80
    assert [line["text"] for line in call["lines"]] == [
        "how can I help",
        "I want to cancel",
        "this is terrible",
    ]
    assert [(a["kind"], a["words"], a["acknowledged"]) for a in shot["alerts"]] == [
        ("topic", ["cancel"], False)
    ]


def test_a_supervisor_acknowledges_an_alert_once(deployment: Deployment) -> None:
    live_call(deployment)
    client = deployment.app.test_client()
    token = sign_in(client, deployment, "sara")
    alert_id = client.get("/supervisor/api/floor").json["alerts"][0]["id"]
    url = f"/supervisor/api/alerts/{alert_id}/ack"
    assert client.post(url, json={}).status_code == 400  # no CSRF token
    headers = {"X-CSRFToken": token}
    assert client.post(url, json={}, headers=headers).status_code == 200
    assert client.post(url, json={}, headers=headers).status_code == 404
    with deployment.db.session() as session:
        alert = session.get(AlertRow, alert_id)
        assert alert is not None and alert.acknowledged_by == person(deployment, "sara").id
    assert client.get("/supervisor/api/floor").json["alerts"][0]["acknowledged"] is True


@pytest.mark.parametrize("username", ["sara", "admin"])
def test_supervisors_and_admins_edit_the_watched_phrases(
    deployment: Deployment, username: str
) -> None:
    client = deployment.app.test_client()
    headers = {"X-CSRFToken": sign_in(client, deployment, username)}
    assert "해지" in [
        p["phrase"] for p in client.get("/supervisor/api/phrases").json["phrases"]["ko"]
    ]
    made = client.post(
        "/supervisor/api/phrases",
        json={"locale": "en", "phrase": "  my  manager "},
        headers=headers,
    )
    assert made.status_code == 201
    with deployment.db.session() as session:
        row = session.get(WatchedPhrase, made.json["id"])
        assert row is not None and (row.locale, row.phrase) == ("en", "my manager")
    for bad in [
        {"locale": "english", "phrase": "x"},
        {"locale": "en", "phrase": " "},
        {"locale": "en", "phrase": "x" * 121},
        {"locale": "en"},
    ]:
        assert client.post("/supervisor/api/phrases", json=bad, headers=headers).status_code == 400
    page = client.get("/supervisor/phrases")
    assert page.status_code == 200 and "my manager" in page.text
    gone = f"/supervisor/api/phrases/{made.json['id']}/delete"
    assert client.post(gone, json={}, headers=headers).status_code == 200
    assert client.post(gone, json={}, headers=headers).status_code == 404


def test_an_agent_gets_403_on_every_supervisor_page_stream_and_action(
    deployment: Deployment,
) -> None:
    live_call(deployment)
    client = deployment.app.test_client()
    headers = {"X-CSRFToken": sign_in(client, deployment, "alice")}
    for path in SUPERVISOR_GETS + EDITOR_PATHS:
        assert client.get(path).status_code == 403, path
    for path in SUPERVISOR_POSTS:
        assert (
            client.post(path, json={"locale": "en", "phrase": "x"}, headers=headers).status_code
            == 403
        ), path
    admin = deployment.app.test_client()
    sign_in(admin, deployment, "admin")
    for path in SUPERVISOR_GETS:  # admins edit phrases but do not watch the floor
        assert admin.get(path).status_code == 403, path
    with deployment.db.session() as session:
        assert session.scalars(select(AlertRow.acknowledged_at)).all() == [None]


def test_an_agent_raises_a_hand_and_the_floor_shows_it(deployment: Deployment) -> None:
    live_call(deployment)
    agent = deployment.app.test_client()
    headers = {"X-CSRFToken": sign_in(agent, deployment, "alice")}
    raised = agent.post(
        "/agent/api/raise-hand", json={"call_id": "c-1", "note": "refund?"}, headers=headers
    )
    assert raised.status_code == 201
    supervisor = deployment.app.test_client()
    sign_in(supervisor, deployment, "sara")
    alerts = supervisor.get("/supervisor/api/floor").json["alerts"]
    assert alerts[0]["kind"] == "raise_hand" and alerts[0]["call_id"] == "c-1"
    assert "asks for help: refund?" in alerts[0]["reason"]
    other = agent.post("/agent/api/raise-hand", json={"call_id": "not-mine"}, headers=headers)
    assert other.status_code == 201
    assert supervisor.get("/supervisor/api/floor").json["alerts"][0]["call_id"] == ""


def test_listen_from_the_floor_reaches_the_calls_worker_with_the_supervisors_device(
    deployment: Deployment,
) -> None:
    from console.testing.fake_worker import FakeWorker
    from store.models import Device, Worker

    live_call(deployment)
    worker = FakeWorker().start()
    try:
        worker.register(deployment.db)
        with deployment.db.session() as session:
            row = session.scalars(select(Worker).where(Worker.name == "fake-1")).one()
            session.query(Call).filter_by(id="c-1").update({"worker_id": row.id})
            sara = session.scalars(select(Agent).where(Agent.username == "sara")).one()
            device = session.get(Device, sara.device_id)
            assert device is not None
            sara_id, extension = sara.id, device.extension
        client = deployment.app.test_client()
        headers = {"X-CSRFToken": sign_in(client, deployment, "sara")}
        url = "/supervisor/api/calls/c-1/monitor"
        assert client.post(url, json={"mode": "shout"}, headers=headers).status_code == 400
        assert client.post(url, json={"mode": "listen"}, headers=headers).status_code == 200
        assert worker.actions == [
            ("c-1", "monitor", {"mode": "listen", "extension": extension, "supervisor_id": sara_id})
        ]
        worker.answers["monitor"] = (503, {"error": "this worker has no room for another leg"})
        full = client.post(url, json={"mode": "whisper"}, headers=headers)
        assert full.status_code == 503
        assert full.json == {"error": "the call's worker has no room for another leg right now"}
        del worker.answers["monitor"]
        gone = "/supervisor/api/calls/nope/monitor"
        assert client.post(gone, json={"mode": "listen"}, headers=headers).status_code == 404
        agent = deployment.app.test_client()
        agent_headers = {"X-CSRFToken": sign_in(agent, deployment, "alice")}
        assert agent.post(url, json={"mode": "listen"}, headers=agent_headers).status_code == 403
        assert len(worker.actions) == 2  # listen, then the refused whisper
    finally:
        worker.stop()
