"""HID report descriptors (HID 1.11, section 6.2.2): short items into the fields of each input,
output and feature report, and reading or writing a field's values in a report's bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

# Item types and tags (HID 1.11, 6.2.2.4-6.2.2.8).
MAIN, GLOBAL, LOCAL = 0, 1, 2
INPUT, OUTPUT, COLLECTION, FEATURE, END_COLLECTION = 0x8, 0x9, 0xA, 0xB, 0xC
USAGE_PAGE, LOGICAL_MINIMUM, LOGICAL_MAXIMUM = 0x0, 0x1, 0x2
REPORT_SIZE, REPORT_ID, REPORT_COUNT, PUSH, POP = 0x7, 0x8, 0x9, 0xA, 0xB
USAGE, USAGE_MINIMUM, USAGE_MAXIMUM = 0x0, 0x1, 0x2
LONG_ITEM = 0xFE

# Main item data bits.
CONSTANT, VARIABLE, RELATIVE = 0x01, 0x02, 0x04


class DescriptorError(ValueError):
    """A report descriptor we cannot read (truncated, unbalanced collections, ...)."""


class ReportKind(StrEnum):
    INPUT = "input"
    OUTPUT = "output"
    FEATURE = "feature"


_KINDS = {INPUT: ReportKind.INPUT, OUTPUT: ReportKind.OUTPUT, FEATURE: ReportKind.FEATURE}


def usage(page: int, usage_id: int) -> int:
    """An extended usage: page in the high 16 bits, usage id in the low 16."""
    return (page << 16) | usage_id


@dataclass(frozen=True)
class Field:
    """One main item: *count* values of *size* bits starting at *bit_offset* of the report's
    data (the report ID byte, when there is one, is not counted)."""

    kind: ReportKind
    report_id: int
    bit_offset: int
    size: int
    count: int
    flags: int
    usages: tuple[int, ...]  # variable: one per value (the last repeats); array: the choices
    logical_minimum: int
    logical_maximum: int
    application: int  # usage of the enclosing application collection

    @property
    def constant(self) -> bool:
        return bool(self.flags & CONSTANT)

    @property
    def variable(self) -> bool:
        return bool(self.flags & VARIABLE)

    @property
    def relative(self) -> bool:
        return bool(self.flags & RELATIVE)

    def usage_at(self, index: int) -> int:
        if not self.usages:
            return 0
        return self.usages[min(index, len(self.usages) - 1)]


@dataclass
class _Globals:
    page: int = 0
    logical_minimum: int = 0
    logical_maximum: int = 0
    report_size: int = 0
    report_id: int = 0
    report_count: int = 0


@dataclass
class Descriptor:
    fields: list[Field] = field(default_factory=list)
    uses_report_ids: bool = False

    def reports(self, kind: ReportKind) -> dict[int, list[Field]]:
        found: dict[int, list[Field]] = {}
        for item in self.fields:
            if item.kind == kind:
                found.setdefault(item.report_id, []).append(item)
        return found

    def report_length(self, kind: ReportKind, report_id: int) -> int:
        """Bytes of the report's data (without the report ID byte)."""
        bits = max(
            (f.bit_offset + f.size * f.count for f in self.fields
             if f.kind == kind and f.report_id == report_id),
            default=0,
        )
        return (bits + 7) // 8

    def find(self, kind: ReportKind, wanted: int) -> tuple[Field, int] | None:
        """The variable field and value index carrying usage *wanted*, if the device has it."""
        for item in self.fields:
            if item.kind != kind or item.constant or not item.variable:
                continue
            for index in range(item.count):
                if item.usage_at(index) == wanted:
                    return item, index
        return None


def _signed(data: bytes) -> int:
    return int.from_bytes(data, "little", signed=True) if data else 0


def _unsigned(data: bytes) -> int:
    return int.from_bytes(data, "little", signed=False) if data else 0


