"""Which phone a file request is for, whether it proved it, and its file: the decisions of the
provisioning endpoint, apart from Flask so the rules read in one place.

A phone authenticates with HTTP Basic: user name its MAC (any spelling), password its
provisioning token (`hardware.provisioning.credentials`, derived from the deployment's key;
docs/security-hardware.md). Answers: 400 a malformed MAC, 404 an unknown MAC or a file its
vendor does not fetch, 401 no or wrong credentials, 200 the file. Every request is recorded.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.provisioning.team_keys import merged_line_keys, team_line_keys
from hardware.provisioning import (
    KeyKind,
    LineKey,
    MalformedMac,
    PhoneProfile,
    ProvisionedFile,
    ProvisioningError,
    TimeZone,
    normalise_mac,
    vendor,
)
from hardware.provisioning.credentials import (
    load_or_create_key,
    sip_password,
    token_matches,
)
from store.db import Database
from store.desk_phones import mark_applied, record_fetch
from store.models import Agent, Device, DeviceProvisioning

log = logging.getLogger(__name__)

#: The shape of every per-phone file name we serve: an optional vendor prefix, the MAC, .cfg/.xml.
_FILE_SHAPE = re.compile(r"(?:spa|cfg)?(?P<mac>[0-9a-z:.\-]{1,40}?)\.(?:cfg|xml)")
#: Files every phone of a vendor shares (the MAC comes from the credentials).
SHARED_FILES = {"000000000000.cfg": "polycom"}
REALM = "centralino provisioning"


@dataclass(frozen=True)
class Request:
    file_name: str
    address: str
    user_agent: str
    authorization: str  # the raw Authorization header, "" when absent


@dataclass(frozen=True)
class Served:
    status: int
    message: str
    file: ProvisionedFile | None = None


@dataclass(frozen=True)
class PhoneServer:
    """What the files need from the deployment: where phones register, the key, the URL."""

    db: Database
    var_dir: Path
    sip_server: str
    sip_port: int
    sip_domain: str
    provisioning_url: str = ""

    def serve(self, request: Request) -> Served:
        name = request.file_name.lower()
        basic = _basic_credentials(request.authorization)
        try:
            mac = self._mac_for(name, basic)
        except MalformedMac as error:
            log.warning("event=provisioning.refused status=400 address=%s file=%s",
                        request.address, _shown(request.file_name))
            self._record(request, mac="", device_id=None, status=400)
            return Served(400, str(error))
        if mac is None:
            self._record(request, mac="", device_id=None, status=401)
            return Served(401, "give the phone's MAC and provisioning token (HTTP Basic)")
        with self.db.session() as session:
            found = _phone(session, mac)
            if found is None:
                log.warning("event=provisioning.unknown_mac status=404 mac=%s address=%s",
                            mac, request.address)
                self._record_in(session, request, mac, None, 404)
                return Served(404, f"no desk phone with MAC {mac}")
            device, provisioning = found
            key = load_or_create_key(self.var_dir)
            if basic is None or not _proved(key, mac, provisioning.generation, basic):
                log.warning("event=provisioning.refused status=401 mac=%s address=%s",
                            mac, request.address)
                self._record_in(session, request, mac, device.id, 401)
                return Served(401, "wrong or missing provisioning credentials")
            try:
                brand = vendor(provisioning.vendor)
                profile = self._profile(session, key, device, provisioning)
                served = brand.render(profile, name)
            except ProvisioningError as error:
                self._record_in(session, request, mac, device.id, 404)
                return Served(404, str(error))
            if name in brand.file_names(mac)[-1:]:  # the phone's own file: its configuration
                self._confirm(device, provisioning)
            self._record_in(session, request, mac, device.id, 200, provisioning.config_version)
            log.info("event=provisioning.served mac=%s file=%s version=%d address=%s",
                     mac, served.name, provisioning.config_version, request.address)
            return Served(200, "ok", served)

    @staticmethod
    def _mac_for(name: str, basic: tuple[str, str] | None) -> str | None:
        if name in SHARED_FILES:
            return normalise_mac(basic[0]) if basic else None
        shape = _FILE_SHAPE.fullmatch(name)
        if shape is None:
            raise MalformedMac(f"{_shown(name)!r} is not a provisioning file name")
        return normalise_mac(shape["mac"])

    def _profile(
        self, session: Session, key: bytes, device: Device, provisioning: DeviceProvisioning
    ) -> PhoneProfile:
        agent_name = session.scalar(select(Agent.name).where(Agent.device_id == device.id))
        assert device.mac is not None
        return PhoneProfile(
            mac=device.mac,
            extension=device.extension,
            sip_username=device.sip_username,
            sip_password=sip_password(key, device.mac, device.extension, provisioning.generation),
            sip_server=self.sip_server,
            sip_port=self.sip_port,
            sip_domain=device.sip_domain or self.sip_domain,
            display_name=agent_name or device.label or device.extension,
            time_zone=TimeZone.named(provisioning.time_zone),
            line_keys=merged_line_keys([_line_key(raw) for raw in provisioning.line_keys],
                                       team_line_keys(session, device)),
            provisioning_url=self.provisioning_url,
        )

    @staticmethod
    def _confirm(device: Device, provisioning: DeviceProvisioning) -> None:
        """The phone has its current file: the version counts as applied, and a rotated
        password (pending HA1) becomes the one the edge checks."""
        mark_applied(provisioning)
        if provisioning.pending_ha1:
            device.ha1 = provisioning.pending_ha1
            device.ha1b = provisioning.pending_ha1b or ""
            provisioning.pending_ha1 = provisioning.pending_ha1b = None

    def _record(self, request: Request, mac: str, device_id: int | None, status: int) -> None:
        with self.db.session() as session:
            self._record_in(session, request, mac, device_id, status)

    @staticmethod
    def _record_in(session: Session, request: Request, mac: str, device_id: int | None,
                   status: int, version: int | None = None) -> None:
        record_fetch(session, mac=mac, device_id=device_id, address=request.address,
                     user_agent=request.user_agent, file_name=request.file_name,
                     status=status, config_version=version)


def _phone(session: Session, mac: str) -> tuple[Device, DeviceProvisioning] | None:
    colon = ":".join(mac[i : i + 2] for i in range(0, 12, 2))
    device = session.scalar(select(Device).where(Device.mac.in_([colon, mac])))
    if device is None:
        return None
    provisioning = session.get(DeviceProvisioning, device.id)
    return None if provisioning is None else (device, provisioning)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def _proved(key: bytes, mac: str, generation: int, basic: tuple[str, str]) -> bool:
    try:
        same_phone = normalise_mac(basic[0]) == mac
    except MalformedMac:
        return False
    return token_matches(key, mac, generation, basic[1]) and same_phone


def _line_key(raw: dict[str, str]) -> LineKey:
    return LineKey(KeyKind(raw["kind"]), raw["label"], raw["target"], raw["dial"])


def _shown(text: str) -> str:
    return text[:40].encode("unicode_escape").decode()
