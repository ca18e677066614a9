"""A stored survey answer and the call's summary on the agent's desk (their latest calls and the
screen pop's history) and on the customer's profile history."""

from __future__ import annotations

import re

from console.screenpop import history
from tests.console.conftest import Deployment, sign_in
from tests.console.test_coaching import with_survey
from tests.console.test_reports import scripted_floor

SUMMARY = "Reason: my bill is wrong again. Note: explained the bill. Wrap up: resolved."


def test_the_score_and_summary_show_on_the_desk_and_the_customers_history(
    deployment: Deployment,
) -> None:
    ids = scripted_floor(deployment)  # c1: Giulia with Alice, wrapped up "resolved"
    with_survey(deployment, "c1", 5)
    client = deployment.app.test_client()
    token = sign_in(client, deployment, "alice")

    desk = client.get("/agent/").text
    own = desk.split('id="own-calls"', 1)[1].split("</section>", 1)[0]
    first = re.search(r'<li data-call-id="c1">(.*?)</li>', own, re.S)
    assert first, own
    assert "CSAT 5/5" in first.group(1) and SUMMARY in first.group(1)
    assert 'href="/reports/calls/c1"' in first.group(1)
    assert "CSAT" not in re.search(r'<li data-call-id="c2">(.*?)</li>', own, re.S).group(1)

    with deployment.db.session() as session:  # the screen pop's history, which desk.js renders
        past = {item["call_id"]: item for item in history(session, ids["Giulia"], ids["alice"])}
    assert (past["c1"]["csat"], past["c1"]["summary"]) == (5, SUMMARY)

    found = client.post(
        "/agent/api/customers/search",
        json={"field": "name", "q": "ferri"},
        headers={"X-CSRFToken": token},
    )
    assert found.status_code == 201, found.text
    profile = client.get(f"/agent/customers/{ids['Giulia']}?search={found.json['search']['id']}")
    assert profile.status_code == 200
    entries = re.findall(r"<li>(.*?)</li>", profile.text.split('class="history"', 1)[1], re.S)
    scored = [entry for entry in entries if "CSAT 5/5" in entry]
    assert len(scored) == 1 and SUMMARY in scored[0]
    assert 'href="/reports/calls/c1"' in scored[0]
