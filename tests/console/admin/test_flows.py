"""IVR flows in the admin: a broken flow is refused with the validator's line and field and
nothing is stored; every save is a new version with author and time; a number plays the latest
or a pinned version (what the worker reads at the start of the next call); rollback in one
step; all audited. The editor page in Chromium shows the problem inline and saves the fix."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ivr.flow import DEFAULT_FLOW_PATH
from store.admin_tables import FlowVersion
from store.flows import flow_for_number
from store.models import Flow
from tests.console.admin.test_admin_api import bearer, make_token
from tests.console.conftest import LiveConsole

GOOD = DEFAULT_FLOW_PATH.read_text(encoding="utf-8").replace("name: default", "name: support")
GREETING = "Hello, thank you for calling {company}. How are you today?"


def greeting_of(document: dict[str, Any]) -> str:
    return str(document["prompts"]["greeting"]["en"])


def broken(text: str) -> tuple[str, int]:
    """*text* with the greeting step pointing at an unknown prompt, and that line's number."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.strip().startswith("prompt: greeting"):
            lines[index] = line.replace("prompt: greeting", "prompt: no_such_prompt")
            return "\n".join(lines) + "\n", index + 1
    raise AssertionError("the default flow has no greeting step")


def test_versions_pinning_rollback_and_audit(live_console: LiveConsole) -> None:
    deployment = live_console.deployment
    client = deployment.app.test_client()
    headers = bearer(make_token(deployment))
    bad_text, bad_line = broken(GOOD)
    refused = client.post("/api/admin/flows/", headers=headers, json={"text": bad_text})
    assert refused.status_code == 422
    issue = refused.json["issues"][0]
    assert issue["line"] == bad_line and "prompt" in issue["field"]
    with deployment.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Flow)) == 0
    first = client.post("/api/admin/flows/", headers=headers, json={"text": GOOD, "note": "v1"})
    assert first.status_code == 201, first.text
    flow_id = first.json["id"]
    assert first.json["version"] == 1
    new_words = GOOD.replace(GREETING, "Welcome to the new {company} line. How are you?")
    second = client.post("/api/admin/flows/", headers=headers, json={"text": new_words})
    assert second.json["version"] == 2
    assert second.json["versions"][0]["author"] == "admin"
    # the number plays the latest version from the next call on
    assigned = client.post(f"/api/admin/flows/{flow_id}/assign", headers=headers,
                           json={"number": "800"})
    assert assigned.status_code == 200, assigned.text
    found = flow_for_number(deployment.db, "800")
    assert found is not None and found[1] == 2 and "new" in greeting_of(found[2])
    # pinned to version 1, it plays version 1 although 2 is the latest
    client.post(f"/api/admin/flows/{flow_id}/assign", headers=headers,
                json={"number": "800", "version": 1})
    found = flow_for_number(deployment.db, "800")
    assert found is not None and found[1] == 1 and greeting_of(found[2]) == GREETING
    # rollback: version 1 again as the newest, version 3
    client.post(f"/api/admin/flows/{flow_id}/assign", headers=headers, json={"number": "800"})
    back = client.post(f"/api/admin/flows/{flow_id}/rollback", headers=headers,
                       json={"version": 1})
    assert back.json["version"] == 3 and back.json["versions"][0]["note"] == "rollback to version 1"
    found = flow_for_number(deployment.db, "800")
    assert found is not None and found[1] == 3 and greeting_of(found[2]) == GREETING
    with deployment.db.session() as session:
        assert session.scalar(select(func.count()).select_from(FlowVersion)) == 3
    actions = [e["action"] for e in client.get("/api/admin/audit/?limit=6", headers=headers).json]
    assert actions[:5] == ["flow.rollback", "number.flow", "number.flow", "number.flow",
                           "flow.save"]
    checked = client.post("/api/admin/flows/check", headers=headers, json={"text": "name: [x"})
    assert checked.json["issues"] and checked.json["issues"][0]["line"] >= 1


def test_the_editor_shows_the_problem_inline_and_saves_the_fix(
    live_console: LiveConsole, page: Any
) -> None:
    deployment = live_console.deployment
    page.goto(f"{live_console.url}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", deployment.password("admin"))
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_console.url}/admin/")
    page.goto(f"{live_console.url}/admin/flows/new")
    bad_text, bad_line = broken(GOOD)
    page.fill("#flow-text", bad_text)
    page.click("#flow-form button[type=submit]")
    problem = page.locator("#flow-issues li").first
    assert problem.get_attribute("data-line") == str(bad_line)
    assert "prompt" in (problem.get_attribute("data-field") or "")
    assert page.input_value("#flow-text") == bad_text  # what was typed is kept
    problem.locator("a").click()  # the cursor goes to the line
    selected = page.evaluate(
        "(() => { const a = document.getElementById('flow-text');"
        " return a.value.slice(a.selectionStart, a.selectionEnd); })()")
    assert "no_such_prompt" in selected
    with deployment.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Flow)) == 0
    page.fill("#flow-text", GOOD)
    page.fill("input[name=note]", "first")
    page.click("#flow-form button[type=submit]")
    page.wait_for_selector("#versions tr[data-version='1']")
    page.fill("#flow-text", GOOD.replace(GREETING, "Changed words. How are you?"))
    page.click("#flow-form button[type=submit]")
    page.wait_for_selector("#versions tr[data-version='2']")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#versions tr[data-version='1'] button")
    page.wait_for_selector("#versions tr[data-version='3']")
    assert "rollback to version 1" in page.inner_text("#versions")
    assert GREETING in page.input_value("#flow-text")
