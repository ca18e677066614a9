"""Flow rows and their versions: the IVR flow documents stored, assigned to support numbers.

Every save is a new version: the ``flows`` row holds the latest document and its number, and
``flow_versions`` keeps every version with its text, author and time. A call reads its
number's flow once, when it starts (`flow_for_number`): the latest version, or the version an
admin pinned on the number; a call in progress keeps what it read. The documents themselves are
`ivr.flow`'s to parse and check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.admin_tables import FlowVersion
from store.db import Database
from store.models import Flow, SupportNumber


def save_version(session: Session, name: str, document: Mapping[str, Any], *,
                 text: str | None = None, author: str = "", note: str = "") -> Flow:
    """Store *document* as the next version of flow *name* (made when new); returns the row."""
    flow = session.scalar(select(Flow).where(Flow.name == name))
    if flow is None:
        flow = Flow(name=name, document=dict(document), version=1)
        session.add(flow)
    else:
        flow.document = dict(document)
        flow.version += 1
    session.flush()
    session.add(FlowVersion(flow_id=flow.id, version=flow.version, document=dict(document),
                            text=text, author=author[:64], note=note[:200]))
    session.flush()
    return flow


def versions(session: Session, flow_id: int) -> list[FlowVersion]:
    """Every stored version of a flow, newest first."""
    return list(session.scalars(select(FlowVersion).where(FlowVersion.flow_id == flow_id)
                                .order_by(FlowVersion.version.desc())))


def version(session: Session, flow_id: int, number: int) -> FlowVersion | None:
    return session.scalar(select(FlowVersion).where(FlowVersion.flow_id == flow_id,
                                                    FlowVersion.version == number))


class DatabaseFlowStore:
    """The `ivr.flows_cli.FlowStore` of a deployment: every import is a new version."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, name: str) -> Mapping[str, Any] | None:
        with self.db.session() as session:
            flow = session.scalar(select(Flow).where(Flow.name == name))
            return dict(flow.document) if flow else None

    def put(self, name: str, document: Mapping[str, Any], number: str | None = None) -> int:
        with self.db.session() as session:
            support = None
            if number is not None:
                support = session.scalar(
                    select(SupportNumber).where(SupportNumber.number == number)
                )
                if support is None:
                    raise LookupError(f"{number} is not a support number: nothing was stored")
            flow = save_version(session, name, document, author="cli", note="imported")
            if support is not None:
                support.flow_id = flow.id
                support.flow_version = None
            return flow.version


def flow_for_number(db: Database, number: str) -> tuple[str, int, dict[str, Any]] | None:
    """The flow assigned to support *number* as (name, version, document), or None: the
    version pinned on the number when it is stored, else the latest."""
    with db.session() as session:
        row = session.execute(
            select(Flow.id, Flow.name, Flow.version, Flow.document, SupportNumber.flow_version)
            .join(SupportNumber, SupportNumber.flow_id == Flow.id)
            .where(SupportNumber.number == number)
        ).first()
        if row is None:
            return None
        if row.flow_version is not None and row.flow_version != row.version:
            pinned = version(session, row.id, row.flow_version)
            if pinned is not None:
                return row.name, pinned.version, dict(pinned.document)
        return row.name, row.version, dict(row.document)
