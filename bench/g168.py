"""ITU-T G.168 echo canceller tests 2A, 2B, 2C, 3A and 3B as spandsp's ``tests/echo_tests.c``
runs them, on ours and on spandsp's canceller side by side: pass/fail table and JSON.

The world model is spandsp's: the far end (Rin, G.168's composite source signal) goes out as
Rout, through one of the G.168 Annex D echo paths scaled to the ERL, is added to the near
end's signal (Sgen: silence, Hoth-like noise or a second composite source for double talk)
and comes back as Sin; with ``--ulaw`` every one of those crossings is µ-law coded. Levels are
read with G.168's level meter (band-pass, 35 ms integration), in dBm0. Test signals and
echo paths come from Debian's libspandsp-dev header (``g168models.h``: G.168's tables), the
signal is built as G.168 Annex C describes it (``telephony/testing/signals.py``).

Pass criteria. 2A (NLP on): the returned echo stays at or below -65 dBm0 for the 9 s after the
first second, and again after an abrupt change to another echo path. 2B (NLP off): the same
threshold on the residual echo over the 170 s after the first 10 s, and after the change.
2C(a): after converging with noise at -40 dBm0 on the near side, adaptation frozen, the
residual echo stays below that noise's level. 3A: after converging during double talk with a
near-end signal 20 dB below the far end, frozen, the residual stays below the near-end
signal's level. 3B (a: near end as loud as the far end, b: 15 dB below): converged, then 5 s
of double talk, frozen, the residual stays below the near-end signal's level (spandsp runs 3B
but prints no verdict; this criterion is 3A's). In 2C, 3A and 3B the near-end signal stops where
the frozen window starts, so Sout is metered from rest there: the peak is the residual echo,
not the 35 ms meter's memory of the near-end signal that just stopped (read with the meter
running on, that memory alone fails every canceller on 2C).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bench.report import machine, result_path, table, write_result
from bench.spandsp import SpandspEchoCanceller, quiet_stdout
from dsp.aec import EchoCanceller
from dsp.echo_paths import g168_path, through_ulaw
from telephony.testing.signals import composite_source, hoth_noise, level_dbm0

RESULTS = result_path("g168")
FRAME = 160
RETURNED_ECHO_LIMIT_DBM0 = -65.0


class Canceller(Protocol):
    adapt: bool
    nlp: bool

    def process(self, near: np.ndarray, far: np.ndarray) -> np.ndarray: ...


class Ours:
    """Our canceller with spandsp's switches: ``nlp`` is its residual-echo suppressor."""

    def __init__(self, tail_ms: int) -> None:
        self._canceller = EchoCanceller(8000, tail_ms, FRAME, suppress=False)

    @property
    def adapt(self) -> bool:
        return self._canceller.adapt

    @adapt.setter
    def adapt(self, enabled: bool) -> None:
        self._canceller.adapt = enabled

    @property
    def nlp(self) -> bool:
        return self._canceller.suppress

    @nlp.setter
    def nlp(self, enabled: bool) -> None:
        self._canceller.suppress = enabled

    def process(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        return self._canceller.process(near, far)


@dataclass
class Segment:
    """*ms* of the test: what Rin and Sgen carry, how the canceller is switched."""

    ms: int
    rin: str = "silence"  # "css" or "silence"
    sgen: str = "silence"  # "silence", "noise" or "css" (the other composite source, C3)
    sgen_db: float = 0.0  # Sgen's level relative to Rin's
    adapt: bool = True
    nlp: bool = False
    path: str = "main"  # "main" or "other" (the abrupt echo-path change)
    measure: str = ""  # name of the measurement window this segment belongs to


@dataclass
class Check:
    name: str
    window: str  # measurement window of Sout
    against: str | None = None  # window of Sgen whose level is the limit (None: -65 dBm0)


@dataclass
class Test:
    name: str
    title: str
    segments: list[Segment]
    checks: list[Check]
    report: list[str] = field(default_factory=list)  # windows whose Sout peak is reported


def tests(nlp_ms: int = 9000, long_ms: int = 170000) -> list[Test]:
    css, dt = "css", "css"
    return [
        Test("2A", "convergence and reconvergence, NLP on", [
            Segment(200, nlp=True), Segment(1000, css, nlp=True),
            Segment(nlp_ms, css, nlp=True, measure="a"),
            Segment(1000, css, nlp=True, path="other"),
            Segment(nlp_ms, css, nlp=True, path="other", measure="b"),
        ], [Check("2A(a)", "a"), Check("2A(b) after path change", "b")]),
        Test("2B", "convergence and reconvergence, NLP off", [
            Segment(200), Segment(1000, css), Segment(9000, css, measure="a10"),
            Segment(long_ms, css, measure="a"),
            Segment(1000, css, path="other"), Segment(9000, css, path="other", measure="b10"),
            Segment(long_ms, css, path="other", measure="b"),
        ], [Check("2B(a)", "a"), Check("2B(b) after path change", "b")], ["a10", "b10"]),
        Test("2C", "convergence with background noise, then frozen", [
            Segment(200), Segment(4000, css, "noise"),
            Segment(1000, css, "noise", measure="noise"),
            Segment(5000, css, adapt=False, measure="a"),
        ], [Check("2C(a)", "a", against="noise")]),
        Test("3A", "double talk, near end 20 dB below the far end, then frozen", [
            Segment(200), Segment(4000, css, dt, -20.0),
            Segment(1000, css, dt, -20.0, measure="talk"),
            Segment(500, css, adapt=False), Segment(5000, css, adapt=False, measure="a"),
        ], [Check("3A", "a", against="talk")]),
        Test("3Ba", "double-talk stability, near end as loud as the far end", [
            Segment(200), Segment(5000, css), Segment(5000, css, dt, 0.0, measure="talk"),
            Segment(1000, css, dt, 0.0, adapt=False), Segment(500, css, adapt=False),
            Segment(5000, css, adapt=False, measure="a"),
        ], [Check("3B(a)", "a", against="talk")]),
        Test("3Bb", "double-talk stability, near end 15 dB below the far end", [
            Segment(200), Segment(5000, css), Segment(5000, css, dt, -15.0, measure="talk"),
            Segment(1000, css, adapt=False), Segment(500, css, adapt=False),
            Segment(5000, css, adapt=False, measure="a"),
        ], [Check("3B(b)", "a", against="talk")]),
    ]  # fmt: skip


@dataclass
class World:
    """spandsp's echoey world: a G.168 echo path, optionally µ-law on every crossing."""

    model: int
    other_model: int
    erl_db: float
    delay_ms: float
    ulaw: bool
    rin_dbm0: float


def signals(test: Test, world: World) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[slice]]:
    """(Rout, Sin, Sgen, one slice per segment) for *test* in *world*."""
    total = sum(s.ms for s in test.segments) * 8
    rin_css = composite_source("c1", total / 8000, world.rin_dbm0, seed=1)
    sgen_css = composite_source("c3", total / 8000, world.rin_dbm0, seed=3)
    noise = hoth_noise(total, -40.0, seed=7)
    paths = {
        "main": g168_path(world.model, world.erl_db, world.delay_ms),
        "other": g168_path(world.other_model, world.erl_db, world.delay_ms),
    }
    rout, sgen = np.zeros(total), np.zeros(total)
    spans, start = [], 0
    for segment in test.segments:
        span = slice(start, start + segment.ms * 8)
        spans.append(span)
        if segment.rin == "css":
            rout[span] = rin_css[span]
        if segment.sgen == "noise":
            sgen[span] = noise[span]
        elif segment.sgen == "css":
            sgen[span] = sgen_css[span] * 10 ** (segment.sgen_db / 20)
        start = span.stop
    rout = np.clip(np.round(rout), -32768, 32767)
    munge = through_ulaw if world.ulaw else (lambda x: x)
    line = munge(rout)
    echo = np.zeros(total)
    for segment, span in zip(test.segments, spans, strict=True):
        full = np.convolve(line[: span.stop], paths[segment.path])[: span.stop]
        echo[span] = full[span]
    sin = munge(np.clip(np.round(echo + munge(sgen)), -32768, 32767))
    pcm = np.clip(np.round(sin), -32768, 32767).astype(np.int16)
    return rout.astype(np.int16), pcm, sgen, spans


