"""The agent state machine: every move from every state, allowed or refused (unchanged)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from store import agents
from store.db import Database
from store.migrate import upgrade
from store.models import Agent, AgentState

T0 = datetime(2026, 1, 5, 9, 0, 0)
CALL = "call-1"

#: Each move, made for one agent claimed by CALL when the state is busy (as the worker leaves it).
MOVES: dict[str, Callable[[Database, int], bool]] = {
    "claim": lambda db, a: agents.claim(db, a, CALL),
    "unclaim": lambda db, a: agents.unclaim(db, a, CALL, T0 - timedelta(hours=1)),
    "withdraw": lambda db, a: agents.withdraw(db, a, CALL),
    "answer": lambda db, a: agents.answer(db, a),
    "bridge": lambda db, a: agents.bridge(db, a, "call-2"),
    "no_answer": lambda db, a: agents.no_answer(db, a),
    "wrap_up": lambda db, a: agents.wrap_up(db, a, "caller hung up"),
    "release": lambda db, a: agents.release(db, a, "caller hung up"),
    "end_wrap_up": lambda db, a: a in agents.end_due_wrap_ups(db, T0 + timedelta(hours=1)),
    "reap": lambda db, a: _reap(db, a),
    "ready": lambda db, a: agents.set_own_state(db, a, "available"),
    "pause": lambda db, a: agents.set_own_state(db, a, "paused", "coffee"),
    "log_out": lambda db, a: agents.log_out(db, a),
    "finish_wrap_up": lambda db, a: agents.finish_wrap_up(db, a),
}

ALLOWED = {
    ("claim", AgentState.AVAILABLE),
    ("unclaim", AgentState.RINGING),
    ("withdraw", AgentState.RINGING),
    ("answer", AgentState.RINGING),
    ("no_answer", AgentState.RINGING),
    *{(name, s) for name in ("bridge", "wrap_up", "release", "reap") for s in agents.BUSY},
    ("end_wrap_up", AgentState.WRAP_UP),
    *{(name, s) for name in ("ready", "pause", "log_out") for s in agents.IDLE},
    *{("finish_wrap_up", s) for s in (AgentState.WRAP_UP, AgentState.RINGING, AgentState.ON_CALL)},
}


def _reap(db: Database, agent_id: int) -> bool:
    with db.session() as session:
        return agent_id in agents.reap(session, [CALL, "other"])


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("agents") / "template.sqlite"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db(template: Path, tmp_path: Path) -> Database:
    copy = tmp_path / "agents.sqlite"
    copy.write_bytes(template.read_bytes())
    database = Database(f"sqlite:///{copy}")
    yield database
    database.dispose()


def add_agent(db: Database, state: AgentState) -> int:
    with db.session() as session:
        agent = Agent(
            name="Alice",
            username=f"alice-{state}",
            password_hash="-",
            state=state,
            state_reason="before",
            state_since=T0,
            claimed_by_call=CALL if state in agents.BUSY else None,
        )
        session.add(agent)
        session.flush()
        return agent.id


def row(db: Database, agent_id: int) -> dict[str, Any]:
    with db.session() as session:
        agent = session.get(Agent, agent_id)
        assert agent is not None
        return {
            "state": agent.state,
            "reason": agent.state_reason,
            "since": agent.state_since,
            "claimed": agent.claimed_by_call,
        }


def test_the_table_is_the_moves() -> None:
    assert set(agents.TRANSITIONS) == set(MOVES)
    for name, state in ALLOWED:
        assert agents.allowed(name, state)


@pytest.mark.parametrize("state", list(AgentState))
@pytest.mark.parametrize("name", list(MOVES))
def test_every_move_from_every_state(db: Database, name: str, state: AgentState) -> None:
    agent_id = add_agent(db, state)
    before = row(db, agent_id)
    done = MOVES[name](db, agent_id)
    after = row(db, agent_id)
    if (name, state) not in ALLOWED:
        assert not done and not agents.allowed(name, state)
        assert after == before, "a refused move changes nothing"
        return
    assert done and after["state"] is agents.TRANSITIONS[name].target
    claims = {"claim": CALL, "bridge": "call-2", "answer": before["claimed"]}
    assert after["claimed"] == claims.get(name)
    reasons = {"no_answer": "no answer", "wrap_up": "caller hung up", "release": "caller hung up"}
    reasons |= {"reap": "worker failed", "pause": "coffee", "claim": "before", "answer": "before"}
    reasons |= {"unclaim": "before", "withdraw": "before", "bridge": "before"}
    assert after["reason"] == reasons.get(name)
    if name == "unclaim":
        assert after["since"] == T0 - timedelta(hours=1)  # keeps their place as longest idle
    elif name == "withdraw":
        assert after["since"] == T0
    else:
        assert after["since"] > T0


def test_claim_is_won_once(db: Database) -> None:
    agent_id = add_agent(db, AgentState.AVAILABLE)
    assert agents.claim(db, agent_id, "a")
    assert not agents.claim(db, agent_id, "b")
    assert row(db, agent_id)["claimed"] == "a"


def test_moves_by_claim_need_the_claiming_call(db: Database) -> None:
    agent_id = add_agent(db, AgentState.RINGING)
    assert not agents.unclaim(db, agent_id, "someone-else", T0)
    assert not agents.withdraw(db, agent_id, "someone-else")
    with db.session() as session:
        assert agents.reap(session, ["someone-else"]) == []
    assert row(db, agent_id)["state"] is AgentState.RINGING
    with pytest.raises(ValueError, match="needs the call"), db.session() as session:
        agents.move(session, agent_id, "unclaim")


def test_wrap_up_ends_only_when_due(db: Database) -> None:
    agent_id = add_agent(db, AgentState.WRAP_UP)  # 10 s wrap-up from T0
    assert agents.end_due_wrap_ups(db, T0 + timedelta(seconds=9)) == []
    assert agents.end_due_wrap_ups(db, T0 + timedelta(seconds=10)) == [agent_id]
    assert agents.state_of(db, agent_id) is AgentState.AVAILABLE


def test_an_agent_sets_only_their_own_states(db: Database) -> None:
    agent_id = add_agent(db, AgentState.AVAILABLE)
    with pytest.raises(ValueError, match="not 'on_call'"):
        agents.set_own_state(db, agent_id, "on_call")
    assert agents.state_of(db, agent_id) is AgentState.AVAILABLE
