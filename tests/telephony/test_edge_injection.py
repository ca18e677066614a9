"""SQL injection through dialled numbers, on SQLite and PostgreSQL: an unauthenticated INVITE
whose Request-URI or To user is an injection gets exactly the answer of an unknown number, and
no row of any table changes (the demo data, devices' HA1s and trunk secrets included)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select

from store.db import Database
from store.demo import seed_demo
from store.migrate import upgrade
from store.models import Did, SupportNumber, Trunk
from telephony.edge import EdgeTuning
from telephony.testing.edge import EdgeUnderTest, make_settings, running_edge
from telephony.testing.ports import free_port
from tests.harness.postgres import running_postgres
from tests.harness.sipclient import SipClient, SipResponse, sdp_offer

pytestmark = pytest.mark.e2e

DID = "390212340000"
TRUNK = "carrier"

#: Characters a SIP URI user may not carry raw are escaped (%22, %5C, %20), as a client must;
#: quotes, parentheses, ``;``, ``$``, ``*`` and ``/`` go raw: Kamailio's parser accepts them.
CORPUS = [
    "'",
    "''",
    "%5C'",
    "%5C",
    "800'--",
    "'OR(1=1)--",
    "'OR(1=2)--",
    "800'OR'1'='1",
    "800'/*",
    "800'/**/OR/**/'1'='1",
    "'UNION(SELECT(ha1)FROM(devices))--",
    "800'UNION%20SELECT%20number%20FROM%20support_numbers--",
    "800';DELETE%20FROM%20devices;--",
    "800';DROP%20TABLE%20devices;--",
    "800';UPDATE%20trunks%20SET%20secret='x';--",
    "$$",
    "800$$;DELETE%20FROM%20customers;$$",
    "%27OR%271%27=%271",
    "800%27--",
    "%22OR%221%22=%221",
    "800%00",
    f"{DID}'--",
    f"{DID}'OR'1'='1",
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def edge(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeUnderTest]:
    var_dir = tmp_path_factory.mktemp(request.param)
    if request.param == "sqlite":
        yield from _edge_on(var_dir, None)
    else:
        with running_postgres() as url:
            yield from _edge_on(var_dir, url)


def _edge_on(var_dir: Path, database_url: str | None) -> Iterator[EdgeUnderTest]:
    settings = make_settings(var_dir, **({"database_url": database_url} if database_url else {}))
    upgrade(settings.database_url)
    db = Database(settings.database_url)
    with db.session() as session:
        seed_demo(session, settings.sip_domain)  # support number 800, devices, customers
    with db.session() as session:
        support = session.scalar(select(SupportNumber).where(SupportNumber.number == "800"))
        trunk = Trunk(name=TRUNK, registrar=f"127.0.0.1:{free_port()}", username=DID,
                      secret="carrier-secret")
        session.add(trunk)
        session.flush()
        session.add(Did(number=DID, trunk_id=trunk.id, support_number_id=support.id))
    db.dispose()
    with running_edge(var_dir, EdgeTuning(pike_density=10_000, trunk_timer_s=1),
                      settings=settings) as running:
        assert running.edge.numbers == {"800": "800", DID: "800"}
        yield running


def dump(db: Database) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in a stable order."""
    metadata = MetaData()
    metadata.reflect(db.engine)
    with db.engine.connect() as connection:
        return {
            name: sorted((tuple(row) for row in connection.execute(select(table))), key=repr)
            for name, table in metadata.tables.items()
        }


def invite(edge: EdgeUnderTest, request_user: str, to_user: str) -> SipResponse:
    with SipClient(edge.address) as caller:
        call_id = f"inj-{secrets.token_hex(6)}"
        caller.send_raw(caller.build("INVITE", f"sip:{request_user}@{edge.uri_host}", "caller",
                                     to_user, call_id, body=sdp_offer()))
        answer = caller.final_response(3)
        assert answer is not None, f"no answer to {request_user!r} / {to_user!r}"
        caller.ack(f"sip:{request_user}@{edge.uri_host}", "caller", to_user, call_id, answer)
        return answer


PATHS = {
    # path: (Request-URI user, To user) for a payload
    "support number in the Request-URI": lambda payload: (payload, "800"),
    "support number in Request-URI and To": lambda payload: (payload, payload),
    "carrier's DID in To": lambda payload: (f"trunk-{TRUNK}", payload),
}
UNKNOWN = "5550000"


@pytest.mark.parametrize("path", list(PATHS))
def test_injections_get_the_answer_of_an_unknown_number_and_change_nothing(
    edge: EdgeUnderTest, path: str
):
    shape = PATHS[path]
    known = invite(edge, *shape("800" if "Request-URI" in path else DID))
    assert known.status == 503, f"the {path} path is not exercised: {known.status}"
    unknown = invite(edge, *shape(UNKNOWN))
    assert unknown.status in (404, 407), unknown.status
    before = dump(edge.db)
    answers = {payload: invite(edge, *shape(payload)) for payload in CORPUS}
    differ = {
        payload: f"{answer.status} {answer.reason}"
        for payload, answer in answers.items()
        if (answer.status, answer.reason) != (unknown.status, unknown.reason)
    }
    assert not differ, f"answered unlike an unknown number ({unknown.status}): {differ}"
    assert dump(edge.db) == before