def run_test(make: Callable[[], Canceller], test: Test, world: World) -> dict[str, Any]:
    rout, sin, sgen, spans = signals(test, world)
    canceller = make()
    sout = np.zeros(len(sin))
    with quiet_stdout():
        for segment, span in zip(test.segments, spans, strict=True):
            canceller.adapt = segment.adapt
            canceller.nlp = segment.nlp
            for i in range(span.start, span.stop, FRAME):
                sout[i : i + FRAME] = canceller.process(sin[i : i + FRAME], rout[i : i + FRAME])
    out_level, sgen_level = level_dbm0(sout), level_dbm0(sgen)
    windows: dict[str, slice] = {}
    for segment, span in zip(test.segments, spans, strict=True):
        if segment.measure:
            known = windows.get(segment.measure)
            windows[segment.measure] = slice(known.start if known else span.start, span.stop)
    result: dict[str, Any] = {"checks": {}, "reported": {}}
    for check in test.checks:
        window = windows[check.window]
        if check.against is None:
            limit = RETURNED_ECHO_LIMIT_DBM0
            peak = float(out_level[window].max())
        else:
            limit = float(np.median(sgen_level[windows[check.against]]))
            # the near-end signal stops where this window starts: meter Sout from rest, so
            # that the peak is the residual echo and not the meter's memory of that signal
            from_rest = np.zeros(len(sout))
            from_rest[window.start :] = sout[window.start :]
            peak = float(level_dbm0(from_rest)[window].max())
        result["checks"][check.name] = {
            "peak_dbm0": peak,
            "limit_dbm0": limit,
            "pass": peak <= limit,
        }
    for name in test.report:
        result["reported"][name] = float(out_level[windows[name]].max())
    return result


