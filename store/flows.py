"""Flow rows and their versions: the IVR flow documents stored, assigned to support numbers.

Every import is a new version of its row; a call reads the latest version of its number's flow
(`flow_for_number`). The documents themselves are `ivr.flow`'s to parse and check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from store.db import Database
from store.models import Flow, SupportNumber


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
            flow = session.scalar(select(Flow).where(Flow.name == name))
            if flow is None:
                flow = Flow(name=name, document=dict(document), version=1)
                session.add(flow)
            else:
                flow.document = dict(document)
                flow.version += 1
            session.flush()
            if support is not None:
                support.flow_id = flow.id
            return flow.version


def flow_for_number(db: Database, number: str) -> tuple[str, int, dict[str, Any]] | None:
    """The flow assigned to support *number* as (name, version, document), or None."""
    with db.session() as session:
        row = session.execute(
            select(Flow.name, Flow.version, Flow.document)
            .join(SupportNumber, SupportNumber.flow_id == Flow.id)
            .where(SupportNumber.number == number)
        ).first()
    return (row.name, row.version, dict(row.document)) if row else None
