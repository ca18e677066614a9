"""An agent in Chromium: a typed profile URL is refused; the desk's search finds the customer,
and opening the result shows the profile. The search and the opening are in the log."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from console.testing.browser import sign_in_agent
from store.models import Agent, Customer, CustomerSearch, ProfileOpening
from tests.console.conftest import LiveConsole

pytestmark = pytest.mark.browser


def test_an_agent_finds_a_customer_through_the_logged_search(
    page: Any, live_console: LiveConsole
) -> None:
    live = live_console
    with live.deployment.db.session() as session:
        bruno = session.scalar(select(Agent.id).where(Agent.username == "bruno"))
        tom = session.scalar(select(Customer.id).where(Customer.name == "Tom Baker"))
    sign_in_agent(page, live.url, "bruno", live.deployment.password("bruno"))

    refused = page.goto(f"{live.url}/agent/customers/{tom}")
    assert refused is not None and refused.status == 403
    assert "not offered to you" in page.text_content("main")
    page.go_back()
    page.wait_for_url(f"{live.url}/agent/")

    page.fill("#find-form input[name=q]", "baker")
    with page.expect_popup() as opened:
        page.click("#find-form button[type=submit]")
    results = opened.value
    results.wait_for_selector("#results li")
    assert results.locator("#results li").all_text_contents()[0].startswith("Tom Baker")
    results.click("#results li a")
    results.wait_for_selector(".customer-name")
    assert results.text_content(".customer-name") == "Tom Baker"
    assert "Opened from your search" in results.text_content("#opened-via")
    assert "100200399" in results.text_content("#profile")

    with live.deployment.db.session() as session:
        search = session.scalar(select(CustomerSearch))
        opening = session.scalar(select(ProfileOpening))
    assert (search.agent_id, search.query, search.result_ids) == (bruno, "baker", [tom])
    assert (opening.agent_id, opening.customer_id, opening.via) == (bruno, tom, "search")
    assert opening.search_id == search.id and opening.source == "127.0.0.1"
