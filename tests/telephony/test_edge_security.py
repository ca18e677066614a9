"""The edge against an attacker: strangers' in-dialog requests, auto-answer hints, trust by
socket, brute force and its security log, and public numbers that follow the store."""

from __future__ import annotations

import configparser
import re
import secrets
import stat
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from store.db import Database
from store.migrate import upgrade
from store.models import Did, SupportNumber, Trunk, Worker, utcnow
from telephony.edge import Edge, EdgeTuning
from telephony.edge_numbers import refresh_public_numbers
from telephony.testing.edge import EdgeUnderTest, make_settings, running_edge
from tests.harness.sipclient import SipClient, SipRequest, SipResponse, sdp_offer

pytestmark = pytest.mark.e2e

AUTO_ANSWER = {
    "Call-Info": "<sip:centralino>;answer-after=0",
    "Alert-Info": "<http://centralino/auto>;info=alert-autoanswer",
    "Answer-Mode": "Auto",
    "Priv-Answer-Mode": "Auto",
}


def wait_until(condition, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeUnderTest]:
    with running_edge(tmp_path_factory.mktemp("edge")) as running:
        yield running


@pytest.fixture(scope="module")
def worker(edge: EdgeUnderTest) -> Iterator[SipClient]:
    """A stand-in switch worker: a UDP socket the edge routes support calls to, which sends
    its own requests to the edge's switch socket like a real worker."""
    with SipClient(edge.switch_address) as fake:
        with edge.db.session() as session:
            session.add(SupportNumber(number="800", name="support"))
            session.add(
                Worker(
                    name="fake-worker",
                    host=fake.local[0],
                    pid=0,
                    sip_port=fake.local[1],
                    api_url="http://127.0.0.1:9/",
                    heartbeat_at=utcnow() + timedelta(hours=1),  # fresh for the whole module
                )
            )
        assert wait_until(lambda: edge.edge.destinations == [f"sip:{fake.uri_self}"])
        assert wait_until(lambda: "800" in edge.edge.numbers)
        yield fake


def registered_phone(edge: EdgeUnderTest, extension: str, local_ip: str = "127.0.0.1") -> SipClient:
    password = edge.add_device(extension)
    phone = SipClient(edge.address, local_ip=local_ip)
    response = phone.register(extension, password, edge.settings.sip_domain)
    assert response is not None and response.status == 200, response
    return phone


def established_call(edge: EdgeUnderTest, worker: SipClient, caller: SipClient,
                     call_id: str) -> tuple[SipRequest, SipResponse]:
    """A caller's call to the support number through the edge, answered by the worker: the
    INVITE as the worker saw it and the 200 OK as the caller saw it (ACK sent)."""
    caller.send_raw(caller.build("INVITE", f"sip:800@{edge.uri_host}", "caller", "800",
                                 call_id, body=sdp_offer(), from_tag="caller-tag"))
    invite = worker.next_request(5, "INVITE")
    assert invite is not None, "the call never reached the worker"
    worker.reply(invite, 200, "OK", to_tag="worker-tag", contact=True)
    answer = caller.final_response(5)
    assert answer is not None and answer.status == 200, answer
    caller.send_raw(in_dialog(caller, "ACK", answer, call_id, cseq=1))
    assert worker.next_request(5, "ACK") is not None
    return invite, answer


def in_dialog(client: SipClient, method: str, answer: SipResponse, call_id: str, cseq: int,
              uri: str | None = None, extra: dict[str, str] | None = None) -> bytes:
    """A request within the dialog *answer* set up: Route set from its Record-Route, Request-URI
    from its Contact (unless *uri* says otherwise)."""
    routes = list(reversed(answer.headers.get("record-route", [])))
    target = uri or (answer.header("contact") or "").strip("<>")
    headers = dict(extra or {})
    if routes:
        headers["Route"] = ", ".join(routes)
    message = client.build(method, target, "caller", "800", call_id, headers,
                           to_tag="worker-tag", from_tag="caller-tag", cseq=cseq)
    return message


