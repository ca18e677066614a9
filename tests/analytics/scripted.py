"""Scripted calls written straight into a store: known timing, known agents and customers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from analytics.facts import epoch
from store.db import Database
from store.models import Agent, Call, CallState, Customer, Interaction, Role

DAY = datetime(2026, 3, 2, 9, 0)


def people(db: Database) -> dict[str, int]:
    """Two agents, a supervisor and two customers; their ids by name."""
    with db.session() as session:
        rows: list[Any] = [
            Agent(name="Anna Agent", username="anna", password_hash="x", role=Role.AGENT),
            Agent(name="Bruno Agent", username="bruno", password_hash="x", role=Role.AGENT),
            Agent(name="Sara Supervisor", username="sara", password_hash="x",
                  role=Role.SUPERVISOR),
            Customer(name="Carla Customer", phone="+3902111"),
            Customer(name="Dario Customer", phone="+3902222"),
        ]
        session.add_all(rows)
        session.flush()
        return {"anna": rows[0].id, "bruno": rows[1].id, "sara": rows[2].id,
                "carla": rows[3].id, "dario": rows[4].id}


def scripted_call(
    db: Database, call_id: str, started: datetime, agent_id: int | None, customer_id: int | None,
    lines: list[tuple[str, float, float, str]], duration: float = 60.0, bridged: float = 10.0,
    queue: str = "support", mood: tuple[float, float] | None = None, wrap_up: str | None = None,
) -> None:
    """An ended call whose transcript says *lines* (speaker, start, end, text) in call seconds."""
    origin = epoch(started)
    transcript = [
        {"speaker": speaker, "text": text, "start": start, "end": end,
         "spoken_at": origin + start}
        for speaker, start, end, text in lines
    ]
    data: dict[str, Any] = {"queue": queue, "locale": "en", "greeting_transcript": ""}
    if mood is not None:
        data.update(greeting_transcript="my bill is wrong again", mood_score=mood[0])
    with db.session() as session:
        session.add(Call(
            id=call_id, caller=f"customer-{customer_id}", dialled="100", state=CallState.ENDED,
            agent_id=agent_id, customer_id=customer_id, started_at=started,
            answered_at=started + timedelta(seconds=0.5),
            bridged_at=started + timedelta(seconds=bridged) if agent_id else None,
            ended_at=started + timedelta(seconds=duration), outcome="completed",
            call_data=data, transcript=transcript,
        ))
        if wrap_up and customer_id:
            session.add(Interaction(customer_id=customer_id, agent_id=agent_id, call_id=call_id,
                                    at=started + timedelta(seconds=duration), outcome=wrap_up,
                                    notes="explained the bill"))
    if mood is not None:
        from store.supervision import TranscriptLine

        with db.session() as session:
            session.add(TranscriptLine(call_id=call_id, speaker="caller", text="thanks",
                                       mood="calm", mood_score=mood[1],
                                       at=started + timedelta(seconds=duration - 5)))
