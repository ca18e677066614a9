"""Customer satisfaction per call, read from the post-call survey (one function, one place).

The survey (`store.surveys`, table ``call_surveys``) stores a score 1..5 per answered call; a
call that was not surveyed, or whose caller skipped the score, has none and reports show "—".
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from store import surveys


def csat_by_call(session: Session, call_ids: Collection[str]) -> dict[str, int]:
    """The caller's CSAT (1 to 5) of each surveyed call among *call_ids*; absent: not surveyed."""
    return surveys.csat_by_call(session, call_ids)