# -- in-dialog requests: relayed only within dialogs this edge set up --------------------------


def test_a_strangers_notify_routed_to_an_agent_phone_is_not_relayed(
    edge: EdgeUnderTest, worker: SipClient
):
    agent = registered_phone(edge, "2001")
    contact = f"sip:2001@{agent.uri_self}"
    forged = {
        "route to the phone": {"Route": f"<{contact};lr>"},
        "route through us, then the phone": {
            "Route": f"<sip:{edge.uri_host};lr;ftag=x;did=a1b.c2>, <{contact};lr>"
        },
        "route through us, uri the phone": {"Route": f"<sip:{edge.uri_host};lr;ftag=x>"},
    }
    with SipClient(edge.address, local_ip="127.0.0.3") as stranger:
        for name, headers in forged.items():
            stranger.send_raw(stranger.build(
                "NOTIFY", contact, "provisioning", "2001", f"notify-{secrets.token_hex(4)}",
                {**headers, "Event": "check-sync", "Subscription-State": "terminated"},
                to_tag="a-guess",
            ))
            answer = stranger.final_response(2)
            assert answer is None or answer.status == 404, (name, answer)
            assert agent.next_request(0.5) is None, f"{name}: the NOTIFY reached the phone"
    agent.close()


def test_a_caller_cannot_steer_its_own_dialog_to_an_agent_phone(
    edge: EdgeUnderTest, worker: SipClient
):
    agent = registered_phone(edge, "2002")
    with SipClient(edge.address, local_ip="127.0.0.4") as caller:
        call_id = f"steer-{secrets.token_hex(4)}"
        _invite, answer = established_call(edge, worker, caller, call_id)
        # A real dialog and a Route through the edge, but the Request-URI names the phone.
        caller.send_raw(in_dialog(caller, "INFO", answer, call_id, cseq=2,
                                  uri=f"sip:2002@{agent.uri_self}"))
        assert agent.next_request(0.7) is None, "the caller reached the agent phone"
        info = worker.next_request(3, "INFO")
        assert info is not None, "within its dialog the request goes to the other party"
        worker.reply(info, 200, "OK")
        assert caller.final_response(3).status == 200
        # A real dialog, the edge's own Route, and one more Route: to the phone.
        routes = ", ".join(reversed(answer.headers.get("record-route", [])))
        caller.send_raw(caller.build(
            "INFO", f"sip:2002@{agent.uri_self}", "caller", "800", call_id,
            {"Route": f"{routes}, <sip:2002@{agent.uri_self};lr>"},
            to_tag="worker-tag", from_tag="caller-tag", cseq=3))
        refused = caller.final_response(2)
        assert refused is not None and refused.status == 404, refused
        assert agent.next_request(0.5) is None, "a further Route took the caller to the phone"
        # And the ordinary end of the call still works both ways.
        caller.send_raw(in_dialog(caller, "BYE", answer, call_id, cseq=4))
        bye = worker.next_request(3, "BYE")
        assert bye is not None
        worker.reply(bye, 200, "OK")
        assert caller.final_response(3).status == 200
    agent.close()


def test_a_worker_ends_a_call_through_the_edge(edge: EdgeUnderTest, worker: SipClient):
    with SipClient(edge.address, local_ip="127.0.0.4") as caller:
        call_id = f"worker-bye-{secrets.token_hex(4)}"
        invite, _answer = established_call(edge, worker, caller, call_id)
        routes = ", ".join(invite.headers.get("record-route", []))  # a UAS keeps their order
        assert invite.header("record-route"), "the edge stays in the dialog's path"
        bye = worker.build("BYE", f"sip:caller@{caller.uri_self}", "800", "caller", call_id,
                           {"Route": routes}, to_tag="caller-tag", from_tag="worker-tag",
                           cseq=1)
        worker.send_raw(bye)
        received = caller.next_request(3, "BYE")
        assert received is not None, "the worker's BYE did not reach the caller"


