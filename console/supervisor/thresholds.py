"""The alert rules' thresholds as supervisors and admins edit them, and the desk's policy on
showing that a supervisor is listening.

Thresholds are ``alert_rules`` rows per queue (``*``: every queue without its own row); each
editable number is a `Knob` (its rule, its key, the unit it is shown in and the range it may
take), so the page, the validation and the store agree. Every change is written to the admin
audit log (before and after) in the same transaction. The workers re-read the rows every few
seconds (`telephony.floorwatch`), so a change reaches live calls without a restart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from console.admin.services.audit import record
from console.admin.services.base import Actor, Invalid
from console.presence import PRESENCE, PRESENCE_DEFAULT, PRESENCE_KEY, presence, presence_shows
from ivr.alerts import RULES
from store.db import Database
from store.models import Queue, Setting, SupportNumber
from store.supervision import EVERY_QUEUE, AlertRule


@dataclass(frozen=True)
class Knob:
    """One editable threshold: stored as ``rule.key`` in seconds/score, shown times *scale*."""

    rule: str
    key: str
    label: str
    unit: str
    low: float
    high: float
    scale: float = 1.0
    step: float = 1.0

    @property
    def field(self) -> str:
        return f"{self.rule}.{self.key}"

    def shown(self, stored: float) -> float:
        return round(stored * self.scale, 3)


KNOBS: tuple[Knob, ...] = (
    Knob(
        "upset",
        "score_below",
        "Upset when the caller's mood score is at or below",
        "score (-1 most upset … 0 neutral; nearer 0 is more sensitive)",
        -1.0,
        -0.05,
        step=0.05,
    ),
    Knob("upset", "cooldown_seconds", "Again on the same call at most every", "seconds", 0, 3600),
    Knob("silence", "seconds", "Silence alert after nobody spoke for", "seconds", 3, 600),
    Knob("hold", "seconds", "Hold alert after the caller waited on hold", "seconds", 10, 3600),
    Knob(
        "overtalk", "seconds", "Overtalk when both spoke at once for", "seconds", 0.5, 30, step=0.5
    ),
    Knob(
        "overtalk", "cooldown_seconds", "Again on the same call at most every", "seconds", 0, 3600
    ),
    Knob(
        "long_call",
        "target_seconds",
        "Long call past the queue's target of",
        "minutes",
        1,
        240,
        scale=1 / 60,
        step=0.5,
    ),
)
RULE_TITLES = {
    "upset": "Upset caller",
    "topic": "Watched phrase",
    "silence": "Long silence",
    "hold": "Long hold",
    "overtalk": "Overtalk",
    "long_call": "Long call",
}


def queue_names(db: Database) -> list[str]:
    """Every queue a rule row may name: ``*`` first, then the known queues."""
    with db.session() as session:
        names = set(session.scalars(select(Queue.name))) | set(
            session.scalars(select(SupportNumber.queue))
        )
    return [EVERY_QUEUE, *sorted(n for n in names if n)]


def _rows(db: Database, queue: str) -> dict[str, dict[str, AlertRule]]:
    with db.session() as session:
        rows = session.scalars(
            select(AlertRule).where(AlertRule.queue.in_([EVERY_QUEUE, queue]))
        ).all()
        session.expunge_all()
    layered: dict[str, dict[str, AlertRule]] = {EVERY_QUEUE: {}, queue: {}}
    for row in rows:
        layered[row.queue][row.rule] = row
    return layered


def effective(db: Database, queue: str) -> dict[str, dict[str, Any]]:
    """What a call in *queue* runs with: per rule ``{"enabled", "params", "own"}`` (own: the
    queue has its own row, not every queue's)."""
    layered = _rows(db, queue)
    out: dict[str, dict[str, Any]] = {}
    for name, rule in RULES.items():
        params = dict(rule.defaults)
        enabled, own = True, False
        for layer in (EVERY_QUEUE, queue):
            row = layered[layer].get(name)
            if row is None:
                continue
            enabled, own = row.enabled, layer == queue
            for key, value in (row.params or {}).items():
                if key in params and isinstance(value, int | float):
                    params[key] = float(value)
        out[name] = {"enabled": enabled, "params": params, "own": own}
    return out


def parse(form: Mapping[str, Any]) -> dict[str, tuple[bool, dict[str, float]]]:
    """The page's fields as ``{rule: (enabled, params)}``; `Invalid` names every bad field."""
    errors: dict[str, str] = {}
    parsed: dict[str, tuple[bool, dict[str, float]]] = {}
    for name in RULES:
        parsed[name] = (str(form.get(f"{name}.enabled", "")).lower() in ("on", "1", "true"), {})
    for knob in KNOBS:
        raw = str(form.get(knob.field, "")).strip().replace(",", ".")
        try:
            value = float(raw)
        except ValueError:
            errors[knob.field] = "a number"
            continue
        if not math.isfinite(value) or not knob.low <= value <= knob.high:
            errors[knob.field] = f"between {knob.low:g} and {knob.high:g} {knob.unit.split(' ')[0]}"
            continue
        parsed[knob.rule][1][knob.key] = value / knob.scale
    if errors:
        raise Invalid(errors)
    return parsed


def save(db: Database, queue: str, values: Mapping[str, Any], actor: Actor) -> int:
    """Write *queue*'s rows from the page's fields (validated), audited; the rows changed."""
    if queue not in queue_names(db):
        raise Invalid({"queue": "no such queue"})
    parsed = parse(values)
    changed = 0
    with db.session() as session:
        for name, (enabled, params) in parsed.items():
            row = session.scalars(
                select(AlertRule).where(AlertRule.queue == queue, AlertRule.rule == name)
            ).first()
            before = None if row is None else {"enabled": row.enabled, "params": dict(row.params)}
            after = {"enabled": enabled, "params": params}
            if before == after:
                continue
            if row is None:
                session.add(AlertRule(queue=queue, rule=name, enabled=enabled, params=params))
            else:
                row.enabled, row.params = enabled, params
            record(
                session,
                actor,
                "alert_rule.update",
                "alert_rule",
                f"{queue}/{name}",
                f"{RULE_TITLES.get(name, name)} ({queue})",
                before,
                after,
            )
            changed += 1
    return changed


def reset(db: Database, queue: str, actor: Actor) -> int:
    """*queue* goes back to every queue's thresholds (its own rows removed, audited)."""
    if queue == EVERY_QUEUE:
        raise Invalid({"queue": "every queue's thresholds are the base: edit them instead"})
    with db.session() as session:
        rows = session.scalars(select(AlertRule).where(AlertRule.queue == queue)).all()
        for row in rows:
            record(
                session,
                actor,
                "alert_rule.reset",
                "alert_rule",
                f"{queue}/{row.rule}",
                f"{RULE_TITLES.get(row.rule, row.rule)} ({queue})",
                {"enabled": row.enabled, "params": dict(row.params)},
                None,
            )
            session.delete(row)
        return len(rows)


def set_presence(db: Database, shown: str, actor: Actor) -> None:
    if shown not in PRESENCE:
        raise Invalid({"shown": f"one of {', '.join(PRESENCE)}"})
    with db.session() as session:
        setting = session.get(Setting, PRESENCE_KEY)
        before = None if setting is None else dict(setting.value or {})
        if setting is None:
            session.add(Setting(key=PRESENCE_KEY, value={"shown": shown}))
        else:
            setting.value = {"shown": shown}
        record(
            session,
            actor,
            "setting.update",
            "setting",
            PRESENCE_KEY,
            "Show the agent that a supervisor is listening",
            before,
            {"shown": shown},
        )


__all__ = [
    "KNOBS",
    "PRESENCE",
    "PRESENCE_DEFAULT",
    "PRESENCE_KEY",
    "Knob",
    "effective",
    "parse",
    "presence",
    "presence_shows",
    "reset",
    "save",
    "set_presence",
]
