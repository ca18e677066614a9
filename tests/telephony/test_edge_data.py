"""The edge's data as derived from the store, and the files it renders (no Kamailio needed)."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from store.db import Database
from store.migrate import upgrade
from store.models import Did, SupportNumber, Trunk
from store.settings import Settings
from telephony.edge import SECURITY_EVENT, render_config
from telephony.edge_control import EdgeError, write_private
from telephony.edge_data import is_public_number, public_numbers
from telephony.edge_numbers import parse_numbers, push_numbers, render_numbers


@pytest.mark.parametrize("number", ["800", "+390212340000", "*86#", "#1", "1" * 32])
def test_numbers_a_caller_may_dial(number: str):
    assert is_public_number(number)


@pytest.mark.parametrize(
    "text", ["", "80 0", "800'", "8OO", "1" * 33, "++39", "800\n", "80%27", '"800"', "sip:800"]
)
def test_anything_else_is_not_a_number(text: str):
    assert not is_public_number(text)


def test_public_numbers_come_from_support_numbers_and_dids_and_leave_out_the_undialable(
    tmp_path: Path,
):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    upgrade(url)
    db = Database(url)
    with db.session() as session:
        support, broken = SupportNumber(number="800", name="a"), SupportNumber(number="80'0",
                                                                             name="b")
        trunk = Trunk(name="t", registrar="127.0.0.1:9", username="u", secret="s")
        session.add_all([support, broken, trunk])
        session.flush()
        session.add_all([
            Did(number="390212340000", trunk_id=trunk.id, support_number_id=support.id),
            Did(number="39 02", trunk_id=trunk.id, support_number_id=support.id),
            Did(number="390200000000", trunk_id=trunk.id, support_number_id=broken.id),
        ])
    assert public_numbers(db) == {"800": "800", "390212340000": "800"}
    db.dispose()


def test_the_numbers_file_round_trips_and_refuses_anything_but_numbers():
    numbers = {"800": "800", "+390212340000": "800", "*86#": "801"}
    assert parse_numbers(render_numbers(numbers)) == numbers
    with pytest.raises(EdgeError, match="refusing"):
        render_numbers({'800"; exit; #': "800"})


def test_numbers_are_pushed_as_a_difference_and_only_when_they_change(tmp_path: Path):
    calls: list[tuple[str, ...]] = []
    assert push_numbers(tmp_path, {"800": "800", "801": "801"}, lambda *c: calls.append(c) or "")
    calls.clear()
    assert push_numbers(tmp_path, {"800": "800", "802": "800"}, lambda *c: calls.append(c) or "")
    assert calls == [("htable.delete", "dialled", "s:801"),
                     ("htable.sets", "dialled", "s:802", "s:800")]
    assert not push_numbers(tmp_path, {"800": "800", "802": "800"}, None)


def test_a_failed_push_leaves_the_file_as_kamailio_has_it(tmp_path: Path):
    push_numbers(tmp_path, {"800": "800"}, None)

    def unreachable(*_command: str) -> str:
        raise EdgeError("kamcmd: connection refused")

    with pytest.raises(EdgeError):
        push_numbers(tmp_path, {"801": "801"}, unreachable)
    assert parse_numbers((tmp_path / "numbers.cfg").read_text()) == {"800": "800"}


def test_private_files_are_0600_in_a_0700_directory(tmp_path: Path):
    path = tmp_path / "edge" / "kamailio.cfg"
    write_private(path, "secret")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text() == "secret"


def test_a_security_event_is_the_end_of_a_kamailio_line_whatever_precedes_it():
    line = (" 1(123) NOTICE: {1 2 REGISTER event=auth.failed:user=x:source=10.9.9.9@h} <script>: "
            "event=auth.failed user=1001 source=203.0.113.7 reason=wrong-password")
    found = SECURITY_EVENT.search(line)
    assert found is not None
    assert found.group(1) == "event=auth.failed user=1001 source=203.0.113.7 reason=wrong-password"
    assert SECURITY_EVENT.search(line + " trailing") is None


def test_the_routing_script_runs_no_sql_and_challenges_with_qop(tmp_path: Path):
    text = render_config(Settings(var_dir=tmp_path), tmp_path / "edge")
    for needle in ("sqlops", "sql_query", "sql_xquery", "sql_pvquery", "avp_db", "avpops"):
        assert needle not in text, needle
    challenges = re.findall(r'auth_challenge\("[^"]*", "(\d+)"\)', text)
    assert challenges and set(challenges) == {"1"}  # qop=auth everywhere
    assert "tcp_connection_lifetime=620" in text
    assert 'modparam("registrar", "max_contacts", 3)' in text
    assert "listen=udp:127.0.0.1:5070" in text  # the switch socket


def test_outbound_trunks_are_the_enabled_ones_by_priority_in_dispatcher_set_2(tmp_path: Path):
    from telephony.edge import Edge
    from telephony.edge_data import trunk_destinations

    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    upgrade(url)
    db = Database(url)
    with db.session() as session:
        session.add_all([
            Trunk(name="backup", registrar="192.0.2.2:5060", username="u2", secret="s",
                  priority=20),
            Trunk(name="main", registrar="192.0.2.1", proxy="192.0.2.9:5070", username="u1",
                  secret_ha1="0" * 32, realm="carrier.example", transport="tcp", priority=5),
            Trunk(name="off", registrar="192.0.2.3", username="u3", secret="s", priority=1,
                  enabled=False),
            Trunk(name="odd", registrar="192.0.2.4", username="a;b=c", secret="s", priority=30),
        ])
    found = trunk_destinations(db)
    assert [t.uuid for t in found] == ["trunk-main", "trunk-backup", "trunk-odd"]
    assert found[0].uri == "sip:192.0.2.9:5070;transport=tcp" and found[0].domain == "192.0.2.1"
    assert "user=" not in found[2].attributes("udp:127.0.0.1:5060")  # ; and = stay out

    settings = Settings(var_dir=tmp_path, database_url=url)
    edge = Edge(settings, db=db)
    assert edge.set_trunks(found) and not edge.set_trunks(found)
    edge.set_workers(["sip:127.0.0.1:5081"])
    lines = edge.dispatcher_list.read_text().splitlines()
    assert lines[0] == "1 sip:127.0.0.1:5081 0 0"
    assert lines[1] == ("2 sip:192.0.2.9:5070;transport=tcp 0 3 trunk=trunk-main;"
                        "domain=192.0.2.1;user=u1;mode=2;socket=tcp:127.0.0.1:5060")
    assert lines[2].startswith("2 sip:192.0.2.2:5060 0 2 trunk=trunk-backup;")
    assert "mode=0" in lines[2] and len(lines) == 4
    db.dispose()
