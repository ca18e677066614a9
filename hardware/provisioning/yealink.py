"""Yealink desk phones: ``<mac>.cfg``, ``#!version:1.0.0.1`` then ``key = value`` lines."""

from __future__ import annotations

import re

from hardware.provisioning.base import (
    KeyKind,
    PhoneProfile,
    ProvisionedFile,
    Vendor,
    key_value_text,
)

HEADER = "#!version:1.0.0.1"
#: linekey.N.type values (Yealink administrator's guide): 15 line, 16 BLF, 13 speed dial.
KEY_TYPES = {KeyKind.BLF: 16, KeyKind.AGENT_STATE: 16, KeyKind.SPEED_DIAL: 13}


class Yealink(Vendor):
    name = "yealink"
    label = "Yealink"
    resync_event = "check-sync;reboot=false"
    reboot_event = "check-sync;reboot=true"
    auto_answer_template = {"Call-Info": "<sip:{host}>;answer-after=0"}
    user_agents = (re.compile(r"Yealink (?:SIP[- ])?(?P<model>[\w-]+) (?P<firmware>\d[\d.]*)"),)
    codec_tokens = {"PCMU": "pcmu", "PCMA": "pcma", "G722": "g722"}

    def file_names(self, mac: str) -> tuple[str, ...]:
        return (f"{mac}.cfg",)

    def file_patterns(self) -> tuple[re.Pattern[str], ...]:
        return (re.compile(r"(?P<mac>[0-9a-f]{12})\.cfg"),)

    def render_files(self, profile: PhoneProfile) -> dict[str, ProvisionedFile]:
        values: list[tuple[str, str | int]] = [
            ("account.1.enable", 1),
            ("account.1.label", profile.extension),
            ("account.1.display_name", profile.display_name),
            ("account.1.user_name", profile.sip_username),
            ("account.1.auth_name", profile.sip_username),
            ("account.1.password", profile.sip_password),
            ("account.1.sip_server.1.address", profile.sip_server),
            ("account.1.sip_server.1.port", profile.sip_port),
            ("account.1.sip_server.1.expires", 300),
            # Intercom: answer an INVITE carrying Call-Info answer-after at once.
            ("features.intercom.allow", 1),
            ("account.1.auto_answer", 0),
            ("local_time.time_zone", profile.time_zone.hours_label()),
            ("local_time.summer_time", 2 if profile.time_zone.has_summer_time else 0),
        ]
        if profile.ntp_server:
            values.append(("local_time.ntp_server1", profile.ntp_server))
        tokens = self.codecs_of(profile)
        for token in self.codec_tokens.values():
            enabled = token in tokens
            values.append((f"account.1.codec.{token}.enable", 1 if enabled else 0))
            if enabled:
                values.append((f"account.1.codec.{token}.priority", tokens.index(token) + 1))
        for number, key in enumerate(profile.line_keys, start=2):  # key 1 is the line itself
            values += [
                (f"linekey.{number}.type", KEY_TYPES[key.kind]),
                (f"linekey.{number}.line", 1),
                (f"linekey.{number}.label", key.label),
                (f"linekey.{number}.value", key.target if key.kind != KeyKind.SPEED_DIAL
                 else key.dial),
            ]
            if key.kind != KeyKind.SPEED_DIAL:
                values.append((f"linekey.{number}.extension", key.dial))
        if profile.provisioning_url:
            values.append(("static.auto_provision.server.url", profile.provisioning_url))
        lines = [HEADER, "# Per-phone configuration, written by Centralino"]
        lines += [f"{key} = {key_value_text(str(value))}" for key, value in values]
        name = f"{profile.mac}.cfg"
        return {name: ProvisionedFile(name, "text/plain", "\n".join(lines) + "\n")}
