"""Snom desk phones: ``<mac>.xml``, an XML ``<settings>`` file of ``<phone-settings>`` (with
``idx`` per identity and ``perm`` flags) and ``<functionKeys>``."""

from __future__ import annotations

import re

from hardware.provisioning.base import (
    KeyKind,
    PhoneProfile,
    ProvisionedFile,
    Vendor,
    xml_text,
)

#: Snom's own time zone codes for common IANA zones; other zones get a plain UTC offset.
TIMEZONE_CODES = {
    "Europe/Rome": "ITA+1",
    "Europe/Berlin": "GER+1",
    "Europe/Paris": "FRA+1",
    "Europe/Madrid": "ESP+1",
    "Europe/London": "GBR-0",
    "America/New_York": "USA-5",
    "America/Chicago": "USA-6",
    "America/Los_Angeles": "USA-8",
}


class Snom(Vendor):
    name = "snom"
    label = "Snom"
    resync_event = "check-sync;reboot=false"
    reboot_event = "check-sync;reboot=true"
    auto_answer_template = {"Call-Info": "<sip:{host}>;answer-after=0"}
    user_agents = (re.compile(r"snom(?P<model>\w+)/(?P<firmware>\d[\w.]*)", re.IGNORECASE),)
    codec_tokens = {"PCMU": "pcmu", "PCMA": "pcma", "G722": "g722"}

    def file_names(self, mac: str) -> tuple[str, ...]:
        return (f"{mac}.xml",)

    def file_patterns(self) -> tuple[re.Pattern[str], ...]:
        return (re.compile(r"(?P<mac>[0-9a-f]{12})\.xml"),)

    def render_files(self, profile: PhoneProfile) -> dict[str, ProvisionedFile]:
        host = f"{profile.sip_server}:{profile.sip_port}"
        account: list[tuple[str, str]] = [
            ("user_active", "on"),
            ("user_realname", profile.display_name),
            ("user_name", profile.sip_username),
            ("user_pass", profile.sip_password),
            ("user_host", host),
            ("codec_priority_list", ",".join([*self.codecs_of(profile), "telephone-event"])),
        ]
        general: list[tuple[str, str]] = [("answer_after_policy", "idle")]  # intercom
        code = TIMEZONE_CODES.get(profile.time_zone.name)
        if code:
            general.append(("timezone", code))
        else:
            general.append(("utc_offset", str(profile.time_zone.standard_minutes * 60)))
        if profile.ntp_server:
            general.append(("ntp_server", profile.ntp_server))
        if profile.provisioning_url:
            general.append(("setting_server", profile.provisioning_url))
        lines = ['<?xml version="1.0" encoding="utf-8"?>', "<settings>", '  <phone-settings e="2">']
        lines += [f'    <{n} idx="1" perm="">{xml_text(v)}</{n}>' for n, v in account]
        lines += [f'    <{n} perm="">{xml_text(v)}</{n}>' for n, v in general]
        lines.append("  </phone-settings>")
        if profile.line_keys:
            lines.append('  <functionKeys e="2">')
            for index, key in enumerate(profile.line_keys):
                if key.kind == KeyKind.SPEED_DIAL:
                    value = f"speed {key.dial}"
                else:
                    value = f"blf <sip:{key.target}@{profile.sip_domain}>|{key.dial}"
                lines.append(
                    f'    <fkey idx="{index}" context="active" label="{xml_text(key.label)}" '
                    f'perm="">{xml_text(value)}</fkey>'
                )
            lines.append("  </functionKeys>")
        lines.append("</settings>")
        name = f"{profile.mac}.xml"
        return {name: ProvisionedFile(name, "application/xml", "\n".join(lines) + "\n")}
