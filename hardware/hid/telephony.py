"""The HID telephony page (0x0B) for a headset: input reports -> button events (hook switch,
phone mute, volume from the consumer page), call state -> LED output reports (off-hook, mute,
ring), so the headset's lamps follow the call."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hardware.hid.descriptor import (
    Descriptor,
    Field,
    ReportKind,
    read_value,
    usage,
    write_value,
)

TELEPHONY, CONSUMER, LED = 0x0B, 0x0C, 0x08
HOOK_SWITCH = usage(TELEPHONY, 0x20)
PHONE_MUTE = usage(TELEPHONY, 0x2F)
VOLUME_UP = usage(CONSUMER, 0xE9)
VOLUME_DOWN = usage(CONSUMER, 0xEA)
CONSUMER_MUTE = usage(CONSUMER, 0xE2)
LED_OFF_HOOK = usage(LED, 0x17)
LED_MUTE = usage(LED, 0x09)
LED_RING = usage(LED, 0x18)
LED_MICROPHONE = usage(LED, 0x21)


class Button(StrEnum):
    HOOK_OFF = "hook_off"  # absolute hook switch went off-hook: answer
    HOOK_ON = "hook_on"  # absolute hook switch went on-hook: hang up
    HOOK_TOGGLE = "hook_toggle"  # a relative hook button was pressed: answer or hang up
    MUTE_TOGGLE = "mute_toggle"
    VOLUME_UP = "volume_up"
    VOLUME_DOWN = "volume_down"


@dataclass(frozen=True)
class Lamps:
    off_hook: bool = False
    muted: bool = False
    ringing: bool = False


_EDGE_BUTTONS = {
    PHONE_MUTE: Button.MUTE_TOGGLE,
    CONSUMER_MUTE: Button.MUTE_TOGGLE,
    VOLUME_UP: Button.VOLUME_UP,
    VOLUME_DOWN: Button.VOLUME_DOWN,
}


class TelephonyReports:
    """Decodes one headset's input reports and writes its LED reports (state kept per usage)."""

    def __init__(self, descriptor: Descriptor) -> None:
        self.descriptor = descriptor
        self.inputs = descriptor.reports(ReportKind.INPUT)
        self.previous: dict[int, int] = {}

    @property
    def has_hook_switch(self) -> bool:
        return self.descriptor.find(ReportKind.INPUT, HOOK_SWITCH) is not None

    def buttons(self, report: bytes) -> list[Button]:
        """The button events in one input report (report ID first when the device uses IDs)."""
        report_id, data = (report[0], report[1:]) if self.descriptor.uses_report_ids else (
            0, report
        )
        found: list[Button] = []
        for item in self.inputs.get(report_id, []):
            if item.constant or not item.variable:
                continue
            for index in range(item.count):
                wanted = item.usage_at(index)
                if wanted != HOOK_SWITCH and wanted not in _EDGE_BUTTONS:
                    continue
                found += self._change(item, wanted, read_value(data, item, index))
        return found

    def _change(self, item: Field, wanted: int, value: int) -> list[Button]:
        before = self.previous.get(wanted, 0)
        self.previous[wanted] = value
        if wanted == HOOK_SWITCH and not item.relative:
            if value and not before:
                return [Button.HOOK_OFF]
            if before and not value:
                return [Button.HOOK_ON]
            return []
        if value and (item.relative or not before):  # a press (relative: every non-zero)
            return [Button.HOOK_TOGGLE if wanted == HOOK_SWITCH else _EDGE_BUTTONS[wanted]]
        return []

    def lamp_reports(self, lamps: Lamps) -> list[bytes]:
        """Output reports that set the headset's LEDs (one per report ID that carries any)."""
        wanted = {
            LED_OFF_HOOK: lamps.off_hook,
            LED_MUTE: lamps.muted,
            LED_MICROPHONE: lamps.muted,
            LED_RING: lamps.ringing,
        }
        reports: dict[int, bytearray] = {}
        for led, on in wanted.items():
            found = self.descriptor.find(ReportKind.OUTPUT, led)
            if found is None:
                continue
            item, index = found
            data = reports.setdefault(
                item.report_id,
                bytearray(self.descriptor.report_length(ReportKind.OUTPUT, item.report_id)),
            )
            write_value(data, item, index, 1 if on else 0)
        prefix = self.descriptor.uses_report_ids
        return [
            (bytes([report_id]) if prefix else b"") + bytes(data)
            for report_id, data in sorted(reports.items())
        ]
