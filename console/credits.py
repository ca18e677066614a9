"""Goodwill credits and refunds an agent grants within their own limit, into the append-only ledger.

Amounts are validated (positive, at most two decimals, the account's currency, within the
agent's limit). A credit is flagged for a supervisor's review, never blocked, when it reaches
the audit threshold alone, or when with the same agent's earlier credits to the same account
within the audit window (``credit_audit_window_hours``, default 24) it reaches the threshold:
splitting a credit just under the threshold does not dodge the review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from console.screenpop import audit_threshold_cents
from store.models import Account, Agent, Call, Credit, Setting, utcnow

KINDS = {"goodwill", "refund"}
_MAX_CENTS = 10**10
WINDOW_KEY = "credit_audit_window_hours"
DEFAULT_AUDIT_WINDOW_HOURS = 24.0
MAX_AUDIT_WINDOW_HOURS = 24.0 * 366


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


def audit_window_hours(session: Session) -> float:
    """Setting ``credit_audit_window_hours`` ({"hours": h} or a bare number), else 24."""
    setting = session.get(Setting, WINDOW_KEY)
    value: Any = setting.value if setting is not None else None
    if isinstance(value, dict):
        value = value.get("hours")
    if isinstance(value, int | float) and 0 < value <= MAX_AUDIT_WINDOW_HOURS:
        return float(value)
    return DEFAULT_AUDIT_WINDOW_HOURS


def _hold_account(session: Session, account_id: int) -> None:
    """Serialise credits to one account until commit (a row lock on PostgreSQL, the write lock
    on SQLite), so two credits at once cannot both miss the other in the window's sum."""
    session.execute(
        update(Account)
        .where(Account.id == account_id)
        .values(balance_cents=Account.balance_cents)
        .execution_options(synchronize_session=False)
    )


def _flag_reason(session: Session, agent: Agent, account: Account, cents: int) -> str | None:
    """Why this credit goes to review (alone or with the window's earlier ones), or None."""
    threshold = audit_threshold_cents(session)
    if cents >= threshold:
        return f"at or above the audit threshold of {threshold / 100:.2f}"
    hours = audit_window_hours(session)
    earlier, count = session.execute(
        select(func.coalesce(func.sum(Credit.amount_cents), 0), func.count(Credit.id)).where(
            Credit.agent_id == agent.id,
            Credit.account_id == account.id,
            Credit.at >= utcnow() - timedelta(hours=hours),
        )
    ).one()
    if count and int(earlier) + cents >= threshold:
        return (
            f"with {count} earlier credit(s) by this agent to this account in {hours:g} h: "
            f"{(int(earlier) + cents) / 100:.2f} in all, threshold {threshold / 100:.2f}"
        )
    return None


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
    _hold_account(session, account.id)
    flag_reason = _flag_reason(session, agent, account, cents)
    credit = Credit(
        account_id=account.id,
        agent_id=agent.id,
        call_id=call_id,
        amount_cents=cents,
        currency=account.currency,
        kind=request.kind,
        reason=reason[:2000],
        flagged_for_review=flag_reason is not None,
        flag_reason=flag_reason,
        idempotency_key=request.idempotency_key or None,
    )
    session.add(credit)
    session.flush()
    return credit, True
