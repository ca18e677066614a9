"""The trunk keeper's pure parts: kamcmd's reg_dump parsed, the carriers' answers judged (one
challenge is part of signing in, two in a row or a refusal is a failure), the state file's
round trip and staleness, and migration 0011 both ways on a trunk stored before it."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import inspect, text

from store import trunk_state
from store.db import Database
from store.migrate import alembic_config, upgrade
from store.settings import Settings
from telephony.edge_trunks import TrunkKeeper, parse_reg_dump

DUMP = """{
\tl_uuid: trunk-a
\tr_username: 390211
\tr_domain: 127.0.0.1:5070
\tflags: 20
\tdiff_expires: 57
\ttimer_expires: 1796222527
}
{
\tl_uuid: trunk-b
\tr_username: u403
\tr_domain: 127.0.0.1:5080
\tflags: 16
\tdiff_expires: 1
\ttimer_expires: 1796222471
}
"""


def test_reg_dump_is_parsed_into_records() -> None:
    records = parse_reg_dump(DUMP)
    assert [r["l_uuid"] for r in records] == ["trunk-a", "trunk-b"]
    assert records[0]["flags"] == "20" and records[1]["r_domain"] == "127.0.0.1:5080"


def keeper(tmp_path: Path) -> TrunkKeeper:
    made = TrunkKeeper(Settings(var_dir=tmp_path))
    made.loaded = {
        "trunk-a": {"r_username": "390211", "r_domain": "127.0.0.1:5070"},
        "trunk-b": {"r_username": "u403", "r_domain": "127.0.0.1:5080"},
        "trunk-c": {"r_username": "c", "r_domain": "127.0.0.1:5090"},
    }
    return made


def test_states_follow_the_flags_and_the_carriers_answers(tmp_path: Path) -> None:
    trunks = keeper(tmp_path)
    line = "{1 2 REGISTER x} event=trunk.reply to=sip:u403@127.0.0.1:5080 code=403 reason=Gone"
    assert trunks.note_log_line(line)
    assert not trunks.note_log_line("event=auth.failed user=1 source=1.2.3.4 reason=wrong")
    states = trunks.states(lambda *_command: DUMP)
    assert states["a"].status == "registered" and states["a"].expires_in == 57
    assert states["b"].status == "failed" and (states["b"].last_code, states["b"].last_reason) \
        == (403, "Gone")
    assert states["b"].next_attempt_at == 1796222471
    assert states["c"].status == "not loaded"
    challenge = "event=trunk.reply to=sip:c@127.0.0.1:5090 code=401 reason=Unauthorized"
    trunks.loaded = {"trunk-c": {"r_username": "c", "r_domain": "127.0.0.1:5090"}}
    dump_c = "{\n\tl_uuid: trunk-c\n\tflags: 16\n}\n"
    trunks.note_log_line(challenge)
    assert trunks.states(lambda *_c: dump_c)["c"].status == "registering"  # one challenge
    trunks.note_log_line(challenge)
    assert trunks.states(lambda *_c: dump_c)["c"].status == "failed"  # refused our answer


def test_state_file_is_private_and_goes_stale(tmp_path: Path) -> None:
    trunk_state.write(tmp_path, {"a": trunk_state.TrunkState("a", "registered")})
    path = trunk_state.path_in(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600
    read = trunk_state.read(tmp_path)
    assert read is not None and read["a"].status == "registered"
    assert trunk_state.read(tmp_path, fresh_within_s=-1) is None  # nobody reported lately


def test_migration_0011_up_and_down_keeps_trunks(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url, "0006")
    db = Database(url)
    with db.engine.begin() as connection:
        connection.execute(text("INSERT INTO trunks (name, registrar, realm, username, secret,"
                                " expires, enabled) VALUES ('old', 'h', '', 'u', 's', 60, 1)"))
    db.dispose()
    upgrade(url, "0011")
    db = Database(url)
    with db.engine.connect() as connection:
        row = connection.execute(text("SELECT secret, secret_ha1, transport FROM trunks")).one()
    assert tuple(row) == ("s", "", "udp")
    db.dispose()
    command.downgrade(alembic_config(url), "0006")
    db = Database(url)
    assert "secret_ha1" not in {c["name"] for c in inspect(db.engine).get_columns("trunks")}
    db.dispose()
