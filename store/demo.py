"""Demo data for a first run: customers with profiles, agents with devices, one support number.

Passwords are generated per installation (never stored in the repository) and returned so the
caller can print them once; `store.passwords` keeps only hashes (scrypt) and SIP HA1s.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import (
    Account,
    Agent,
    AgentState,
    Customer,
    Device,
    DeviceKind,
    Interaction,
    Role,
    SupportNumber,
)
from store.passwords import hash_password, sip_ha1, sip_ha1b

SUPPORT_NUMBER = "800"


@dataclass(frozen=True)
class DemoCredentials:
    console: dict[str, str]  # username -> password
    sip: dict[str, str]  # extension -> password
    support_number: str


_AGENTS = [
    # username, name, role, skills, credit limit (cents), extension, device kind, vendor
    (
        "alice",
        "Alice Rossi",
        Role.AGENT,
        ["support", "billing"],
        10_000,
        "1001",
        DeviceKind.HEADSET,
        "generic",
    ),
    (
        "bruno",
        "Bruno Bianchi",
        Role.AGENT,
        ["support"],
        5_000,
        "1002",
        DeviceKind.DESK_PHONE,
        "yealink",
    ),
    (
        "sara",
        "Sara Conti",
        Role.SUPERVISOR,
        ["support", "billing"],
        50_000,
        "1003",
        DeviceKind.SOFTPHONE,
        "generic",
    ),
    ("admin", "Telecom Admin", Role.ADMIN, [], 0, "1099", DeviceKind.SOFTPHONE, "generic"),
]

_CUSTOMERS = [
    (
        "Giulia Ferri",
        "giulia@example.org",
        "+390212345678",
        "it",
        ["100200300"],
        "Prefers morning calls; runs a bakery.",
    ),
    (
        "Min-jun Park",
        "minjun@example.org",
        "+821012345678",
        "ko",
        ["100200301"],
        "Korean speaker; fibre customer since 2021.",
    ),
    (
        "Tom Baker",
        "tom@example.org",
        "+441632960000",
        "en",
        ["100200302", "100200399"],
        "Two lines: home and shop.",
    ),
]


def seed_demo(session: Session, sip_domain: str) -> DemoCredentials | None:
    """Insert the demo data once; returns the new credentials, or None when already seeded."""
    if session.scalar(select(Agent).limit(1)) is not None:
        return None
    console: dict[str, str] = {}
    sip: dict[str, str] = {}
    agents: list[Agent] = []
    for username, name, role, skills, limit, ext, kind, vendor in _AGENTS:
        sip_password = secrets.token_urlsafe(12)
        device = Device(
            kind=kind,
            vendor=vendor,
            extension=ext,
            sip_username=ext,
            sip_domain=sip_domain,
            ha1=sip_ha1(ext, sip_domain, sip_password),
            ha1b=sip_ha1b(ext, sip_domain, sip_password),
            auto_answer=kind is DeviceKind.HEADSET,
            label=f"{name}'s {kind.value.replace('_', ' ')}",
        )
        password = secrets.token_urlsafe(9)
        agent = Agent(
            name=name,
            username=username,
            password_hash=hash_password(password),
            role=role,
            skills=skills,
            credit_limit_cents=limit,
            device=device,
            state=AgentState.LOGGED_OUT,
        )
        session.add_all([device, agent])
        agents.append(agent)
        console[username] = password
        sip[ext] = sip_password
    for name, email, phone, locale, numbers, notes in _CUSTOMERS:
        customer = Customer(
            name=name,
            email=email,
            phone=phone,
            locale=locale,
            notes=notes,
            preferences={"language": locale, "contact": "phone"},
        )
        customer.accounts = [
            Account(number=n, plan="Fibre 1000", balance_cents=4_990) for n in numbers
        ]
        session.add(customer)
        session.flush()
        session.add(
            Interaction(
                customer_id=customer.id,
                agent_id=agents[0].id,
                outcome="resolved",
                notes="Router rebooted remotely; line stable.",
            )
        )
    session.add(
        SupportNumber(number=SUPPORT_NUMBER, name="Customer support", locale="en", queue="support")
    )
    return DemoCredentials(console=console, sip=sip, support_number=SUPPORT_NUMBER)
