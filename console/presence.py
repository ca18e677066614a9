"""The deployment's policy on showing an agent that a supervisor is on their call, and what
their desk is told when a supervisor joins, switches mode or leaves.

The policy is the ``settings`` row ``supervisor_presence`` (``{"shown": ...}``), edited on the
supervisor's thresholds page; the console reads it for every monitor event, so a change
applies to the next one without a restart.
"""

from __future__ import annotations

from typing import Any

from store.db import Database
from store.models import Setting

PRESENCE_KEY = "supervisor_presence"
PRESENCE = {
    "always": "always, from the moment a supervisor joins (listen, whisper or barge)",
    "heard": "only when the agent can hear the supervisor (whisper or barge)",
    "never": "never (silent monitoring)",
}
PRESENCE_DEFAULT = "always"
#: A worker's monitor event -> whether it carries the new mode (``monitor.ended``: gone).
MONITOR_EVENTS = ("monitor.started", "monitor.mode", "monitor.ended")


def presence(db: Database) -> str:
    """The desk policy: ``always``, ``heard`` or ``never`` (see `PRESENCE`)."""
    with db.session() as session:
        setting = session.get(Setting, PRESENCE_KEY)
        shown = (setting.value or {}).get("shown") if setting is not None else None
    return shown if isinstance(shown, str) and shown in PRESENCE else PRESENCE_DEFAULT


def presence_shows(policy: str, mode: str | None) -> bool:
    """Whether the agent's desk shows a supervisor in *mode* under *policy*."""
    if mode is None or policy == "never":
        return False
    return policy == "always" or mode in ("whisper", "barge")


def desk_notice(policy: str, call_id: str, mode: str | None) -> dict[str, Any]:
    """What the desk is pushed: the mode it may show (None: show nothing)."""
    return {"call_id": call_id, "mode": mode if presence_shows(policy, mode) else None}
