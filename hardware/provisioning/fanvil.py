"""Fanvil desk phones: ``<mac>.cfg``, the ``<<VOIP CONFIG FILE>>`` text format of modules
(``<SIP CONFIG MODULE>``) holding ``Name  :value`` lines."""

from __future__ import annotations

import re

from hardware.provisioning.base import (
    KeyKind,
    PhoneProfile,
    ProvisionedFile,
    Vendor,
    key_value_text,
)

HEADER = "<<VOIP CONFIG FILE>>Version:2.0000000000"
#: Names are padded to this width before the colon, as Fanvil's own exports do.
NAME_WIDTH = 19
#: DSS key value suffixes: /b BLF on line 1, plain speed dial otherwise.
KEY_TYPE_BLF = 1


def line(name: str, value: str | int) -> str:
    return f"{name:<{NAME_WIDTH}}:{key_value_text(str(value))}"


class Fanvil(Vendor):
    name = "fanvil"
    label = "Fanvil"
    resync_event = "resync"
    reboot_event = "reboot"
    auto_answer_template = {"Call-Info": "<sip:{host}>;answer-after=0"}
    user_agents = (re.compile(r"Fanvil (?P<model>[\w-]+) (?P<firmware>\d[\d.]*)"),)
    # Fanvil's codec indexes for G.711; its G.722 index differs between models, so the phone
    # keeps its own default for G.722.
    codec_tokens = {"PCMU": "0", "PCMA": "1"}

    def file_names(self, mac: str) -> tuple[str, ...]:
        return (f"{mac}.cfg",)

    def file_patterns(self) -> tuple[re.Pattern[str], ...]:
        return (re.compile(r"(?P<mac>[0-9a-f]{12})\.cfg"),)

    def render_files(self, profile: PhoneProfile) -> dict[str, ProvisionedFile]:
        zone = profile.time_zone
        lines = [HEADER, "", "<GLOBAL CONFIG MODULE>"]
        if profile.ntp_server:
            lines += [line("SNTP Server", profile.ntp_server), line("Enable SNTP", 1)]
        lines += [line("Time Zone Name", zone.gmt_label().replace("GMT", "UTC"))]
        lines += ["", "<AUDIO CONFIG MODULE>"]
        for number, token in enumerate(self.codecs_of(profile), start=1):
            lines.append(line(f"P1 Voice Codec{number}", token))
        lines += [
            "",
            "<SIP CONFIG MODULE>",
            line("--SIP Line List--", ""),
            line("SIP1 Phone Number", profile.extension),
            line("SIP1 Display Name", profile.display_name),
            line("SIP1 Sip Name", profile.extension),
            line("SIP1 Register Addr", profile.sip_server),
            line("SIP1 Register Port", profile.sip_port),
            line("SIP1 Register User", profile.sip_username),
            line("SIP1 Register Pswd", profile.sip_password),
            line("SIP1 Register TTL", 300),
            line("SIP1 Enable Reg", 1),
            "",
            "<TELE CONFIG MODULE>",
            line("P1 Enable Intercom", 1),
            line("P1 Intercom Mute", 0),
        ]
        if profile.line_keys:
            lines += ["", "<DSSKEY CONFIG MODULE>"]
            for number, key in enumerate(profile.line_keys, start=1):
                if key.kind == KeyKind.SPEED_DIAL:
                    lines += [line(f"Fkey{number} Type", 1), line(f"Fkey{number} Value",
                                                                  f"{key.dial}@1")]
                else:
                    lines += [
                        line(f"Fkey{number} Type", KEY_TYPE_BLF),
                        line(f"Fkey{number} Value", f"{key.target}@1/b{key.dial}"),
                    ]
                lines.append(line(f"Fkey{number} Title", key.label))
        if profile.provisioning_url:
            lines += ["", "<AUTOUPDATE CONFIG MODULE>", line("Config Server Path",
                                                             profile.provisioning_url)]
        name = f"{profile.mac}.cfg"
        return {name: ProvisionedFile(name, "text/plain", "\r\n".join(lines) + "\r\n")}
