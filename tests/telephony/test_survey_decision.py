"""The survey decision against the agent's hang-up, in every order: a caller whose agent hangs
up before the store has said whether the survey is due stays on the worker until it says.

The store is real (a migrated SQLite file, a queue that asks for the survey); the conversation
and the worker's loop are stand-ins that hold the store's jobs and timers until the test runs
them, so each order of events is taken on purpose instead of by timing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from store.db import Database
from store.migrate import upgrade
from store.models import Queue
from telephony.survey import DECISION_WAIT_SECONDS, AfterCall


@dataclass
class HeldLoop:
    """The worker's loop and store thread, run by hand."""

    db: Database
    jobs: list[tuple[Callable[[], Any], Callable[[Any], None] | None]] = field(default_factory=list)
    timers: list[tuple[float, Callable[[], None]]] = field(default_factory=list)

    def store(self, job: Callable[[], Any], then: Callable[[Any], None] | None = None) -> None:
        self.jobs.append((job, then))

    def later(self, delay: float, action: Callable[[], None]) -> None:
        self.timers.append((delay, action))

    def post(self, action: Callable[[], None]) -> None:
        action()

    def run_store(self) -> None:
        while self.jobs:
            job, then = self.jobs.pop(0)
            result = job()
            if then is not None:
                then(result)


class SurveyFlow:
    """The IVR's side of the survey: records that it was asked to start."""

    def __init__(self) -> None:
        self.started = 0

    def start_survey(self, call: Any, finish: Any) -> None:
        self.started += 1


class Conversation:
    """What `AfterCall` reads and does on its call."""

    def __init__(self, loop: HeldLoop) -> None:
        self.id = "call-1"
        self.direction = "inbound"
        self.flow = SurveyFlow()
        self.call_data: dict[str, Any] = {"queue": "support", "customer_id": None}
        self.context = SimpleNamespace(queue="support")
        self.switch = loop
        self.caller = "+390200001"
        self.customer = SimpleNamespace(state="confirmed")
        self.bridge: Any = SimpleNamespace(disconnect=lambda: None)
        self.consult = None
        self.agent_id = 7
        self.control = object()
        self.wrapped: list[int] = []
        self.record = SimpleNamespace(
            agent_wrap_up=lambda agent, reason: self.wrapped.append(agent)
        )
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.ended = False
        self.end_reason: str | None = None
        self.after_call = AfterCall(self)  # type: ignore[arg-type]

    def publish(self, kind: str, leg: Any, **data: Any) -> None:
        self.published.append((kind, data))

    def end(self, reason: str) -> None:
        if not self.ended:
            self.ended, self.end_reason = True, reason


@pytest.fixture
def loop(tmp_path: Path) -> HeldLoop:
    url = f"sqlite:///{tmp_path / 'survey.sqlite'}"
    upgrade(url)
    db = Database(url)
    with db.session() as session:
        session.add(Queue(name="support", survey_enabled=True, survey_cap_days=1))
    return HeldLoop(db)


def bridged(loop: HeldLoop) -> Conversation:
    call = Conversation(loop)
    call.after_call.bridged()
    assert len(loop.jobs) == 1  # the decision is asked of the store, off the loop
    return call


def test_an_agent_who_hangs_up_before_the_decision_leaves_the_caller_for_the_survey(
    loop: HeldLoop,
) -> None:
    call = bridged(loop)
    assert call.after_call.agent_gone() is True  # the caller stays on the worker
    assert call.bridge is None and not call.ended and call.flow.started == 0
    assert call.wrapped == [7]  # the agent's part ended when they hung up
    loop.run_store()  # the store answers: due
    assert call.flow.started == 1 and not call.ended
    assert ("survey", {"state": "started", "agent_id": 7}) in call.published


def test_a_decision_taken_first_starts_the_survey_at_once(loop: HeldLoop) -> None:
    call = bridged(loop)
    loop.run_store()
    assert call.after_call.agent_gone() is True
    assert call.flow.started == 1 and loop.timers == []


def test_not_due_after_the_hang_up_ends_the_call(loop: HeldLoop) -> None:
    with loop.db.session() as session:
        queue = session.get(Queue, 1)
        assert queue is not None
        queue.survey_enabled = False
    call = bridged(loop)
    assert call.after_call.agent_gone() is True
    loop.run_store()
    assert call.ended and call.end_reason == "agent hung up" and call.flow.started == 0


def test_a_store_that_never_answers_lets_the_caller_go(loop: HeldLoop) -> None:
    call = bridged(loop)
    assert call.after_call.agent_gone() is True
    [(delay, late)] = loop.timers
    assert delay == DECISION_WAIT_SECONDS
    late()
    assert call.ended and call.end_reason == "agent hung up"
    loop.run_store()  # the answer comes after all: nothing more happens
    assert call.flow.started == 0


def test_a_caller_who_hangs_up_while_waiting_is_not_surveyed(loop: HeldLoop) -> None:
    call = bridged(loop)
    assert call.after_call.agent_gone() is True
    call.end("caller hung up")
    loop.run_store()
    assert call.flow.started == 0 and call.end_reason == "caller hung up"


def test_a_failed_decision_is_not_due(tmp_path: Path) -> None:
    broken = HeldLoop(Database(f"sqlite:///{tmp_path / 'no-such-dir' / 'survey.sqlite'}"))
    call = bridged(broken)
    assert call.after_call.agent_gone() is True
    broken.run_store()  # the store job fails: the caller is let go, not left waiting
    assert call.ended and call.end_reason == "agent hung up" and call.flow.started == 0
