"""What every benchmark reports: percentiles and latency summaries, aligned text tables, the
machine it ran on, and its JSON result file under ``bench/results/``."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

Cell = str | int | float | None


def percentile(values: Sequence[float], fraction: float) -> float:
    """The *fraction* (0..1) quantile, interpolated linearly between the closest ranks (as
    numpy's default); NaN when there are no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(values: Sequence[float], digits: int = 1) -> dict[str, Any]:
    """Count, min, median, mean, p95, p99 and max of *values* (milliseconds), rounded."""
    if not values:
        return {"n": 0}
    figures = {
        "min_ms": min(values),
        "median_ms": statistics.median(values),
        "mean_ms": statistics.fmean(values),
        "p95_ms": percentile(values, 0.95),
        "p99_ms": percentile(values, 0.99),
        "max_ms": max(values),
    }
    return {"n": len(values), **{key: round(value, digits) for key, value in figures.items()}}


def table(
    header: Sequence[str], rows: Iterable[Sequence[Cell]], digits: int | Sequence[int] = 1
) -> str:
    """*rows* under *header*, a rule between them, each column as wide as its widest cell:
    numbers right-aligned (floats with *digits* decimals, or per column when a sequence),
    text left-aligned, None as ``-``."""
    body = [list(row) for row in rows]
    places = [digits] * len(header) if isinstance(digits, int) else list(digits)
    cells = [list(header)] + [
        [_cell(value, places[i]) for i, value in enumerate(row)] for row in body
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    right = [
        all(isinstance(row[i], int | float) for row in body if row[i] is not None)
        and any(row[i] is not None for row in body)
        for i in range(len(header))
    ]

    def line(row: Sequence[str]) -> str:
        padded = [
            cell.rjust(width) if flush else cell.ljust(width)
            for cell, width, flush in zip(row, widths, right, strict=True)
        ]
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def _cell(value: Cell, digits: int) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}f}" if math.isfinite(value) else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def machine() -> dict[str, Any]:
    """The host a result was measured on (the load matters: the cores are shared)."""
    return {
        "cpus": os.cpu_count() or 0,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(load, 2) for load in os.getloadavg()],
    }


def result_path(name: str) -> Path:
    """Where benchmark *name* writes its JSON result by default."""
    return RESULTS / f"{name}.json"


def write_result(path: Path, result: Mapping[str, Any]) -> Path:
    """Write *result* as indented UTF-8 JSON at *path* (creating its folder) and say so."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {path}")
    return path
