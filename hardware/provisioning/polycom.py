"""Poly/Polycom desk phones: the ``000000000000.cfg`` master file points every phone at
``<mac>.cfg``, an XML file of dotted parameters (``reg.1.address`` ...)."""

from __future__ import annotations

import re

from hardware.provisioning.base import (
    KeyKind,
    PhoneProfile,
    ProvisionedFile,
    Vendor,
    xml_text,
)

MASTER = "000000000000.cfg"


class Polycom(Vendor):
    name = "polycom"
    label = "Poly/Polycom"
    # With voIpProt.SIP.specialEvent.checkSync.alwaysReboot="0" (set below) a check-sync makes
    # the phone fetch its files and restart only when something needs it.
    resync_event = "check-sync"
    reboot_event = "check-sync;reboot=true"
    auto_answer_template = {"Alert-Info": "<http://{host}/>;info=alert-autoanswer"}
    user_agents = (
        re.compile(r"Poly(?:com)?[A-Za-z]*-(?P<model>[\w]+)-UA/(?P<firmware>[\d.]+)"),
    )
    codec_tokens = {"PCMU": "G711_Mu", "PCMA": "G711_A", "G722": "G722"}

    def file_names(self, mac: str) -> tuple[str, ...]:
        return (MASTER, f"{mac}.cfg")

    def file_patterns(self) -> tuple[re.Pattern[str], ...]:
        return (re.compile(r"(?P<mac>[0-9a-f]{12})\.cfg"),)

    def master_file(self) -> ProvisionedFile:
        """The file every phone asks for first: it names the per-phone file by MAC."""
        body = (
            '<?xml version="1.0" standalone="yes"?>\n'
            "<!-- Master configuration, written by Centralino -->\n"
            '<APPLICATION APP_FILE_PATH="sip.ld" CONFIG_FILES="[PHONE_MAC_ADDRESS].cfg" '
            'MISC_FILES="" LOG_FILE_DIRECTORY="" OVERRIDES_DIRECTORY="" '
            'CONTACTS_DIRECTORY="" LICENSE_DIRECTORY=""/>\n'
        )
        return ProvisionedFile(MASTER, "application/xml", body)

    def render_files(self, profile: PhoneProfile) -> dict[str, ProvisionedFile]:
        zone = profile.time_zone
        attributes: list[tuple[str, str]] = [
            ("reg.1.address", profile.sip_username),
            ("reg.1.label", profile.extension),
            ("reg.1.displayName", profile.display_name),
            ("reg.1.auth.userId", profile.sip_username),
            ("reg.1.auth.password", profile.sip_password),
            ("reg.1.server.1.address", profile.sip_server),
            ("reg.1.server.1.port", str(profile.sip_port)),
            ("reg.1.server.1.expires", "300"),
            ("voIpProt.SIP.specialEvent.checkSync.alwaysReboot", "0"),
            # Intercom: the Alert-Info above selects the auto-answer ring class.
            ("voIpProt.SIP.alertInfo.1.value", "alert-autoanswer"),
            ("voIpProt.SIP.alertInfo.1.class", "autoAnswer"),
            ("tcpIpApp.sntp.gmtOffset", str(zone.standard_minutes * 60)),
            ("tcpIpApp.sntp.daylightSavings.enable", "1" if zone.has_summer_time else "0"),
        ]
        if profile.ntp_server:
            attributes.append(("tcpIpApp.sntp.address", profile.ntp_server))
        tokens = self.codecs_of(profile)
        for token in self.codec_tokens.values():
            rank = tokens.index(token) + 1 if token in tokens else 0
            attributes.append((f"voice.codecPref.{token}", str(rank)))
        for number, key in enumerate(
            (k for k in profile.line_keys if k.kind != KeyKind.SPEED_DIAL), start=1
        ):
            attributes += [
                (f"attendant.resourceList.{number}.address", key.target),
                (f"attendant.resourceList.{number}.label", key.label),
                (f"attendant.resourceList.{number}.type", "normal"),
            ]
        if profile.provisioning_url:
            attributes.append(("device.prov.serverName", profile.provisioning_url))
        body = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            "<!-- Per-phone configuration, written by Centralino -->\n"
            "<polycomConfig>\n  <phone\n"
            + "\n".join(f'    {name}="{xml_text(value)}"' for name, value in attributes)
            + "\n  />\n</polycomConfig>\n"
        )
        name = f"{profile.mac}.cfg"
        return {
            MASTER: self.master_file(),
            name: ProvisionedFile(name, "application/xml", body),
        }
