"""Reviews of flagged credits: approve, or reverse with a counter-entry; the ledger is never
edited; once per credit; only supervisors."""

from __future__ import annotations

from sqlalchemy import select

from console.credits import CreditRequest, issue_credit
from store.models import Account, Agent, Credit
from store.supervision import CreditReview
from tests.console.conftest import Deployment, sign_in


def flagged_credits(deployment: Deployment, count: int = 2) -> list[int]:
    with deployment.db.session() as session:
        alice = session.scalars(select(Agent).where(Agent.username == "alice")).one()
        alice.credit_limit_cents = 10**8
        account = session.scalars(select(Account)).first()
        assert account is not None
        made = []
        for n in range(count):
            credit, _new = issue_credit(
                session,
                alice,
                CreditRequest(account.id, "900.00", account.currency, f"big one {n}"),
            )
            assert credit.flagged_for_review
            made.append(credit.id)
        return made


def test_approve_and_reverse_write_reviews_and_a_counter_entry(deployment: Deployment) -> None:
    approved, reversed_ = flagged_credits(deployment)
    with deployment.db.session() as session:
        before = {c.id: (c.amount_cents, c.reason) for c in session.scalars(select(Credit))}
    client = deployment.app.test_client()
    headers = {"X-CSRFToken": sign_in(client, deployment, "sara")}
    url = "/supervisor/api/credits/{}/review"
    assert (
        client.post(url.format(approved), json={"outcome": "approved"}, headers=headers).status_code
        == 201
    )
    answer = client.post(
        url.format(reversed_), json={"outcome": "reversed", "note": "not allowed"}, headers=headers
    )
    assert answer.status_code == 201
    again = client.post(url.format(approved), json={"outcome": "reversed"}, headers=headers)
    assert again.status_code == 409
    assert (
        client.post(url.format(approved), json={"outcome": "maybe"}, headers=headers).status_code
        == 400
    )
    assert (
        client.post(url.format(99999), json={"outcome": "approved"}, headers=headers).status_code
        == 404
    )
    with deployment.db.session() as session:
        credits = {c.id: c for c in session.scalars(select(Credit))}
        reviews = {r.credit_id: r for r in session.scalars(select(CreditReview))}
        sara = session.scalars(select(Agent.id).where(Agent.username == "sara")).one()
        for credit_id, (cents, reason) in before.items():  # the ledger is as it was
            assert (credits[credit_id].amount_cents, credits[credit_id].reason) == (cents, reason)
        assert reviews[approved].outcome == "approved" and reviews[approved].reversal_id is None
        counter = credits[reviews[reversed_].reversal_id]
        assert (
            counter.amount_cents == -credits[reversed_].amount_cents and counter.kind == "reversal"
        )
        assert (
            counter.agent_id == sara
            and f"reversal of credit {reversed_}: not allowed" == counter.reason
        )
        assert len(credits) == len(before) + 1
    listed = {c["id"]: c["review"] for c in client.get("/supervisor/api/calls").json["credits"]}
    assert listed == {approved: "approved", reversed_: "reversed"}
    assert "data-outcome" not in client.get("/supervisor/").text


def test_an_agent_cannot_review(deployment: Deployment) -> None:
    (credit_id,) = flagged_credits(deployment, 1)
    client = deployment.app.test_client()
    headers = {"X-CSRFToken": sign_in(client, deployment, "alice")}
    answer = client.post(
        f"/supervisor/api/credits/{credit_id}/review", json={"outcome": "approved"}, headers=headers
    )
    assert answer.status_code == 403
    with deployment.db.session() as session:
        assert session.scalars(select(CreditReview)).all() == []
