"""Who may open which customer profile, and the log of every search and opening.

An agent opens a customer's profile through a call: one offered to them (the screen pop), one
they are or were on, or one they tied to a profile (link, create). Any other profile takes a
search, which is logged (who, when, by what, what it found); for ``PROFILE_SEARCH_MINUTES``
the searcher may open what it found. Supervisors may also open the profile of any live call on
the floor. Every opening is logged with the right it used; every refusal is a security event.
Admins do not open profiles (they are not on the agent desk at all).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import CompoundSelect, Select, func, select
from sqlalchemy.orm import Session

from console.screenpop import customer_profile
from console.security_log import security_event
from store.models import (
    Account,
    Agent,
    Call,
    CallState,
    Customer,
    CustomerSearch,
    ProfileGrant,
    ProfileOpening,
    Role,
    RouteDecision,
    utcnow,
)

RESULT_LIMIT = 20
SEARCH_FIELDS = {
    "any": "name, account number or phone",
    "name": "name",
    "account": "account number",
    "phone": "phone",
}
_MIN_NAME = 3
_MIN_PHONE_DIGITS = 6
_ACCOUNT = re.compile(r"[A-Za-z0-9-]{1,32}")
_PHONE_DECORATION = re.compile(r"[\s().+-]")


class ProfileRefused(Exception):
    """The person may not do this; *status* is the HTTP answer, the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Opening:
    via: str  # offered | linked | call | search | floor
    call_id: str | None = None
    search_id: int | None = None


def grant(session: Session, agent_id: int, customer_id: int, call_id: str | None, via: str) -> None:
    """Record that a call gave *agent_id* this customer (screen pop, link); kept in the database
    so every console process sees it."""
    known = session.scalar(
        select(ProfileGrant.id).where(
            ProfileGrant.agent_id == agent_id,
            ProfileGrant.customer_id == customer_id,
            ProfileGrant.call_id == call_id,
        )
    )
    if known is None:
        session.add(
            ProfileGrant(agent_id=agent_id, customer_id=customer_id, call_id=call_id, via=via)
        )


def _through_a_call(session: Session, agent_id: int, customer_id: int) -> Opening | None:
    granted = session.execute(
        select(ProfileGrant.via, ProfileGrant.call_id)
        .where(ProfileGrant.agent_id == agent_id, ProfileGrant.customer_id == customer_id)
        .order_by(ProfileGrant.id.desc())
        .limit(1)
    ).first()
    if granted is not None:
        return Opening(granted.via, granted.call_id)
    on_call = session.scalar(
        select(Call.id)
        .where(Call.agent_id == agent_id, Call.customer_id == customer_id)
        .order_by(Call.started_at.desc())
        .limit(1)
    )
    if on_call is None:  # offered by the router, then rung elsewhere
        on_call = session.scalar(
            select(Call.id)
            .join(RouteDecision, RouteDecision.call_id == Call.id)
            .where(RouteDecision.agent_id == agent_id, Call.customer_id == customer_id)
            .limit(1)
        )
    return Opening("call", on_call) if on_call is not None else None


def _on_the_floor(
    session: Session, customer_id: int, live_calls: Iterable[tuple[str, int | None]]
) -> Opening | None:
    for call_id, live_customer in live_calls:
        if live_customer == customer_id:
            return Opening("floor", call_id)
    open_call = session.scalar(
        select(Call.id)
        .where(
            Call.customer_id == customer_id,
            Call.ended_at.is_(None),
            Call.state != CallState.ENDED,
        )
        .limit(1)
    )
    return Opening("floor", open_call) if open_call is not None else None


def _through_a_search(
    session: Session, agent_id: int, customer_id: int, search_id: int, minutes: float
) -> Opening | None:
    found = session.get(CustomerSearch, search_id)
    if (
        found is None
        or found.agent_id != agent_id
        or found.at < utcnow() - timedelta(minutes=minutes)
        or customer_id not in (found.result_ids or [])
    ):
        return None
    return Opening("search", search_id=search_id)


def open_profile(
    session: Session,
    agent: Agent,
    customer_id: int,
    *,
    search_id: int | None,
    search_minutes: float,
    live_calls: Iterable[tuple[str, int | None]] = (),
    source: str | None = None,
) -> tuple[dict[str, Any], Opening]:
    """The profile and the right that opened it (logged); `ProfileRefused` (403) otherwise."""
    opening = (
        _through_a_search(session, agent.id, customer_id, search_id, search_minutes)
        if search_id is not None
        else None
    ) or _through_a_call(session, agent.id, customer_id)
    if opening is None and agent.role is Role.SUPERVISOR:
        opening = _on_the_floor(session, customer_id, live_calls)
    if opening is None:
        security_event("profile.refused", agent.username, customer=customer_id)
        raise ProfileRefused(
            403, "this customer's profile was not offered to you: find it through the search"
        )
    profile = customer_profile(session, customer_id, agent.id)
    if profile is None:
        raise ProfileRefused(404, "no such customer")
    session.add(
        ProfileOpening(
            agent_id=agent.id,
            customer_id=customer_id,
            via=opening.via,
            call_id=opening.call_id,
            search_id=opening.search_id,
            source=source,
        )
    )
    return profile, opening


