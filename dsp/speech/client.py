"""The speech client a switch worker uses per call leg: frames in, transcripts out, never blocking.

`SpeechClient.feed` only appends to a bounded queue (the oldest frame is dropped, and counted,
when it is full). A background thread runs an asyncio loop that streams the queued audio to the
speech service (or any vosk-server) over WebSocket, delivers partial and final results through
a callback with times on the caller's own audio timeline (and each result's lag: from the feed
of the last frame it accounts for to its arrival), reconnects with backoff when the service
fails, and reports every stretch of audio that was not recognised as a `SpeechGap`.

Audio goes out in 40 ms chunks: Vosk decodes in bursts of about 240 ms of audio, and audio held
back in the client until a longer chunk fills reaches the recognizer only with the final's
request, so the burst it triggers then sits in front of the final (`bench/asr_finals.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from dsp.speech.gaps import LostAudio, SpeechGap
from dsp.speech.protocol import (
    EOF_MESSAGE,
    RESET_MESSAGE,
    Recognition,
    StreamConfig,
    Word,
    as_pcm,
    parse_reply,
)
from dsp.speech.timeline import StreamTimeline
from dsp.speech.transcript import Transcript

__all__ = [
    "ErrorCallback",
    "GapCallback",
    "ResultCallback",
    "SpeechClient",
    "SpeechGap",
    "Transcript",
    "service_url",
]

log = logging.getLogger("centralino.speech.client")
T = TypeVar("T")


#: Close codes after which reconnecting cannot help (1008: no model for the locale, a limit
#: broken; 1003: data the service cannot take); 1013 (try again later) and others are retried.
PERMANENT_CLOSE = frozenset({1003, 1008})
#: Handshake answers that will not change by retrying (token, origin, path).
PERMANENT_STATUS = frozenset({401, 403, 404})

ResultCallback = Callable[[Transcript], None]
GapCallback = Callable[[SpeechGap], None]
ErrorCallback = Callable[[str], None]


def service_url(host: str, port: int, locale: str) -> str:
    """The stream URL for *locale* on a speech service (``speech_address``, ``speech_port``)."""
    return f"ws://{host}:{port}/{locale}"


class SpeechClient:
    """Streams one leg's audio to the speech service; see the module docstring.

    Callbacks run on the client's own thread: keep them short (hand work to a queue).
    """

    def __init__(
        self,
        url: str,
        *,
        sample_rate: int = 8000,
        on_result: ResultCallback,
        on_gap: GapCallback | None = None,
        on_error: ErrorCallback | None = None,
        phrases: Sequence[str] | None = None,
        words: bool = True,
        queue_ms: int = 5000,
        chunk_ms: int = 40,
        max_in_flight: int = 25,
        backoff: tuple[float, float] = (0.1, 5.0),
        deliver_empty: bool = False,
        name: str = "speech-client",
        token: str | None = None,
    ) -> None:
        self.url = url
        # the deployment token, sent as a header (never in the URL, which logs carry)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.sample_rate = sample_rate
        self.on_result = on_result
        self.on_gap = on_gap
        self.on_error = on_error
        self.config = StreamConfig(
            sample_rate=sample_rate, words=words, phrase_list=tuple(phrases) if phrases else None
        )
        self.chunk_samples = max(1, sample_rate * chunk_ms // 1000)
        self.max_in_flight = max_in_flight
        self.backoff = backoff
        self.deliver_empty = deliver_empty
        self.name = name
        # ~20 ms frames: the queue holds queue_ms of audio, then drops the oldest.
        self._queue: deque[tuple[int, bytes]] = deque(maxlen=max(1, queue_ms // 20))
        # where `end_utterance` was asked (samples), and whether its final is delivered
        self._ends: deque[tuple[int, bool]] = deque(maxlen=64)
        self._skips: deque[tuple[int, int]] = deque()  # stretches `skip` left out
        # (sample fed up to, time.monotonic() then): each result's lag; 10 s of frames
        self._fed_at: deque[tuple[int, float]] = deque(maxlen=512)
        self.utterances_ended = 0
        self._lock = threading.Lock()
        self._fed = 0
        self._idle = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._lost = LostAudio(sample_rate)
        self.connected = threading.Event()
        self.dropped_frames = 0
        self.reconnects = 0
        self.connections = 0
        self.lost_ms = 0.0
        self.errors = 0
        self.refused: str | None = None  # why the service refused this stream for good
        self._answered = False
        self._service_said: str | None = None

    # -- media side (any thread, never blocks) -------------------------------------------

    def feed(self, frame: np.ndarray | bytes | bytearray | memoryview) -> None:
        """Queue one frame of 16-bit mono PCM; drops the oldest queued frame when full."""
        pcm = as_pcm(frame)
        if not pcm:
            return
        with self._lock:
            start = self._fed
            self._fed += len(pcm) // 2
            if len(self._queue) == self._queue.maxlen:
                self.dropped_frames += 1
            self._queue.append((start, pcm))
            self._fed_at.append((self._fed, time.monotonic()))
        if self._idle and self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                self._loop.call_soon_threadsafe(self._wake.set)

    def skip(self, samples: int) -> None:
        """*samples* of the leg's audio are left out on purpose (`dsp.speech.gate`): times
        after them stay on the leg's clock, and they are not reported as a gap."""
        if samples <= 0:
            return
        with self._lock:
            self._skips.append((self._fed, samples))
            self._fed += samples
            self._fed_at.append((self._fed, time.monotonic()))

    def end_utterance(self, deliver: bool = True) -> None:
        """The caller stopped (our VAD says so): once the audio fed so far is sent, ask the
        recognizer for its final result now (``{"reset": 1}``) and go on with a new utterance,
        instead of waiting for its own endpointing (about a second of silence).

        ``deliver=False`` warms the stream up (a stream's first final is its slowest): the
        final is asked for and dropped, so whatever the recognizer made of the audio so far (a
        greeting's echo) never reaches the caller's transcript."""
        with self._lock:
            if self._ends and self._ends[-1][0] == self._fed:
                return
            self._ends.append((self._fed, deliver))
        if self._idle and self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._wake.set)

    @property
    def fed_seconds(self) -> float:
        return self._fed / self.sample_rate

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> SpeechClient:
        self._thread = threading.Thread(target=self._thread_main, name=self.name, daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 10.0) -> bool:
        """Send what is queued, ask for the last final result, and stop; False on timeout.

        With ``timeout=0`` it returns at once and the flush goes on in the background.
        """
        self._closing.set()
        if self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._wake.set)
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def __enter__(self) -> SpeechClient:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _thread_main(self) -> None:
        asyncio.run(self._run())

    # -- the connection loop -------------------------------------------------------------

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        delay = self.backoff[0]
        while True:
            self._answered = False
            try:
                async with connect(
                    self.url,
                    additional_headers=self.headers,
                    open_timeout=5,
                    ping_interval=5,
                    ping_timeout=5,
                    max_size=2**20,
                ) as connection:
                    self.connections += 1
                    if self.connections > 1:
                        self.reconnects += 1
                    self.connected.set()
                    finished = await self._stream(connection)
                    if finished or self.refused:
                        break
            except InvalidStatus as exc:
                status = exc.response.status_code
                text = f"speech service {self.url}: HTTP {status} at the handshake"
                if status in PERMANENT_STATUS:
                    self._refuse(text)
                    break
                self._report_error(text)
            except (OSError, TimeoutError, WebSocketException) as exc:
                self._report_error(f"speech service {self.url}: {exc.__class__.__name__}: {exc}")
            self.connected.clear()
            if self._closing.is_set():
                break
            if self._answered:  # that connection worked: a new failure starts the backoff over
                delay = self.backoff[0]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed_or_woken(), delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self.backoff[1])
        self.connected.clear()
        self._give_up()

    def _refuse(self, reason: str) -> None:
        """The service will never serve this stream (no model for the locale, bad token): stop
        for good, with one line (the error callback's, or ours when there is none)."""
        self.refused = reason
        text = f"{reason} (permanent: this stream stops, no retry)"
        quiet = self.on_error is not None or self.errors > 0  # already said, or theirs to say
        log.log(
            logging.DEBUG if quiet else logging.WARNING,
            "event=speech.refused url=%s reason=%r",
            self.url,
            text,
        )
        self.errors += 1
        self._notify(self.on_error, text, "error")

    async def _closed_or_woken(self) -> None:
        assert self._wake is not None
        while not self._closing.is_set():
            self._wake.clear()
            await self._wake.wait()

    async def _stream(self, connection: ClientConnection) -> bool:
        """Carry queued audio over one connection; True once the final result after EOF came."""
        timeline = StreamTimeline()
        answered = asyncio.Event()
        receiver = asyncio.create_task(self._receive(connection, timeline, answered))
        try:
            await connection.send(self.config.message())
            while True:
                chunk = await self._next_chunk(timeline, answered, receiver)
                if chunk is None:
                    break
                start, pcm = chunk
                if not pcm:  # the caller stopped: the final result now (start < 0: dropped)
                    await connection.send(RESET_MESSAGE)
                    timeline.pending.append(timeline.sent_to)
                    if start < 0:
                        timeline.muted.add(len(timeline.pending) + timeline.answers)
                    timeline.utterance_open = False
                    self.utterances_ended += 1
                    continue
                samples = len(pcm) // 2
                timeline.carry(start, samples)
                await connection.send(pcm)
                self._emit_gap(self._lost.sent(start, samples))
            if self._closing.is_set():
                await connection.send(EOF_MESSAGE)
            await receiver
            return self._closing.is_set() and not self._queue
        except (ConnectionClosed, OSError) as exc:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed, OSError):
                await receiver
            code = connection.close_code
            if code in PERMANENT_CLOSE:
                reason = self._service_said or connection.close_reason or f"closed with {code}"
                self._refuse(f"speech service {self.url}: {reason}")
                return False
            self._lost.connection_lost(timeline, "connection lost")
            self._report_error(f"speech service {self.url}: connection lost: {exc}")
            return False
        finally:
            if not receiver.done():
                receiver.cancel()

    async def _next_chunk(
        self, timeline: StreamTimeline, answered: asyncio.Event, receiver: asyncio.Task[None]
    ) -> tuple[int, bytes] | None:
        """Contiguous queued audio up to one chunk; None when closing with an empty queue."""
        assert self._wake is not None
        while True:
            if receiver.done():
                receiver.result()  # re-raise ConnectionClosed
                raise ConnectionClosed(None, None)
            if len(timeline.pending) >= self.max_in_flight:
                answered.clear()
                await self._wait(answered.wait(), receiver)
                continue
            with self._lock:
                head = self._queue[0][0] if self._queue else self._fed
                while self._skips and self._skips[0][0] < head:
                    self._lost.skipped(*self._skips.popleft())
                while self._ends:  # an utterance ended: flush the audio before it, then reset
                    end, deliver = self._ends[0]
                    if self._queue and self._queue[0][0] < end:
                        return self._take_chunk(end)
                    self._ends.popleft()
                    if timeline.utterance_open:
                        return (end if deliver else -1), b""
                queued = sum(len(pcm) for _, pcm in self._queue) // 2
                if queued >= self.chunk_samples or (queued and self._closing.is_set()):
                    return self._take_chunk()
                if not queued and self._closing.is_set():
                    return None
                self._wake.clear()
                self._idle = True
            try:
                await self._wait(self._wake.wait(), receiver)
            finally:
                self._idle = False

    async def _wait(
        self, awaitable: Coroutine[Any, Any, Any], receiver: asyncio.Task[None]
    ) -> None:
        waiter = asyncio.ensure_future(awaitable)
        await asyncio.wait({waiter, receiver}, return_when=asyncio.FIRST_COMPLETED)
        if not waiter.done():
            waiter.cancel()

    def _take_chunk(self, limit: int | None = None) -> tuple[int, bytes]:
        """Pop contiguous frames up to one chunk, and not past sample *limit* (caller holds
        the lock)."""
        start, pcm = self._queue.popleft()
        parts, end = [pcm], start + len(pcm) // 2
        stop = limit if limit is not None else end + self.chunk_samples
        while (
            self._queue
            and end - start < self.chunk_samples
            and self._queue[0][0] == end
            and end < stop
        ):
            _, more = self._queue.popleft()
            parts.append(more)
            end += len(more) // 2
        return start, b"".join(parts)

    async def _receive(
        self, connection: ClientConnection, timeline: StreamTimeline, answered: asyncio.Event
    ) -> None:
        async for message in connection:
            try:
                reply = parse_reply(str(message))
            except (ValueError, KeyError, TypeError) as exc:
                reply = f"unreadable reply ({exc}): {str(message)[:80]!r}"
            if isinstance(reply, str):
                self._service_said = reply  # a refusal's close that follows names it
                self._report_error(f"speech service {self.url}: {reply}")
                continue
            self._answered = True
            audio_end = timeline.pending.popleft() if timeline.pending else timeline.sent_to
            timeline.answers += 1
            muted = timeline.answers in timeline.muted
            timeline.muted.discard(timeline.answers)
            answered.set()
            if reply.final:
                timeline.finalised_to = audio_end
                timeline.last_partial = ""
                if (reply.text or self.deliver_empty) and not muted:
                    self._deliver(reply, timeline, audio_end)
            elif reply.text and reply.text != timeline.last_partial:
                timeline.last_partial = reply.text
                self._deliver(reply, timeline, audio_end)

    def _deliver(self, reply: Recognition, timeline: StreamTimeline, audio_end: int) -> None:
        rate = float(self.sample_rate)
        words = tuple(
            Word(
                w.word,
                timeline.client_samples(w.start, rate) / rate,
                timeline.client_samples(w.end, rate) / rate,
                w.conf,
            )
            for w in reply.words
        )
        now = time.monotonic()
        fed = self._fed_time(audio_end)
        lag = round((now - fed) * 1000, 1) if fed is not None else None
        transcript = Transcript(reply.text, reply.final, words, audio_end / rate, now, lag)
        self._notify(self.on_result, transcript, "result")

    def _fed_time(self, sample: int) -> float | None:
        """When the frame that brought the leg's audio up to *sample* was fed (None: forgotten)."""
        with self._lock:
            for end, at in self._fed_at:
                if end >= sample:
                    return at
        return None

    # -- gaps and callbacks ----------------------------------------------------------------

    def _emit_gap(self, gap: SpeechGap | None) -> None:
        if gap is None:
            return
        self.lost_ms += gap.duration_ms
        log.log(
            logging.DEBUG if self.refused else logging.WARNING,  # the refusal said it all
            "event=speech.gap url=%s start_s=%.3f duration_ms=%.0f reason=%r",
            self.url,
            gap.start,
            gap.duration_ms,
            gap.reason,
        )
        self._notify(self.on_gap, gap, "gap")

    def _give_up(self) -> None:
        """Stopping: whatever was lost or is still queued was never recognised."""
        with self._lock:
            self._queue.clear()
            fed = self._fed
        self._emit_gap(self._lost.stopped(fed))

    def _report_error(self, text: str) -> None:
        """A failure: the callback hears each; our own line is the first one only, and only
        when there is no callback (the callback's owner reports it)."""
        self.errors += 1
        level = logging.WARNING if self.errors == 1 and self.on_error is None else logging.DEBUG
        log.log(level, "event=speech.error url=%s reason=%r", self.url, text)
        self._notify(self.on_error, text, "error")

    def _notify(self, callback: Callable[[T], None] | None, value: T, what: str) -> None:
        """Hand *value* to a user callback; one that raises is logged, never fatal."""
        if callback is None:
            return
        try:
            callback(value)
        except Exception:
            log.exception("speech %s callback failed", what)
