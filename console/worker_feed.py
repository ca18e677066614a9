"""Follows every live switch worker's ``/events`` stream and turns events into browser pushes.

One daemon thread re-reads the ``workers`` table; each live worker gets a thread that holds
its event stream open (sending the deployment token) and reconnects with back-off when it drops.
Each time a stream opens, the worker's live calls are read once, so a console that restarted
mid-call takes back the calls its agents are on.
"""

from __future__ import annotations

import functools
import http.client
import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from console.hub import SUPERVISORS, EventHub, LiveCall, agent_topic
from console.presence import MONITOR_EVENTS, desk_notice, presence
from console.profile_access import grant
from console.screenpop import build_screenpop
from console.worker_control import TOKEN_REFUSED, WorkerUnreachable, auth_headers, live_calls
from store.db import Database
from store.models import Worker

log = logging.getLogger(__name__)

CALL_EVENTS = {"answered", "bridged", "hold", "unhold", "transferred", "ended", "mood", "dtmf"}
CALL_STATES = CALL_EVENTS - {"mood", "dtmf"}  # the events that say where the call is
TRANSCRIPT_EVENTS = {"transcript.partial", "transcript.final", "transcript.gap"}
_QUIET_STREAM_SECONDS = 300.0


def read_events(lines: Iterator[bytes]) -> Iterator[dict[str, Any]]:
    """Parse a server-sent-events byte stream into JSON objects (``data:`` lines only)."""
    data: list[str] = []
    for raw in lines:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if data:
                try:
                    event = json.loads("\n".join(data))
                except ValueError:
                    log.warning("ignoring an event that is not JSON")
                else:
                    if isinstance(event, dict):
                        yield event
                data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))


class EventRouter:
    """Decides who hears about a worker event: the ringing agent, and every supervisor."""

    def __init__(self, db: Database, hub: EventHub) -> None:
        self.db = db
        self.hub = hub

    def handle(self, event: dict[str, Any], worker_name: str, worker_url: str) -> None:
        kind = event.get("type")
        call_id = str(event.get("call_id") or "")
        if kind == "agent.ringing" and event.get("agent_id") is not None:
            self._ringing(event, worker_name, worker_url)
        elif kind == "agent.missed" and event.get("agent_id") is not None:
            self._missed(event)
        elif kind == "agent.state" and event.get("agent_id") is not None:  # a feature code
            state = str(event.get("state"))
            self.hub.publish(agent_topic(int(event["agent_id"])), "state", {"state": state})
        elif call_id and (call := self.hub.call(call_id)) is not None:
            topic = agent_topic(call.agent_id)
            if kind in TRANSCRIPT_EVENTS:
                self.hub.publish(topic, "transcript", event)
            elif kind in MONITOR_EVENTS:  # a supervisor joined, switched or left
                mode = None if kind == "monitor.ended" else event.get("mode")
                notice = desk_notice(
                    presence(self.db), call_id, mode if isinstance(mode, str) else None
                )
                self.hub.publish(topic, "supervisor", notice)
            elif kind in CALL_EVENTS:
                call.state = str(kind)
                if kind in CALL_STATES:
                    self._remember_state(call, str(kind))
                self.hub.publish(topic, "call", event)
                if kind in {"answered", "bridged"}:
                    self.hub.publish(topic, "state", {"state": "on_call"})
                elif kind == "ended":
                    self._agent_after_call(call, event)
                elif kind == "transferred" and handed_over(event):
                    self._transferred_away(call)
        self.hub.publish(SUPERVISORS, "call", event)

    def relearn(self, calls: list[dict[str, Any]], worker_name: str, worker_url: str) -> None:
        """Take back a worker's live calls (its ``GET /calls``, read each time its event stream
        opens): a console restarted mid-call gives every agent their call again (the pop, the
        call's later events) instead of leaving their desk deaf until the next one."""
        for live in calls:
            agent_id, call_id = live.get("agent_id"), str(live.get("id") or "")
            state = str(live.get("state") or "")
            if not isinstance(agent_id, int) or not call_id or state == "ended":
                continue  # no agent has this call (IVR, queue) or it is over
            known = self.hub.call(call_id)
            if known is not None and known.agent_id == agent_id:
                continue  # only the stream dropped: this console still follows the call
            given = live.get("call_data")
            call_data: dict[str, Any] = given if isinstance(given, dict) else {}
            offer = {
                "type": "agent.ringing",
                "call_id": call_id,
                "agent_id": agent_id,
                "worker": worker_name,
                "caller": live.get("caller"),
                "reason": call_data.get("agent_reason"),
                "call_data": call_data,
            }
            self._ringing(offer, worker_name, worker_url, call_state=state)
            log.info("re-learnt call %s of agent %s from %s", call_id, agent_id, worker_name)

    def _ringing(
        self,
        event: dict[str, Any],
        worker_name: str,
        worker_url: str,
        call_state: str = "ringing",
    ) -> None:
        agent_id = int(event["agent_id"])
        with self.db.session() as session:
            pop = build_screenpop(session, event)
            if pop["customer"]:  # the offer lets this agent open the profile later too
                grant(session, agent_id, pop["customer"]["id"], pop["call_id"], "offered")
        customer = pop["customer"]
        self.hub.track(
            LiveCall(
                call_id=str(event.get("call_id")),
                agent_id=agent_id,
                worker=str(event.get("worker") or worker_name),
                worker_url=worker_url,
                customer_id=customer["id"] if customer else None,
                state=call_state,
            )
        )
        pop["call_state"] = call_state
        self.hub.remember_pop(agent_id, pop)
        self.hub.publish(agent_topic(agent_id), "screenpop", pop)
        talking = call_state in CALL_STATES  # answered, bridged, on hold...: not ringing
        state = "on_call" if talking else "ringing"
        self.hub.publish(agent_topic(agent_id), "state", {"state": state})

    def _remember_state(self, call: LiveCall, kind: str) -> None:
        """The pop a reloaded desk gets says where the call is now, not that it rang."""
        shown = self.hub.last_pop(call.agent_id)
        if shown is not None and shown.get("call_id") == call.call_id:
            self.hub.remember_pop(call.agent_id, {**shown, "call_state": kind})

    def _missed(self, event: dict[str, Any]) -> None:
        """The agent did not answer in time: the call rings someone else, the agent is not
        ready (the worker set it), and their pop goes."""
        agent_id, call_id = int(event["agent_id"]), str(event.get("call_id") or "")
        call = self.hub.call(call_id)
        if call is not None and call.agent_id == agent_id:
            self.hub.forget(call_id)
        shown = self.hub.last_pop(agent_id)
        if shown is not None and shown.get("call_id") == call_id:
            self.hub.clear_pop(agent_id)
        topic = agent_topic(agent_id)
        self.hub.publish(topic, "call", event)
        self.hub.publish(topic, "state", {"state": str(event.get("state") or "not_ready")})

    def _transferred_away(self, call: LiveCall) -> None:
        """The agent handed the caller on (the worker moved them to wrap-up): their desk says
        so and the call's later events are no longer theirs; a colleague the transfer claimed
        gets the call with their own ``agent.ringing``."""
        self.hub.publish(agent_topic(call.agent_id), "state", {"state": "wrap_up"})
        self.hub.forget(call.call_id)

    def _agent_after_call(self, call: LiveCall, event: dict[str, Any]) -> None:
        """Tell the desk where the call left its agent. The worker makes that move itself
        (`store.agents`: wrap-up after a call they had, available otherwise) and says which in
        ``agent_state`` (null: the call had no agent by then, e.g. after a transfer); an
        ``ended`` that does not say, from a worker before it did, means wrap-up."""
        state = event.get("agent_state", "wrap_up")
        if state is not None:
            self.hub.publish(agent_topic(call.agent_id), "state", {"state": str(state)})


