"""Queue settings from the console (callback offer, mode, tries and interval, skill wait,
relationship wait, ring timeout, priority): validated per field, audited with before and after,
and what the worker's side reads for the next caller and the next callback try."""

from __future__ import annotations

from sqlalchemy import select

from store.models import Queue
from telephony import callback_policy, router
from telephony.queue_phrases import QueuePhrases
from telephony.queueing import _join
from tests.console.admin.test_admin_api import bearer, make_token
from tests.console.conftest import Deployment, csrf_token, sign_in


def _queue_id(deployment: Deployment, name: str) -> int:
    with deployment.db.session() as session:
        found = session.scalar(select(Queue.id).where(Queue.name == name))
        assert found is not None
        return found


def test_callback_settings_through_the_api_with_errors_per_field_and_audit(
    deployment: Deployment,
) -> None:
    client = deployment.app.test_client()
    headers = bearer(make_token(deployment))
    made = client.post("/api/admin/queues/", headers=headers, json={"name": "billing"})
    assert made.status_code == 201, made.text
    assert {key: made.json[key] for key in ("callback_offer", "callback_mode",
                                            "callback_attempts", "callback_retry_seconds",
                                            "skill_wait_seconds")} == {
        "callback_offer": True, "callback_mode": "agent_first", "callback_attempts": 3,
        "callback_retry_seconds": 120, "skill_wait_seconds": 60}
    queue_id = made.json["id"]
    refused = client.patch(f"/api/admin/queues/{queue_id}", headers=headers, json={
        "callback_mode": "whenever", "callback_attempts": 0, "callback_retry_seconds": "soon",
        "ring_timeout_seconds": 1, "relationship_wait_seconds": 9999, "priority": 101})
    assert refused.status_code == 422
    assert refused.json["fields"] == {
        "callback_mode": "agent_first or customer_first",
        "callback_attempts": "between 1 and 10",
        "callback_retry_seconds": "a whole number",
        "ring_timeout_seconds": "between 5 and 120",
        "relationship_wait_seconds": "between 0 and 600",
        "priority": "between -100 and 100",
    }
    with deployment.db.session() as session:  # nothing was changed
        queue = session.get(Queue, queue_id)
        assert queue is not None and queue.callback_attempts == 3

    saved = client.patch(f"/api/admin/queues/{queue_id}", headers=headers, json={
        "callback_offer": False, "callback_mode": "customer_first", "callback_attempts": 1,
        "callback_retry_seconds": 300, "skill_wait_seconds": 30, "ring_timeout_seconds": 25,
        "relationship_wait_seconds": 40, "priority": 5})
    assert saved.status_code == 200, saved.text
    entry = client.get("/api/admin/audit/?kind=queue", headers=headers).json[0]
    assert entry["action"] == "queue.update"
    changed = {key for key in entry["after"] if entry["after"][key] != entry["before"][key]}
    assert changed == {"callback_offer", "callback_mode", "callback_attempts",
                       "callback_retry_seconds", "skill_wait_seconds", "ring_timeout_seconds",
                       "relationship_wait_seconds", "priority"}
    assert (entry["before"]["callback_offer"], entry["after"]["callback_offer"]) == (True, False)


def test_the_queue_page_shows_callback_errors_next_to_the_field(deployment: Deployment) -> None:
    page = deployment.app.test_client()
    token = sign_in(page, deployment, "admin")
    assert page.post("/admin/queues/", data={"name": "sales", "csrf_token": token}
                     ).status_code == 302
    queue_id = _queue_id(deployment, "sales")
    form = page.get(f"/admin/queues/{queue_id}").text
    for name in ("callback_offer", "callback_mode", "callback_attempts",
                 "callback_retry_seconds", "skill_wait_seconds"):
        assert f'name="{name}"' in form, name
    refused = page.post(f"/admin/queues/{queue_id}", data={
        "callback_offer": "0", "callback_mode": "customer_first", "callback_attempts": "11",
        "callback_retry_seconds": "5", "csrf_token": csrf_token(form)})
    assert refused.status_code == 422
    assert 'data-field-error="callback_attempts">between 1 and 10<' in refused.text
    assert 'data-field-error="callback_retry_seconds">between 30 and 86400<' in refused.text
    saved = page.post(f"/admin/queues/{queue_id}", data={
        "callback_offer": "0", "callback_mode": "customer_first", "callback_attempts": "2",
        "callback_retry_seconds": "60", "csrf_token": csrf_token(form)})
    assert saved.status_code == 302, saved.text
    listing = page.get("/admin/queues/").text
    assert '<td class="callback">off</td>' in listing
    with deployment.db.session() as session:
        queue = session.get(Queue, queue_id)
        assert queue is not None
        assert (queue.callback_offer, queue.callback_mode, queue.callback_attempts,
                queue.callback_retry_seconds) == (False, "customer_first", 2, 60)
    # a supervisor or agent never reaches it
    for username in ("sara", "alice"):
        other = deployment.app.test_client()
        sign_in(other, deployment, username)
        assert other.get(f"/admin/queues/{queue_id}").status_code == 403


def test_the_next_caller_and_the_next_try_follow_the_edit(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    headers = bearer(make_token(deployment))
    queue_id = client.post("/api/admin/queues/", headers=headers,
                           json={"name": "night", "callback_attempts": 3}).json["id"]
    db = deployment.db
    first, offers, _music = _join(
        db, "call-1", "night", "sip:2001@pbx", None, None, None, None, "w1")
    assert offers  # the default: waiting callers are offered a callback
    client.patch(f"/api/admin/queues/{queue_id}", headers=headers,
                 json={"callback_offer": False, "callback_attempts": 1})
    second, offers, _music = _join(
        db, "call-2", "night", "sip:2002@pbx", None, None, None, None, "w1")
    assert not offers  # the next caller hears no offer, and key 1 is not taken
    words = QueuePhrases("en")
    assert "1" in words.position(2)[0] and "1" not in words.position(2, offer_callback=False)[0]
    # a callback request of the queue: one try now, as the edit says
    router.request_callback(db, first, "2001")
    assert callback_policy.not_reached(db, first, "486 Busy Here") == router.CLOSED
    assert second != first
