"""The usual scene of a real-call test here: a running edge (Kamailio on its own ports, the
tests' short heartbeat: 0.5 s, stale after 2 s) and a deployment (store, phones, workers) on
its database. A module that needs another edge or deployment defines its own fixture."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from telephony.testing.deployment import Deployment
from telephony.testing.edge import EdgeUnderTest, make_settings, running_edge


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[EdgeUnderTest]:
    settings = make_settings(tmp_path, heartbeat_seconds=0.5, stale_after_seconds=2.0)
    with running_edge(tmp_path, settings=settings) as running:
        yield running


@pytest.fixture
def deployment(edge: EdgeUnderTest, tmp_path: Path) -> Iterator[Deployment]:
    setup = Deployment(tmp_path, db_url=edge.settings.database_url)
    yield setup
    setup.close()
