"""The worker's watch over its live calls for the supervisor's floor: alerts and live lines.

`FloorWatch` follows this worker's own event bus on one thread (calls answered, bridged, held,
the caller's voice and prosody from the IVR's listening chain, final transcript lines) and the
agent legs' audio as a frame sink (is the agent talking?). Each call gets an
`ivr.alerts.CallWatch` with its queue's thresholds and its locale's watched phrases, read from
the store (``alert_rules``, ``watched_phrases``; re-read every few seconds, so edits reach live
calls). Every final line is stored in ``transcript_lines`` with the caller's mood; every alert
in ``alerts``, then published as an ``alert`` event. The floor pages read those tables, so any
console process sees every worker's calls.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import select

from ivr.alerts import Alert
from ivr.alerts.watch import CallWatch, WatchConfig
from store.db import Database
from store.models import SupportNumber
from store.supervision import EVERY_QUEUE, AlertRow, AlertRule, TranscriptLine, WatchedPhrase
from telephony.events import EventBus
from telephony.tap import IN, TapFrame

log = logging.getLogger("centralino.floorwatch")

TICK_SECONDS = 1.0
RELOAD_SECONDS = 5.0
#: An agent frame louder than this is speech (their own microphone: no echo canceller needed).
AGENT_SPEECH_DBFS = -38.0
AGENT_ONSET_FRAMES = 3
AGENT_HANGOVER_FRAMES = 20  # 400 ms of quiet ends a turn


@dataclass
class VoiceGate:
    """Talking or not from frame levels, with an onset and a hangover."""

    talking: bool = False
    run: int = 0

    def frame(self, samples: np.ndarray) -> bool | None:
        """The new state when it changes, else None."""
        power = float(np.mean(np.square(samples.astype(np.float64)))) + 1e-9
        loud = 10 * np.log10(power / 32768.0**2) > AGENT_SPEECH_DBFS
        self.run = self.run + 1 if loud != self.talking else 0
        needed = AGENT_ONSET_FRAMES if loud else AGENT_HANGOVER_FRAMES
        if self.run >= needed:
            self.talking, self.run = loud, 0
            return self.talking
        return None


@dataclass
class Watched:
    watch: CallWatch
    dialled: str
    locale: str
    queue: str
    agent_id: int | None = None
    agent_leg: str | None = None
    gate: VoiceGate = field(default_factory=VoiceGate)


class FloorWatch:
    """Alerts and live lines for every call of one worker (see the module's text)."""

    def __init__(self, db: Database, bus: EventBus, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.bus = bus
        self.clock = clock
        self.calls: dict[str, Watched] = {}
        self._agent_legs: dict[str, Watched] = {}
        self._dialled: dict[str, tuple[str, str]] = {}  # call -> (caller, dialled)
        self._subscription = bus.subscribe()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="floorwatch", daemon=True)
        self._configs: dict[tuple[str, str], WatchConfig] = {}
        self._loaded_at = -1e18

    def start(self) -> FloorWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._subscription.close()
        if self._thread.is_alive():
            self._thread.join(2.0)

    # --- the tap thread ------------------------------------------------------------------------

    def frame(self, frame: TapFrame) -> None:
        """Frame sink: the agent leg's own audio tells whether the agent is talking."""
        if frame.direction != IN:
            return
        watched = self._agent_legs.get(frame.leg_id)
        if watched is None:
            return
        change = watched.gate.frame(frame.samples)
        if change is not None:
            watched.watch.voice("agent", change, self.clock())

    # --- the watch thread -----------------------------------------------------------------------

    def _run(self) -> None:
        next_tick = time.monotonic() + TICK_SECONDS
        while not self._stop.is_set():
            event = self._subscription.get(timeout=max(0.0, next_tick - time.monotonic()))
            try:
                if event is not None:
                    self.handle(event)
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + TICK_SECONDS
                    self.tick()
            except Exception:  # the store may be briefly busy; the next event or tick retries
                log.exception("floor watch: %s not handled", event and event.get("type"))

    def handle(self, event: Mapping[str, Any]) -> None:
        kind, call_id = event.get("type"), str(event.get("call_id") or "")
        now = self.clock()
        if kind == "ringing" and "dialled" in event:
            self._dialled[call_id] = (str(event.get("caller") or ""), str(event["dialled"]))
        elif kind == "answered" and event.get("role") == "customer" and call_id not in self.calls:
            self._open(call_id, now)
        watched = self.calls.get(call_id)
        if watched is None:
            return
        if kind == "agent.ringing":
            watched.agent_id = _int(event.get("agent_id"))
            queue = (event.get("call_data") or {}).get("queue")
            if isinstance(queue, str) and queue and queue != watched.queue:
                watched.queue = queue
                watched.watch.reconfigure(self._config(queue, watched.locale))
        elif kind == "bridged":
            legs = [str(leg) for leg in event.get("legs") or []]
            if len(legs) == 2:
                self._agent_legs.pop(watched.agent_leg or "", None)
                watched.agent_leg = legs[1]
                self._agent_legs[legs[1]] = watched
            watched.agent_id = _int(event.get("agent_id")) or watched.agent_id
            watched.watch.bridged(now)
        elif kind == "hold":
            watched.watch.hold(now)
        elif kind == "unhold":
            watched.watch.unhold(now)
        elif kind == "ivr.voice":
            if event.get("state") == "started":
                watched.watch.voice("caller", True, now)
            else:
                self._voiced(call_id, watched, event.get("utterance"), now)
        elif kind == "transcript.final":
            self._heard(call_id, watched, event, now)
        elif kind == "ended":
            self.calls.pop(call_id, None)
            self._dialled.pop(call_id, None)
            self._agent_legs.pop(watched.agent_leg or "", None)

    def tick(self) -> None:
        now = self.clock()
        if now - self._loaded_at >= RELOAD_SECONDS:
            self._configs.clear()
            self._loaded_at = now
            for watched in list(self.calls.values()):
                watched.watch.reconfigure(self._config(watched.queue, watched.locale))
        for call_id, watched in list(self.calls.items()):
            self._raise(call_id, watched, watched.watch.tick(now))

    # --- what a call is watched with --------------------------------------------------------

    def _open(self, call_id: str, now: float) -> None:
        _caller, dialled = self._dialled.get(call_id, ("", ""))
        with self.db.session() as session:
            number = session.scalars(
                select(SupportNumber).where(SupportNumber.number == dialled)
            ).first()
            locale = number.locale if number else "en"
            queue = number.queue if number else "support"
        watch = CallWatch(locale, now, self._config(queue, locale))
        self.calls[call_id] = Watched(watch, dialled, locale, queue)

    def _config(self, queue: str, locale: str) -> WatchConfig:
        key = (queue, locale)
        if key not in self._configs:
            with self.db.session() as session:
                rules = session.scalars(
                    select(AlertRule).where(AlertRule.queue.in_([EVERY_QUEUE, queue]))
                ).all()
                phrases = session.scalars(
                    select(WatchedPhrase.phrase).where(
                        WatchedPhrase.locale.in_([locale, locale.split("-")[0]])
                    )
                ).all()
            layers = [
                {row.rule: (row.enabled, dict(row.params)) for row in rules if row.queue == name}
                for name in (EVERY_QUEUE, queue)
            ]
            self._configs[key] = WatchConfig.build(layers, phrases)
        return self._configs[key]

    # --- lines and alerts into the store ----------------------------------------------------

    def _heard(self, call_id: str, watched: Watched, event: Mapping[str, Any], now: float) -> None:
        speaker, text = str(event.get("speaker") or "caller"), str(event.get("text") or "")
        if not text:
            return
        mood, alerts = watched.watch.heard(speaker, text, now)
        with self.db.session() as session:
            session.add(
                TranscriptLine(
                    call_id=call_id,
                    speaker=speaker,
                    text=text,
                    mood=mood.label if mood else None,
                    mood_score=round(mood.score, 3) if mood else None,
                    at=_utc(now),
                )
            )
        self._raise(call_id, watched, alerts, event.get("spoken_at"))

    def _voiced(self, call_id: str, watched: Watched, features: Any, now: float) -> None:
        """An utterance's end: when its final line came first, that line's mood is restated."""
        mood, alerts = watched.watch.utterance(features, now)
        if mood is not None:
            with self.db.session() as session:
                line = session.scalars(
                    select(TranscriptLine)
                    .where(TranscriptLine.call_id == call_id, TranscriptLine.speaker == "caller")
                    .order_by(TranscriptLine.id.desc())
                    .limit(1)
                ).first()
                if line is not None:
                    line.mood, line.mood_score = mood.label, round(mood.score, 3)
        self._raise(call_id, watched, alerts)

    def _raise(
        self, call_id: str, watched: Watched, alerts: list[Alert], spoken_at: Any = None
    ) -> None:
        for alert in alerts:
            detail = dict(alert.detail)
            if isinstance(spoken_at, int | float):
                detail["spoken_at"] = spoken_at
            with self.db.session() as session:
                row = AlertRow(
                    call_id=call_id,
                    queue=watched.queue,
                    kind=alert.kind,
                    reason=alert.reason[:300],
                    words=list(alert.words),
                    detail=detail,
                    agent_id=watched.agent_id,
                    worker=self.bus.worker,
                    at=_utc(self.clock()),
                )
                session.add(row)
                session.flush()
                alert_id = row.id
            log.info("alert %s on call %s", alert.kind, call_id)
            self.bus.publish(
                "alert",
                call_id,
                id=alert_id,
                kind=alert.kind,
                reason=alert.reason,
                words=list(alert.words),
                queue=watched.queue,
            )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) else None


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
