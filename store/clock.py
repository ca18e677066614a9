"""The store's idea of now: the wall clock, or a virtual clock a simulation installs.

Every timestamp the store and the router write comes from `store.models.utcnow`, which asks
`now`. A routing simulation (``bench/routing_sim``) installs its virtual clock with `use`, so
the real router, queue and agent-state code run in virtual time and never sleep.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_source: Callable[[], datetime] | None = None


def wall() -> datetime:
    """Naive UTC from the system clock (the store keeps naive UTC timestamps)."""
    return datetime.now(UTC).replace(tzinfo=None)


def now() -> datetime:
    """The installed clock's time, else the wall clock's."""
    return wall() if _source is None else _source()


@contextmanager
def use(source: Callable[[], datetime]) -> Iterator[None]:
    """Within the block, every store timestamp is *source()* (one clock at a time)."""
    global _source
    if _source is not None:
        raise RuntimeError("a virtual clock is already installed")
    _source = source
    try:
        yield
    finally:
        _source = None
