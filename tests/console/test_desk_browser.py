"""The agent desk in headless Chromium: screen pop without reload, controls, credits, wrap-up."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from console.testing.browser import become_available, sign_in_agent
from store import agents
from store.models import Agent, Credit, Customer, Interaction, Setting
from tests.console.conftest import LiveConsole

pytestmark = pytest.mark.browser

XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'


def sign_in_page(page: Any, live: LiveConsole, username: str) -> None:
    sign_in_agent(page, live.url, username, live.deployment.password(username))


def ids(live: LiveConsole, username: str, customer_name: str) -> tuple[int, int]:
    with live.deployment.db.session() as session:
        agent = session.scalar(select(Agent.id).where(Agent.username == username))
        customer = session.scalar(select(Customer.id).where(Customer.name == customer_name))
    return agent, customer


def ring(live: LiveConsole, agent_id: int, customer_id: int | None, **call_data: Any) -> str:
    call_id = str(uuid.uuid4())
    assert agents.claim(live.deployment.db, agent_id, call_id)  # what the worker does first
    live.worker.emit(
        {
            "type": "agent.ringing",
            "call_id": call_id,
            "leg_id": f"{call_id}/2",
            "agent_id": agent_id,
            "customer_id": customer_id,
            "caller": "+390212345678",
            "reason": "last served this customer on 2026-11-20",
            "call_data": call_data,
        }
    )
    return call_id


def test_screen_pop_controls_credits_and_wrap_up(page: Any, live_console: LiveConsole) -> None:
    live = live_console
    with live.deployment.db.session() as session:
        session.add(Setting(key="credit_audit_threshold_cents", value={"cents": 5_000}))
    alice, giulia = ids(live, "alice", "Giulia Ferri")
    sign_in_page(page, live, "alice")
    become_available(page)

    call_id = ring(
        live, alice, giulia, greeting_transcript="not great, my line keeps dropping", mood="annoyed"
    )
    page.wait_for_selector("#pop:not([hidden])")
    assert page.text_content("#caller-name") == "Giulia Ferri"
    assert "You spoke with them on" in page.text_content("#you-spoke")
    assert "last served this customer" in page.text_content("#route-reason")
    ivr = page.text_content("#ivr")
    assert "my line keeps dropping" in ivr and "annoyed" in ivr
    assert "100200300" in page.text_content("#accounts")
    assert "Router rebooted remotely" in page.text_content("#history")

    live.worker.emit(
        {
            "type": "transcript.final",
            "call_id": call_id,
            "speaker": "caller",
            "text": "it drops every evening",
        }
    )
    live.worker.emit(
        {
            "type": "transcript.final",
            "call_id": call_id,
            "speaker": "agent",
            "text": "let me check the line",
        }
    )
    page.wait_for_selector("#transcript li:nth-child(2)")
    lines = page.locator("#transcript li").all_text_contents()
    assert lines == ["caller: it drops every evening", "agent: let me check the line"]

    page.click("#controls button[data-action=hold]")
    page.click("#controls button[data-action=unhold]")
    page.select_option("#transfer-form select[name=to]", "queue:support")
    page.click("#transfer-form button[type=submit]")
    page.wait_for_function("document.getElementById('desk-error').textContent === ''")
    page.select_option("#transfer-form select[name=to]", "1002")
    page.select_option("#transfer-form select[name=mode]", "attended")
    page.click("#transfer-form button[type=submit]")
    page.click("#transfer-form button[data-action=complete-transfer]")
    for _ in range(100):
        if len(live.worker.actions) == 5:
            break
        page.wait_for_timeout(50)
    assert [(c, a) for c, a, _ in live.worker.actions] == [
        (call_id, "hold"),
        (call_id, "unhold"),
        (call_id, "transfer"),
        (call_id, "transfer"),
        (call_id, "transfer/complete"),
    ]
    assert live.worker.actions[2][2] == {"to": "queue:support", "mode": "blind"}
    assert live.worker.actions[3][2] == {"to": "1002", "mode": "attended"}  # Bruno's phone

    def issue(amount: str, reason: str) -> None:
        page.fill("#credit-form input[name=amount]", amount)
        page.fill("#credit-form input[name=reason]", reason)
        page.click("#credit-form button[type=submit]")

    issue("20.00", "line outage last week")
    page.wait_for_selector("#credits li:nth-child(1)")
    issue("60.00", "three days without service")
    page.wait_for_selector("#credits li:nth-child(2)")
    credits = page.locator("#credits li").all_text_contents()
    assert "recorded" in credits[0] and "flagged" in credits[1]
    issue("150.00", "too generous")
    page.wait_for_function("document.getElementById('desk-error').textContent.includes('limit')")
    with live.deployment.db.session() as session:
        ledger = session.execute(
            select(Credit.amount_cents, Credit.flagged_for_review, Credit.agent_id, Credit.reason)
        ).all()
    assert [(c, f, a) for c, f, a, _ in ledger] == [(2000, False, alice), (6000, True, alice)]

    live.worker.emit({"type": "ended", "call_id": call_id, "reason": "caller hung up"})
    page.wait_for_function("document.getElementById('call-state').textContent === 'ended'")
    page.wait_for_function("document.getElementById('state').dataset.state === 'wrap_up'")
    page.fill("#wrapup-form textarea[name=notes]", "Replaced the modem; credit 20 + 60.")
    page.fill("#wrapup-form input[name=follow_up]", "Call back Friday")
    page.click("#wrapup-form button[type=submit]")
    page.wait_for_selector("#pop[hidden]", state="attached")
    page.wait_for_function("document.getElementById('state').dataset.state === 'available'")
    with live.deployment.db.session() as session:
        notes = session.scalars(
            select(Interaction.notes).where(Interaction.customer_id == giulia)
        ).all()
        assert session.get(Agent, alice).state.value == "available"
    assert "Replaced the modem; credit 20 + 60." in notes
    page.goto(f"{live.url}/agent/customers/{giulia}")
    assert "Replaced the modem" in page.text_content(".history")
    assert "Call back Friday" in page.text_content(".history")


def test_caller_data_renders_inert(page: Any, live_console: LiveConsole) -> None:
    live = live_console
    with live.deployment.db.session() as session:
        customer = Customer(name=XSS, notes=XSS, email=XSS, preferences={XSS: XSS})
        session.add(customer)
        session.flush()
        hostile = customer.id
    alice, _ = ids(live, "alice", "Giulia Ferri")
    sign_in_page(page, live, "alice")
    become_available(page)
    ring(live, alice, hostile, greeting_transcript=XSS, mood=XSS)
    page.wait_for_selector("#pop:not([hidden])")
    assert page.text_content("#caller-name") == XSS
    assert XSS in page.text_content("#ivr")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None
    assert page.locator("#pop script, #pop img[src=x]").count() == 0
    page.goto(f"{live.url}/agent/customers/{hostile}")
    assert page.text_content(".customer-name") == XSS
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None


def test_unknown_caller_gets_new_caller_card_and_profile(
    page: Any, live_console: LiveConsole
) -> None:
    live = live_console
    alice, _ = ids(live, "alice", "Giulia Ferri")
    sign_in_page(page, live, "alice")
    become_available(page)
    ring(live, alice, None)
    page.wait_for_selector("#new-caller:not([hidden])")
    assert page.text_content("#caller-name") == "New caller"
    assert page.text_content("#caller-number") == "+390212345678"
    page.fill("#create-form input[name=name]", "Nadia Romano")
    page.click("#create-form button[type=submit]")
    page.wait_for_function("document.getElementById('caller-name').textContent === 'Nadia Romano'")
    assert page.is_hidden("#new-caller")


def test_supervisor_watches_events_and_callback_pops_like_a_call(
    browser: Any, live_console: LiveConsole
) -> None:
    live = live_console
    alice, giulia = ids(live, "alice", "Giulia Ferri")
    contexts = [browser.new_context(bypass_csp=True) for _ in range(2)]
    try:
        desk, watch = (context.new_page() for context in contexts)
        sign_in_page(desk, live, "alice")
        become_available(desk)
        watch.goto(f"{live.url}/login")
        watch.fill("input[name=username]", "sara")
        watch.fill("input[name=password]", live.deployment.password("sara"))
        watch.click("button[type=submit]")
        watch.wait_for_url(f"{live.url}/supervisor/")
        watch.wait_for_selector("body[data-live=yes]")
        call_id = str(uuid.uuid4())
        assert agents.claim(live.deployment.db, alice, call_id)
        live.worker.emit(
            {
                "type": "agent.ringing",
                "kind": "callback",
                "call_id": call_id,
                "agent_id": alice,
                "customer_id": giulia,
                "caller": "+390212345678",
                "call_data": {"greeting_transcript": "please call me back"},
            }
        )
        desk.wait_for_selector("#pop:not([hidden])")
        assert desk.text_content("#call-state") == "callback ringing"
        assert desk.text_content("#caller-name") == "Giulia Ferri"
        live.worker.emit({"type": "transcript.final", "call_id": call_id, "text": XSS})
        watch.wait_for_selector("#events li:nth-child(2)")
        items = watch.locator("#events li").all_text_contents()
        assert "agent.ringing" in items[1] and XSS in items[0]
        assert watch.evaluate("window.__xss") is None
    finally:
        for context in contexts:
            context.close()
