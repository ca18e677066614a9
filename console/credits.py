"""Goodwill credits and refunds an agent grants within their own limit, into the append-only ledger.

Amounts are validated (positive, at most two decimals, the account's currency, within the
agent's limit); credits at or above the audit threshold are recorded and flagged for a
supervisor's review, never blocked.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.screenpop import audit_threshold_cents
from store.models import Account, Agent, Call, Credit

KINDS = {"goodwill", "refund"}
_MAX_CENTS = 10**10


class CreditRefused(ValueError):
    """The credit breaks a rule; the message says which, in words an agent understands."""


@dataclass(frozen=True)
class CreditRequest:
    account_id: int
    amount: str
    currency: str
    reason: str
    kind: str = "goodwill"
    call_id: str | None = None
    idempotency_key: str | None = None


def parse_cents(amount: str) -> int:
    """``"12.50"`` -> 1250; refuses zero, negatives, more than two decimals, and garbage."""
    try:
        value = Decimal(amount.strip())
    except (InvalidOperation, AttributeError):
        raise CreditRefused("the amount is not a number") from None
    if not value.is_finite() or value <= 0:
        raise CreditRefused("the amount must be positive")
    cents = value * 100
    if cents != cents.to_integral_value():
        raise CreditRefused("the amount has more than two decimals")
    if cents >= _MAX_CENTS:
        raise CreditRefused("the amount is too large")
    return int(cents)


def issue_credit(session: Session, agent: Agent, request: CreditRequest) -> tuple[Credit, bool]:
    """Record the credit; returns it and whether it is new (False: an idempotent repeat)."""
    if request.idempotency_key:
        earlier = session.scalar(
            select(Credit).where(Credit.idempotency_key == request.idempotency_key)
        )
        if earlier is not None:
            if earlier.agent_id != agent.id:
                raise CreditRefused("that request key belongs to another credit")
            return earlier, False
    account = session.get(Account, request.account_id)
    if account is None:
        raise CreditRefused("no such account")
    cents = parse_cents(request.amount)
    if request.currency.strip().upper() != account.currency:
        raise CreditRefused(f"the account is in {account.currency}")
    if request.kind not in KINDS:
        raise CreditRefused("the kind must be goodwill or refund")
    reason = request.reason.strip()
    if not reason:
        raise CreditRefused("say why the credit is given")
    if cents > agent.credit_limit_cents:
        raise CreditRefused(
            f"the amount is above your limit of {agent.credit_limit_cents / 100:.2f}"
        )
    call_id = request.call_id if request.call_id and session.get(Call, request.call_id) else None
    credit = Credit(
        account_id=account.id,
        agent_id=agent.id,
        call_id=call_id,
        amount_cents=cents,
        currency=account.currency,
        kind=request.kind,
        reason=reason[:2000],
        flagged_for_review=cents >= audit_threshold_cents(session),
        idempotency_key=request.idempotency_key or None,
    )
    session.add(credit)
    session.flush()
    return credit, True
