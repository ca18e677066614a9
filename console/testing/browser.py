"""Headless Chromium kept on loopback, and the agent's first steps in the console page."""

from __future__ import annotations

from typing import Any

CHROMIUM = "/usr/bin/chromium"
#: A dead local proxy keeps every non-loopback request on this machine (see shared FACTS).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--proxy-server=http://127.0.0.1:9",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def sign_in_agent(page: Any, url: str, username: str, password: str) -> None:
    """Sign in through the form and land on the agent desk."""
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/agent/")


def become_available(page: Any) -> None:
    """Once the desk's live stream is up, set the agent available and await the change."""
    page.wait_for_function("document.body.dataset.live === 'yes'")
    page.click("#state-form button[data-state=available]")
    page.wait_for_function("document.getElementById('state').dataset.state === 'available'")