def handed_over(event: dict[str, Any]) -> bool:
    """Whether a ``transferred`` event took the caller from their agent (a blind transfer or
    a completed attended one; not the consultation's start or its cancel)."""
    return event.get("mode") == "blind" or event.get("stage") == "completed"


class WorkerFeed:
    """Background subscriptions to every live worker, started once per console process."""

    def __init__(
        self,
        db: Database,
        on_event: Callable[[dict[str, Any], str, str], None],
        refresh_seconds: float = 2.0,
        *,
        token: str,
        on_calls: Callable[[list[dict[str, Any]], str, str], None] | None = None,
    ) -> None:
        self.db = db
        self.on_event = on_event
        self.on_calls = on_calls
        self.refresh_seconds = refresh_seconds
        self.token = token
        self._following: dict[str, threading.Event] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="worker-feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        for stopped in self._following.values():
            stopped.set()

    def _live_workers(self) -> dict[str, str]:
        with self.db.session() as session:
            rows = session.execute(
                select(Worker.name, Worker.api_url).where(Worker.alive.is_(True))
            ).all()
        return {url.rstrip("/"): name for name, url in rows}

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                live = self._live_workers()
            except Exception:  # the database may be briefly busy or not migrated yet
                log.exception("cannot read the workers table")
                live = {}
            for url, name in live.items():
                if url not in self._following:
                    stopped = threading.Event()
                    self._following[url] = stopped
                    threading.Thread(
                        target=self._follow,
                        args=(name, url, stopped),
                        daemon=True,
                        name=f"worker-events-{name}",
                    ).start()
            for url in set(self._following) - set(live):
                self._following.pop(url).set()
            self._stop.wait(self.refresh_seconds)

    def _follow(self, name: str, url: str, stopped: threading.Event) -> None:
        backoff = 0.2
        while not stopped.is_set():
            try:
                opened = functools.partial(self._read_calls, name, url)
                for event in self._stream(url, stopped, self.token, opened):
                    backoff = 0.2
                    try:
                        self.on_event(event, name, url)
                    except Exception:
                        log.exception("event from %s not handled: %r", name, event.get("type"))
            except (OSError, http.client.HTTPException) as error:
                log.info("event stream of %s dropped: %s", name, error)
            stopped.wait(backoff)
            backoff = min(backoff * 2, 5.0)

    def _read_calls(self, name: str, url: str) -> None:
        """The stream is open (so no later event is missed): read what is already live."""
        if self.on_calls is None:
            return
        try:
            calls = live_calls(url, 5.0, self.token)
        except WorkerUnreachable as error:
            log.warning("cannot read the live calls of %s: %s", name, error)
            return
        try:
            self.on_calls(calls, name, url)
        except Exception:
            log.exception("live calls of %s not taken back", name)

    @staticmethod
    def _stream(
        url: str, stopped: threading.Event, token: str, opened: Callable[[], None]
    ) -> Iterator[dict[str, Any]]:
        parts = urlsplit(url)
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        try:
            headers = {"Accept": "text/event-stream", **auth_headers(token)}
            connection.request("GET", parts.path + "/events", headers=headers)
            response = connection.getresponse()
            if connection.sock is not None:  # a quiet stream is normal: wait long for events
                connection.sock.settimeout(_QUIET_STREAM_SECONDS)
            if response.status == 401:
                log.error(TOKEN_REFUSED, url)
            if response.status != 200:
                raise http.client.HTTPException(f"/events answered {response.status}")
            opened()
            for event in read_events(iter(response.readline, b"")):
                yield event
                if stopped.is_set():
                    return
        finally:
            connection.close()
