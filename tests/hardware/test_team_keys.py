"""A desk phone's file carries its agent's team: a key on the agent's own state and a
busy-lamp field per colleague who serves a queue in common (an agent without a queue list
serves every queue), after the keys an admin set, never a second key on the same target."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from console.provisioning.enrol import enrol_desk_phone
from console.provisioning.files import PhoneServer, Request
from console.provisioning.team_keys import merged_line_keys
from hardware.provisioning import KeyKind, LineKey
from store.db import Database
from store.migrate import upgrade
from store.models import Agent, Device, DeviceKind, Role

DOMAIN = "centralino.local"


def test_the_phones_file_has_its_teams_lamps(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    db = Database(url)
    enrolled = enrol_desk_phone(
        db, tmp_path, mac="00:15:65:00:20:01", vendor_name="yealink", extension="3501",
        sip_domain=DOMAIN, line_keys=[LineKey(KeyKind.BLF, "Boss", "3504", "3504")])
    team = {  # extension -> (name, queues, role)
        "3502": ("Bea", ["sales", "support"], Role.AGENT),
        "3503": ("Cid", ["billing"], Role.AGENT),  # no queue in common
        "3504": ("Dora", [], Role.SUPERVISOR),  # every queue; already the admin's key
        "3505": ("Eve", [], Role.ADMIN),  # not on the floor
    }
    with db.session() as session:
        session.add(Agent(name="Ada", username="ada", role=Role.AGENT, queues=["sales"],
                          device_id=enrolled.device_id, password_hash="x"))
        for extension, (name, queues, role) in team.items():
            device = Device(kind=DeviceKind.DESK_PHONE, extension=extension,
                            sip_username=extension, sip_domain=DOMAIN, ha1="x")
            session.add(device)
            session.flush()
            session.add(Agent(name=name, username=name.lower(), role=role, queues=queues,
                              device_id=device.id, password_hash="x"))
    server = PhoneServer(db=db, var_dir=tmp_path, sip_server="192.0.2.10", sip_port=5060,
                         sip_domain=DOMAIN)
    basic = base64.b64encode(f"{enrolled.mac}:{enrolled.token}".encode()).decode()
    served = server.serve(Request(file_name=f"{enrolled.mac}.cfg", address="192.0.2.50",
                                  user_agent="Yealink SIP-T54W 96.86.0.70",
                                  authorization=f"Basic {basic}"))
    assert served.status == 200 and served.file is not None
    values = dict(re.findall(r"^linekey\.(\d+\.value) = (.*)$", served.file.body, re.M))
    labels = dict(re.findall(r"^linekey\.(\d+\.label) = (.*)$", served.file.body, re.M))
    watched = [values[f"{n}.value"] for n in range(2, 2 + len(values))]
    assert watched == ["3504", "agent-3501", "3502"]  # the admin's, my state, Bea
    assert labels["3.label"] == "My state" and labels["4.label"] == "Bea"
    db.dispose()


def test_merged_keys_keep_the_admins_first_and_stop_at_the_limit() -> None:
    mine = [LineKey(KeyKind.SPEED_DIAL, "Desk", "100", "100")]
    team = [LineKey(KeyKind.BLF, f"C{n}", str(200 + n), str(200 + n)) for n in range(20)]
    merged = merged_line_keys(mine, [*team, LineKey(KeyKind.BLF, "dup", "100", "100")], 5)
    assert [k.target for k in merged] == ["100", "200", "201", "202", "203"]