# -- auto-answer hints and trust by socket -----------------------------------------------------


def ring(edge: EdgeUnderTest, sender: SipClient, target: str, headers: dict[str, str],
         password: str | None = None, user: str = "caller") -> None:
    """Send an INVITE for *target* (answering the edge's challenge when *password* is given)
    without waiting for the callee."""
    uri = f"sip:{target}@{edge.uri_host}"
    sender.request("INVITE", uri, user, target, password, headers, body=sdp_offer(),
                   timeout=0.5)


def test_auto_answer_hints_from_a_device_are_stripped(edge: EdgeUnderTest, worker: SipClient):
    agent = registered_phone(edge, "2003")
    password = edge.add_device("2103")
    hints = {**AUTO_ANSWER, "call-info": "<sip:x>;answer-after=0"}  # any spelling
    with SipClient(edge.address, local_ip="127.0.0.5") as device:
        ring(edge, device, "2003", hints, password, user="2103")
        invite = agent.next_request(3, "INVITE")
    assert invite is not None, "the device's call never rang the agent"
    for name in AUTO_ANSWER:
        assert not invite.has(name), f"{name} from a device reached the agent phone"
    agent.reply(invite, 486, "Busy Here", to_tag="agent")
    agent.close()


def test_a_workers_intercom_call_keeps_its_auto_answer_hints(
    edge: EdgeUnderTest, worker: SipClient
):
    agent = registered_phone(edge, "2004")
    uri, call_id = f"sip:2004@{worker.server[0]}:{worker.server[1]}", secrets.token_hex(4)
    worker.send_raw(worker.build("INVITE", uri, "800", "2004", call_id, AUTO_ANSWER,
                                 body=sdp_offer()))
    invite = agent.next_request(3, "INVITE")
    assert invite is not None, "the worker's agent leg never rang the phone"
    for name, value in AUTO_ANSWER.items():
        assert invite.header(name) == value
    agent.reply(invite, 486, "Busy Here", to_tag="agent")
    busy = worker.final_response(3)
    assert busy is not None and busy.status == 486
    worker.ack(uri, "800", "2004", call_id, busy)
    agent.close()


def test_a_packet_from_a_workers_address_on_the_public_socket_is_a_strangers(
    edge: EdgeUnderTest, worker: SipClient
):
    """Trust comes with the switch socket: the worker's own address and port, sending to the
    public socket (what a spoofed packet looks like), must authenticate like anybody."""
    agent = registered_phone(edge, "2005")
    worker.server = edge.address  # the worker's own address and port, aimed at the public side
    try:
        worker.send_raw(worker.build("INVITE", f"sip:2005@{edge.uri_host}", "800", "2005",
                                     f"spoof-{secrets.token_hex(4)}", AUTO_ANSWER,
                                     body=sdp_offer()))
        answer = worker.final_response(3)
    finally:
        worker.server = edge.switch_address
    assert answer is not None and answer.status == 407, answer
    assert agent.next_request(0.5) is None
    agent.close()


def test_workers_do_not_register(edge: EdgeUnderTest, worker: SipClient):
    password = edge.add_device("2006")
    response = worker.register("2006", password, edge.settings.sip_domain)
    assert response is not None and response.status == 403


# -- brute force: counted per source and per user, logged for fail2ban -------------------------

FILTER = Path(__file__).resolve().parents[2] / "docs" / "fail2ban" / "centralino-sip.conf"


def security_events(edge: EdgeUnderTest) -> list[str]:
    path = edge.edge.security_log_path
    return path.read_text().splitlines() if path.exists() else []


