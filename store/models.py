"""The domain tables: customers, agents, devices, trunks, numbers, flows, calls, history, workers.

Kamailio's own tables (``version``, ``location``, ``dispatcher``, ``uacreg``) live in
`store.kamailio_tables` on the same metadata, so one migration history covers the deployment.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from store import clock

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Naive UTC now: the wall clock, or the virtual clock a simulation installed."""
    return clock.now()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


class Role(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class AgentState(enum.StrEnum):
    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"
    NOT_READY = "not_ready"


class DeviceKind(enum.StrEnum):
    DESK_PHONE = "desk_phone"
    HEADSET = "headset"
    SOFTPHONE = "softphone"


class CallState(enum.StrEnum):
    RINGING = "ringing"
    IVR = "ivr"
    QUEUED = "queued"
    BRIDGED = "bridged"
    ENDED = "ended"


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    photo_url: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40), index=True)
    address: Mapped[str | None] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    preferences: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notes: Mapped[str | None] = mapped_column(Text)
    preferred_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    accounts: Mapped[list[Account]] = relationship(back_populates="customer")


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    plan: Mapped[str | None] = mapped_column(String(80))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    balance_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    customer: Mapped[Customer] = relationship(back_populates="accounts")


class Agent(Base):
    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False), default=Role.AGENT)
    skills: Mapped[list[str]] = mapped_column(default=list)
    credit_limit_cents: Mapped[int] = mapped_column(BigInteger, default=5000)
    state: Mapped[AgentState] = mapped_column(
        Enum(AgentState, native_enum=False), default=AgentState.LOGGED_OUT
    )
    state_reason: Mapped[str | None] = mapped_column(String(120))
    state_since: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    claimed_by_call: Mapped[str | None] = mapped_column(String(64))
    wrapup_seconds: Mapped[int] = mapped_column(Integer, default=10)
    # The queues the agent serves; empty: every queue their skills allow (migration 0007).
    queues: Mapped[list[str]] = mapped_column(default=list)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    device: Mapped[Device | None] = relationship(foreign_keys=[device_id])
    # Bumped at sign-out and password change: every console session signed with an older
    # number is refused, in every console process.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Set when an admin disables the person: no sign-in, and history keeps their name.
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime)


class Device(Base):
    """A SIP endpoint. Kamailio's auth_db reads ``sip_username``/``ha1``/``ha1b`` here directly."""

    __tablename__ = "devices"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DeviceKind] = mapped_column(Enum(DeviceKind, native_enum=False))
    vendor: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(17), unique=True)
    extension: Mapped[str] = mapped_column(String(32), unique=True)
    sip_username: Mapped[str] = mapped_column(String(64), unique=True)
    sip_domain: Mapped[str] = mapped_column(String(64), default="")
    ha1: Mapped[str] = mapped_column(String(128))
    ha1b: Mapped[str] = mapped_column(String(128), default="")
    auto_answer: Mapped[bool] = mapped_column(Boolean, default=False)
    label: Mapped[str | None] = mapped_column(String(120))
    # Set when an admin disables the device: its HA1 is kept behind `DISABLED_HA1` (no digest
    # matches it) and the edge removes its contacts (telephony/edge_devices.py).
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime)


#: What a disabled device's ``ha1``/``ha1b`` start with: no digest response ever matches.
DISABLED_HA1 = "disabled:"


class Trunk(Base):
    """A carrier account we register to; ``secret`` holds the plaintext only when no realm is
    known to make ``secret_ha1`` (MD5 of username:realm:secret) from, see docs/security.md."""

    __tablename__ = "trunks"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    registrar: Mapped[str] = mapped_column(String(255))
    proxy: Mapped[str | None] = mapped_column(String(255))
    realm: Mapped[str] = mapped_column(String(64), default="")
    username: Mapped[str] = mapped_column(String(64))
    secret: Mapped[str] = mapped_column(String(128), default="")
    secret_ha1: Mapped[str] = mapped_column(String(64), default="")
    transport: Mapped[str] = mapped_column(String(8), default="udp")
    expires: Mapped[int] = mapped_column(Integer, default=300)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Outbound calls try the enabled trunks lowest number first (migration 0012).
    priority: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    dids: Mapped[list[Did]] = relationship(back_populates="trunk")


