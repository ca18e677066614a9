"""The thresholds page: supervisors and admins edit the alert rules' thresholds per queue,
validated and audited; a worker's floor watch takes them on a live call without a restart;
the desk policy on showing a supervisor; agents are refused."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from console.supervisor import thresholds
from store.admin_tables import AdminAudit
from store.models import Setting, SupportNumber
from store.supervision import AlertRow, AlertRule
from telephony.events import EventBus
from telephony.floorwatch import FloorWatch
from tests.console.conftest import Deployment, csrf_token, sign_in

FORM = {
    "upset.enabled": "on",
    "upset.score_below": "-0.3",
    "upset.cooldown_seconds": "60",
    "topic.enabled": "on",
    "silence.enabled": "on",
    "silence.seconds": "8",
    "hold.enabled": "on",
    "hold.seconds": "45",
    "overtalk.seconds": "2.5",
    "overtalk.cooldown_seconds": "30",
    "long_call.enabled": "on",
    "long_call.target_seconds": "12",  # minutes on the page
}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def post_form(client: Any, path: str, data: dict[str, str]) -> Any:
    token = csrf_token(client.get("/supervisor/thresholds").text)
    return client.post(path, data={**data, "csrf_token": token})


def test_a_supervisor_edits_a_queues_thresholds_audited_and_a_live_call_takes_them(
    deployment: Deployment,
) -> None:
    db = deployment.db
    with db.session() as session:
        queue = session.scalars(select(SupportNumber.queue)).first()
        number = session.scalars(select(SupportNumber.number)).first()
    assert queue and number
    clock = Clock()
    watch = FloorWatch(db, EventBus("switch-1"), clock)
    watch.handle({"type": "ringing", "call_id": "c1", "caller": "sip:1@x", "dialled": number})
    watch.handle({"type": "answered", "call_id": "c1", "role": "customer"})
    watch.handle({"type": "bridged", "call_id": "c1", "legs": ["c1/0", "c1/1"]})

    client = deployment.app.test_client()
    sign_in(client, deployment, "sara")
    page = client.get(f"/supervisor/thresholds?queue={queue}")
    assert page.status_code == 200 and 'name="silence.seconds"' in page.text
    assert 'value="10.0"' in page.text  # long_call's 600 s default, shown in minutes
    saved = post_form(client, "/supervisor/thresholds", {**FORM, "queue": queue})
    assert saved.status_code == 302
    with db.session() as session:
        rows = {
            r.rule: r for r in session.scalars(select(AlertRule).where(AlertRule.queue == queue))
        }
        audit = session.scalars(
            select(AdminAudit).where(AdminAudit.action == "alert_rule.update")
        ).all()
        assert rows["silence"].params == {"seconds": 8.0}
        assert rows["long_call"].params == {"target_seconds": 720.0}
        assert rows["overtalk"].enabled is False  # its box was not ticked
        assert {a.target_id for a in audit} >= {f"{queue}/silence", f"{queue}/overtalk"}
        assert all(a.actor == "sara" and a.via == "page" for a in audit)
    # the live call: 8 s of silence now alerts (the default was 20), after the re-read
    clock.now += 9
    watch.tick()
    with db.session() as session:
        kinds = session.scalars(select(AlertRow.kind).where(AlertRow.call_id == "c1")).all()
    assert kinds == ["silence"]
    again = post_form(client, "/supervisor/thresholds", {**FORM, "queue": queue})
    assert again.status_code == 302
    with db.session() as session:  # nothing changed: nothing audited again
        assert len(
            session.scalars(
                select(AdminAudit).where(AdminAudit.action == "alert_rule.update")
            ).all()
        ) == len(audit)
    reset = post_form(client, "/supervisor/thresholds", {"queue": queue, "action": "reset"})
    assert reset.status_code == 302
    assert thresholds.effective(db, queue)["silence"]["params"]["seconds"] == 20.0


def test_bad_thresholds_are_refused_field_by_field_and_nothing_is_saved(
    deployment: Deployment,
) -> None:
    client = deployment.app.test_client()
    sign_in(client, deployment, "admin")  # admins edit thresholds too
    bad = {
        **FORM,
        "queue": "*",
        "silence.seconds": "1",
        "hold.seconds": "soon",
        "upset.score_below": "nan",
        "long_call.target_seconds": "1e9",
    }
    answer = post_form(client, "/supervisor/thresholds", bad)
    assert answer.status_code == 422
    text = answer.text
    for field in (
        "silence.seconds",
        "hold.seconds",
        "upset.score_below",
        "long_call.target_seconds",
    ):
        assert f'data-field="{field}"' in text, field
    assert 'value="soon"' in text  # what was typed stays on the page
    with deployment.db.session() as session:
        assert session.scalars(select(AlertRule)).all() == []
    unknown = post_form(client, "/supervisor/thresholds", {**FORM, "queue": "nope"})
    assert unknown.status_code == 422


def test_the_desk_policy_is_saved_audited_and_agents_are_refused(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    sign_in(client, deployment, "sara")
    assert thresholds.presence(deployment.db) == "always"
    assert (
        post_form(client, "/supervisor/thresholds/presence", {"shown": "heard"}).status_code == 302
    )
    assert (
        post_form(client, "/supervisor/thresholds/presence", {"shown": "loud"}).status_code == 422
    )
    with deployment.db.session() as session:
        assert session.get(Setting, thresholds.PRESENCE_KEY).value == {"shown": "heard"}  # type: ignore[union-attr]
        assert session.scalars(select(AdminAudit.action)).all() == ["setting.update"]
    assert thresholds.presence_shows("heard", "whisper") and not thresholds.presence_shows(
        "heard", "listen"
    )
    assert thresholds.presence_shows("always", "listen") and not thresholds.presence_shows(
        "never", "barge"
    )
    agent = deployment.app.test_client()
    sign_in(agent, deployment, "alice")
    assert agent.get("/supervisor/thresholds").status_code == 403
    token = csrf_token(agent.get("/agent/").text)
    for path in ("/supervisor/thresholds", "/supervisor/thresholds/presence"):
        assert (
            agent.post(
                path, data={**FORM, "queue": "*", "shown": "never", "csrf_token": token}
            ).status_code
            == 403
        )
    no_csrf = client.post("/supervisor/thresholds/presence", data={"shown": "never"})
    assert no_csrf.status_code in (400, 403)
    assert thresholds.presence(deployment.db) == "heard"
