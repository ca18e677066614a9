"""A throw-away switch deployment: migrated SQLite, agents, workers and phones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from store.db import Database
from store.kamailio_tables import dispatcher
from store.migrate import upgrade
from store.models import Agent, AgentState, Call, Device, DeviceKind, SupportNumber, Worker
from store.settings import Settings
from store.tokens import deployment_token
from telephony.testing.phones import Phone
from telephony.testing.workers import (
    WorkerProcess,
    await_ready,
    launch_worker,
    start_worker,
    wait_until,
    write_config,
)

SUPPORT = "800"


class Deployment:
    """Owns every process it starts and stops them all in `close` (use it from a fixture)."""

    def __init__(self, root: Path, db_url: str | None = None) -> None:
        self.root = root
        self.db_url = db_url or f"sqlite:///{root / 'centralino.sqlite'}"
        if db_url is None:
            upgrade(self.db_url)
        self.db = Database(self.db_url)
        self.phones: list[Phone] = []
        self.workers: list[WorkerProcess] = []
        with self.db.session() as session:
            if session.scalar(select(SupportNumber).where(SupportNumber.number == SUPPORT)) is None:
                session.add(SupportNumber(number=SUPPORT, name="Customer support"))

    def add_agent(self, extension: str, name: str | None = None, ha1: str = "x") -> int:
        with self.db.session() as session:
            device = session.scalar(select(Device).where(Device.extension == extension))
            if device is None:
                device = Device(
                    kind=DeviceKind.SOFTPHONE, extension=extension, sip_username=extension, ha1=ha1
                )
            agent = Agent(
                name=name or f"Agent {extension}",
                username=f"agent{extension}",
                password_hash="x",
                device=device,
                state=AgentState.AVAILABLE,
            )
            session.add(agent)
            session.flush()
            return agent.id

    @property
    def token(self) -> str:
        """The deployment token of this deployment's var directory (its workers want it)."""
        return deployment_token(Settings(var_dir=self.root, database_url=self.db_url))

    def phone(
        self, name: str, auto_answer: bool = False, record: bool = True, address: str = "127.0.0.1"
    ) -> Phone:
        record_dir = self.root if record else None
        phone = Phone.start(name, auto_answer=auto_answer, record_dir=record_dir, address=address)
        self.phones.append(phone)
        return phone

    def config(self, **options: Any) -> Path:
        return write_config(self.root / "switch.toml", self.root, self.db_url, **options)

    def worker(self, index: int, config: Path) -> WorkerProcess:
        worker = start_worker(config, index, self.root)
        self.workers.append(worker)
        return worker

    def start_workers(self, count: int, config: Path) -> list[WorkerProcess]:
        """Start *count* workers at once (they come up together, e.g. for one edge reload)."""
        launched = [launch_worker(config, n, self.root) for n in range(1, count + 1)]
        self.workers.extend(launched)
        return [await_ready(worker) for worker in launched]

    # Views of the store.
    def calls(self) -> list[Call]:
        with self.db.session() as session:
            calls = session.scalars(select(Call).order_by(Call.started_at)).all()
            for call in calls:
                _ = call.legs
            return list(calls)

    def call(self, call_id: str) -> Call:
        with self.db.session() as session:
            call = session.get(Call, call_id)
            assert call is not None, f"no CDR for {call_id}"
            _ = call.legs
            return call

    def find_call(self, call_id: str) -> Call | None:
        with self.db.session() as session:
            call = session.get(Call, call_id)
            if call is not None:
                _ = call.legs
            return call

    def ended_call(self, call_id: str, timeout: float = 10.0) -> Call:
        call: Call = wait_until(
            lambda: (c := self.find_call(call_id)) is not None and c.ended_at is not None and c,
            timeout,
            f"CDR {call_id} closed",
        )
        return call

    def worker_row(self, name: str) -> Worker:
        with self.db.session() as session:
            row = session.scalar(select(Worker).where(Worker.name == name))
            assert row is not None
            return row

    def dispatcher_destinations(self) -> list[str]:
        with self.db.engine.connect() as connection:
            return [row.destination for row in connection.execute(select(dispatcher))]

    def agent_state(self, agent_id: int) -> AgentState:
        with self.db.session() as session:
            agent = session.get(Agent, agent_id)
            assert agent is not None
            return agent.state

    def close(self) -> None:
        processes: list[Phone | WorkerProcess] = [*self.phones, *self.workers]
        for process in processes:
            process.request_stop()
        for process in processes:
            process.stop()
        self.db.dispose()
