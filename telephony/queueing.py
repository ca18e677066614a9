"""Waiting in line on a worker: a caller's queue entry, comfort messages, offers and callbacks.

A `Line` is one caller (or one callback) in a queue, driven from the worker's loop: it joins
the queue on the store thread, polls `router.offer_next` while the caller hears their position
(words from the call's flow document: `telephony.queue_phrases`) and music, hands an offer to
its conversation to ring the agent, and reports the ring's fate (`answered` or `no_answer`,
which keeps the caller's place). Pressing 1 turns the wait into a callback where the queue
offers one (``queues.callback_offer``; the position message then says so). `Callbacks` is the
worker's periodic side: it claims callback requests whose turn has come and starts an
outbound conversation for each (agent first, then the customer).
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sqlalchemy import select

from dsp.clock import CLOCK_RATE
from ivr.prompts import PromptError, render_prompt, write_wav
from ivr.recordings import queue_music_file
from store.db import Database
from store.models import Device
from telephony import callback_policy, router
from telephony.queue_phrases import QueuePhrases
from telephony.router import Offer

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2
MUSIC_SECONDS = 6.0
CALLBACK_POLL_SECONDS = 1.0
RETRY_SECONDS = 1.0  # after the store failed to put a caller in line
CALLBACK_KEY = "1"

# A soft C major arpeggio, away from the frequencies tests use as tones (1000, 1500 Hz).
_MELODY_HZ = (523.25, 659.25, 783.99, 659.25)
_NOTE_SECONDS = 0.5

# Prompt rendering (espeak-ng) must delay neither the loop nor the store thread's CDR writes.
_renderer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="queue-prompts")

WAITING, RINGING, CONNECTED, CALLBACK, LEFT = "waiting", "ringing", "connected", "callback", "left"


class LineSwitch(Protocol):
    """What a line (and the callback desk) needs from the worker: its store, its loop, its room."""

    @property
    def db(self) -> Database: ...

    @property
    def name(self) -> str: ...

    def post(self, action: Callable[[], None]) -> None: ...

    def later(self, delay: float, action: Callable[[], None]) -> None: ...

    def store(self, job: Callable[[], Any], then: Callable[[Any], None] | None = None) -> None: ...

    def has_room(self, legs: int = 1) -> bool: ...


class Waiter(Protocol):
    """What a line needs from its conversation (a `telephony.conversation.Conversation`)."""

    id: str
    caller: str
    ended: bool

    @property
    def switch(self) -> LineSwitch: ...

    def play(self, wav: Path, then: Callable[[], None] | None = None) -> None: ...

    def stop_prompt(self) -> None: ...

    def ring_offer(self, offer: Offer, auto_answer: bool) -> None: ...

    def end(self, reason: str) -> None: ...

    def publish(self, kind: str, leg: None = None, /, **data: Any) -> None:
        """An event of the call (a line's events concern no leg)."""


def device_auto_answers(db: Database, extension: str) -> bool:
    """Whether the device behind *extension* answers on its own (headset, intercom desk phone);
    False when the store cannot tell (the phone then rings as usual)."""
    try:
        with db.session() as session:
            query = select(Device.auto_answer).where(Device.extension == extension)
            return bool(session.scalar(query))
    except Exception:
        log.exception("cannot read the auto-answer setting of %s", extension)
        return False


def _join(
    db: Database,
    call_id: str,
    queue: str,
    caller: str,
    customer_id: int | None,
    skill: str | None,
    preferred: list[int] | None,
    priority: int | None,
    worker: str,
) -> tuple[int, bool, str | None]:
    """Enqueue the caller; agents the flow prefers go before the ones the router found.
    Returns the entry, whether its queue offers callbacks now and its music (the admin's
    settings)."""
    entry_id = router.enqueue(
        db,
        call_id,
        queue,
        customer_id=customer_id,
        caller=caller,
        skill=skill,
        priority=priority,
        worker=worker,
        preferred=preferred,
    )
    with db.session() as session:
        settings = router.queue_settings(session, queue)
        return entry_id, bool(settings.callback_offer), settings.music


def _next_offer(db: Database, entry_id: int) -> tuple[Offer, bool] | None:
    """The next offer for the entry (None: keep waiting, also when the store hiccups)."""
    try:
        offer = router.offer_next(db, entry_id)
    except Exception:  # a locked or unreachable database must not stop the polling
        log.exception("queue entry %s: offer_next failed; trying again", entry_id)
        return None
    return None if offer is None else (offer, device_auto_answers(db, offer.agent.extension))


def _place(db: Database, entry_id: int) -> int:
    """The caller's position in line; 0 when it is not waiting or the store cannot say."""
    try:
        return router.position(db, entry_id)
    except Exception:
        log.exception("queue entry %s: no position", entry_id)
        return 0


def _due_callbacks(db: Database, worker: str) -> list[tuple[Offer, bool]]:
    """Callback requests this worker has just claimed, each with its agent's auto-answer."""
    try:
        offers = router.claim_callbacks(db, worker)
    except Exception:
        log.exception("claiming callbacks failed; trying again")
        return []
    return [(offer, device_auto_answers(db, offer.agent.extension)) for offer in offers]


def caller_number(uri: str) -> str:
    """The number to call back: the user part of the caller's URI (``2001`` of
    ``"Ann" <sip:2001@pbx>``, ``+39...`` of ``<tel:+39...>``), else the bare URI."""
    text = uri.split("<", 1)[-1].split(">", 1)[0].strip()
    scheme, _, address = text.partition(":")
    if scheme == "tel":
        return address.split(";", 1)[0]
    user = address.split("@", 1)[0] if "@" in address else ""
    return user.split(";", 1)[0] or text


def music_wav(directory: Path) -> Path:
    """A short generated melody for callers on hold in line (made once per directory)."""
    path = directory / f"queue-music-{CLOCK_RATE}.wav"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(CLOCK_RATE * _NOTE_SECONDS)) / CLOCK_RATE
    envelope = np.minimum(1.0, np.minimum(t, _NOTE_SECONDS - t) / 0.05)
    notes = [np.sin(2 * np.pi * hz * t) * envelope for hz in _MELODY_HZ]
    bars = int(MUSIC_SECONDS / (_NOTE_SECONDS * len(notes)))
    melody = np.concatenate(notes * max(1, bars))
    partial = directory / f".{path.name}.tmp"
    write_wav(partial, (3000 * melody).astype(np.int16), CLOCK_RATE)
    partial.replace(path)  # atomic: two calls may make it at once
    return path


