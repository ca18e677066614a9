"""Admission: how many call legs this worker holds, whether one more fits, and 503 when not.

pjsua caps its calls at a compiled maximum (`telephony.capacity` measures it). One slot stays
free so that an INVITE beyond capacity is still answered here, with 503, which the edge fails
over on (when every slot is taken pjsua itself refuses with 486). A bridged call is two legs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Protocol

import pjsua2 as pj

from telephony.leg import Leg, Post, QuietOwner

#: pjsua slots kept free so that an INVITE beyond capacity can still be answered with 503.
SPARE_SLOTS = 1


class HasLegs(Protocol):
    legs: list[Leg]


class Admission(QuietOwner):
    """The worker's leg count and capacity; the owner of the INVITEs it refuses."""

    def __init__(self, conversations: Mapping[str, HasLegs], post: Post) -> None:
        self.conversations = conversations
        self.post = post
        self.library_max_calls = 0
        self.capacity = 0
        self.load = 0  # live legs, as last counted on the loop (other threads only read it)
        self.rejected: list[Leg] = []
        self.rejected_total = 0
        self._ids = itertools.count(1)

    def measured(self, library_max_calls: int) -> None:
        """The library's real maximum (see `telephony.capacity`): capacity keeps a spare slot."""
        self.library_max_calls = library_max_calls
        self.capacity = max(1, library_max_calls - SPARE_SLOTS)

    def count(self) -> int:
        """Count the live legs again (loop thread); the figure is also `load`."""
        conversations = list(self.conversations.values())
        legs = [leg for conversation in conversations for leg in list(conversation.legs)]
        self.load = _live(legs) + _live(list(self.rejected))
        return self.load

    def has_room(self, legs: int = 1) -> bool:
        return self.count() + legs <= self.capacity

    def has_spare(self) -> bool:
        """Whether the spare slot is free (for the edge's overflow call: all lines busy)."""
        return self.count() + 1 <= self.library_max_calls

    def reject(self, account: pj.Account, pjsua_call_id: int) -> None:
        """Answer a new INVITE 503 Worker Full (the edge tries the next worker)."""
        leg_id = f"rejected/{next(self._ids)}"
        leg = Leg(account, self.post, self, leg_id, "rejected", "", pjsua_call_id)
        self.rejected.append(leg)
        self.rejected_total += 1
        prm = pj.CallOpParam()
        prm.statusCode = 503
        prm.reason = "Worker Full"
        leg.answer(prm)

    def on_leg_state(self, leg: Leg, state: str, code: int, reason: str) -> None:
        if state == "disconnected" and leg in self.rejected:
            self.post(lambda: self.rejected.remove(leg) if leg in self.rejected else None)

    def clear(self) -> None:
        self.rejected.clear()


def _live(legs: Iterable[Leg]) -> int:
    return sum(1 for leg in legs if leg.state != "disconnected")
