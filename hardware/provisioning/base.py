"""What a desk phone is given (`PhoneProfile`), and the `Vendor` base every vendor module fills in:
its file names, its file format, its check-sync events, its auto-answer headers, its User-Agent.

Vendor modules are pure (no pjsua2, no database): the console's provisioning endpoint renders a
file with `Vendor.render`, the switch reads `resync_event` / `auto_answer_headers` to drive the
phone, and the inventory reads `identify(user_agent)`.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from hardware.provisioning.mac import normalise_mac
from hardware.provisioning.timezone import TimeZone

#: Codec names a profile may ask for, in the order of preference the phone should use.
KNOWN_CODECS = ("PCMU", "PCMA", "G722")


class ProvisioningError(ValueError):
    """A profile the vendor cannot express, or a file name it does not serve."""


class KeyKind(StrEnum):
    #: A busy-lamp field: the lamp follows *target*'s presence, pressing dials *dial*.
    BLF = "blf"
    #: The agent's own state (available / paused): a BLF on the agent's presentity whose press
    #: dials the state feature code (the switch answers it, part 2).
    AGENT_STATE = "agent_state"
    #: Plain speed dial of *dial*.
    SPEED_DIAL = "speed_dial"


@dataclass(frozen=True)
class LineKey:
    kind: KeyKind
    label: str
    target: str  # the user part watched (BLF / agent state), e.g. "1002" or "agent-1001"
    dial: str  # what a press dials, e.g. "1002" or "*22"


@dataclass(frozen=True)
class PhoneProfile:
    """Everything one phone's file says; the password is the plaintext the phone needs."""

    mac: str
    extension: str
    sip_username: str
    sip_password: str
    sip_server: str  # host or address of the edge
    sip_domain: str
    display_name: str
    time_zone: TimeZone
    sip_port: int = 5060
    codecs: tuple[str, ...] = ("PCMU", "PCMA", "G722")
    line_keys: tuple[LineKey, ...] = ()
    provisioning_url: str = ""  # where the phone comes back for its file ("" = unchanged)
    ntp_server: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "mac", normalise_mac(self.mac))
        unknown = [codec for codec in self.codecs if codec not in KNOWN_CODECS]
        if unknown or not self.codecs:
            raise ProvisioningError(
                f"codecs must be a non-empty choice of {', '.join(KNOWN_CODECS)}; got {unknown}"
            )
        for text in (self.extension, self.sip_username, self.sip_password, self.display_name):
            if any(ord(ch) < 32 for ch in text):
                raise ProvisioningError("control characters are not allowed in a phone's file")


@dataclass(frozen=True)
class ProvisionedFile:
    name: str
    content_type: str
    body: str


@dataclass(frozen=True)
class PhoneIdentity:
    """What a User-Agent tells about the phone (for the inventory)."""

    vendor: str
    model: str
    firmware: str


@dataclass(frozen=True)
class SipRequestHint:
    """Header variants a vendor answers to, formatted for one edge host."""

    headers: Mapping[str, str] = field(default_factory=dict)


class Vendor(ABC):
    """One desk-phone family. Subclasses set the class attributes and write `render_files`."""

    name: ClassVar[str]  # registry key, e.g. "yealink"
    label: ClassVar[str]  # for people, e.g. "Yealink"
    #: ``Event:`` of the NOTIFY that makes the phone fetch its files again without rebooting.
    resync_event: ClassVar[str]
    #: ``Event:`` of the NOTIFY that reboots it.
    reboot_event: ClassVar[str]
    #: Headers of an INVITE the phone answers at once (intercom); ``{host}`` is the edge.
    auto_answer_template: ClassVar[Mapping[str, str]]
    #: User-Agent patterns with ``model`` and ``firmware`` groups.
    user_agents: ClassVar[tuple[re.Pattern[str], ...]]
    #: Codec names -> the vendor's codec tokens; a codec missing here is left out.
    codec_tokens: ClassVar[Mapping[str, str]]

    def auto_answer_headers(self, host: str) -> dict[str, str]:
        return {name: value.format(host=host) for name, value in self.auto_answer_template.items()}

    def identify(self, user_agent: str) -> PhoneIdentity | None:
        for pattern in self.user_agents:
            found = pattern.search(user_agent)
            if found:
                return PhoneIdentity(self.name, found["model"], found["firmware"])
        return None

    @abstractmethod
    def file_names(self, mac: str) -> tuple[str, ...]:
        """Every file this vendor's phone with *mac* fetches from us, in the order it asks."""

    @abstractmethod
    def render_files(self, profile: PhoneProfile) -> dict[str, ProvisionedFile]:
        """Every file of `file_names(profile.mac)`, rendered for *profile*."""

    def mac_of(self, file_name: str) -> str | None:
        """The MAC a requested file name belongs to, or None when it is not one of ours."""
        for pattern in self.file_patterns():
            found = pattern.fullmatch(file_name.lower())
            if found:
                return normalise_mac(found["mac"])
        return None

    @abstractmethod
    def file_patterns(self) -> tuple[re.Pattern[str], ...]:
        """Regular expressions (group ``mac``) of the per-phone file names."""

    def render(self, profile: PhoneProfile, file_name: str) -> ProvisionedFile:
        files = self.render_files(profile)
        if file_name.lower() not in files:
            raise ProvisioningError(f"{self.label} phones do not fetch {file_name!r}")
        return files[file_name.lower()]

    def codecs_of(self, profile: PhoneProfile) -> list[str]:
        """The profile's codecs as this vendor's tokens, in order, unsupported ones left out."""
        return [self.codec_tokens[c] for c in profile.codecs if c in self.codec_tokens]


def xml_text(value: str) -> str:
    """Escape text for an XML element or attribute value."""
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )


def key_value_text(value: str) -> str:
    """A value for a line-based format: no line breaks can get in (checked by `PhoneProfile`)."""
    if "\n" in value or "\r" in value:
        raise ProvisioningError("line breaks are not allowed in a phone's file")
    return value