class Did(Base):
    """A public number a carrier delivers on a trunk, mapped to one of our support numbers."""

    __tablename__ = "dids"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    trunk_id: Mapped[int] = mapped_column(ForeignKey("trunks.id"))
    support_number_id: Mapped[int] = mapped_column(ForeignKey("support_numbers.id"))
    trunk: Mapped[Trunk] = relationship(back_populates="dids")
    support_number: Mapped[SupportNumber] = relationship()


class Flow(Base):
    __tablename__ = "flows"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    document: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class SupportNumber(Base):
    __tablename__ = "support_numbers"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    queue: Mapped[str] = mapped_column(String(64), default="support")
    flow_id: Mapped[int | None] = mapped_column(ForeignKey("flows.id"))
    flow: Mapped[Flow | None] = relationship()
    # A version of the flow pinned by an admin (store/flows.py); None: always the latest.
    flow_version: Mapped[int | None] = mapped_column(Integer)


class Worker(Base):
    """A live (or dead) switch worker: its SIP address, control API and heartbeat."""

    __tablename__ = "workers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    host: Mapped[str] = mapped_column(String(64))
    pid: Mapped[int] = mapped_column(Integer)
    sip_port: Mapped[int] = mapped_column(Integer)
    api_url: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int] = mapped_column(Integer, default=0)
    load: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    alive: Mapped[bool] = mapped_column(Boolean, default=True)