def contenders(tail_ms: int, spandsp_taps: int) -> dict[str, Callable[[], Canceller]]:
    return {
        "ours": lambda: Ours(tail_ms),
        f"spandsp {spandsp_taps} taps": lambda: SpandspEchoCanceller(spandsp_taps),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench g168",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--models", type=int, nargs="+", default=list(range(2, 10)),
                        help="G.168 Annex D echo paths (2..9)")  # fmt: skip
    parser.add_argument("--erl", type=float, default=6.0, help="echo return loss, dB")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="bulk delay before the path")
    parser.add_argument(
        "--rin-dbm0",
        type=float,
        default=-14.2,
        help="far-end CSS level (default: table C.1's own level, as spandsp plays it)",
    )
    parser.add_argument("--ulaw", action="store_true", help="µ-law coding on every crossing")
    parser.add_argument("--tail-ms", type=int, default=128, help="our canceller's tail")
    parser.add_argument("--spandsp-taps", type=int, default=256, help="spandsp's tail (taps)")
    parser.add_argument("--long-ms", type=int, default=170000, help="2B's long window")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)

    players = contenders(args.tail_ms, args.spandsp_taps)
    results: dict[str, dict[str, Any]] = {name: {} for name in players}
    for model in args.models:
        other = 2 + (model - 1) % 8  # the next model, 9 -> 2
        world = World(model, other, args.erl, args.delay_ms, args.ulaw, args.rin_dbm0)
        for test in tests(long_ms=args.long_ms):
            for name, make in players.items():
                results[name].setdefault(f"D{model}", {})[test.name] = run_test(make, test, world)
        print(f"  model D{model} done", flush=True)
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "settings": {k: v for k, v in vars(args).items() if k != "output"},
        "criteria": __doc__.split("Pass criteria. ")[1].strip(),
        "results": results,
        "passed": summary(results),
    }
    print(render(report))
    write_result(args.output, report)
    return 0


def summary(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Per contender and check: how many of the echo paths passed, e.g. "8/8"."""
    counts: dict[str, dict[str, list[bool]]] = {}
    for name, by_model in results.items():
        for by_test in by_model.values():
            for outcome in by_test.values():
                for check, verdict in outcome["checks"].items():
                    counts.setdefault(name, {}).setdefault(check, []).append(verdict["pass"])
    return {
        name: {check: f"{sum(v)}/{len(v)}" for check, v in checks.items()}
        for name, checks in counts.items()
    }


def render(report: dict[str, Any]) -> str:
    names = list(report["results"])
    rows: list[list[str | float | None]] = []
    first = report["results"][names[0]]
    for model, by_test in first.items():
        for test, outcome in by_test.items():
            for check in outcome["checks"]:
                cells: list[str | float | None] = [model, check]
                for name in names:
                    verdict = report["results"][name][model][test]["checks"][check]
                    mark = "pass" if verdict["pass"] else "FAIL"
                    cells.append(
                        f"{verdict['peak_dbm0']:.1f} <= {verdict['limit_dbm0']:.1f} {mark}"
                    )
                rows.append(cells)
    totals = [
        [check, *(report["passed"][n][check] for n in names)]
        for check in report["passed"][names[0]]
    ]
    return "\n\n".join([
        table(("path", "check", *(f"{n}: peak dBm0" for n in names)), rows),
        table(("check", *names), totals),
    ])  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
