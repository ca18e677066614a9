"""The Kamailio edge against real SIP traffic: registrar, digest auth, routing, defence."""

from __future__ import annotations

import select as io_select
import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from store.kamailio_tables import location
from store.models import SupportNumber, Worker, utcnow
from telephony.edge import EdgeError, EdgeTuning, render_config
from telephony.testing.edge import EdgeUnderTest, make_settings, running_edge
from tests.harness.sipclient import SipClient, sdp_offer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeUnderTest]:
    with running_edge(tmp_path_factory.mktemp("edge")) as running:
        yield running


@pytest.fixture
def client(edge: EdgeUnderTest) -> Iterator[SipClient]:
    with SipClient(edge.address) as sip:
        yield sip


def registered_contacts(edge: EdgeUnderTest, extension: str) -> int:
    with edge.db.session() as session:
        return (
            session.scalar(
                select(func.count()).select_from(location).where(location.c.username == extension)
            )
            or 0
        )


def wait_until(condition, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_register_with_the_right_password_is_accepted(edge: EdgeUnderTest, client: SipClient):
    password = edge.add_device("2001")
    response = client.register("2001", password, edge.settings.sip_domain)
    assert response is not None and response.status == 200
    assert registered_contacts(edge, "2001") == 1


def test_wrong_password_and_unknown_user_get_the_same_answer(
    edge: EdgeUnderTest, client: SipClient
):
    edge.add_device("2002", "right-password")
    wrong = client.register("2002", "wrong-password", edge.settings.sip_domain)
    unknown = client.register("2999", "whatever", edge.settings.sip_domain)
    assert wrong is not None and unknown is not None
    assert wrong.status == unknown.status == 401
    assert wrong.reason == unknown.reason
    assert "WWW-Authenticate".lower() in wrong.headers and "www-authenticate" in unknown.headers
    assert registered_contacts(edge, "2002") == 0


def test_unregister_removes_the_contact(edge: EdgeUnderTest, client: SipClient):
    password = edge.add_device("2003")
    assert client.register("2003", password, edge.settings.sip_domain).status == 200
    assert registered_contacts(edge, "2003") == 1
    assert client.register("2003", password, edge.settings.sip_domain, expires=0).status == 200
    assert registered_contacts(edge, "2003") == 0


def test_registration_expires(edge: EdgeUnderTest, client: SipClient):
    password = edge.add_device("2004")
    assert client.register("2004", password, edge.settings.sip_domain, expires=1).status == 200
    # usrloc's timer deletes the expired contact from the table; lookups fail at once.
    invite = SipClient(edge.address)
    caller_password = edge.add_device("2005")
    assert wait_until(
        lambda: (
            invite.request(
                "INVITE",
                f"sip:2004@{edge.uri_host}",
                "2005",
                "2004",
                caller_password,
                body=sdp_offer(),
            ).status
            == 404
        )
    )
    invite.close()


def test_call_to_an_unregistered_extension_is_404(edge: EdgeUnderTest, client: SipClient):
    password = edge.add_device("2006")
    edge.add_device("2007")
    response = client.request(
        "INVITE", f"sip:2007@{edge.uri_host}", "2006", "2007", password, body=sdp_offer()
    )
    assert response is not None and response.status == 404


def test_calls_to_extensions_need_authentication(edge: EdgeUnderTest, client: SipClient):
    response = client.request(
        "INVITE", f"sip:2001@{edge.uri_host}", "intruder", "2001", body=sdp_offer()
    )
    assert response is not None and response.status == 407


def test_support_number_without_workers_is_503(edge: EdgeUnderTest, client: SipClient):
    with edge.db.session() as session:
        session.add(SupportNumber(number="880", name="test line"))
    assert wait_until(lambda: "880" in edge.edge.numbers)  # no restart: the keeper brings it
    response = client.request(
        "INVITE", f"sip:880@{edge.uri_host}", "caller", "880", body=sdp_offer()
    )
    assert response is not None and response.status == 503


def test_support_number_fails_over_to_the_next_worker(edge: EdgeUnderTest):
    """Two workers: whichever gets the INVITE first answers 503 (full); the other must get it."""
    workers = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    for sock in workers:
        sock.bind(("127.0.0.1", 0))
    with edge.db.session() as session:
        session.add(SupportNumber(number="881", name="failover line"))
        for index, sock in enumerate(workers):  # what live workers write: fresh heartbeats
            session.add(
                Worker(
                    name=f"fake-{index}",
                    host="127.0.0.1",
                    pid=0,
                    # fresh for the whole test, however loaded the machine is
                    heartbeat_at=utcnow() + timedelta(minutes=5),
                    sip_port=sock.getsockname()[1],
                    api_url="http://127.0.0.1:9/",
                )
            )
    wanted = sorted(f"sip:127.0.0.1:{sock.getsockname()[1]}" for sock in workers)
    assert wait_until(lambda: sorted(edge.edge.destinations) == wanted)
    reached: list[socket.socket] = []
    with SipClient(edge.address) as caller:
        caller.send_raw(
            caller.build(
                "INVITE",
                f"sip:881@{edge.uri_host}",
                "caller",
                "881",
                "failover-1",
                body=sdp_offer(),
            )
        )
        for answer in ((503, "Service Unavailable"), (486, "Busy Here")):
            worker, data, source = _next_invite(workers)
            assert data.startswith(b"INVITE sip:881@")
            reached.append(worker)
            worker.sendto(_reply(data, *answer), source)
        final = caller.final_response(5)
    for sock in workers:
        sock.close()
    with edge.db.session() as session:
        session.execute(delete(Worker))
    assert wait_until(lambda: edge.edge.destinations == [])
    assert reached[0] is not reached[1], "failover went back to the full worker"
    assert final is not None and final.status == 486  # the second worker's answer came back


def test_the_edge_routes_to_fresh_workers_and_never_empties_on_staleness_alone(
    edge: EdgeUnderTest,
):
    def worker(name: str, port: int, age_s: float, alive: bool = True) -> Worker:
        return Worker(
            name=name,
            host="127.0.0.1",
            pid=0,
            sip_port=port,
            alive=alive,
            api_url="http://127.0.0.1:9/",
            heartbeat_at=utcnow() - timedelta(seconds=age_s),
        )

    stale_after = edge.settings.stale_after_seconds
    with edge.db.session() as session:
        session.add_all(
            [worker("w-slow", 6001, stale_after + 60), worker("w-stopped", 6002, 0, alive=False)]
        )
    # Only a late heartbeat: keep routing to that worker rather than refuse every caller.
    assert wait_until(lambda: edge.edge.destinations == ["sip:127.0.0.1:6001"])
    with edge.db.session() as session:
        session.add(worker("w-fresh", 6003, -300))  # fresh for the whole test
    # A fresh worker exists: the late one is left out.
    assert wait_until(lambda: edge.edge.destinations == ["sip:127.0.0.1:6003"])
    with edge.db.session() as session:
        session.execute(delete(Worker))
    assert wait_until(lambda: edge.edge.destinations == [])


def _next_invite(
    workers: list[socket.socket], timeout: float = 5.0
) -> tuple[socket.socket, bytes, tuple[str, int]]:
    """The next INVITE any fake worker receives (ACKs of earlier answers are skipped)."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = io_select.select(workers, [], [], left)
        for worker in readable:
            data, source = worker.recvfrom(65535)
            if data.startswith(b"INVITE "):
                return worker, data, source
    raise AssertionError("the INVITE reached no worker")


def _reply(request: bytes, status: int, reason: str) -> bytes:
    head = request.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
    keep = [
        h
        for h in head[1:]
        if h.split(":", 1)[0].lower() in {"via", "from", "to", "call-id", "cseq"}
    ]
    keep = [h + ";tag=worker" if h.lower().startswith("to:") else h for h in keep]
    return (
        "\r\n".join([f"SIP/2.0 {status} {reason}", *keep, "Content-Length: 0"]) + "\r\n\r\n"
    ).encode()


def test_scanner_user_agents_get_no_answer(edge: EdgeUnderTest):
    with SipClient(edge.address, user_agent="friendly-scanner") as scanner:
        assert scanner.options(timeout=1.0) is None
    with SipClient(edge.address) as normal:
        response = normal.options()
        assert response is not None and response.status == 200


@pytest.mark.parametrize(
    "garbage",
    [
        b"REGISTER sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4\r\nFrom: <",  # truncated
        b"INVITE sip:800@127.0.0.1 SIP/2.0\r\n" + b"X-Pad: " + b"A" * 60000 + b"\r\n\r\n",
        b"FROBNICATE sip:800@127.0.0.1 SIP/2.0\r\nContent-Length: 0\r\n\r\n",  # no headers
        b"\x00\xff\x10binary noise\r\n\r\n",
        b"SIP/2.0 200 OK\r\n\r\n",  # a stray response
    ],
    ids=["truncated", "oversized", "wrong-method", "binary", "stray-response"],
)
def test_garbage_is_refused_and_service_continues(edge: EdgeUnderTest, garbage: bytes):
    with SipClient(edge.address) as attacker:
        attacker.send_raw(garbage)
        answer = attacker.receive(0.5)
        assert answer is None or answer.status >= 400
    password = edge.add_device(f"3{len(garbage) % 1000:03d}{garbage[0] % 10}")
    user = f"3{len(garbage) % 1000:03d}{garbage[0] % 10}"
    with SipClient(edge.address) as device:
        assert device.register(user, password, edge.settings.sip_domain).status == 200


def test_a_flood_is_blocked_per_source_address(tmp_path: Path):
    with running_edge(tmp_path, EdgeTuning(pike_density=20)) as edge:
        with SipClient(edge.address, local_ip="127.0.0.2") as flooder:
            answers = 0
            for _ in range(200):
                flooder.send_raw(
                    flooder.build("OPTIONS", f"sip:{edge.uri_host}", "f", "f", f"flood-{_}")
                )
            while flooder.receive(0.3) is not None:
                answers += 1
            assert answers < 200
            assert any("flood from 127.0.0.2" in line for line in edge.edge.log_lines)
        with SipClient(edge.address) as other:
            assert other.options() is not None


def test_registration_survives_a_kamailio_restart(tmp_path: Path):
    settings = make_settings(tmp_path)
    with running_edge(tmp_path, settings=settings) as edge:
        password = edge.add_device("2100")
        with SipClient(edge.address) as device:
            assert device.register("2100", password, settings.sip_domain).status == 200
            contact_port = device.local[1]
    with running_edge(tmp_path, settings=settings) as edge:
        dump = edge.edge.rpc("ul.dump")
        assert "2100" in dump and f":{contact_port}" in dump


def test_bad_database_urls_are_refused_with_a_clear_error(tmp_path: Path):
    settings = make_settings(tmp_path, database_url="mysql://u@h/db")
    with pytest.raises(EdgeError, match="cannot use mysql"):
        render_config(settings, tmp_path)
