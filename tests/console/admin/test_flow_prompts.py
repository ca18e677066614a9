"""A flow's prompts in the admin, with the Flask test client and the real espeak-ng and sox:
rehearsal of typed turns, prompt preview (admins only), and recorded prompt uploads (44.1 kHz
stereo stored as 8 kHz mono and named by a new flow version; oversize and non-audio refused with
a clear error and nothing stored), audited without the file's contents."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ivr.flow import DEFAULT_FLOW_PATH, flow_from_dict
from ivr.prompts import inspect_recording, read_wav
from store.admin_tables import AdminAudit, FlowVersion
from store.models import Account, Flow
from tests.console.admin.test_admin_api import bearer, make_token
from tests.console.conftest import Deployment, csrf_token, sign_in

SUPPORT = DEFAULT_FLOW_PATH.read_text(encoding="utf-8").replace("name: default", "name: support")


def stereo_wav(path: Path, seconds: float = 1.5, rate: int = 44100, channels: int = 2) -> Path:
    subprocess.run(
        ["sox", "-n", "-r", str(rate), "-c", str(channels), "-b", "16", str(path),
         "synth", str(seconds), "sine", "600", "vol", "0.4"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return path


@pytest.fixture
def var_dir(deployment: Deployment, tmp_path: Path) -> Path:
    deployment.app.config["VAR_DIR"] = str(tmp_path / "var")
    return tmp_path / "var"


def saved_flow(deployment: Deployment, headers: dict[str, str]) -> int:
    client = deployment.app.test_client()
    saved = client.post("/api/admin/flows/", headers=headers, json={"text": SUPPORT})
    assert saved.status_code == 201, saved.text
    return int(saved.json["id"])


def versions(deployment: Deployment) -> int:
    with deployment.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(FlowVersion)) or 0)


def test_upload_stores_8_khz_mono_and_the_next_version_names_it(
    deployment: Deployment, var_dir: Path, tmp_path: Path
) -> None:
    headers = bearer(make_token(deployment))
    flow_id = saved_flow(deployment, headers)
    client = deployment.app.test_client()
    source = stereo_wav(tmp_path / "greeting-studio.wav")
    assert (inspect_recording(source).channels, inspect_recording(source).clock_rate) == (2, 44100)
    answer = client.post(f"/api/admin/flows/{flow_id}/recordings", headers=headers,
                         data={"prompt": "greeting", "locale": "en",
                               "file": (source.open("rb"), "greeting-studio.wav")},
                         content_type="multipart/form-data")
    assert answer.status_code == 201, answer.text
    assert answer.json["version"] == 2 and answer.json["seconds"] == pytest.approx(1.5, abs=0.02)
    stored = var_dir / "recordings" / "support" / answer.json["recording"]
    info = inspect_recording(stored)
    assert (info.channels, info.clock_rate) == (1, 8000)
    assert stored.stat().st_mode & 0o777 == 0o600
    assert read_wav(stored)[1] == 8000
    with deployment.db.session() as session:
        row = session.scalar(select(Flow).where(Flow.id == flow_id))
        assert row is not None
        flow = flow_from_dict(row.document)
        assert flow.recording("greeting", "en") == answer.json["recording"]
        assert flow.prompts["greeting"]["en"].startswith("Hello")  # the text stays
        entry = session.scalars(select(AdminAudit).where(AdminAudit.action == "flow.recording")
                                ).one()
        assert entry.after["upload"] == "greeting-studio.wav" and entry.after["bytes"] > 0
        assert "RIFF" not in str(entry.after) and entry.before["recording"] is None
    text = client.get(f"/api/admin/flows/{flow_id}", headers=headers).json["text"]
    assert f"recording: {answer.json['recording']}" in text
    assert "# The default flow" in text  # the admin's comments survive


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (lambda p: (io.BytesIO(b"RIFF" + b"\0" * (10 * 1024 * 1024)), "huge.wav"),
         "huge.wav: larger than 10 MB; nothing was stored"),
        (lambda p: (io.BytesIO(b"these are my notes, not audio\n" * 40), "notes.wav"),
         "notes.wav: not an audio file sox can read"),
        (lambda p: (stereo_wav(p / "long.wav", 61, 8000, 1).open("rb"), "long.wav"),
         "long.wav: 61.0 s long; a prompt lasts 0.3 to 60 s; nothing was stored"),
    ],
)
def test_refused_uploads_say_why_and_change_nothing(
    deployment: Deployment, var_dir: Path, tmp_path: Path, upload: Any, message: str
) -> None:
    headers = bearer(make_token(deployment))
    flow_id = saved_flow(deployment, headers)
    client = deployment.app.test_client()
    answer = client.post(f"/api/admin/flows/{flow_id}/recordings", headers=headers,
                         data={"prompt": "greeting", "locale": "en", "file": upload(tmp_path)},
                         content_type="multipart/form-data")
    assert answer.status_code == 422
    assert message in answer.json["fields"]["file"]
    assert versions(deployment) == 1
    assert not list(var_dir.rglob("*.wav"))
    with deployment.db.session() as session:
        assert not session.scalars(select(AdminAudit).where(AdminAudit.action == "flow.recording")
                                   ).all()


def test_the_upload_form_shows_the_error_next_to_the_file_field(
    deployment: Deployment, var_dir: Path
) -> None:
    headers = bearer(make_token(deployment))
    flow_id = saved_flow(deployment, headers)
    client = deployment.app.test_client()
    sign_in(client, deployment, "admin")
    editor = client.get(f"/admin/flows/{flow_id}")
    assert 'id="upload-form"' in editor.text and 'data-play="greeting"' in editor.text
    refused = client.post(f"/admin/flows/{flow_id}/recordings",
                          data={"csrf_token": csrf_token(editor.text), "prompt": "greeting",
                                "locale": "en", "file": (io.BytesIO(b"<b>x</b>" * 9), "x.ogg")},
                          content_type="multipart/form-data")
    assert refused.status_code == 422
    assert 'data-field-error="file">x.ogg: not an audio file sox can read' in refused.text
    no_csrf = client.post(f"/admin/flows/{flow_id}/recordings",
                          data={"prompt": "greeting", "locale": "en",
                                "file": (io.BytesIO(b"x"), "x.wav")},
                          content_type="multipart/form-data")
    assert no_csrf.status_code == 400
    assert versions(deployment) == 1


def test_rehearsal_in_the_page_and_the_api(deployment: Deployment, var_dir: Path) -> None:
    with deployment.db.session() as session:
        account = session.scalars(select(Account).order_by(Account.id)).first()
        assert account is not None
        number, customer = account.number, account.customer.name
    client = deployment.app.test_client()
    token = sign_in(client, deployment, "admin")
    turns = f"fine thanks\n{number}#\n"
    answer = client.post("/admin/flows/rehearse", headers={"X-CSRFToken": token},
                         data={"text": SUPPORT, "turns": turns, "locale": "en"})
    assert answer.status_code == 200, answer.text
    said = [line["text"] for line in answer.json["lines"] if line["kind"] == "prompt"]
    assert said[0].startswith("Hello, thank you for calling")
    end = answer.json["end"]
    assert end["outcome"] == "route" and end["queue"] == "support"
    assert end["call_data"]["identified"] is True and end["call_data"]["customer_name"] == customer
    bad = client.post("/admin/flows/rehearse", headers={"X-CSRFToken": token},
                      data={"text": SUPPORT, "turns": "fine\nkeys: 12x", "locale": "en"})
    assert bad.status_code == 422
    assert bad.json["fields"]["turns"] == "line 2: '12x' are not keys (1 to 32 of 0-9, * and #)"
    broken = client.post("/admin/flows/rehearse", headers={"X-CSRFToken": token},
                         data={"text": SUPPORT.replace("prompt: greeting", "prompt: nope"),
                               "turns": "fine"})
    assert broken.status_code == 422 and broken.json["issues"][0]["field"].endswith("prompt")
    forged = client.post("/admin/flows/rehearse", data={"text": SUPPORT, "turns": "fine"})
    assert forged.status_code == 400  # no CSRF token
    api = deployment.app.test_client().post(
        "/api/admin/flows/rehearse", headers=bearer(make_token(deployment)),
        json={"text": SUPPORT, "turns": "0", "locale": "it"})
    assert api.status_code == 200 and api.json["end"]["reason"] == "operator"


def test_preview_renders_the_text_as_typed_for_admins_only(
    deployment: Deployment, var_dir: Path
) -> None:
    client = deployment.app.test_client()
    token = sign_in(client, deployment, "admin")
    typed = SUPPORT.replace("Glad to hear it.", "Lovely; $(touch /tmp/pwned) `id`.")
    answer = client.post("/admin/flows/preview", headers={"X-CSRFToken": token},
                         data={"text": typed, "prompt": "ack_calm", "locale": "en"})
    assert answer.status_code == 200, answer.text
    assert answer.json["text"] == "Lovely; $(touch /tmp/pwned) `id`."
    audio = client.get(answer.json["url"])
    assert audio.status_code == 200 and audio.mimetype == "audio/wav"
    assert audio.data[:4] == b"RIFF" and not Path("/tmp/pwned").exists()
    rendered = list((var_dir / "prompt-preview").glob("*.wav"))
    assert len(rendered) == 1 and rendered[0].stat().st_mode & 0o777 == 0o600
    assert inspect_recording(rendered[0]).clock_rate == 8000
    missing = client.post("/admin/flows/preview", headers={"X-CSRFToken": token},
                          data={"text": typed, "prompt": "nothing", "locale": "en"})
    assert missing.status_code == 422 and "no text for prompt 'nothing'" in missing.text
    assert client.get("/admin/flows/preview/..%2F..%2Fconsole-secret").status_code == 404
    api = deployment.app.test_client().post(
        "/api/admin/flows/preview", headers=bearer(make_token(deployment)),
        json={"text": SUPPORT, "prompt": "greeting", "locale": "it"})
    assert api.status_code == 200 and api.data[:4] == b"RIFF"
    agent = deployment.app.test_client()
    agent_token = sign_in(agent, deployment, "alice")
    assert agent.post("/admin/flows/preview", headers={"X-CSRFToken": agent_token},
                      data={"text": SUPPORT, "prompt": "greeting", "locale": "en"}
                      ).status_code == 403
    assert agent.get(answer.json["url"]).status_code == 403
    assert agent.post("/api/admin/flows/preview", json={"text": SUPPORT}).status_code == 403


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(
    deployment: Deployment, var_dir: Path
) -> None:
    headers = bearer(make_token(deployment))
    flow_id = saved_flow(deployment, headers)
    huge = b"\0" * (12 * 1024 * 1024)
    api = deployment.app.test_client().post(
        f"/api/admin/flows/{flow_id}/recordings", headers=headers,
        data={"prompt": "greeting", "locale": "en", "file": (io.BytesIO(huge), "huge.wav")},
        content_type="multipart/form-data")
    assert api.status_code == 413
    assert api.json["fields"]["file"] == "larger than 10 MB; nothing was stored"
    client = deployment.app.test_client()
    sign_in(client, deployment, "admin")
    token = csrf_token(client.get(f"/admin/flows/{flow_id}").text)
    page = client.post(f"/admin/flows/{flow_id}/recordings",
                       data={"csrf_token": token, "prompt": "greeting", "locale": "en",
                             "file": (io.BytesIO(huge), "huge.wav")},
                       content_type="multipart/form-data")
    assert page.status_code == 413
    assert 'data-field-error="file">larger than 10 MB; nothing was stored' in page.text
    assert versions(deployment) == 1 and not list(var_dir.rglob("*.wav"))
