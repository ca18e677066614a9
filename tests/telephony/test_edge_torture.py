"""RFC 4475's torture test messages against the edge and straight at a switch worker: valid
messages get a SIP answer, invalid ones a 4xx or silence, stray responses nothing; afterwards
the edge still registers a device and routes a call to a worker, and the worker still serves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from telephony.testing.deployment import SUPPORT, Deployment
from telephony.testing.edge import EdgeUnderTest, make_settings, running_edge
from telephony.testing.workers import WorkerProcess, wait_until
from tests.harness.sipclient import SipClient, SipResponse
from tests.harness.torture import TortureMessage, TortureSender, torture_messages

MESSAGES = torture_messages()
SILENCE_S = 0.3  # how long an invalid message or a stray response is given to draw an answer


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EdgeUnderTest, Deployment,
                                                                     WorkerProcess]]:
    root: Path = tmp_path_factory.mktemp("torture")
    settings = make_settings(root, heartbeat_seconds=0.5, stale_after_seconds=2.0)
    with running_edge(root, settings=settings) as edge:
        deployment = Deployment(root, db_url=settings.database_url)
        try:
            config = deployment.config(edge=edge.address, switch=edge.switch_address,
                                       sip_domain=settings.sip_domain)
            worker = deployment.worker(0, config)
            wait_until(lambda: edge.edge.destinations and SUPPORT in edge.edge.numbers, 15,
                       "the edge routes the support number to the worker")
            yield edge, deployment, worker
        finally:
            deployment.close()


def test_the_corpus_is_the_rfcs_messages():
    assert len(MESSAGES) == 49
    for message in MESSAGES:  # every valid message's body is exactly as long as it says
        if message.kind == "valid" and message.name != "dblreq":
            assert message.declared_length() in (None, message.body_length()), message.name


def check(message: TortureMessage, answers: list[SipResponse], by_kamailio: bool) -> str | None:
    """What is wrong with how the peer answered *message*, or None."""
    codes = [answer.status for answer in answers]
    if message.kind == "response" and codes:
        return f"a stray response was answered: {codes}"
    if message.kind == "invalid" and any(not 400 <= code < 500 for code in codes):
        return f"an invalid message drew {codes}, not a 4xx or silence"
    if message.kind == "valid" and not codes and not (by_kamailio and message.kamailio_drops):
        return "a valid message drew no answer"
    return None


@pytest.mark.e2e
@pytest.mark.parametrize("message", MESSAGES, ids=[m.name for m in MESSAGES])
def test_the_edge_answers_a_torture_message_as_the_rfc_expects(site, message: TortureMessage):
    edge, _deployment, _worker = site
    with TortureSender(edge.address) as sender:
        answers = sender.send(message, wait=2.0 if message.kind == "valid" else SILENCE_S)
    problem = check(message, answers, by_kamailio=True)
    assert problem is None, f"{message.section} {message.title} ({message.name}): {problem}"
    assert edge.edge.running


def call_answered(deployment: Deployment, edge: EdgeUnderTest, worker: WorkerProcess) -> None:
    events = worker.events()
    caller = deployment.phone(f"caller{len(deployment.phones)}", record=False)
    call = caller.call(f"sip:{SUPPORT}@{edge.uri_host}")
    caller.wait_for("state", call=call, state="confirmed", timeout=15)
    answered = events.wait_for("answered", timeout=10)
    caller.hangup(call)
    events.wait_for("ended", call_id=answered["call_id"], timeout=10)


@pytest.mark.e2e
def test_after_the_corpus_the_edge_registers_devices_and_routes_calls(site):
    edge, deployment, worker = site
    with TortureSender(edge.address) as sender:
        for message in MESSAGES:
            sender.send(message, wait=SILENCE_S)
    password = edge.add_device("2401")
    with SipClient(edge.address) as phone:
        assert phone.register("2401", password, edge.settings.sip_domain).status == 200
    call_answered(deployment, edge, worker)


@pytest.mark.e2e
def test_the_corpus_sent_straight_to_a_worker_leaves_it_serving_calls(site):
    edge, deployment, worker = site
    with TortureSender(("127.0.0.1", worker.sip_port)) as sender:
        for message in MESSAGES:
            sender.send(message, wait=SILENCE_S)
    assert worker.process.poll() is None, worker.log()[-3000:]
    wait_until(lambda: worker.get("/health")["load"] == 0, 15, "the torture calls are gone")
    call_answered(deployment, edge, worker)
