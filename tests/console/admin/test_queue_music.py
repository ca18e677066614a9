"""A queue's music in the admin, with the Flask test client and the real sox: an upload (44.1
kHz stereo) is stored as 8 kHz mono under var/recordings/_queues/<queue>/ and named on the
queue; the page plays it back and can go back to the melody; non-audio and oversized uploads are
refused with the reason next to the field and change nothing; agents get 403; all audited."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from ivr.prompts import MAX_RECORDING_BYTES, inspect_recording
from ivr.recordings import queue_music_file
from store.admin_tables import AdminAudit
from store.models import Queue
from tests.console.admin.test_admin_api import bearer, make_token
from tests.console.admin.test_flow_prompts import stereo_wav
from tests.console.conftest import Deployment, csrf_token, sign_in


@pytest.fixture
def var_dir(deployment: Deployment, tmp_path: Path) -> Path:
    deployment.app.config["VAR_DIR"] = str(tmp_path / "var")
    return tmp_path / "var"


def a_queue(deployment: Deployment, headers: dict[str, str]) -> int:
    made = deployment.app.test_client().post(
        "/api/admin/queues/", headers=headers, json={"name": "billing"})
    assert made.status_code == 201, made.text
    return int(made.json["id"])


def music_of(deployment: Deployment, queue_id: int) -> str | None:
    with deployment.db.session() as session:
        queue = session.get(Queue, queue_id)
        assert queue is not None
        return queue.music


def test_the_page_uploads_plays_and_clears_the_music(
    deployment: Deployment, var_dir: Path, tmp_path: Path
) -> None:
    queue_id = a_queue(deployment, bearer(make_token(deployment)))
    client = deployment.app.test_client()
    sign_in(client, deployment, "admin")
    page = client.get(f"/admin/queues/{queue_id}")
    assert "built-in melody" in page.text
    source = stereo_wav(tmp_path / "hold-music.wav", seconds=4.0)
    sent = client.post(f"/admin/queues/{queue_id}/music", data={
        "csrf_token": csrf_token(page.text),
        "music": (io.BytesIO(source.read_bytes()), "hold-music.wav")},
        content_type="multipart/form-data")
    assert sent.status_code == 302, sent.text
    name = music_of(deployment, queue_id)
    assert name is not None and name.startswith("music.xx.")
    stored = queue_music_file(var_dir / "recordings", "billing", name)
    info = inspect_recording(stored)
    assert (info.clock_rate, info.channels) == (8000, 1) and info.seconds == pytest.approx(4, 0.05)
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    page = client.get(f"/admin/queues/{queue_id}")
    assert name in page.text and 'id="queue-music"' in page.text
    played = client.get(f"/admin/queues/{queue_id}/music/{name}")
    assert played.status_code == 200 and played.data == stored.read_bytes()
    assert client.get(f"/admin/queues/{queue_id}/music/..%2f..%2fsecret").status_code == 404
    cleared = client.post(f"/admin/queues/{queue_id}/music/clear",
                          data={"csrf_token": csrf_token(page.text)})
    assert cleared.status_code == 302 and music_of(deployment, queue_id) is None
    with deployment.db.session() as session:
        trail = session.scalars(select(AdminAudit).where(AdminAudit.action == "queue.music")
                                .order_by(AdminAudit.id)).all()
        assert [(row.before, row.after["music"]) for row in trail] == [
            ({"music": None}, name), ({"music": name}, None)]
        assert trail[0].after["upload"] == "hold-music.wav"


def test_bad_uploads_are_refused_next_to_the_field_and_change_nothing(
    deployment: Deployment, var_dir: Path, tmp_path: Path
) -> None:
    queue_id = a_queue(deployment, bearer(make_token(deployment)))
    client = deployment.app.test_client()
    sign_in(client, deployment, "admin")
    token = csrf_token(client.get(f"/admin/queues/{queue_id}").text)
    refused = client.post(f"/admin/queues/{queue_id}/music", data={
        "csrf_token": token, "music": (io.BytesIO(b"not audio at all " * 100), "notes.wav")},
        content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "notes.wav" in refused.text and "nothing was stored" in refused.text
    huge = io.BytesIO(b"\0" * (MAX_RECORDING_BYTES + 1024))
    too_big = client.post(f"/admin/queues/{queue_id}/music", data={
        "csrf_token": token, "music": (huge, "long.wav")}, content_type="multipart/form-data")
    assert too_big.status_code in (413, 422) and "10 MB" in too_big.text
    assert music_of(deployment, queue_id) is None
    assert not (var_dir / "recordings" / "_queues").exists() or not any(
        (var_dir / "recordings" / "_queues").rglob("*.wav"))


def test_the_api_sets_the_music_and_agents_cannot(
    deployment: Deployment, var_dir: Path, tmp_path: Path
) -> None:
    headers = bearer(make_token(deployment))
    queue_id = a_queue(deployment, headers)
    client = deployment.app.test_client()
    source = stereo_wav(tmp_path / "hold.wav", seconds=2.0)
    sent = client.post(f"/api/admin/queues/{queue_id}/music", headers=headers,
                       data={"music": (io.BytesIO(source.read_bytes()), "hold.wav")},
                       content_type="multipart/form-data")
    assert sent.status_code == 201, sent.text
    assert sent.json["music"] == music_of(deployment, queue_id)
    listed = client.get("/api/admin/queues/", headers=headers).json
    assert any(q["id"] == queue_id and q["music"] == sent.json["music"] for q in listed)
    assert client.delete(f"/api/admin/queues/{queue_id}/music", headers=headers).status_code == 200
    assert music_of(deployment, queue_id) is None
    agent = deployment.app.test_client()
    sign_in(agent, deployment, "alice")
    assert agent.get(f"/admin/queues/{queue_id}").status_code == 403
    assert client.post(f"/api/admin/queues/{queue_id}/music").status_code == 401


def test_a_prompt_the_worker_speaks_from_text_takes_no_recording(
    deployment: Deployment, var_dir: Path, tmp_path: Path
) -> None:
    from tests.console.admin.test_flow_prompts import saved_flow

    headers = bearer(make_token(deployment))
    flow_id = saved_flow(deployment, headers)
    source = stereo_wav(tmp_path / "position.wav")
    refused = deployment.app.test_client().post(
        f"/api/admin/flows/{flow_id}/recordings", headers=headers,
        data={"prompt": "queue_position", "locale": "en",
              "file": (io.BytesIO(source.read_bytes()), "position.wav")},
        content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "always spoken from its text" in refused.json["fields"]["prompt"]
    assert not (var_dir / "recordings").exists() or not any((var_dir / "recordings").rglob("*.wav"))
