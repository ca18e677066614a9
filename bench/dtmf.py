"""DTMF benchmark: our Goertzel receiver against spandsp's DTMF receiver (Debian
libspandsp-dev, through ctypes), side by side on the same signals: a conformance table
(digits, frequency deviation, twist, duration, level, noise, talk-off on speech) and speed."""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.report import machine, result_path, table, write_result
from dsp.dtmf import DIGITS, DtmfDetector, dtmf_signal
from telephony.testing.signals import PASSAGES, RECORDINGS, espeak, recordings

RESULTS = result_path("dtmf")
FRAME = 160


class SpandspReceiver:
    """spandsp's dtmf_rx with its default limits, fed 20 ms frames."""

    library: ctypes.CDLL | None = None

    def __init__(self) -> None:
        lib = self._load()
        self.state = lib.dtmf_rx_init(None, None, None)
        self.buffer = ctypes.create_string_buffer(128)

    @classmethod
    def _load(cls) -> ctypes.CDLL:
        if cls.library is None:
            lib = ctypes.CDLL(ctypes.util.find_library("spandsp") or "libspandsp.so.2")
            lib.dtmf_rx_init.restype = ctypes.c_void_p
            lib.dtmf_rx_init.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
            lib.dtmf_rx.restype = ctypes.c_int
            lib.dtmf_rx.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
            lib.dtmf_rx_get.restype = ctypes.c_size_t
            lib.dtmf_rx_get.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
            lib.dtmf_rx_free.argtypes = [ctypes.c_void_p]
            cls.library = lib
        return cls.library

    def digits(self, signal: np.ndarray) -> str:
        lib = self._load()
        samples = np.ascontiguousarray(signal, dtype=np.int16)
        got = []
        for i in range(0, len(samples), FRAME):
            frame = samples[i : i + FRAME]
            lib.dtmf_rx(self.state, frame.ctypes.data, len(frame))
            count = lib.dtmf_rx_get(self.state, self.buffer, 127)
            got.append(self.buffer.raw[:count].decode())
        return "".join(got)

    def __del__(self) -> None:
        if self.library is not None and getattr(self, "state", None):
            self.library.dtmf_rx_free(self.state)


def ours(signal: np.ndarray) -> str:
    return DtmfDetector(8000).digits(signal)


def spandsp(signal: np.ndarray) -> str:
    return SpandspReceiver().digits(signal)


def phase_stepped(digits: str, at: int, step: int, repeat: bool) -> np.ndarray:
    """*digits* as 200 ms tones (80 ms pauses), each with *step* samples dropped (or repeated)
    *at* samples in, as an adaptive jitter buffer does when it shrinks (or stretches) a call."""
    pieces = []
    for digit in digits:
        tone = dtmf_signal(digit, tone_ms=200, pause_ms=0)
        rest = tone[at - step :] if repeat else tone[at + step :]
        pieces += [tone[:at], rest, np.zeros(640, np.int16)]
    return np.concatenate(pieces)


def conformance_cases() -> list[tuple[str, str, list[np.ndarray]]]:
    """(case, expected digits per signal, signals)."""
    cases: list[tuple[str, str, list[np.ndarray]]] = [
        ("16 digits, nominal", DIGITS, [dtmf_signal(DIGITS)])
    ]
    for offset in (-0.015, 0.015):
        cases.append(
            (
                f"offset {offset:+.1%} (row; column; both)",
                DIGITS,
                [
                    dtmf_signal(DIGITS, row_offset=offset),
                    dtmf_signal(DIGITS, column_offset=offset),
                    dtmf_signal(DIGITS, row_offset=offset, column_offset=offset),
                ],
            )
        )
    for offset in (-0.05, -0.035, 0.035, 0.05):
        cases.append(
            (
                f"offset {offset:+.1%} (row; column)",
                "",
                [dtmf_signal(DIGITS, row_offset=offset), dtmf_signal(DIGITS, column_offset=offset)],
            )
        )
    for twist, expected in ((-4.0, DIGITS), (-7.0, DIGITS), (-10.0, ""), (3.0, DIGITS), (6.0, "")):
        kind = "normal" if twist < 0 else "reverse"  # normal: the low (row) tone louder
        cases.append(
            (f"{kind} twist {abs(twist):.0f} dB", expected, [dtmf_signal(DIGITS, twist_db=twist)])
        )
    for tone_ms, expected in ((40, "1155#"), (25, ""), (20, "")):
        signals = [
            dtmf_signal("1155#" if expected else "5", tone_ms=tone_ms, pause_ms=40, lead_ms=lead)
            for lead in range(10)
        ]
        cases.append((f"{tone_ms} ms tones, 40 ms pauses, 10 alignments", expected, signals))
    cases.append(
        (
            "phase step mid-tone: 37 or 80 samples dropped or repeated, 8 places",
            DIGITS,
            [
                phase_stepped(DIGITS, at, step, repeat)
                for at in range(400, 800, 50)
                for step in (37, 80)
                for repeat in (False, True)
            ],
        )
    )
    for level, expected in ((-25.0, "159#"), (-33.0, "159#"), (-45.0, "")):
        signal = dtmf_signal("159#", level_dbfs=level)
        cases.append((f"level {level:.0f} dBFS per tone", expected, [signal]))
    rng = np.random.default_rng(3)
    clean = dtmf_signal(DIGITS, level_dbfs=-20).astype(np.float64)
    noise = rng.normal(0, 32768 * 10 ** (-20 / 20) / 10 ** (15 / 20), clean.shape)
    noisy = np.clip(clean + noise, -32768, 32767).astype(np.int16)
    cases.append(("white noise, 15 dB SNR", DIGITS, [noisy]))
    return cases