def _what_to_search(field: str, text: str) -> tuple[str, str]:
    """The field searched and the normalised text; `ProfileRefused` (400) when unusable."""
    if field not in SEARCH_FIELDS:
        raise ProfileRefused(400, "search by name, account number or phone")
    if field == "any":
        digits = _PHONE_DECORATION.sub("", text)
        field = "number" if digits.isdigit() else "name"
    if field == "name":
        if len(text) < _MIN_NAME:
            raise ProfileRefused(400, f"type at least {_MIN_NAME} letters of the name")
        return field, text
    if field == "account":
        if not _ACCOUNT.fullmatch(text):
            raise ProfileRefused(400, "an account number is letters, digits and dashes")
        return field, text
    digits = _PHONE_DECORATION.sub("", text)
    if field == "number":
        return field, text if _ACCOUNT.fullmatch(text) else digits
    if not digits.isdigit() or len(digits) < _MIN_PHONE_DIGITS:
        raise ProfileRefused(400, f"type at least {_MIN_PHONE_DIGITS} digits of the phone")
    return field, digits


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _matches(session: Session, field: str, text: str) -> list[int]:
    query: Select[tuple[int]] | CompoundSelect[tuple[int]]
    phone_digits = func.replace(func.replace(Customer.phone, " ", ""), "-", "")
    if field == "name":
        pattern = f"%{_like_escaped(text.lower())}%"
        where = func.lower(Customer.name).like(pattern, escape="\\")
        query = select(Customer.id).where(where)
    elif field == "account":
        query = select(Account.customer_id).where(Account.number == text)
    elif field == "phone":
        query = select(Customer.id).where(phone_digits.like(f"%{text}"))
    else:  # digits typed in the one box: an account number, or the end of a phone number
        digits = _PHONE_DECORATION.sub("", text)
        by_account = select(Account.customer_id).where(Account.number == text)
        by_phone = (
            select(Customer.id).where(phone_digits.like(f"%{digits}"))
            if len(digits) >= _MIN_PHONE_DIGITS
            else None
        )
        query = by_account.union(by_phone) if by_phone is not None else by_account
    ids = session.scalars(query.limit(RESULT_LIMIT + 1)).all()
    return sorted(set(ids))


def search_customers(
    session: Session,
    agent: Agent,
    field: str,
    text: str,
    *,
    per_hour: int,
    source: str | None = None,
) -> CustomerSearch:
    """Run and log one search (who, when, by what, what it found)."""
    text = " ".join(text.split())[:100]
    field, wanted = _what_to_search(field, text)
    recent = session.scalar(
        select(func.count(CustomerSearch.id)).where(
            CustomerSearch.agent_id == agent.id,
            CustomerSearch.at >= utcnow() - timedelta(hours=1),
        )
    )
    if (recent or 0) >= per_hour:
        security_event("profile.search_limited", agent.username, searches=recent)
        raise ProfileRefused(429, f"at most {per_hour} searches an hour; ask a supervisor")
    found = CustomerSearch(
        agent_id=agent.id,
        field=field,
        query=text,
        result_ids=_matches(session, field, wanted),
        source=source,
    )
    session.add(found)
    session.flush()
    security_event(
        "profile.search", agent.username, search=found.id, by=field, found=len(found.result_ids)
    )
    return found


def own_search(session: Session, agent: Agent, search_id: int) -> CustomerSearch | None:
    found = session.get(CustomerSearch, search_id)
    return found if found is not None and found.agent_id == agent.id else None


def search_results(session: Session, found: CustomerSearch) -> dict[str, Any]:
    """What the results list shows: enough to tell callers apart, not the whole profile."""
    ids = list(found.result_ids or [])[:RESULT_LIMIT]
    customers = session.scalars(select(Customer).where(Customer.id.in_(ids))).all()
    rows = [
        {
            "id": customer.id,
            "name": customer.name,
            "phone_hint": f"…{customer.phone[-4:]}" if customer.phone else None,
            "accounts": sorted(account.number for account in customer.accounts),
        }
        for customer in sorted(customers, key=lambda c: (c.name.lower(), c.id))
    ]
    return {
        "id": found.id,
        "field": found.field,
        "query": found.query,
        "at": found.at.isoformat(timespec="seconds"),
        "results": rows,
        "more": len(found.result_ids or []) > RESULT_LIMIT,
    }
