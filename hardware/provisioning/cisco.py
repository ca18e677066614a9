"""Cisco SPA and multiplatform (MPP) desk phones: ``spa<mac>.xml``, a ``<flat-profile>`` of
elements named after the web pages' fields (``<User_ID_1_>``...)."""

from __future__ import annotations

import re

from hardware.provisioning.base import (
    KeyKind,
    PhoneProfile,
    ProvisionedFile,
    Vendor,
    xml_text,
)

CODEC_SLOTS = ("Preferred_Codec_1_", "Second_Preferred_Codec_1_", "Third_Preferred_Codec_1_")


class Cisco(Vendor):
    name = "cisco"
    label = "Cisco SPA/MPP"
    resync_event = "resync"
    reboot_event = "reboot"
    auto_answer_template = {"Call-Info": "<sip:{host}>;answer-after=0"}
    user_agents = (
        re.compile(r"Cisco/(?P<model>SPA\w+)-(?P<firmware>[\w.()]+)"),
        re.compile(r"Cisco-(?P<model>CP-?\w+(?:-3PCC)?)/(?P<firmware>[\w.()-]+)"),
    )
    codec_tokens = {"PCMU": "G711u", "PCMA": "G711a", "G722": "G722"}

    def file_names(self, mac: str) -> tuple[str, ...]:
        return (f"spa{mac}.xml",)

    def file_patterns(self) -> tuple[re.Pattern[str], ...]:
        return (re.compile(r"spa(?P<mac>[0-9a-f]{12})\.xml"),)

    def render_files(self, profile: PhoneProfile) -> dict[str, ProvisionedFile]:
        zone = profile.time_zone
        values: list[tuple[str, str]] = [
            ("Line_Enable_1_", "Yes"),
            ("Proxy_1_", f"{profile.sip_server}:{profile.sip_port}"),
            ("Register_1_", "Yes"),
            ("Register_Expires_1_", "300"),
            ("Display_Name_1_", profile.display_name),
            ("User_ID_1_", profile.sip_username),
            ("Password_1_", profile.sip_password),
            ("Use_Auth_ID_1_", "Yes"),
            ("Auth_ID_1_", profile.sip_username),
            ("Use_Pref_Codec_Only_1_", "Yes"),
            ("Auto_Answer_Page", "Yes"),  # intercom: Call-Info answer-after
            ("Resync_From_SIP", "Yes"),  # NOTIFY Event: resync
            ("Time_Zone", zone.gmt_label()),
        ]
        if profile.ntp_server:
            values.append(("Primary_NTP_Server", profile.ntp_server))
        for slot, token in zip(CODEC_SLOTS, self.codecs_of(profile), strict=False):
            values.append((slot, token))
        host = profile.sip_server
        for number, key in enumerate(profile.line_keys, start=2):
            if key.kind == KeyKind.SPEED_DIAL:
                function = f"fnc=sd;ext={key.dial}@{host}"
            else:
                function = f"fnc=blf+sd;sub={key.target}@{host};ext={key.dial}@{host}"
            values += [
                (f"Extension_{number}_", "Disabled"),
                (f"Short_Name_{number}_", key.label),
                (f"Extended_Function_{number}_", function),
            ]
        if profile.provisioning_url:
            values.append(("Profile_Rule", profile.provisioning_url))
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<flat-profile>\n'
            + "".join(f"  <{name}>{xml_text(value)}</{name}>\n" for name, value in values)
            + "</flat-profile>\n"
        )
        name = f"spa{profile.mac}.xml"
        return {name: ProvisionedFile(name, "application/xml", body)}