class Call(Base):
    """One customer call (the CDR): it owns its legs and the data the IVR gathered."""

    __tablename__ = "calls"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    direction: Mapped[str] = mapped_column(String(16), default="inbound")
    caller: Mapped[str] = mapped_column(String(200))
    dialled: Mapped[str] = mapped_column(String(64))
    state: Mapped[CallState] = mapped_column(
        Enum(CallState, native_enum=False), default=CallState.RINGING
    )
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    bridged_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    outcome: Mapped[str | None] = mapped_column(String(32))
    call_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    transcript: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: what the recogniser never heard: ``{"speaker", "start" (s on that side's stream),
    #: "spoken_at" (wall clock), "duration_ms", "reason"}`` per stretch
    speech_gaps: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    legs: Mapped[list[CallLeg]] = relationship(back_populates="call", order_by="CallLeg.id")


class CallLeg(Base):
    __tablename__ = "call_legs"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    peer: Mapped[str] = mapped_column(String(255))
    sip_call_id: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    end_reason: Mapped[str | None] = mapped_column(String(64))
    call: Mapped[Call] = relationship(back_populates="legs")


class Interaction(Base):
    """One entry of a customer's history: what happened, with whom, and the agent's notes."""

    __tablename__ = "interactions"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    channel: Mapped[str] = mapped_column(String(16), default="phone")
    outcome: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    follow_up: Mapped[str | None] = mapped_column(Text)


class Credit(Base):
    """Append-only ledger of goodwill credits and refunds issued by agents."""

    __tablename__ = "credits"
    __table_args__ = (UniqueConstraint("idempotency_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(16), default="goodwill")
    reason: Mapped[str] = mapped_column(Text)
    flagged_for_review: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_reason: Mapped[str | None] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Setting(Base):
    """Runtime key/value settings an admin may change (e.g. the credit audit threshold)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Queue(Base):
    """A waiting line callers join after the IVR: the skill it needs and how long to keep a
    caller for the agent who knows them."""

    __tablename__ = "queues"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    skill: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    relationship_wait_seconds: Mapped[int] = mapped_column(Integer, default=20)
    ring_timeout_seconds: Mapped[int] = mapped_column(Integer, default=15)
    # After this long in line a caller goes to anyone serving the queue, skill or not (0007).
    skill_wait_seconds: Mapped[int] = mapped_column(Integer, default=60)
    # Callbacks (migration 0007): who is rung first, how often and how far apart we try.
    callback_mode: Mapped[str] = mapped_column(String(16), default="agent_first")
    callback_attempts: Mapped[int] = mapped_column(Integer, default=3)
    callback_retry_seconds: Mapped[int] = mapped_column(Integer, default=120)
    # Whether a waiting caller is offered a callback (key 1) at all (migration 0012).
    callback_offer: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    #: the admin's recording for the wait (``music.xx.<hex>.wav`` under
    #: ``var/recordings/queues/<name>/``); None: the generated melody
    music: Mapped[str | None] = mapped_column(String(80))
    # Whether a caller ID matching exactly one customer identifies the caller (no account asked).
    identify_by_caller_id: Mapped[bool] = mapped_column(Boolean, default=True)
    # The post-call survey (migration 0010): asked at all, and at most once per customer in
    # this many days.
    survey_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    survey_cap_days: Mapped[int] = mapped_column(Integer, default=7)


class QueueEntry(Base):
    """One caller (or callback request) waiting in a queue; ``enqueued_at`` is its place."""

    __tablename__ = "queue_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    queue: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="call")  # call | callback
    state: Mapped[str] = mapped_column(String(16), default="waiting", index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    skill: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    caller: Mapped[str | None] = mapped_column(String(200))
    callback_number: Mapped[str | None] = mapped_column(String(64))
    relationship_agents: Mapped[list[Any]] = mapped_column(JSON, default=list)
    wait_until: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    enqueued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    route_reason: Mapped[str | None] = mapped_column(String(200))
    skipped_agents: Mapped[list[Any]] = mapped_column(JSON, default=list)
    worker: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # A callback's tries (migration 0007): how many were made, when the next one is due, and
    # how it ended (shown to supervisors).
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    outcome: Mapped[str | None] = mapped_column(String(64))


class RoutingBlock(Base):
    """Negative affinity: this customer and this agent are never routed to each other
    (asked by either side; migration 0007)."""

    __tablename__ = "routing_blocks"
    __table_args__ = (UniqueConstraint("customer_id", "agent_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    requested_by: Mapped[str] = mapped_column(String(16))  # customer | agent
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RouteDecision(Base):
    """Why an agent was offered a call, and what came of it (answered, no answer, ...)."""

    __tablename__ = "route_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("queue_entries.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    reason: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16), default="offered")
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


@event.listens_for(Credit, "before_update")
@event.listens_for(Credit, "before_delete")
def _credit_ledger_is_append_only(_mapper: Any, _connection: Any, target: Credit) -> None:
    raise PermissionError(f"credit {target.id} is in the append-only ledger")


__all__ = [
    "DISABLED_HA1",
    "Account",
    "Agent",
    "AgentState",
    "Base",
    "Call",
    "CallLeg",
    "CallState",
    "Credit",
    "Customer",
    "CustomerSearch",
    "Device",
    "DeviceKind",
    "Did",
    "Flow",
    "Interaction",
    "ProfileGrant",
    "ProfileOpening",
    "Queue",
    "QueueEntry",
    "Role",
    "RouteDecision",
    "RoutingBlock",
    "Setting",
    "SupportNumber",
    "Trunk",
    "Worker",
    "utcnow",
]


from store import analytics_tables as _analytics_tables  # noqa: E402,F401  (0008: the analysis)
from store import supervision as _supervision  # noqa: E402,F401  (its tables join the metadata)
from store.hardware_tables import (  # noqa: E402  (its tables join the metadata; names kept here)
    DeviceProvisioning,
    HeadsetStateRow,
    PhoneCommand,
    ProvisioningFetch,
)
from store.profile_tables import CustomerSearch, ProfileGrant, ProfileOpening  # noqa: E402
from store.survey_tables import CallSurvey, CoachingMark  # noqa: E402  (tables join the metadata)

__all__ += [
    "CallSurvey",
    "CoachingMark",
    "DeviceProvisioning",
    "HeadsetStateRow",
    "PhoneCommand",
    "ProvisioningFetch",
]
