"""The headset's HID interface through hidapi (PyPI ``hidapi``), or a replay of captured reports
when there is no device node (tests, ``--hid-replay``): both feed `TelephonyReports`."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from hardware.hid.descriptor import DescriptorError, parse, parse_hex
from hardware.hid.telephony import TELEPHONY, Button, Lamps, TelephonyReports

log = logging.getLogger(__name__)

ButtonHandler = Callable[[Button], None]


class HidError(RuntimeError):
    """No usable HID telephony interface (none found, no permission, unreadable descriptor)."""


class TelephonyDevice(Protocol):
    name: str

    def start(self, on_button: ButtonHandler) -> None: ...

    def show(self, lamps: Lamps) -> None: ...

    def close(self) -> None: ...


class HidapiDevice:
    """A headset's telephony collection opened with hidapi; a thread reads its reports."""

    def __init__(self, entry: dict[str, Any]) -> None:
        import hid  # the hidapi binding; imported here so pure users need not have it

        self.name = f"{entry.get('manufacturer_string') or ''} {entry.get('product_string') or ''}"
        self.name = self.name.strip() or str(entry.get("path"))
        self._device = hid.device()
        try:
            self._device.open_path(entry["path"])
            raw = bytes(self._device.get_report_descriptor())
            self.reports = TelephonyReports(parse(raw))
        except (OSError, ValueError, DescriptorError) as error:
            raise HidError(f"cannot use {self.name}: {error}") from error
        self._running = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def find(cls, name: str | None = None) -> HidapiDevice:
        import hid

        entries = [e for e in hid.enumerate() if e.get("usage_page") == TELEPHONY]
        if name:
            entries = [e for e in entries if name.lower() in str(e.get("product_string")).lower()]
        if not entries:
            raise HidError(
                "no HID telephony interface found"
                + (f" matching {name!r}" if name else "")
                + " (on Linux, give your user access to /dev/hidraw*: see README)"
            )
        return cls(entries[0])

    def start(self, on_button: ButtonHandler) -> None:
        self._running.set()
        self._thread = threading.Thread(
            target=self._read, args=(on_button,), name="hid", daemon=True
        )
        self._thread.start()

    def _read(self, on_button: ButtonHandler) -> None:
        while self._running.is_set():
            try:
                report = bytes(self._device.read(64, 200))
            except (OSError, ValueError) as error:
                log.warning("headset buttons lost: %s", error)
                return
            if report:
                for button in self.reports.buttons(report):
                    on_button(button)

    def show(self, lamps: Lamps) -> None:
        for report in self.reports.lamp_reports(lamps):
            try:
                self._device.write(report)
            except (OSError, ValueError) as error:
                log.warning("headset lamps not set: %s", error)

    def close(self) -> None:
        self._running.clear()
        if self._thread is not None:
            self._thread.join(timeout=1)
        self._device.close()


class ReplayDevice:
    """A captured descriptor whose input reports are injected (`inject`); the LED reports the
    headset would receive are kept in `written` and passed to *on_write*."""

    def __init__(self, descriptor_file: Path,
                 on_write: Callable[[bytes], None] | None = None) -> None:
        try:
            self.reports = TelephonyReports(parse(parse_hex(descriptor_file.read_text())))
        except (OSError, ValueError) as error:
            raise HidError(f"cannot replay {descriptor_file}: {error}") from error
        self.name = f"replay of {descriptor_file.name}"
        self.written: list[bytes] = []
        self._on_write = on_write
        self._queue: queue.Queue[bytes | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self, on_button: ButtonHandler) -> None:
        def pump() -> None:
            while (report := self._queue.get()) is not None:
                for button in self.reports.buttons(report):
                    on_button(button)

        self._thread = threading.Thread(target=pump, name="hid-replay", daemon=True)
        self._thread.start()

    def inject(self, report: bytes) -> None:
        self._queue.put(report)

    def show(self, lamps: Lamps) -> None:
        for report in self.reports.lamp_reports(lamps):
            self.written.append(report)
            if self._on_write is not None:
                self._on_write(report)

    def close(self) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=1)
