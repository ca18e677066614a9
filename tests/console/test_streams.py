"""Browser event streams are bounded: per session, per console, in time, and by the session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import update

from store.models import Agent
from tests.console.conftest import Deployment, sign_in


def chunks(response: Any) -> Iterator[str]:
    for chunk in response.response:
        yield chunk.decode() if isinstance(chunk, bytes) else chunk


def open_stream(client: Any, path: str = "/agent/events") -> tuple[Any, Iterator[str]]:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    frames = chunks(response)
    assert next(frames).startswith("retry: ")
    return response, frames


def streams(deployment: Deployment) -> int:
    return deployment.app.extensions["centralino.streams"].count()


def test_a_newer_stream_of_the_session_closes_its_oldest(deployment: Deployment) -> None:
    deployment.app.config.update(SSE_STREAMS_PER_SESSION=2, SSE_KEEPALIVE_SECONDS=0.1)
    client = deployment.app.test_client()
    sign_in(client, deployment, "alice")
    opened = [open_stream(client) for _ in range(3)]
    assert streams(deployment) == 2
    first = opened[0][1]
    assert next(first) == 'event: closed\ndata: {"reason":"superseded"}\n\n'
    assert list(first) == []
    assert next(opened[2][1]) == ": keepalive\n\n"  # the newest goes on
    for response, _ in opened:
        response.close()
    assert streams(deployment) == 0
    assert client.get("/health").json["browsers"] == 0


def test_a_full_console_answers_503_with_retry_after(deployment: Deployment) -> None:
    deployment.app.config.update(SSE_MAX_STREAMS=2)
    held = []
    for username in ("alice", "bruno"):
        client = deployment.app.test_client()
        sign_in(client, deployment, username)
        held.append(open_stream(client)[0])
    client = deployment.app.test_client()
    sign_in(client, deployment, "sara")
    full = client.get("/supervisor/events")
    assert full.status_code == 503 and int(full.headers["Retry-After"]) > 0
    assert "retry" in full.json["error"]
    assert client.get("/agent/api/current").status_code == 200  # pages still answer
    held.pop().close()
    assert open_stream(client, "/supervisor/events")[0].status_code == 200
    for response in held:
        response.close()


def test_a_stream_ends_after_its_lifetime_and_the_browser_reconnects(
    deployment: Deployment,
) -> None:
    deployment.app.config.update(SSE_MAX_SECONDS=0.3, SSE_KEEPALIVE_SECONDS=0.05, SSE_RETRY_MS=800)
    client = deployment.app.test_client()
    sign_in(client, deployment, "alice")
    response = client.get("/agent/events")
    frames = list(chunks(response))
    retry = int(frames[0].removeprefix("retry: ").strip())
    assert 800 <= retry <= 1200  # spread, so that a room of desks does not reconnect at once
    assert set(frames[1:]) == {": keepalive\n\n"}
    response.close()
    assert streams(deployment) == 0


def test_signing_out_ends_the_sessions_streams(deployment: Deployment) -> None:
    client = deployment.app.test_client()
    token = sign_in(client, deployment, "bruno")
    response, frames = open_stream(client)
    client.post("/logout", data={"csrf_token": token})
    assert next(frames) == 'event: closed\ndata: {"reason":"signed_out"}\n\n'
    assert list(frames) == []
    response.close()


def test_a_stream_notices_a_sign_out_made_by_another_console_process(
    deployment: Deployment,
) -> None:
    deployment.app.config.update(SSE_KEEPALIVE_SECONDS=0.05)
    client = deployment.app.test_client()
    sign_in(client, deployment, "bruno")
    response, frames = open_stream(client)
    assert next(frames) == ": keepalive\n\n"
    with deployment.db.session() as session:  # what /logout does, in another process
        session.execute(
            update(Agent)
            .where(Agent.username == "bruno")
            .values(session_version=Agent.session_version + 1)
        )
    rest = list(frames)
    assert rest[-1] == 'event: closed\ndata: {"reason":"signed_out"}\n\n'
    response.close()
