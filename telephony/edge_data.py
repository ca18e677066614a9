"""What the SIP edge knows, derived from the store in one place: the workers to route to, the
numbers callers may dial without credentials, our registrations to carriers, and the carriers
outbound calls go to, in priority order.

Kamailio never queries the store with anything a caller wrote: `telephony.edge` turns these
derivations into data Kamailio owns (the dispatcher list, the ``dialled`` hash table, the
``uacreg`` rows it reads at start).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, insert, select

from store.db import Database
from store.kamailio_tables import uacreg
from store.models import Did, SupportNumber, Trunk, Worker, utcnow
from store.settings import Settings

log = logging.getLogger("centralino.edge")

#: What a dialled number may look like: the routing script's PUBLICNUMBER route applies the
#: same rule to the Request-URI or To user before it looks anything up.
NUMBER = re.compile(r"\+?[0-9*#]{1,32}")


#: What a dispatcher attribute value may hold here (no separators of the attribute list).
ATTRIBUTE_WORD = re.compile(r"[A-Za-z0-9+_.:-]{1,64}")


def is_public_number(text: str) -> bool:
    return NUMBER.fullmatch(text) is not None


def public_numbers(db: Database) -> dict[str, str]:
    """Every number a caller may dial without credentials -> the support number it reaches:
    each support number itself, and each DID mapped to one. A number the routing script could
    never match (letters, spaces, too long) is left out with a warning."""
    with db.session() as session:
        supports = session.scalars(select(SupportNumber.number)).all()
        dids = session.execute(
            select(Did.number, SupportNumber.number).join(
                SupportNumber, SupportNumber.id == Did.support_number_id
            )
        ).all()
    numbers: dict[str, str] = {}
    for dialled, support in [*((number, number) for number in supports), *dids]:
        if not (is_public_number(dialled) and is_public_number(support)):
            log.warning("number %r -> %r is not dialable (digits, *, #, a leading +): "
                        "left out of the edge", dialled, support)
            continue
        numbers.setdefault(dialled, support)
    return numbers


def live_worker_destinations(db: Database, stale_after_seconds: float) -> list[str]:
    """SIP URIs of the workers to route to, in a stable order: those with a fresh heartbeat;
    when none is fresh, every worker not known dead (a busy machine can delay heartbeats, and
    trying a slow worker beats refusing every caller; a dead one still fails over on timeout)."""
    fresh_since = utcnow() - timedelta(seconds=stale_after_seconds)
    with db.session() as session:
        rows = session.execute(
            select(Worker.host, Worker.sip_port, Worker.heartbeat_at >= fresh_since)
            .where(Worker.alive)
            .order_by(Worker.name)
        ).all()
    fresh = [f"sip:{host}:{port}" for host, port, is_fresh in rows if is_fresh]
    return fresh or [f"sip:{host}:{port}" for host, port, _ in rows]


@dataclass(frozen=True)
class TrunkDestination:
    """Where an outbound call leaves for one trunk: its outbound proxy (else its registrar),
    the host its Request-URI names, and the ``uacreg`` row whose credentials answer the
    carrier's challenge (``ha1``: that row keeps the HA1 digest, not the secret)."""

    uri: str
    domain: str
    uuid: str
    username: str
    ha1: bool
    transport: str

    def attributes(self, socket: str) -> str:
        """The dispatcher's attributes for this destination, sent from *socket*. A username
        with characters the attribute list cannot carry (``;``, ``=``...) is left out: the
        call then leaves with the worker's own From."""
        user = f"user={self.username};" if ATTRIBUTE_WORD.fullmatch(self.username) else ""
        return (f"trunk={self.uuid};domain={self.domain};{user}"
                f"mode={2 if self.ha1 else 0};socket={socket}")


def trunk_destinations(db: Database) -> list[TrunkDestination]:
    """The enabled trunks' outbound destinations, in the order an outbound call tries them:
    lowest priority number first, then by name."""
    with db.session() as session:
        trunks = session.scalars(
            select(Trunk).where(Trunk.enabled).order_by(Trunk.priority, Trunk.name)
        ).all()
        found = []
        for trunk in trunks:
            uri = f"sip:{trunk.proxy or trunk.registrar}"
            if trunk.transport != "udp":
                uri += f";transport={trunk.transport}"
            found.append(TrunkDestination(
                uri=uri, domain=trunk.registrar, uuid=f"trunk-{trunk.name}",
                username=trunk.username, ha1=bool(trunk.secret_ha1), transport=trunk.transport,
            ))
    return found


def trunk_rows(db: Database, settings: Settings) -> dict[str, dict[str, object]]:
    """The ``uacreg`` rows the enabled trunks make, by ``l_uuid`` (``trunk-<name>``): the HA1
    digest when the trunk has one (Kamailio 5.6 signs with ``auth_ha1`` and needs no
    password), the plaintext secret only for a trunk stored without a realm."""
    with db.session() as session:
        trunks = session.scalars(select(Trunk).where(Trunk.enabled).order_by(Trunk.name)).all()
        rows: dict[str, dict[str, object]] = {}
        for trunk in trunks:
            proxy = f"sip:{trunk.proxy or trunk.registrar}"
            if trunk.transport != "udp":
                proxy += f";transport={trunk.transport}"
            rows[f"trunk-{trunk.name}"] = {
                "l_uuid": f"trunk-{trunk.name}",
                "l_username": f"trunk-{trunk.name}",
                "l_domain": settings.sip_domain,
                "r_username": trunk.username,
                "r_domain": trunk.registrar,
                "realm": trunk.realm,
                "auth_username": trunk.username,
                "auth_password": "" if trunk.secret_ha1 else trunk.secret,
                "auth_ha1": trunk.secret_ha1,
                "auth_proxy": proxy,
                "expires": trunk.expires,
            }
    return rows


def sync_trunk_registrations(db: Database, settings: Settings) -> int:
    """Rewrite ``uacreg`` from the enabled trunks (Kamailio's uac module reads it at start and
    on ``uac.reg_refresh``); returns how many rows it holds."""
    rows = trunk_rows(db, settings)
    with db.session() as session:
        session.execute(delete(uacreg))
        for row in rows.values():
            session.execute(insert(uacreg).values(**row))
    return len(rows)
