"""Coaching in Chromium: a supervisor opens a call from the reports, marks a transcript line with
a note through the page's form, and the agent finds the mark on their coaching page and follows
it to the line (with no form to mark anything themselves). And the desk: a call's survey score
and summary in the screen pop's history (drawn by desk.js) and in the agent's latest calls."""

from __future__ import annotations

from typing import Any

from console.testing.browser import become_available, sign_in_agent
from tests.console.conftest import LiveConsole
from tests.console.test_call_history import SUMMARY
from tests.console.test_coaching import with_survey
from tests.console.test_desk_browser import ids, ring
from tests.console.test_reports import QUERY, scripted_floor


def signed_in(page: Any, live: LiveConsole, username: str) -> None:
    page.goto(f"{live.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", live.deployment.password(username))
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/**")


def test_a_supervisor_marks_a_line_and_the_agent_follows_it(
    page: Any, browser: Any, live_console: LiveConsole
) -> None:
    live = live_console
    scripted_floor(live.deployment)
    signed_in(page, live, "sara")
    page.goto(f"{live.url}/reports/?by=agent&{QUERY}")
    page.click("#calls tr[data-call-id=c1] a.call-link")
    page.wait_for_url("**/reports/calls/c1")
    lines = page.eval_on_selector_all(
        "#call-transcript li",
        "items => items.map(i => [i.querySelector('.time').textContent,"
        " i.querySelector('.speaker').textContent, i.querySelector('.words').textContent])",
    )
    assert lines[:2] == [
        ["0:10", "agent", "good morning how can I help"],
        ["0:14", "caller", "my bill is wrong again this month"],
    ]
    assert "Reason: my bill is wrong again." in page.text_content("#call-summary")
    line = page.locator("#line-3")
    line.locator("summary").click()
    line.locator("textarea[name=note]").fill("Good: <i>empathy</i> before the fix")
    line.locator("button[type=submit]").click()
    page.wait_for_url("**/reports/calls/c1#line-3")
    assert page.text_content("#line-3 .coaching-mark .note") == (
        "Good: <i>empathy</i> before the fix"
    )
    assert page.locator("#line-3 .coaching-mark i").count() == 0  # shown as text, not markup

    context = browser.new_context(bypass_csp=True)
    agent = context.new_page()
    agent.set_default_timeout(10_000)
    try:
        signed_in(agent, live, "alice")
        agent.click("nav a[href='/reports/coaching']")
        agent.wait_for_url("**/reports/coaching")
        row = agent.locator("#marks-received tbody tr")
        assert row.count() == 1
        assert row.locator(".note").text_content() == "Good: <i>empathy</i> before the fix"
        assert row.locator(".words").text_content() == "I understand let me check your bill"
        row.locator("a").click()
        agent.wait_for_url("**/reports/calls/c1#line-3")
        assert agent.text_content("#line-3 .words") == "I understand let me check your bill"
        assert agent.locator("form.mark-form").count() == 0
    finally:
        context.close()


def test_the_desk_shows_a_calls_score_and_summary_in_the_pop_and_the_latest_calls(
    page: Any, live_console: LiveConsole
) -> None:
    live = live_console
    scripted_floor(live.deployment)  # c1: Giulia with Alice, wrapped up "resolved"
    with_survey(live.deployment, "c1", 5)
    alice, giulia = ids(live, "alice", "Giulia Ferri")
    sign_in_agent(page, live.url, "alice", live.deployment.password("alice"))
    own = page.locator("#own-calls li[data-call-id=c1]")
    assert "CSAT 5/5" in own.text_content() and SUMMARY in own.text_content()
    become_available(page)
    ring(live, alice, giulia)
    page.wait_for_selector("#pop:not([hidden])")
    scored = page.locator("#history li", has=page.locator(".csat"))
    assert scored.count() == 1
    assert scored.locator(".csat").text_content() == " · CSAT 5/5"
    assert scored.locator(".summary").text_content() == SUMMARY
