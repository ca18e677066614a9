"""The Markdown tables of docs/benchmarks.md, rendered from bench/results/*.json, so the
published numbers are regenerated from the results and not typed in.

``python -m bench.markdown aec|g168|vad|asr`` prints that benchmark's tables.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import Any

from bench.report import RESULTS

AEC_METRICS = {
    "erle_db": "ERLE, far end alone (dB)",
    "erle_double_talk_db": "ERLE while the caller talks (dB)",
    "caller_fidelity_db": "caller fidelity (dB)",
    "caller_level_db": "caller level change (dB)",
    "erle_before_change_db": "ERLE before the change (dB)",
    "erle_after_change_db": "ERLE after the change (dB)",
    "reconvergence_s": "re-convergence (s)",
    "naive_erle_double_talk_db": "old metric: ERLE in double talk (dB)",
}


def markdown(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(value: object) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:,.1f}" if abs(value) < 1e6 else str(value)
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def verdicts(goals: dict[str, bool]) -> list[list[str]]:
    return [[goal, "yes" if met else "**no**"] for goal, met in goals.items()]


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RESULTS / f"{name}.json").read_text())
    return data


def aec() -> str:
    report = load("aec")
    quality = report["quality"]
    names = list(quality)
    rows = []
    for case, metrics in quality[names[0]].items():
        for metric, label in AEC_METRICS.items():
            if metric in metrics:
                rows.append([case, label, *(quality[n].get(case, {}).get(metric) for n in names)])
    speed = report["throughput_audio_s_per_cpu_s"]
    speed_rows = [[k, f"{v:,.0f}"] for k, v in speed.items()]
    speed_rows += [[k, f"{v:.2f}x"] for k, v in report["throughput_ratios"].items()]
    behind = [
        [pair, where, f"{margin:+.1f}"]
        for pair, margins in report["margins_db"].items()
        for where, margin in margins.items()
        if margin < 0
    ]
    paths = [[name, d["path"], d["speech"]] for name, d in report["scenarios"].items()]
    return "\n\n".join([
        markdown(("scenario", "path", "speech"), paths),
        markdown(("scenario", "metric", *names), rows),
        markdown(("throughput (audio s per CPU s)", "value"), speed_rows),
        markdown(("pair", "where ours is behind", "margin"), behind or [["-", "nowhere", ""]]),
        markdown(("target", "met"), verdicts(report["targets"])),
    ])  # fmt: skip


def g168(name: str = "g168") -> str:
    report = load(name)
    names = list(report["results"])
    checks = list(report["passed"][names[0]])
    summary = [[check, *(report["passed"][n][check] for n in names)] for check in checks]
    worst = []
    for check in checks:
        cells: list[object] = [check]
        for n in names:
            margins = [
                (v["limit_dbm0"] - v["peak_dbm0"], model, v)
                for model, by_test in report["results"][n].items()
                for outcome in by_test.values()
                for c, v in outcome["checks"].items()
                if c == check
            ]
            _, model, verdict = min(margins, key=lambda m: m[0])
            cells.append(f"{model}: {verdict['peak_dbm0']:.1f} vs {verdict['limit_dbm0']:.1f}")
        worst.append(cells)
    return "\n\n".join([
        markdown(("check", *(f"{n} (paths passed)" for n in names)), summary),
        markdown(("check", *(f"{n}: worst path, peak vs limit dBm0" for n in names)), worst),
    ])  # fmt: skip


def vad() -> str:
    report = load("vad")
    names = list(report["cost_us_per_frame"])
    rows = [
        [r["speech"], r["speech_dbfs"], r["noise"], r["snr_db"],
         *(f"{r[n]['balanced_accuracy']:.3f} / {r[n]['roc_auc']:.3f}" for n in names)]
        for r in report["rows"]
    ]  # fmt: skip
    overall = [
        [n, f"{report['overall'][n]['balanced_accuracy']:.3f}",
         f"{report['overall'][n]['roc_auc']:.3f}",
         *(f"{report['mean'][s][n]['balanced_accuracy']:.3f}" for s in sorted(report["mean"])),
         f"{report['cost_us_per_frame'][n]:.1f}"]
        for n in names
    ]  # fmt: skip
    sources = [f"balanced acc., {s}" for s in sorted(report["mean"])]
    room = report.get("room_noise_starts_per_minute", {})
    room_rows = [
        [
            kind,
            *(f"{per[n]['starts_per_minute']:.1f} / {per[n]['speech_share']:.1%}" for n in names),
        ]
        for kind, per in room.items()
    ]
    return "\n\n".join([
        markdown(("speech", "dBFS", "noise", "SNR dB", *names), rows),
        markdown(("detector", "balanced acc.", "ROC-AUC", *sources, "µs per frame"), overall),
        markdown(("room noise alone: starts per minute / time called speech", *names), room_rows),
        markdown(("goal", "met"), verdicts(report["goals"])),
    ])  # fmt: skip


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def asr() -> str:
    report = load("asr")
    ramp = []
    for side, steps in report["ramp"].items():
        for s in steps:
            ramp.append([
                side, s["streams"], f"{s['lag_p50_s']:.3f} / {s['lag_p95_s']:.3f}",
                seconds(s["final_latency_p50_s"]), seconds(s["final_latency_p95_s"]),
                s["dropped_frames"],
                s["load_average"], "yes" if s["sustained"] else "no: " + "; ".join(s["notes"]),
            ])  # fmt: skip
    pauses = []
    by_pause = report["final_latency_by_pause_one_stream"]
    for pause, service in by_pause["service"].items():
        reference = by_pause["reference"][pause]
        pauses.append([
            pause, service["utterances"], service["own_finals"], seconds(service["p50_s"]),
            reference["own_finals"], seconds(reference["p50_s"]),
        ])  # fmt: skip
    return "\n\n".join([
        markdown(("side", "streams", "lag p50 / p95 s", "final p50 s", "final p95 s",
                  "dropped", "load", "sustained (p95 lag <= 0.5 s)"), ramp),
        markdown(("pause after s", "utterances", "service: own finals", "service: p50 s",
                  "reference: own finals", "reference: p50 s"), pauses),
    ])  # fmt: skip


RENDERERS: dict[str, Callable[[], str]] = {
    "aec": aec,
    "g168": g168,
    "g168-ulaw": lambda: g168("g168-ulaw"),
    "vad": vad,
    "asr": asr,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.markdown", description=__doc__)
    parser.add_argument("name", choices=sorted(RENDERERS))
    args = parser.parse_args(argv)
    print(RENDERERS[args.name]())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
