"""Credits: amount rules, currency, limit, audit flag, idempotency, and the append-only ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from console.credits import CreditRefused, CreditRequest, issue_credit, parse_cents
from console.hub import LiveCall
from store.models import Account, Agent, Credit, Setting, utcnow
from tests.console.conftest import Deployment, sign_in


@pytest.mark.parametrize(
    ("text", "cents"), [("12.50", 1250), ("0.01", 1), ("7", 700), (" 250.00 ", 25000)]
)
def test_amounts_parse_to_cents(text: str, cents: int) -> None:
    assert parse_cents(text) == cents


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "the amount must be positive"),
        ("-5", "the amount must be positive"),
        ("1.005", "the amount has more than two decimals"),
        ("abc", "the amount is not a number"),
        ("NaN", "the amount must be positive"),
        ("1e12", "the amount is too large"),
    ],
)
def test_bad_amounts_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(CreditRefused) as refused:
        parse_cents(text)
    assert str(refused.value) == message


def _alice_and_account(session) -> tuple[Agent, Account]:  # type: ignore[no-untyped-def]
    alice = session.scalar(select(Agent).where(Agent.username == "alice"))
    account = session.scalar(select(Account).where(Account.number == "100200300"))
    return alice, account


def test_limit_currency_threshold_and_idempotency(deployment: Deployment) -> None:
    with deployment.db.session() as session:
        alice, account = _alice_and_account(session)  # limit 100.00, default threshold 250.00
        alice.credit_limit_cents = 30_000
        request = CreditRequest(account.id, "249.99", "eur", "outage", idempotency_key="k1")
        below, new = issue_credit(session, alice, request)
        assert new and below.currency == "EUR" and not below.flagged_for_review
        again, new = issue_credit(session, alice, request)
        assert (again.id, new) == (below.id, False)
        at_threshold, _ = issue_credit(session, alice, CreditRequest(account.id, "250", "EUR", "x"))
        assert at_threshold.flagged_for_review
        for amount, currency, message in [
            ("300.01", "EUR", "the amount is above your limit of 300.00"),
            ("5", "USD", "the account is in EUR"),
        ]:
            with pytest.raises(CreditRefused, match=message):
                issue_credit(session, alice, CreditRequest(account.id, amount, currency, "x"))
        with pytest.raises(CreditRefused, match="say why"):
            issue_credit(session, alice, CreditRequest(account.id, "5", "EUR", "  "))


def test_threshold_setting_is_read_from_the_database(deployment: Deployment) -> None:
    with deployment.db.session() as session:
        session.add(Setting(key="credit_audit_threshold_cents", value={"cents": 1_000}))
    with deployment.db.session() as session:
        alice, account = _alice_and_account(session)
        credit, _ = issue_credit(session, alice, CreditRequest(account.id, "10.00", "EUR", "x"))
        assert credit.flagged_for_review


def test_ledger_is_append_only(deployment: Deployment) -> None:
    with deployment.db.session() as session:
        alice, account = _alice_and_account(session)
        issue_credit(session, alice, CreditRequest(account.id, "1", "EUR", "x"))
    with pytest.raises(PermissionError), deployment.db.session() as session:
        session.scalar(select(Credit)).reason = "rewritten"
    with pytest.raises(PermissionError), deployment.db.session() as session:
        session.delete(session.scalar(select(Credit)))


def test_credit_api_only_for_the_caller_on_your_call(deployment: Deployment) -> None:
    hub = deployment.app.extensions["centralino.hub"]
    with deployment.db.session() as session:
        alice, account = _alice_and_account(session)
        other = session.scalar(select(Account).where(Account.number == "100200301"))
        alice_id, account_id, other_id, customer_id = (
            alice.id,
            account.id,
            other.id,
            account.customer_id,
        )
    hub.track(LiveCall("c1", alice_id, "w", "http://127.0.0.1:9", customer_id))
    client = deployment.app.test_client()
    headers = {"X-CSRFToken": sign_in(client, deployment, "alice")}
    body = {"call_id": "c1", "amount": "10.00", "currency": "EUR", "reason": "sorry"}
    ok = client.post("/agent/api/credits", json={**body, "account_id": account_id}, headers=headers)
    assert ok.status_code == 201 and ok.json["credit"]["amount_cents"] == 1000
    foreign = client.post(
        "/agent/api/credits", json={**body, "account_id": other_id}, headers=headers
    )
    assert foreign.status_code == 403
    over = client.post(
        "/agent/api/credits",
        json={**body, "account_id": account_id, "amount": "100.01"},
        headers=headers,
    )
    assert over.status_code == 422 and "limit" in over.json["error"]


def _credit(session, agent: Agent, account: Account, amount: str) -> Credit:  # type: ignore[no-untyped-def]
    credit, _ = issue_credit(session, agent, CreditRequest(account.id, amount, "EUR", "outage"))
    return credit


def test_credits_split_under_the_threshold_within_the_window_are_flagged(
    deployment: Deployment,
) -> None:
    with deployment.db.session() as session:
        alice, account = _alice_and_account(session)
        alice.credit_limit_cents = 30_000  # the default threshold is 250.00
        first = _credit(session, alice, account, "249.99")
        second = _credit(session, alice, account, "249.99")
        assert not first.flagged_for_review and first.flag_reason is None
        assert second.flagged_for_review
        assert second.flag_reason == (
            "with 1 earlier credit(s) by this agent to this account in 24 h: "
            "499.98 in all, threshold 250.00"
        )
        third = _credit(session, alice, account, "0.01")  # the window still holds 499.98
        assert third.flagged_for_review


def test_the_window_is_per_agent_and_account_and_rolls(deployment: Deployment) -> None:
    with deployment.db.session() as session:
        alice, account = _alice_and_account(session)
        bruno = session.scalar(select(Agent).where(Agent.username == "bruno"))
        other = session.scalar(select(Account).where(Account.number == "100200301"))
        alice.credit_limit_cents = bruno.credit_limit_cents = 30_000
        # Earlier credits: one outside the 24 h window, one by a colleague, one elsewhere.
        session.add(
            Credit(
                account_id=account.id,
                agent_id=alice.id,
                amount_cents=24_000,
                currency="EUR",
                reason="last week",
                at=utcnow() - timedelta(hours=25),
            )
        )
        _credit(session, bruno, account, "240.00")
        _credit(session, alice, other, "240.00")
        assert not _credit(session, alice, account, "240.00").flagged_for_review
        session.add(Setting(key="credit_audit_window_hours", value={"hours": 48}))
        session.flush()
        wider = _credit(session, alice, account, "1.00")
        assert wider.flagged_for_review and "in 48 h: 481.00 in all" in wider.flag_reason


def test_flagged_split_credits_reach_the_supervisors_list(deployment: Deployment) -> None:
    hub = deployment.app.extensions["centralino.hub"]
    with deployment.db.session() as session:
        alice, account = _alice_and_account(session)
        alice_id, account_id, customer_id = alice.id, account.id, account.customer_id
    hub.track(LiveCall("c1", alice_id, "w", "http://127.0.0.1:9", customer_id))
    client = deployment.app.test_client()
    headers = {"X-CSRFToken": sign_in(client, deployment, "alice")}
    body = {"call_id": "c1", "account_id": account_id, "currency": "EUR", "reason": "sorry"}
    answers = [
        client.post("/agent/api/credits", json={**body, "amount": "99.00"}, headers=headers)
        for _ in range(3)
    ]
    assert [a.json["credit"]["flagged_for_review"] for a in answers] == [False, False, True]
    supervisor = deployment.app.test_client()
    sign_in(supervisor, deployment, "sara")
    flagged = supervisor.get("/supervisor/api/calls").json["credits"]
    assert len(flagged) == 1 and "297.00 in all" in flagged[0]["flag_reason"]


def test_admin_sets_the_audit_window(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    token = sign_in(client, deployment, "admin")
    assert 'name="hours" value="24"' in client.get("/admin/").text
    client.post("/admin/settings/credit-window", data={"hours": "72", "csrf_token": token})
    with deployment.db.session() as session:
        assert session.get(Setting, "credit_audit_window_hours").value == {"hours": 72.0}
    for bad in ("0", "-3", "nan", "x", "100000"):
        refused = client.post(
            "/admin/settings/credit-window",
            data={"hours": bad, "csrf_token": token},
            follow_redirects=True,
        )
        assert "Window not changed" in refused.text, bad