def parse(descriptor: bytes) -> Descriptor:
    """All fields of *descriptor*; raises `DescriptorError` on malformed input."""
    result = Descriptor()
    state = _Globals()
    stack: list[_Globals] = []
    usages: list[int] = []
    usage_minimum: int | None = None
    collections: list[int] = []
    application = 0
    offsets: dict[tuple[ReportKind, int], int] = {}
    position = 0
    while position < len(descriptor):
        prefix = descriptor[position]
        if prefix == LONG_ITEM:
            if position + 2 >= len(descriptor):
                raise DescriptorError(f"truncated long item at byte {position}")
            position += 3 + descriptor[position + 1]
            continue
        size = (0, 1, 2, 4)[prefix & 0x3]
        kind, tag = (prefix >> 2) & 0x3, prefix >> 4
        data = descriptor[position + 1 : position + 1 + size]
        if len(data) != size:
            raise DescriptorError(f"truncated item 0x{prefix:02x} at byte {position}")
        position += 1 + size
        value = _unsigned(data)
        if kind == GLOBAL:
            if tag == USAGE_PAGE:
                state.page = value
            elif tag == LOGICAL_MINIMUM:
                state.logical_minimum = _signed(data)
            elif tag == LOGICAL_MAXIMUM:
                state.logical_maximum = _signed(data)
                if state.logical_minimum >= 0 and state.logical_maximum < 0:
                    state.logical_maximum = value  # unsigned when the minimum is not negative
            elif tag == REPORT_SIZE:
                state.report_size = value
            elif tag == REPORT_ID:
                if value == 0:
                    raise DescriptorError("report ID 0 is reserved")
                state.report_id = value
                result.uses_report_ids = True
            elif tag == REPORT_COUNT:
                state.report_count = value
            elif tag == PUSH:
                stack.append(_Globals(**vars(state)))
            elif tag == POP:
                if not stack:
                    raise DescriptorError("Pop without Push")
                state = stack.pop()
        elif kind == LOCAL:
            extended = value if size == 4 else usage(state.page, value)
            if tag == USAGE:
                usages.append(extended)
            elif tag == USAGE_MINIMUM:
                usage_minimum = extended
            elif tag == USAGE_MAXIMUM:
                if usage_minimum is None:
                    raise DescriptorError("Usage Maximum without Usage Minimum")
                usages.extend(range(usage_minimum, extended + 1))
                usage_minimum = None
        elif kind == MAIN:
            if tag == COLLECTION:
                collections.append(usages[0] if usages else 0)
                if value == 0x01:  # application
                    application = collections[-1]
            elif tag == END_COLLECTION:
                if not collections:
                    raise DescriptorError("End Collection without Collection")
                collections.pop()
            elif tag in _KINDS:
                report_kind = _KINDS[tag]
                key = (report_kind, state.report_id)
                offset = offsets.get(key, 0)
                result.fields.append(
                    Field(
                        report_kind, state.report_id, offset, state.report_size,
                        state.report_count, value, tuple(usages), state.logical_minimum,
                        state.logical_maximum, application,
                    )
                )
                offsets[key] = offset + state.report_size * state.report_count
            usages = []
            usage_minimum = None
        else:
            raise DescriptorError(f"reserved item type in 0x{prefix:02x} at byte {position}")
    if collections:
        raise DescriptorError("descriptor ends inside a collection")
    return result


def read_value(data: bytes, item: Field, index: int) -> int:
    """Value *index* of *item* in a report's data bytes (without the report ID)."""
    start = item.bit_offset + index * item.size
    if (start + item.size + 7) // 8 > len(data) or item.size == 0:
        raise DescriptorError(f"report of {len(data)} bytes is too short for its field")
    raw = int.from_bytes(data, "little") >> start & ((1 << item.size) - 1)
    if item.logical_minimum < 0 and raw >> (item.size - 1):
        raw -= 1 << item.size
    return raw


def write_value(data: bytearray, item: Field, index: int, value: int) -> None:
    start = item.bit_offset + index * item.size
    mask = ((1 << item.size) - 1) << start
    number = int.from_bytes(data, "little")
    number = (number & ~mask) | ((value << start) & mask)
    data[:] = number.to_bytes(len(data), "little")


def parse_hex(text: str) -> bytes:
    """Bytes from a hex dump (``05 0B 09 05`` or ``0x05, 0x0b``), ``#`` and ``//`` comments
    ignored: how captured descriptors are stored."""
    tokens: list[str] = []
    for line in text.splitlines():
        line = line.split("//", 1)[0].split("#", 1)[0]
        tokens += line.replace(",", " ").split()
    return bytes(int(token, 16) for token in tokens)
