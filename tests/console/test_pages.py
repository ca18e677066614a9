"""Supervisor and admin pages, and the console's command line."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from console.app import main
from console.testing.fake_worker import FakeWorker
from store.models import QueueEntry, Setting
from tests.console.conftest import Deployment, sign_in


def test_supervisor_sees_live_calls_from_workers(deployment: Deployment) -> None:
    worker = FakeWorker().start()
    try:
        worker.register(deployment.db)
        worker.calls = [
            {
                "id": "c-42",
                "state": "bridged",
                "caller": "<b>+3902</b>",
                "dialled": "800",
                "legs": [],
                "call_data": {},
            }
        ]
        client = deployment.app.test_client()
        sign_in(client, deployment, "sara")
        page = client.get("/supervisor/")
        assert page.status_code == 200
        assert "c-42" in page.text and "&lt;b&gt;+3902&lt;/b&gt;" in page.text
        assert client.get("/supervisor/api/calls").json["calls"][0]["worker"] == "fake-1"
    finally:
        worker.stop()


def test_supervisor_sees_callbacks_with_their_tries_and_outcomes(deployment: Deployment) -> None:
    with deployment.db.session() as session:
        session.add(
            QueueEntry(
                call_id="c-7",
                queue="support",
                kind="callback",
                state="closed",
                callback_number="<i>+3902</i>",
                attempts=3,
                outcome="gave up after 3 attempts (408 Request Timeout)",
            )
        )
    client = deployment.app.test_client()
    sign_in(client, deployment, "sara")
    page = client.get("/supervisor/")
    assert "gave up after 3 attempts (408 Request Timeout)" in page.text
    assert "&lt;i&gt;+3902&lt;/i&gt;" in page.text
    (row,) = client.get("/supervisor/api/calls").json["callbacks"]
    assert (row["state"], row["attempts"], row["number"]) == ("closed", 3, "<i>+3902</i>")


def test_admin_sets_the_credit_audit_threshold(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    token = sign_in(client, deployment, "admin")
    assert "250.00" in client.get("/admin/").text
    client.post(
        "/admin/settings/credit-threshold", data={"threshold": "99.50", "csrf_token": token}
    )
    with deployment.db.session() as session:
        value = session.scalar(
            select(Setting.value).where(Setting.key == "credit_audit_threshold_cents")
        )
    assert value == {"cents": 9950}
    refused = client.post(
        "/admin/settings/credit-threshold",
        data={"threshold": "-1", "csrf_token": token},
        follow_redirects=True,
    )
    assert "Threshold not changed: the amount must be positive." in refused.text


def test_command_line_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    assert "centralino console" in capsys.readouterr().out
