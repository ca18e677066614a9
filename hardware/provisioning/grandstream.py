"""Grandstream desk phones: ``cfg<mac>.xml``, P-value XML (``<gs_provision><config><P47>``...)."""

from __future__ import annotations

import re

from hardware.provisioning.base import (
    KeyKind,
    PhoneProfile,
    ProvisionedFile,
    Vendor,
    xml_text,
)

#: Multi-purpose key n uses P-values 323+4(n-1) .. 326+4(n-1): mode, account, name, value.
MPK_FIRST = 323
MPK_MODES = {KeyKind.SPEED_DIAL: 0, KeyKind.BLF: 1, KeyKind.AGENT_STATE: 1}
#: Preferred vocoder choices 1..6.
VOCODER_CHOICES = ("P57", "P58", "P59", "P60", "P61", "P62")


class Grandstream(Vendor):
    name = "grandstream"
    label = "Grandstream"
    resync_event = "resync"
    reboot_event = "reboot"
    auto_answer_template = {"Call-Info": "<sip:{host}>;answer-after=0"}
    user_agents = (re.compile(r"Grandstream (?P<model>[\w-]+) (?P<firmware>\d[\d.]*)"),)
    # RTP payload numbers, which is how the P-values name vocoders.
    codec_tokens = {"PCMU": "0", "PCMA": "8", "G722": "9"}

    def file_names(self, mac: str) -> tuple[str, ...]:
        return (f"cfg{mac}.xml",)

    def file_patterns(self) -> tuple[re.Pattern[str], ...]:
        return (re.compile(r"cfg(?P<mac>[0-9a-f]{12})\.xml"),)

    def render_files(self, profile: PhoneProfile) -> dict[str, ProvisionedFile]:
        values: list[tuple[str, str]] = [
            ("P271", "1"),  # account 1 active
            ("P270", profile.extension),  # account name
            ("P47", f"{profile.sip_server}:{profile.sip_port}"),  # SIP server
            ("P35", profile.sip_username),  # SIP user ID
            ("P36", profile.sip_username),  # authenticate ID
            ("P34", profile.sip_password),  # authenticate password
            ("P3", profile.display_name),  # display name
            ("P32", "5"),  # registration expiration, minutes
            ("P298", "1"),  # allow auto-answer by Call-Info (intercom)
            ("P64", profile.time_zone.posix_rule()),  # time zone as a TZ rule
        ]
        if profile.ntp_server:
            values.append(("P30", profile.ntp_server))
        for choice, token in zip(VOCODER_CHOICES, self.codecs_of(profile), strict=False):
            values.append((choice, token))
        for index, key in enumerate(profile.line_keys):
            base = MPK_FIRST + 4 * index
            value = key.dial if key.kind == KeyKind.SPEED_DIAL else key.target
            values += [
                (f"P{base}", str(MPK_MODES[key.kind])),
                (f"P{base + 1}", "0"),  # account 1
                (f"P{base + 2}", key.label),
                (f"P{base + 3}", value),
            ]
        if profile.provisioning_url:
            values += [("P212", "1"), ("P237", profile.provisioning_url)]  # HTTP, config path
        body = (
            '<?xml version="1.0" encoding="UTF-8" ?>\n'
            '<gs_provision version="1">\n'
            f"  <mac>{profile.mac}</mac>\n"
            '  <config version="1">\n'
            + "".join(f"    <{p}>{xml_text(v)}</{p}>\n" for p, v in values)
            + "  </config>\n</gs_provision>\n"
        )
        name = f"cfg{profile.mac}.xml"
        return {name: ProvisionedFile(name, "application/xml", body)}
