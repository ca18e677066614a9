"""The routing simulator at a small size: the real router keeps its promises, exactly, and
the simulator's checks are not blind (a router that broke a promise is caught)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.routing_sim import Mix, simulate
from telephony import line_plan, relationships

SMALL = Mix(
    calls=300, agents=12, customers=400, seed=11, occupancy=0.95, callback_share=0.4, blocked=0.1
)


def test_a_few_hundred_calls_keep_every_promise(tmp_path: Path) -> None:
    report = simulate(SMALL, tmp_path)
    assert report.calls == 300
    assert report.order_inversions == 0, report.inversion_examples
    assert report.affinity_violations == 0
    assert report.callbacks_in_flight_above_free == 0
    assert report.store_disagreements == []
    assert report.callbacks["requested"] > 5  # the mix really exercised callbacks
    assert report.callbacks["reached"] + report.callbacks["given_up"] > 0
    assert report.relationship["agent_freed_within_wait"] > 0
    assert report.waits["answered"] + report.waits["abandoned"] > 200
    # the store's round trips per call are counted; a generous bound catches an N+1 coming back
    assert 5 < report.statements["per_call"] < 25, report.statements


def test_the_same_mix_gives_the_same_run(tmp_path: Path) -> None:
    mix = Mix(calls=120, agents=8, customers=200, seed=3)
    assert simulate(mix, tmp_path).as_dict() == simulate(mix, tmp_path).as_dict()


def test_a_router_ignoring_priority_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(line_plan, "line_key", lambda entry: (entry.enqueued_at, entry.id))
    report = simulate(Mix(calls=300, agents=8, customers=300, seed=5, occupancy=0.95), tmp_path)
    assert report.order_inversions > 0


def test_a_router_ignoring_negative_affinity_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relationships, "blocked_pairs", lambda session, customers: set())
    monkeypatch.setattr(line_plan, "blocked_in_line", lambda rows: set())
    report = simulate(Mix(calls=200, agents=6, customers=60, seed=5, blocked=0.5), tmp_path)
    assert report.affinity_violations > 0