class Line:
    """One caller in a queue, from joining to an agent answering (or leaving the line)."""

    def __init__(self, waiter: Waiter, queue: str, words: QueuePhrases, prompt_dir: Path,
                 recordings_dir: Path | None = None) -> None:
        self.waiter = waiter
        self.queue = queue
        self.phrases = words  # the words of the wait, from the call's flow document
        self.prompt_dir = prompt_dir
        self.recordings_dir = recordings_dir
        self.music: Path | None = None  # the queue's uploaded music, read when the caller joins
        self.entry_id: int | None = None
        self.state = WAITING
        self.kind = router.CALL
        self.callback_number: str | None = None
        self.offers_callback = True  # the queue's setting, read when the caller joins
        self._comforting = False
        self._polling = False

    @classmethod
    def for_callback(cls, waiter: Waiter, offer: Offer, prompt_dir: Path) -> Line:
        """The line of a claimed callback request, already ringing its agent."""
        line = cls(waiter, "callback", QueuePhrases("en"), prompt_dir)
        line.entry_id, line.state, line.kind = offer.entry_id, RINGING, router.CALLBACK
        line.callback_number = offer.callback_number
        return line

    # -- joining and waiting ---------------------------------------------------------------
    def join(
        self,
        caller: str,
        customer_id: int | None,
        skill: str | None,
        preferred: list[int] | None,
        priority: int | None = None,
    ) -> None:
        """Take a place in line (*priority* None: the queue's own), then wait for offers."""
        switch, waiter = self.waiter.switch, self.waiter
        db, cid, queue, name = switch.db, waiter.id, self.queue, switch.name

        def attempt() -> tuple[int, bool, str | None] | None:
            try:
                return _join(db, cid, queue, caller, customer_id, skill, preferred, priority, name)
            except Exception:
                log.exception("call %s: cannot join queue %s; trying again", cid, queue)
                return None

        def joined(result: tuple[int, bool, str | None] | None) -> None:
            if result is None:
                if self.state != LEFT:
                    switch.later(RETRY_SECONDS, lambda: switch.store(attempt, joined))
                return
            entry_id, self.offers_callback, music = result
            self.music = self._music_file(music)
            self.entry_id = entry_id
            if self.state == LEFT:  # the caller hung up before the row existed
                switch.store(lambda: router.abandon(db, entry_id))
                return
            waiter.publish("queued", None, queue=queue, entry_id=entry_id)
            self._wait()

        switch.store(attempt, joined)

    def _wait(self) -> None:
        """Back in line (first time or after a missed ring): comfort and poll."""
        self.state = WAITING
        self._comfort()
        self._poll()

    def _poll(self) -> None:
        if self.state != WAITING or self._polling or self.entry_id is None:
            return
        switch, entry_id = self.waiter.switch, self.entry_id
        if not switch.has_room():
            switch.later(POLL_SECONDS, self._poll)
            return
        self._polling = True
        db = switch.db

        def polled(result: tuple[Offer, bool] | None) -> None:
            self._polling = False
            if self.state != WAITING:
                return  # the store job queued after the poll (abandon, callback) cleans up
            if result is None:
                switch.later(POLL_SECONDS, self._poll)
            else:
                self._offered(*result)

        switch.store(lambda: _next_offer(db, entry_id), polled)

    def _offered(self, offer: Offer, auto_answer: bool) -> None:
        self.state = RINGING
        self._comforting = False
        self.waiter.stop_prompt()
        self.waiter.ring_offer(offer, auto_answer)

    # -- comfort: position message, then music, repeated -------------------------------------
    def _comfort(self) -> None:
        if self.state != WAITING or self._comforting or self.entry_id is None:
            return
        self._comforting = True
        self._announce()

    def _announce(self) -> None:
        if not self._still_comforting() or self.entry_id is None:
            return
        switch, entry_id = self.waiter.switch, self.entry_id
        db, phrases, prompts = switch.db, self.phrases, self.prompt_dir

        def render(place: int) -> None:
            if not self._still_comforting():
                return
            if place == 0:  # not known just now: music, and the message next time round
                self._music()
                return
            text, voice = phrases.position(place, self.offers_callback)
            job = _renderer.submit(render_prompt, text, voice, prompts)
            job.add_done_callback(lambda done: switch.post(lambda: self._speak(done, place)))

        switch.store(lambda: _place(db, entry_id), render)

    def _speak(self, rendered: concurrent.futures.Future[Path], place: int) -> None:
        if not self._still_comforting():
            return
        try:
            wav = rendered.result()
        except Exception:
            log.exception("call %s: cannot render the position message", self.waiter.id)
            self._music()
            return
        self.waiter.publish("queue.position", None, position=place, queue=self.queue)
        self.waiter.play(wav, then=self._music)

    def _music(self) -> None:
        if self._still_comforting():
            music = self.music if self.music is not None and self.music.is_file() else None
            self.waiter.play(music or music_wav(self.prompt_dir), then=self._announce)

    def _music_file(self, name: str | None) -> Path | None:
        """The queue's uploaded music (``ivr.recordings``), or None for the generated melody."""
        if name is None or self.recordings_dir is None:
            return None
        try:
            return queue_music_file(self.recordings_dir, self.queue, name)
        except PromptError:
            log.warning("queue %s: music %r is not a recording name; the melody plays",
                        self.queue, name)
            return None

    def _still_comforting(self) -> bool:
        return self._comforting and self.state == WAITING and not self.waiter.ended

    # -- what the caller and the agent do ----------------------------------------------------
    def on_dtmf(self, digit: str) -> bool:
        """Press 1 while waiting: call me back instead, when the queue offers it. True when
        the digit was ours."""
        if digit != CALLBACK_KEY or self.state != WAITING or self.entry_id is None:
            return False
        if not self.offers_callback:
            return False
        self.state = CALLBACK
        self._comforting = False
        switch, waiter, entry_id = self.waiter.switch, self.waiter, self.entry_id
        number = caller_number(waiter.caller)
        db, prompts = switch.db, self.prompt_dir
        waiter.publish("queue.callback", None, number=number, queue=self.queue)
        switch.store(lambda: router.request_callback(db, entry_id, number))
        job = _renderer.submit(render_prompt, *self.phrases.callback_confirmed(), prompts)

        def goodbye(done: concurrent.futures.Future[Path]) -> None:
            if waiter.ended:
                return
            try:
                waiter.play(done.result(), then=lambda: waiter.end("callback requested"))
            except Exception:
                waiter.end("callback requested")

        job.add_done_callback(lambda done: switch.post(lambda: goodbye(done)))
        return True

    def agent_answered(self) -> None:
        if self.state == RINGING and self.entry_id is not None:
            self.state = CONNECTED
            db, entry_id = self.waiter.switch.db, self.entry_id
            self.waiter.switch.store(lambda: router.answered(db, entry_id))

    def callback_bridged(self) -> None:
        """A callback's customer and agent are connected: the request is done (its outcome)."""
        if self.kind == router.CALLBACK and self.entry_id is not None:
            db, entry_id = self.waiter.switch.db, self.entry_id
            self.waiter.switch.store(lambda: callback_policy.reached(db, entry_id))

    def callback_unreached(self, why: str) -> None:
        """A callback's customer did not answer: the policy tries again later, at the same
        place in line, or gives up (`telephony.callback_policy.not_reached`)."""
        if self.kind != router.CALLBACK or self.entry_id is None:
            return
        self.state = LEFT
        db, entry_id = self.waiter.switch.db, self.entry_id
        self.waiter.publish("queue.callback.unreached", None, entry_id=entry_id, why=why)
        self.waiter.switch.store(lambda: callback_policy.not_reached(db, entry_id, why))

    def agent_missed(self) -> None:
        """The offered agent did not answer: they go not ready, the caller keeps their place."""
        if self.state != RINGING or self.entry_id is None:
            return
        switch, entry_id = self.waiter.switch, self.entry_id
        switch.store(lambda: router.no_answer(switch.db, entry_id))
        if self.kind == router.CALLBACK:
            self.state = LEFT  # back in line in the store; some worker claims it again
            self.waiter.end("callback agent did not answer")
        elif not self.waiter.ended:
            self._wait()

    def leave(self) -> None:
        """The call ended: a caller still waiting or ringing abandons their place; a callback
        whose agent was still ringing goes back in line (e.g. the worker shuts down)."""
        was, self.state = self.state, LEFT
        self._comforting = False
        if was not in (WAITING, RINGING) or self.entry_id is None:
            return
        db, entry_id, number = self.waiter.switch.db, self.entry_id, self.callback_number
        if self.kind == router.CALLBACK and number:
            self.waiter.switch.store(lambda: router.request_callback(db, entry_id, number))
        else:
            self.waiter.switch.store(lambda: router.abandon(db, entry_id))


def _put_back(db: Database, entry_id: int, number: str) -> Callable[[], None]:
    return lambda: router.request_callback(db, entry_id, number)


class Callbacks:
    """The worker's callback desk: claims due callbacks and places them, agent first."""

    def __init__(self, switch: LineSwitch, place: Callable[[Offer, bool], None]) -> None:
        self.switch = switch
        self.place = place
        self._busy = False

    def start(self) -> None:
        self.switch.later(CALLBACK_POLL_SECONDS, self.tick)

    def tick(self) -> None:
        self.switch.later(CALLBACK_POLL_SECONDS, self.tick)
        if self._busy or not self.switch.has_room(2):
            return
        self._busy = True
        db, name = self.switch.db, self.switch.name
        self.switch.store(lambda: _due_callbacks(db, name), self._claimed)

    def _claimed(self, offers: list[tuple[Offer, bool]]) -> None:
        self._busy = False
        db = self.switch.db
        for offer, auto_answer in offers:
            if self.switch.has_room(2):
                self.place(offer, auto_answer)
            else:  # no room after all: give the agent back, the request keeps its place
                self.switch.store(_put_back(db, offer.entry_id, offer.callback_number or ""))