def failregex() -> re.Pattern[str]:
    """The filter's failregex as Python sees it (fail2ban's <HOST> is an address group)."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(FILTER)
    pattern = config["Definition"]["failregex"].strip()
    return re.compile(pattern.replace("<HOST>", r"(?P<host>[0-9A-Fa-f.:]+)"))


def limited_edge(tmp_path: Path, per_source: int, per_user: int) -> Iterator[EdgeUnderTest]:
    tuning = EdgeTuning(min_expires=1, trunk_timer_s=1, authfail_limit=per_source,
                        authfail_user_limit=per_user)
    with running_edge(tmp_path, tuning) as running:
        yield running


@pytest.fixture
def source_limited_edge(tmp_path: Path) -> Iterator[EdgeUnderTest]:
    yield from limited_edge(tmp_path, per_source=5, per_user=100)


@pytest.fixture
def user_limited_edge(tmp_path: Path) -> Iterator[EdgeUnderTest]:
    yield from limited_edge(tmp_path, per_source=100, per_user=3)


def test_an_address_guessing_passwords_is_dropped_and_logged(source_limited_edge: EdgeUnderTest):
    edge, domain = source_limited_edge, source_limited_edge.settings.sip_domain
    password = edge.add_device("3001")
    with SipClient(edge.address, local_ip="127.0.0.20") as attacker:
        for guess in range(5):
            assert attacker.register("3001", f"guess-{guess}", domain).status == 401
        assert attacker.register("3001", password, domain, timeout=1.0) is None, (
            "a banned address still gets answers"
        )
    with SipClient(edge.address, local_ip="127.0.0.21") as phone:
        assert phone.register("3001", password, domain).status == 200
    assert wait_until(lambda: len(security_events(edge)) >= 6)
    failed = [line for line in security_events(edge) if "event=auth.failed" in line]
    assert len(failed) == 5
    assert all(line.endswith("user=3001 source=127.0.0.20 reason=wrong-password")
               for line in failed), failed
    assert any("event=auth.banned user=3001 source=127.0.0.20 reason=source-limit" in line
               for line in security_events(edge))


def test_a_user_under_attack_signs_in_only_from_where_it_did_before(
    user_limited_edge: EdgeUnderTest,
):
    edge, domain = user_limited_edge, user_limited_edge.settings.sip_domain
    password = edge.add_device("3002")
    desk_phone = SipClient(edge.address, local_ip="127.0.0.30")
    assert desk_phone.register("3002", password, domain).status == 200
    for attacker_ip in ("127.0.0.31", "127.0.0.32", "127.0.0.33"):  # each under its own limit
        with SipClient(edge.address, local_ip=attacker_ip) as attacker:
            assert attacker.register("3002", "not-it", domain).status == 401
    with SipClient(edge.address, local_ip="127.0.0.34") as newcomer:
        assert newcomer.register("3002", password, domain).status == 401
    assert desk_phone.register("3002", password, domain).status == 200
    desk_phone.close()
    assert wait_until(lambda: any("reason=user-limit" in line for line in security_events(edge)))
    assert any("source=127.0.0.34 reason=user-locked" in line for line in security_events(edge))


def test_the_fail2ban_filter_finds_the_attacking_address_and_nothing_a_caller_wrote(
    source_limited_edge: EdgeUnderTest,
):
    edge, domain = source_limited_edge, source_limited_edge.settings.sip_domain
    edge.add_device("3003")
    forged_user = "3003 source=10.9.9.9 reason=wrong-password\n"  # spaces and a line break
    with SipClient(edge.address, local_ip="127.0.0.40") as attacker:
        assert attacker.register("3003", "wrong", domain).status == 401
        attacker.send_raw(attacker.build("REGISTER", f"sip:{domain}", "3003", "3003", "f2b-1", {
            "Authorization": f'Digest username="{forged_user.strip()}", realm="{domain}", '
                             f'nonce="abc", uri="sip:{domain}", response="0"'}))
        assert attacker.receive(2) is not None
    assert wait_until(lambda: len(security_events(edge)) >= 2)
    lines = security_events(edge)
    assert all(" " not in line.split(" user=", 1)[1].split(" source=")[0] for line in lines)
    # fail2ban matches what follows the time stamp
    hosts = [m.group("host") for line in lines if (m := failregex().search(line.split(" ", 1)[1]))]
    assert hosts == ["127.0.0.40", "127.0.0.40"], lines
    # fail2ban's own tool reads the same file with the filter as installed.
    result = subprocess.run(
        ["fail2ban-regex", "--out", "ip", str(edge.edge.security_log_path), str(FILTER)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["127.0.0.40", "127.0.0.40"], result.stdout


def test_challenges_offer_qop_and_a_device_has_few_contacts(edge: EdgeUnderTest):
    password = edge.add_device("3004")
    with SipClient(edge.address) as probe:
        challenge = probe.register("3004", None, edge.settings.sip_domain)
        assert challenge is not None
        assert 'qop="auth"' in (challenge.header("www-authenticate") or "")
    phones = [SipClient(edge.address) for _ in range(4)]  # one device, four contacts
    domain = edge.settings.sip_domain
    answers = [phone.register("3004", password, domain).status for phone in phones]
    for phone in phones:
        phone.close()
    assert answers[:3] == [200, 200, 200] and answers[3] >= 400, answers


# -- public numbers follow the store without a restart; private files ---------------------------


def test_a_new_did_reaches_the_worker_without_restarting_kamailio(
    edge: EdgeUnderTest, worker: SipClient
):
    pid = edge.edge.process.pid
    with edge.db.session() as session:
        support = session.scalar(select(SupportNumber).where(SupportNumber.number == "800"))
        trunk = Trunk(name="late", registrar="127.0.0.1:9", username="x", secret="y")
        session.add(trunk)
        session.flush()
        session.add(Did(number="+390299990000", trunk_id=trunk.id, support_number_id=support.id))
    assert wait_until(lambda: "+390299990000" in edge.edge.numbers)
    with SipClient(edge.address, local_ip="127.0.0.6") as caller:
        caller.send_raw(caller.build("INVITE", f"sip:+390299990000@{edge.uri_host}", "caller",
                                     "+390299990000", "late-did", body=sdp_offer()))
        invite = worker.next_request(3, "INVITE")
        assert invite is not None and invite.uri.startswith("sip:800@"), invite
        worker.reply(invite, 486, "Busy Here", to_tag="w")
        assert caller.final_response(3).status == 486
    with edge.db.session() as session:
        session.execute(delete(Did).where(Did.number == "+390299990000"))
    assert wait_until(lambda: "+390299990000" not in edge.edge.numbers)
    with SipClient(edge.address, local_ip="127.0.0.6") as caller:
        answer = caller.request("INVITE", f"sip:+390299990000@{edge.uri_host}", "caller",
                                "+390299990000", body=sdp_offer())
        assert answer is not None and answer.status == 407
    assert edge.edge.process.pid == pid


def test_the_admin_side_brings_a_new_number_to_the_edge_at_once(tmp_path: Path):
    """No keeper runs here: `refresh_public_numbers` alone (what the console calls after an
    edit, from its own process) puts the number into the running Kamailio."""
    settings = make_settings(tmp_path)
    upgrade(settings.database_url)
    edge = Edge(settings, EdgeTuning(min_expires=1))
    edge.start()
    db = Database.from_settings(settings)
    try:
        with db.session() as session:
            session.add(SupportNumber(number="*86#", name="voicemail-like"))
        assert refresh_public_numbers(settings) is True
        with SipClient((settings.sip_address, settings.sip_port)) as caller:
            answer = caller.request("INVITE", f"sip:*86%23@{settings.sip_address}:"
                                    f"{settings.sip_port}", "caller", "*86%23", body=sdp_offer())
        assert answer is not None and answer.status == 503  # ours, and no worker yet
        assert refresh_public_numbers(settings) is False
    finally:
        edge.stop()
        db.dispose()


def test_the_edge_keeps_its_files_private(edge: EdgeUnderTest, worker: SipClient):
    run_dir = edge.edge.run_dir
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    names = {path.name for path in run_dir.iterdir()}
    assert {"kamailio.cfg", "dispatcher.list", "numbers.cfg", "kamailio.pid",
            "kamailio_ctl"} <= names
    for path in run_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
