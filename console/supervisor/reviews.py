"""A supervisor's review of a credit flagged by the audit threshold: approve or reverse.

The ledger is append-only (`store.models` refuses updates and deletes of credits), so a
reversal is a counter-entry: a new credit of kind ``reversal`` for minus the amount, by the
reviewer, naming the credit it reverses; the review row (one per credit) ties them together.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from store.db import Database
from store.models import Credit
from store.supervision import CreditReview

OUTCOMES = ("approved", "reversed")


class ReviewRefused(ValueError):
    """Not a credit waiting for review, or not an outcome we know (the page's 400/404/409)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def review(db: Database, credit_id: int, reviewer_id: int, outcome: str, note: str = "") -> int:
    """Record the decision (and the counter-entry of a reversal); returns the review's id."""
    if outcome not in OUTCOMES:
        raise ReviewRefused("the outcome is approved or reversed")
    text = " ".join(note.split())[:500]
    try:
        with db.session() as session:
            credit = session.get(Credit, credit_id)
            if credit is None or not credit.flagged_for_review:
                raise ReviewRefused("no such credit waiting for review", 404)
            if session.scalar(select(CreditReview.id).where(CreditReview.credit_id == credit_id)):
                raise ReviewRefused("this credit was reviewed already", 409)
            reversal = None
            if outcome == "reversed":
                reversal = Credit(
                    account_id=credit.account_id,
                    agent_id=reviewer_id,
                    call_id=credit.call_id,
                    amount_cents=-credit.amount_cents,
                    currency=credit.currency,
                    kind="reversal",
                    reason=f"reversal of credit {credit.id}" + (f": {text}" if text else ""),
                )
                session.add(reversal)
                session.flush()
            row = CreditReview(
                credit_id=credit.id,
                outcome=outcome,
                reviewer_id=reviewer_id,
                note=text or None,
                reversal_id=reversal.id if reversal is not None else None,
            )
            session.add(row)
            session.flush()
            return row.id
    except IntegrityError:  # another supervisor's review of the same credit won
        raise ReviewRefused("this credit was reviewed already", 409) from None
