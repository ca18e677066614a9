"""Customer satisfaction per call, read from the post-call survey (one function, one place).

The survey's table (``call_surveys(call_id, csat)``) is built on another branch; until it is
merged this returns nothing and every report shows "—" for CSAT.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session


def csat_by_call(session: Session, call_ids: Collection[str]) -> dict[str, int]:
    """The caller's CSAT (1 to 5) of each surveyed call among *call_ids*; absent: not surveyed."""
    del session, call_ids  # wired to call_surveys when the survey lands
    return {}
