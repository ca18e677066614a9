"""HID report descriptors of real headsets (captured, see data/hid/*.hex) parsed into fields;
their input reports decoded into hook / mute / volume buttons and the call state written back as
LED output reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardware.hid.descriptor import (
    DescriptorError,
    ReportKind,
    parse,
    parse_hex,
    read_value,
    usage,
)
from hardware.hid.device import HidError, ReplayDevice
from hardware.hid.telephony import (
    HOOK_SWITCH,
    LED_OFF_HOOK,
    PHONE_MUTE,
    Button,
    Lamps,
    TelephonyReports,
)

DATA = Path(__file__).parent / "data" / "hid"
PLANTRONICS = DATA / "plantronics_blackwire_3220_telephony.hex"
PLANTRONICS_VOLUME = DATA / "plantronics_blackwire_3220_consumer.hex"
LOGITECH = DATA / "logitech_0a37_consumer.hex"


def reports_of(path: Path) -> TelephonyReports:
    return TelephonyReports(parse(parse_hex(path.read_text())))


def test_the_plantronics_telephony_collection_parses_into_its_fields() -> None:
    descriptor = parse(parse_hex(PLANTRONICS.read_text()))
    assert len(parse_hex(PLANTRONICS.read_text())) == 109  # as the capture says
    assert descriptor.uses_report_ids
    inputs = descriptor.reports(ReportKind.INPUT)
    assert list(inputs) == [8]
    mute, hook, padding = inputs[8]
    assert (mute.usages, mute.bit_offset, mute.relative) == ((PHONE_MUTE,), 0, True)
    assert (hook.usages[0], hook.bit_offset, hook.count, hook.relative) == (HOOK_SWITCH, 1, 2,
                                                                             False)
    assert padding.constant and padding.bit_offset == 3 and padding.count == 5
    assert descriptor.report_length(ReportKind.INPUT, 8) == 1
    outputs = descriptor.reports(ReportKind.OUTPUT)
    # mute, off-hook, ring, speaker, hold, on-line
    assert sorted(outputs) == [9, 23, 24, 30, 32, 42]
    assert descriptor.find(ReportKind.OUTPUT, LED_OFF_HOOK) == (outputs[23][0], 0)


def test_plantronics_hook_switch_answers_and_hangs_up_and_its_mute_toggles() -> None:
    headset = reports_of(PLANTRONICS)
    assert headset.has_hook_switch
    assert headset.buttons(bytes([8, 0b010])) == [Button.HOOK_OFF]
    assert headset.buttons(bytes([8, 0b010])) == []  # same state again: nothing
    assert headset.buttons(bytes([8, 0b011])) == [Button.MUTE_TOGGLE]  # relative: each press
    assert headset.buttons(bytes([8, 0b011])) == [Button.MUTE_TOGGLE]
    assert headset.buttons(bytes([8, 0b000])) == [Button.HOOK_ON]
    assert headset.buttons(bytes([9, 0xFF])) == []  # not an input report of this collection


def test_plantronics_lamps_are_one_report_per_led_id() -> None:
    headset = reports_of(PLANTRONICS)
    assert headset.lamp_reports(Lamps(off_hook=True)) == [b"\x09\x00", b"\x17\x01", b"\x18\x00"]
    assert headset.lamp_reports(Lamps(muted=True, ringing=True)) == [
        b"\x09\x01", b"\x17\x00", b"\x18\x01"
    ]


def test_plantronics_volume_buttons_come_from_its_consumer_collection() -> None:
    volume = reports_of(PLANTRONICS_VOLUME)
    assert not volume.has_hook_switch
    assert volume.buttons(bytes([1, 0b01])) == [Button.VOLUME_UP]
    assert volume.buttons(bytes([1, 0b10])) == [Button.VOLUME_DOWN]
    assert volume.lamp_reports(Lamps(off_hook=True)) == []  # no LEDs there


def test_logitech_volume_is_absolute_and_its_mute_button_relative() -> None:
    descriptor = parse(parse_hex(LOGITECH.read_text()))
    first = descriptor.reports(ReportKind.INPUT)[1]
    assert [f.usages[:2] for f in first[:2]] == [
        (usage(0x0C, 0xE9), usage(0x0C, 0xEA)),
        (usage(0x0C, 0xE2),),
    ]
    assert first[3].usages == (usage(0x09, 1), usage(0x09, 2))  # the array of function buttons
    headset = TelephonyReports(descriptor)
    assert headset.buttons(bytes([1, 0b001])) == [Button.VOLUME_UP]
    assert headset.buttons(bytes([1, 0b001])) == []  # held: absolute, no repeat
    assert headset.buttons(bytes([1, 0b000])) == []
    assert headset.buttons(bytes([1, 0b100])) == [Button.MUTE_TOGGLE]
    assert headset.buttons(bytes([1, 0b010])) == [Button.VOLUME_DOWN]


def test_values_are_read_at_their_bit_offsets() -> None:
    descriptor = parse(parse_hex(PLANTRONICS.read_text()))
    hook = descriptor.reports(ReportKind.INPUT)[8][1]
    assert [read_value(b"\x06", hook, i) for i in range(2)] == [1, 1]  # hook and flash
    with pytest.raises(DescriptorError, match="too short"):
        read_value(b"", hook, 0)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("05", "truncated"),
        ("05 0B A1 01", "inside a collection"),
        ("C0", "End Collection without"),
        ("29 05", "Usage Maximum without"),
        ("B4", "Pop without Push"),
        ("85 00", "report ID 0"),
    ],
)
def test_malformed_descriptors_are_refused_clearly(raw: str, message: str) -> None:
    with pytest.raises(DescriptorError, match=message):
        parse(parse_hex(raw))


def test_a_replayed_headset_reports_buttons_and_records_its_lamps(tmp_path: Path) -> None:
    written: list[bytes] = []
    device = ReplayDevice(PLANTRONICS, on_write=written.append)
    pressed: list[Button] = []
    done = __import__("threading").Event()

    def on_button(button: Button) -> None:
        pressed.append(button)
        if len(pressed) == 2:
            done.set()

    device.start(on_button)
    device.inject(bytes([8, 0b010]))
    device.inject(bytes([8, 0b000]))
    assert done.wait(2)
    device.show(Lamps(off_hook=True))
    device.close()
    assert pressed == [Button.HOOK_OFF, Button.HOOK_ON]
    assert written == device.written == [b"\x09\x00", b"\x17\x01", b"\x18\x00"]
    (tmp_path / "bad.hex").write_text("zz")
    with pytest.raises(HidError, match="cannot replay"):
        ReplayDevice(tmp_path / "bad.hex")
