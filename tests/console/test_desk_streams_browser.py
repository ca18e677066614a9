"""The desk in Chromium when the server ends its stream: a newer tab takes the desk over, and
signing out in one tab sends every other tab of that person to the sign-in page."""

from __future__ import annotations

from typing import Any

import pytest

from console.testing.browser import sign_in_agent
from tests.console.conftest import LiveConsole

pytestmark = pytest.mark.browser


def test_a_newer_tab_takes_the_desk_and_sign_out_reaches_every_tab(
    browser: Any, live_console: LiveConsole
) -> None:
    live = live_console
    live.deployment.app.config["SSE_STREAMS_PER_SESSION"] = 1
    context = browser.new_context(bypass_csp=True)  # wait_for_function polls by eval
    try:
        first = context.new_page()
        sign_in_agent(first, live.url, "alice", live.deployment.password("alice"))
        first.wait_for_function("document.body.dataset.live === 'yes'")
        second = context.new_page()  # same browser, same session cookie
        second.goto(f"{live.url}/agent/")
        second.wait_for_function("document.body.dataset.live === 'yes'")
        first.wait_for_function("document.body.dataset.live === 'no'")
        assert "open in a newer tab" in first.text_content("#desk-notice")
        assert first.is_visible("#desk-notice")

        third = context.new_page()
        third.goto(f"{live.url}/agent/search")
        third.click("header button[type=submit]")  # Sign out
        third.wait_for_url(f"{live.url}/login")
        second.wait_for_url(f"{live.url}/login")  # its stream was told: signed out
        assert live.deployment.app.extensions["centralino.streams"].count() == 0
    finally:
        context.close()
