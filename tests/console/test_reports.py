"""The reports page and its CSV over scripted calls: the figures, who sees what, bad input."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import select

from analytics.runner import catch_up
from store.models import Agent, Customer
from tests.analytics.scripted import DAY, scripted_call
from tests.console.conftest import Deployment, sign_in

LINES = [
    ("agent", 10.0, 14.0, "good morning how can I help"),
    ("caller", 14.5, 20.0, "my bill is wrong again this month"),
    ("agent", 19.0, 19.5, "okay"),
    ("agent", 21.0, 28.0, "I understand let me check your bill"),
    ("caller", 26.0, 30.0, "it was forty euros more"),
    ("agent", 34.0, 40.0, "thank you I have corrected it"),
]
QUERY = "from=2026-03-01&to=2026-03-04"


def scripted_floor(deployment: Deployment) -> dict[str, int]:
    """Giulia calls Alice twice (a repeat: not resolved the first time; a relationship hit),
    Min-jun calls Bruno once in billing. Returns the ids by username / first name."""
    db = deployment.db
    with db.session() as session:
        ids = {a.username: a.id for a in session.scalars(select(Agent))}
        ids |= {c.name.split()[0]: c.id for c in session.scalars(select(Customer))}
        session.get(Agent, ids["sara"]).queues = ["support"]  # type: ignore[union-attr]
    scripted_call(db, "c1", DAY, ids["alice"], ids["Giulia"], LINES, mood=(-0.5, 0.3),
                  wrap_up="resolved")
    scripted_call(db, "c2", DAY + timedelta(days=1), ids["alice"], ids["Giulia"], LINES,
                  duration=90.0)
    scripted_call(db, "c3", DAY, ids["bruno"], ids["Min-jun"], LINES[:2], duration=40.0,
                  queue="billing")
    assert catch_up(db, grace=0) == 3
    return ids


def table_rows(html: str) -> list[list[str]]:
    import re

    body = html.split('<table id="report">', 1)[1].split("</table>", 1)[0]
    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
            if "<td>" in row]


def test_the_admin_sees_every_agent_and_the_csv_matches_the_page(
    deployment: Deployment,
) -> None:
    scripted_floor(deployment)
    client = deployment.app.test_client()
    sign_in(client, deployment, "admin")
    page = client.get(f"/reports/?by=agent&{QUERY}")
    assert page.status_code == 200
    rows = table_rows(page.text)
    assert rows == [
        ["Alice Rossi", "2", "2", "65", "65", "1.0", "1.0", "50", "—", "0.80", "100"],
        ["Bruno Bianchi", "1", "1", "30", "42", "0.0", "0.0", "100", "—", "—", "—"],
        ["all calls", "3", "3", "53", "57", "0.7", "0.7", "67", "—", "0.80", "100"],
    ]
    exported = client.get(f"/reports/export.csv?by=agent&{QUERY}")
    assert exported.mimetype == "text/csv"
    assert list(csv.reader(io.StringIO(exported.text)))[1:] == rows
    summary = "Reason: my bill is wrong again. Note: explained the bill. Wrap up: resolved."
    assert summary in page.text


def test_an_agent_sees_their_own_and_a_supervisor_their_queues(deployment: Deployment) -> None:
    scripted_floor(deployment)
    client = deployment.app.test_client()
    sign_in(client, deployment, "bruno")
    assert [row[0] for row in table_rows(client.get(f"/reports/?{QUERY}").text)] == [
        "Bruno Bianchi", "all calls"]
    client = deployment.app.test_client()
    sign_in(client, deployment, "sara")  # serves support only
    by_queue = table_rows(client.get(f"/reports/?by=queue&{QUERY}").text)
    assert [row[:2] for row in by_queue] == [["support", "2"], ["all calls", "2"]]


def test_bad_report_parameters_are_refused(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    sign_in(client, deployment, "admin")
    for query in ("by=customer", "from=2026-13-01", "from=2026-03-05&to=2026-03-01",
                  "repeat_days=0", "repeat_days=x"):
        assert client.get(f"/reports/?{query}").status_code == 400, query
    assert deployment.app.test_client().get("/reports/").status_code == 302  # sign in first
