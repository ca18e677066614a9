"""The flow editor's prompt panels in Chromium: a rehearsal of typed turns shows each prompt,
step and the routing; Play renders the prompt as typed and the page's audio element loads it;
the upload form stores a recording and the next version names it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from tests.console.admin.test_flow_prompts import SUPPORT
from tests.console.conftest import LiveConsole


def sign_in(page: Any, live: LiveConsole) -> None:
    page.goto(f"{live.url}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", live.deployment.password("admin"))
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/admin/")


def test_rehearse_preview_and_upload_in_the_editor(
    live_console: LiveConsole, page: Any, tmp_path: Path
) -> None:
    live_console.deployment.app.config["VAR_DIR"] = str(tmp_path / "var")
    sign_in(page, live_console)
    page.goto(f"{live_console.url}/admin/flows/new")
    typed = SUPPORT.replace("Glad to hear it.", "Wonderful <b>news</b>.")
    page.fill("#flow-text", typed)
    page.fill("#rehearsal-turns", "I am very well, thank you\nkeys: 12x")
    page.click("#rehearsal-form button[type=submit]")
    page.wait_for_selector("#rehearsal-error:has-text('line 2')")
    assert "'12x' are not keys" in page.inner_text("#rehearsal-error")
    page.fill("#rehearsal-turns", "I am very well, thank you\n0")
    page.click("#rehearsal-form button[type=submit]")
    page.wait_for_selector("#rehearsal-route")
    items = page.locator("#rehearsal li")
    kinds = [items.nth(i).get_attribute("data-kind") for i in range(items.count())]
    assert kinds[:3] == ["step", "prompt", "turn"]
    assert "Hello, thank you for calling" in items.nth(1).inner_text()
    assert page.get_attribute("#rehearsal-route", "data-outcome") == "route"
    assert "operator" in page.inner_text("#rehearsal-route")
    # Play: the prompt as typed now (not yet saved), rendered and loaded by the audio element
    page.click("button[data-play='greeting']")
    page.wait_for_function("document.getElementById('prompt-audio').dataset.prompt === 'greeting'")
    page.wait_for_function("document.getElementById('prompt-audio').duration > 1")
    assert page.get_attribute("#prompt-audio", "data-text").startswith("Hello, thank you")
    # save, then upload a recording for the greeting
    page.click("#flow-form button[type=submit]")
    page.wait_for_selector("#versions tr[data-version='1']")
    calm = page.locator("tr[data-prompt='ack_calm'] td").nth(1)
    assert calm.inner_text() == "Wonderful <b>news</b>." and calm.locator("b").count() == 0
    studio = tmp_path / "studio.wav"
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", str(studio), "synth", "1",
                    "sine", "500", "vol", "0.4"], check=True, capture_output=True)
    page.select_option("#upload-form select[name=prompt]", "greeting")
    page.select_option("#upload-form select[name=locale]", "en")
    page.set_input_files("#upload-form input[name=file]", str(studio))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#versions tr[data-version='2']")
    assert "plays for greeting (en) from the next call" in page.inner_text("main")
    assert "recording: greeting.en." in page.input_value("#flow-text")
    link = page.locator("tr[data-prompt='greeting'] [data-recording='en'] a")
    assert link.count() == 1
    page.click("tr[data-prompt='greeting'] [data-recording='en'] a")
    page.wait_for_function("document.getElementById('prompt-audio').duration > 0.9")
    assert len(list((tmp_path / "var" / "recordings" / "support").glob("*.wav"))) == 1
