"""The call flow's boundary: the events a `CallFlow` hears and the `CallControl` it acts through.

The worker drives one flow per answered customer call. It calls the flow's ``on_*`` methods on
its loop thread (``on_audio`` on the tap consumer thread) and the flow acts through the
`CallControl` it is given; every action is safe from any thread. A `FlowFactory` makes one flow
per call from the call's `FlowContext`; the concrete flows are the other modules of this
package (`greeting`, `ivr`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from telephony.queue_phrases import QueuePhrases
from telephony.tap import TapFrame


@dataclass(frozen=True)
class FlowContext:
    """What the flow knows about the call when it starts (the IVR's own context, made from
    it, is `ivr.interpreter.CallContext`)."""

    call_id: str
    caller: str
    dialled: str
    locale: str
    company: str
    queue: str
    prompt_dir: Path
    recordings_dir: Path | None = None  # the admin's uploads (`ivr.recordings`)


class CallControl(Protocol):
    """Actions a flow may take on its call."""

    call_data: dict[str, Any]

    def play(self, wav: Path) -> None:
        """Play a WAV to the caller; `CallFlow.on_prompt_finished` follows at its end."""

    def stop_prompt(self) -> None:
        """Stop the prompt now (barge-in); no prompt-finished event follows."""

    def render(self, text: str) -> Path:
        """The cached WAV of *text* in the call's locale (blocking: espeak-ng on first use)."""
        ...

    def route_to_agent(
        self,
        skill: str | None = None,
        preferred: list[int] | None = None,
        customer_id: int | None = None,
    ) -> None:
        """Leave the flow: claim an agent, ring them and bridge the caller when they answer."""

    def hang_up(self, reason: str = "flow") -> None:
        """End the call."""

    def publish(self, kind: str, **data: Any) -> None:
        """Emit an event on the worker's stream (e.g. ``ivr.step``, ``transcript.final``)."""

    def store(self, job: Callable[[], Any], then: Callable[[Any], None] | None = None) -> None:
        """Run the write *job* on the worker's store thread, after the call's records and
        retried as they are (a long writer, a full disk); *then* gets its result (any thread)."""


class CallFlow(Protocol):
    """Events the worker delivers to a flow, in call order."""

    def on_answered(self, call: CallControl) -> None: ...

    def on_dtmf(self, call: CallControl, digit: str, method: str) -> None: ...

    def on_prompt_finished(self, call: CallControl) -> None: ...

    def on_audio(self, call: CallControl, frame: TapFrame) -> None: ...

    def on_ended(self, call: CallControl, reason: str) -> None: ...


@runtime_checkable
class SaysWaiting(Protocol):
    """A flow with its own words for the wait in line (the IVR: its flow document's); the
    caller of any other flow hears the default flow's."""

    def queue_phrases(self) -> QueuePhrases: ...


FlowFactory = Callable[[FlowContext], CallFlow]