def talk_off_signals() -> list[tuple[str, np.ndarray]]:
    voices = [("en", "en-us", 50), ("en", "en-us+f3", 70), ("it", "it", 40), ("ko", "ko", 60)]
    result = []
    for locale, voice, pitch in voices:
        speech = espeak(PASSAGES[locale], voice=voice, pitch=pitch)
        for gain in (1.0, 4.0):
            loud = np.clip(speech * gain, -32768, 32767).astype(np.int16)
            result.append((f"{voice} x{gain:g}", loud))
    if any(RECORDINGS.glob("librivox/*.wav")):
        speech = np.concatenate(recordings(8000))
        for gain in (1.0, 4.0):
            loud = np.clip(speech * gain, -32768, 32767).astype(np.int16)
            result.append((f"recorded x{gain:g}", loud))
    return result


def x_realtime(run: Callable[[np.ndarray], str], signal: np.ndarray, repeats: int) -> float:
    run(signal)
    timings = []
    for _ in range(repeats):
        start = time.process_time()
        run(signal)
        timings.append(time.process_time() - start)
    return len(signal) / 8000 / min(timings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench dtmf", description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="speed runs; the best counts")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    receivers = {"ours": ours, "spandsp": spandsp}

    rows: list[dict[str, Any]] = []
    for case, expected, signals in conformance_cases():
        row: dict[str, Any] = {
            "case": case,
            "expected": expected or "(none)",
            "signals": len(signals),
        }
        for name, run in receivers.items():
            outputs = [run(s) for s in signals]
            row[name] = sum(out == expected for out in outputs)
            row[name + "_outputs"] = sorted(set(outputs))
        rows.append(row)
    speech = talk_off_signals()
    talk_off = {
        name: {label: len(run(signal)) for label, signal in speech}
        for name, run in receivers.items()
    }
    seconds_of_speech = sum(len(s) for _, s in speech) / 8000
    mixed = np.concatenate(
        [np.concatenate([s, dtmf_signal("0123456789*#", lead_ms=200)]) for _, s in speech]
    )
    speed = {name: x_realtime(run, mixed, args.repeats) for name, run in receivers.items()}
    speed["ratio"] = speed["ours"] / speed["spandsp"]

    print("conformance: signals giving exactly the expected digits")
    print(
        table(
            ("case", "expect", "ours", "spandsp"),
            [
                [
                    row["case"],
                    row["expected"] if len(row["expected"]) < 7 else "all 16",
                    f"{row['ours']}/{row['signals']}",
                    f"{row['spandsp']}/{row['signals']}",
                ]
                for row in rows
            ],
        )
    )
    print(f"\ntalk-off: digits detected in {seconds_of_speech:.0f} s of speech")
    totals = {name: sum(v.values()) for name, v in talk_off.items()}
    talk_rows: list[list[str | int]] = [
        [label, talk_off["ours"][label], talk_off["spandsp"][label]] for label, _ in speech
    ]
    talk_rows.append(["total", totals["ours"], totals["spandsp"]])
    print(table(("speech", "ours", "spandsp"), talk_rows))
    print(
        f"\nspeed (audio s per CPU s, one stream, 20 ms frames): ours {speed['ours']:.0f}, "
        f"spandsp {speed['spandsp']:.0f}, ours/spandsp {speed['ratio']:.2f}"
    )
    report = {
        "machine": machine(),
        "conformance": rows,
        "talk_off": {"seconds": seconds_of_speech, "digits": talk_off, "totals": totals},
        "speed_x_realtime": speed,
    }
    write_result(args.output, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
