"""A call's page and coaching marks through the test client: what each role may open and mark,
the CSRF check, the caller's words escaped, and the agent reading the marks on their calls."""

from __future__ import annotations

import re
from datetime import datetime

from store import coaching
from store.models import Call
from store.survey_tables import CallSurvey
from tests.analytics.scripted import DAY, scripted_call
from tests.console.conftest import Deployment, csrf_token, sign_in
from tests.console.test_reports import scripted_floor

HOSTILE = "<script>alert('caller')</script> my bill"


def with_survey(deployment: Deployment, call_id: str, csat: int) -> None:
    with deployment.db.session() as session:
        call = session.get(Call, call_id)
        assert call is not None
        session.add(
            CallSurvey(
                call_id=call_id,
                customer_id=call.customer_id,
                caller=call.caller,
                agent_id=call.agent_id,
                csat=csat,
                solved=True,
                channel="key",
                answered_at=datetime(2026, 3, 2, 9, 2),
            )
        )


def mark_form(client: object, page_html: str, call_id: str, line: str, note: str) -> object:
    return client.post(  # type: ignore[attr-defined]
        f"/reports/calls/{call_id}/marks",
        data={"csrf_token": csrf_token(page_html), "line": line, "note": note},
    )


def test_a_supervisor_marks_a_line_and_the_agent_reads_it(deployment: Deployment) -> None:
    ids = scripted_floor(deployment)
    with_survey(deployment, "c1", 4)
    client = deployment.app.test_client()
    sign_in(client, deployment, "sara")  # serves support: Alice's calls
    page = client.get("/reports/calls/c1")
    assert page.status_code == 200
    assert re.search(
        r'id="line-1".*?0:14.*?caller.*?my bill is wrong again this month', page.text, re.S
    )
    assert "CSAT 4/5, solved (by key)" in page.text
    assert "Reason: my bill is wrong again." in page.text
    assert "Interruptions, by caller / by agent" in page.text
    assert page.text.count('class="mark-form"') == 6  # a form per transcript line

    answer = mark_form(client, page.text, "c1", "3", "Good: <b>named</b> the next step")
    assert answer.status_code == 302 and answer.location.endswith("/reports/calls/c1#line-3")
    shown = client.get("/reports/calls/c1").text
    assert "Good: &lt;b&gt;named&lt;/b&gt; the next step" in shown
    assert "Marked by Sara Conti" in shown
    made = client.get("/reports/coaching").text
    assert 'id="marks-made"' in made and "Alice Rossi" in made

    alice = deployment.app.test_client()
    sign_in(alice, deployment, "alice")
    own = alice.get("/reports/coaching").text
    assert 'id="marks-received"' in own and "Sara Conti" in own
    assert "I understand let me check your bill" in own
    assert "/reports/calls/c1#line-3" in own
    assert 'id="marks-made"' not in own  # agents make no marks
    marks = coaching.marks_for_agent(deployment.db, ids["alice"])
    assert [(m.line, m.speaker, m.supervisor_id) for m in marks] == [(3, "agent", ids["sara"])]

    bruno = deployment.app.test_client()
    sign_in(bruno, deployment, "bruno")
    assert 'id="no-marks-received"' in bruno.get("/reports/coaching").text


def test_agents_cannot_mark_nor_open_another_agents_call(deployment: Deployment) -> None:
    scripted_floor(deployment)
    alice = deployment.app.test_client()
    sign_in(alice, deployment, "alice")
    own = alice.get("/reports/calls/c1")
    assert own.status_code == 200 and 'class="mark-form"' not in own.text
    assert mark_form(alice, own.text, "c1", "0", "I mark myself").status_code == 403
    assert alice.get("/reports/calls/c3").status_code == 404  # Bruno's call
    assert mark_form(alice, own.text, "c3", "0", "no").status_code == 404
    assert alice.get("/reports/calls/nothing-here").status_code == 404
    assert coaching.marks_for_call(deployment.db, "c1") == []


def test_a_supervisor_reaches_only_their_queues_and_an_admin_every_call(
    deployment: Deployment,
) -> None:
    scripted_floor(deployment)
    sara = deployment.app.test_client()
    sign_in(sara, deployment, "sara")
    page = sara.get("/reports/calls/c1").text
    assert sara.get("/reports/calls/c3").status_code == 404  # billing: not Sara's team
    assert mark_form(sara, page, "c3", "0", "not mine").status_code == 404
    admin = deployment.app.test_client()
    sign_in(admin, deployment, "admin")
    billing = admin.get("/reports/calls/c3")
    assert billing.status_code == 200
    assert mark_form(admin, billing.text, "c3", "1", "listen longer").status_code == 302
    assert [m.note for m in coaching.marks_for_call(deployment.db, "c3")] == ["listen longer"]


def test_marks_need_the_csrf_token_a_real_line_and_a_note(deployment: Deployment) -> None:
    scripted_floor(deployment)
    client = deployment.app.test_client()
    sign_in(client, deployment, "sara")
    page = client.get("/reports/calls/c1").text
    forged = client.post("/reports/calls/c1/marks", data={"line": "0", "note": "forged"})
    assert forged.status_code == 400
    for line, note in (
        ("0", "   "),
        ("6", "past the end"),
        ("x", "not a number"),
        ("-1", "negative"),
        ("0", "n" * (coaching.NOTE_LIMIT + 1)),
    ):
        assert mark_form(client, page, "c1", line, note).status_code == 400, (line, note)
    assert coaching.marks_for_call(deployment.db, "c1") == []


def test_the_callers_words_are_escaped_on_the_call_and_coaching_pages(
    deployment: Deployment,
) -> None:
    ids = scripted_floor(deployment)
    scripted_call(
        deployment.db,
        "c4",
        DAY,
        ids["alice"],
        ids["Giulia"],
        [("caller", 11.0, 13.0, HOSTILE), ("agent", 14.0, 16.0, "I see")],
    )
    client = deployment.app.test_client()
    sign_in(client, deployment, "admin")
    page = client.get("/reports/calls/c4").text
    assert HOSTILE not in page and "&lt;script&gt;alert(" in page
    assert 'id="no-figures"' in page  # not analysed yet: said so, no empty figures
    assert mark_form(client, page, "c4", "0", "<img src=x onerror=alert(1)>").status_code == 302
    alice = deployment.app.test_client()
    sign_in(alice, deployment, "alice")
    own = alice.get("/reports/coaching").text
    assert "<script>alert" not in own and "<img src=x" not in own
    assert "&lt;img src=x onerror=alert(1)&gt;" in own


def test_the_reports_link_each_call_to_its_page(deployment: Deployment) -> None:
    scripted_floor(deployment)
    client = deployment.app.test_client()
    sign_in(client, deployment, "admin")
    report = client.get("/reports/?by=agent&from=2026-03-01&to=2026-03-04").text
    assert {"/reports/calls/c1", "/reports/calls/c2", "/reports/calls/c3"} <= set(
        re.findall(r'class="call-link" href="([^"]+)"', report)
    )
    assert 'href="/reports/coaching"' in report
