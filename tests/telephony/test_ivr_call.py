"""The IVR call flow against a stand-in `CallControl`: keys, prompts, the hand-over, speech down."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ivr.events import Timeout
from ivr.flow import default_flow
from store.db import Database
from store.flows import DatabaseFlowStore
from store.migrate import upgrade
from store.models import Account, Agent, Customer, SupportNumber
from store.settings import Settings
from telephony.callflow.base import FlowContext, SaysWaiting
from telephony.callflow.ivr import IvrCall, IvrFlows
from telephony.tap import IN, OUT, TapFrame
from telephony.testing.ports import free_port


class StandInCall:
    """Records what the flow asks of its call; `wait` blocks until a condition holds."""

    def __init__(self) -> None:
        self.call_data: dict[str, Any] = {}
        self.played: list[Path] = []
        self.stops = 0
        self.routed: tuple[Any, ...] | None = None
        self.hung_up: str | None = None
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._changed = threading.Condition()

    def _note(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def play(self, wav: Path) -> None:
        self.played.append(wav)
        self._note()

    def stop_prompt(self) -> None:
        self.stops += 1

    def render(self, text: str) -> Path:
        raise AssertionError("the IVR renders its prompts itself")

    def route_to_agent(
        self, skill: str | None = None, preferred: Any = None, customer_id: Any = None
    ) -> None:
        self.routed = (skill, preferred, customer_id)
        self._note()

    def hang_up(self, reason: str = "flow") -> None:
        self.hung_up = reason

    def publish(self, kind: str, **data: Any) -> None:
        self.events.append((kind, data))
        self._note()

    def store(self, job: Any, then: Any = None) -> None:
        result = job()  # the store thread's order, here inline
        if then is not None:
            then(result)

    def wait(self, condition: Any, what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{what}: not within {timeout} s; events {self.events}")
                self._changed.wait(left)

    def prompts(self, state: str) -> list[str]:
        return [
            d["prompt"] for kind, d in self.events if kind == "ivr.prompt" and d["state"] == state
        ]


@pytest.fixture
def flows(tmp_path: Path) -> IvrFlows:
    settings = Settings(var_dir=tmp_path, speech_port=free_port())  # nothing listens there
    upgrade(settings.database_url)
    db = Database.from_settings(settings)
    with db.session() as session:
        agent = Agent(name="Ann", username="ann", password_hash="x")
        session.add(agent)
        session.flush()
        customer = Customer(name="Bo", preferred_agent_id=agent.id)
        session.add(customer)
        session.flush()
        session.add(Account(number="12345678", customer_id=customer.id))
        session.add(SupportNumber(number="800", name="Support", locale="en"))
    return IvrFlows(settings, db, warm=False)


def frame(direction: str, seq: int) -> TapFrame:
    return TapFrame("c1/1", direction, seq, np.zeros(160, dtype=np.int16), 8000, time.monotonic())


def test_keys_reach_the_preferred_agent_while_the_speech_service_is_down(flows: IvrFlows) -> None:
    call = StandInCall()
    context = FlowContext("c1", "sip:caller@x", "800", "en", "ACME", "support", Path("."))
    ivr = flows(context)
    assert isinstance(ivr, IvrCall)
    ivr.on_answered(call)
    call.wait(lambda: call.played, "the greeting plays")
    assert call.prompts("playing") == ["greeting"]
    for seq in range(1, 50):  # audio flows while the speech client cannot connect
        ivr.on_audio(call, frame(OUT, seq))
        ivr.on_audio(call, frame(IN, seq))
    call.wait(lambda: ivr._speech_down, "the speech service is reported down")
    for key in "12345678#":  # keys over the greeting skip the question
        ivr.on_dtmf(call, key, "rfc4733")
    call.wait(lambda: call.routed is not None, "the hand-over")
    customer_id = call.call_data["customer_id"]
    assert call.routed == (None, [call.call_data["preferred_agent_id"]], customer_id)
    assert call.call_data["identified"] is True and call.call_data["queue"] == "support"
    assert call.stops >= 1 and "greeting" in call.prompts("stopped")
    ivr.on_ended(call, "caller hung up")
    flows.pool.shutdown(wait=True)
    flows.closing.shutdown(wait=True)


def test_silence_goes_to_a_person_after_the_greeting(flows: IvrFlows) -> None:
    call = StandInCall()
    context = FlowContext("c2", "sip:caller@x", "800", "en", "ACME", "support", Path("."))
    ivr = flows(context)
    ivr.on_answered(call)
    call.wait(lambda: call.played, "the greeting plays")
    ivr.on_prompt_finished(call)
    assert call.prompts("finished") == ["greeting"]
    ivr.feed(Timeout(ivr.interpreter.timer))  # the listening timer runs out (without waiting)
    call.wait(lambda: call.routed is not None, "the hand-over")
    assert call.call_data["route_reason"] == "no_input"
    ivr.on_ended(call, "caller hung up")
    flows.pool.shutdown(wait=True)
    flows.closing.shutdown(wait=True)


def test_the_wait_in_line_speaks_the_stored_flows_words(flows: IvrFlows) -> None:
    document = dict(default_flow().document)
    prompts = dict(document["prompts"])
    prompts["queue_position"] = {loc: f"[{loc}] place {{position}}." for loc in ("en", "it", "ko")}
    document.update(name="waiting", prompts=prompts)
    DatabaseFlowStore(flows.db).put("waiting", document, number="800")
    context = FlowContext("c3", "sip:caller@x", "800", "it", "ACME", "support", Path("."))
    ivr = flows(context)
    assert isinstance(ivr, SaysWaiting)
    text, voice = ivr.queue_phrases().position(2)
    assert (text, voice) == ("[it] place 2. Prema 1 se preferisce essere richiamato.", "it")
    flows.pool.shutdown(wait=True)
