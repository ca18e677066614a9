"""Coaching in Chromium: a supervisor opens a call from the reports, marks a transcript line with
a note through the page's form, and the agent finds the mark on their coaching page and follows
it to the line (with no form to mark anything themselves)."""

from __future__ import annotations

from typing import Any

from tests.console.conftest import LiveConsole
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
