"""The console's provisioning endpoint, on a real console process: each vendor's phone gets its
own files (in its format, with its derived password) by MAC with its provisioning token; no or
wrong credentials 401, unknown MAC 404 (logged), malformed MAC 400; every fetch is recorded."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import select

from console.provisioning.enrol import Enrolled, enrol_desk_phone
from console.testing.console_process import ConsoleProcess
from hardware.provisioning import VENDORS, vendor
from store.db import Database
from store.migrate import upgrade
from store.models import Device, DeviceProvisioning, ProvisioningFetch
from store.passwords import sip_ha1
from tests.hardware.vendor_formats import parse_fanvil, parse_yealink

UA = "Yealink SIP-T54W 96.86.0.70"
#: One phone per vendor: MAC, extension.
PHONES = {
    "yealink": ("00:15:65:aa:bb:01", "3101"),
    "polycom": ("00:04:f2:aa:bb:02", "3102"),
    "grandstream": ("00:0b:82:aa:bb:03", "3103"),
    "cisco": ("cc:ef:48:aa:bb:04", "3104"),
    "snom": ("00:04:13:aa:bb:05", "3105"),
    "fanvil": ("0c:38:3e:aa:bb:06", "3106"),
}


class Console:
    def __init__(self, process: ConsoleProcess, db: Database, phones: dict[str, Enrolled]):
        self.process, self.db, self.phones = process, db, phones

    def fetch(self, file_name: str, auth: tuple[str, str] | None = None,
              user_agent: str = UA) -> requests.Response:
        return requests.get(
            f"http://127.0.0.1:{self.process.port}/provisioning/{file_name}",
            auth=auth, headers={"User-Agent": user_agent}, timeout=10,
        )

    def fetches(self) -> list[ProvisioningFetch]:
        with self.db.session() as session:
            return list(session.scalars(select(ProvisioningFetch).order_by(ProvisioningFetch.id)))


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    root = tmp_path_factory.mktemp("provisioning")
    url = f"sqlite:///{root / 'centralino.sqlite'}"
    upgrade(url)
    db = Database(url)
    phones = {
        name: enrol_desk_phone(db, root, mac=mac, vendor_name=name, extension=ext,
                               sip_domain="centralino.local", time_zone="Europe/Rome")
        for name, (mac, ext) in PHONES.items()
    }
    process = ConsoleProcess(root, url).start()
    try:
        yield Console(process, db, phones)
    finally:
        process.stop()
        db.dispose()


@pytest.mark.parametrize("name", sorted(PHONES))
def test_each_vendor_gets_its_own_file_with_its_password(console: Console, name: str) -> None:
    phone = console.phones[name]
    files = vendor(name).file_names(phone.mac)
    for file_name in files:
        answer = console.fetch(file_name, auth=(phone.mac, phone.token))
        assert answer.status_code == 200, answer.text
        assert answer.headers["Cache-Control"] == "no-store"
    own = answer.text
    assert phone.sip_password in own
    if name == "yealink":
        assert parse_yealink(own)["account.1.password"] == phone.sip_password
    elif name == "fanvil":
        assert parse_fanvil(own)
    else:
        ET.fromstring(own)  # well-formed XML
    # The password the file carries is the one the edge checks.
    with console.db.session() as session:
        device = session.get(Device, phone.device_id)
        assert device is not None
        assert device.ha1 == sip_ha1(device.sip_username, "centralino.local", phone.sip_password)


def test_the_phones_own_file_confirms_its_version(console: Console) -> None:
    phone = console.phones["snom"]
    assert console.fetch(f"{phone.mac}.xml", auth=(phone.mac, phone.token)).status_code == 200
    with console.db.session() as session:
        provisioning = session.get(DeviceProvisioning, phone.device_id)
        assert provisioning is not None
        assert provisioning.applied_version == provisioning.config_version


def test_no_or_wrong_credentials_are_refused(console: Console) -> None:
    phone, other = console.phones["yealink"], console.phones["fanvil"]
    name = f"{phone.mac}.cfg"
    bare = console.fetch(name)
    assert bare.status_code == 401
    assert bare.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert phone.sip_password not in bare.text
    assert console.fetch(name, auth=(phone.mac, "x" * 32)).status_code == 401
    # Another phone's (valid) token does not open this phone's file.
    assert console.fetch(name, auth=(other.mac, other.token)).status_code == 401
    assert console.fetch(name, auth=(phone.mac, other.token)).status_code == 401
    # Polycom's shared master file still wants a phone's credentials.
    assert console.fetch("000000000000.cfg").status_code == 401


def test_a_file_the_vendor_does_not_fetch_is_404(console: Console) -> None:
    phone = console.phones["yealink"]
    assert console.fetch(f"spa{phone.mac}.xml", auth=(phone.mac, phone.token)).status_code == 404


def test_unknown_mac_is_404_and_logged(console: Console) -> None:
    answer = console.fetch("001565ffffff.cfg", auth=("001565ffffff", "x"))
    assert answer.status_code == 404
    assert "event=provisioning.unknown_mac status=404 mac=001565ffffff" in console.process.log()


@pytest.mark.parametrize("file_name", ["00156zzzzzzz.cfg", "spa1234.xml", "cfg00:15:65.xml",
                                        "..%2f..%2fetc%2fpasswd", "000000000000.xml"])
def test_malformed_mac_is_400(console: Console, file_name: str) -> None:
    assert console.fetch(file_name).status_code == 400


def test_every_fetch_is_recorded(console: Console) -> None:
    before = len(console.fetches())
    phone = console.phones["cisco"]
    cisco_ua = "Cisco/SPA504G-7.6.2"
    console.fetch(f"spa{phone.mac}.xml", auth=(phone.mac, phone.token), user_agent=cisco_ua)
    console.fetch(f"spa{phone.mac}.xml", user_agent=cisco_ua)
    console.fetch("0015zz.cfg", user_agent="scanner")
    console.fetch("001565eeeeee.cfg")
    rows = console.fetches()[before:]
    assert [(r.mac, r.file_name, r.status) for r in rows] == [
        (phone.mac, f"spa{phone.mac}.xml", 200),
        (phone.mac, f"spa{phone.mac}.xml", 401),
        ("", "0015zz.cfg", 400),
        ("001565eeeeee", "001565eeeeee.cfg", 404),
    ]
    assert all(r.address == "127.0.0.1" for r in rows)
    assert rows[0].user_agent == cisco_ua and rows[0].device_id == phone.device_id
    assert rows[0].config_version == 1 and rows[3].device_id is None


def test_every_vendor_is_covered() -> None:
    assert set(PHONES) == set(VENDORS)
