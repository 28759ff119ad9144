"""What a benchmark returns, and how the suite shows it: one rich table and a JSON document.

Every figure carries the baseline it was measured against in the same run
and the ratio between the two, so results compare across machines: absolute
times and bytes vary from one laptop or CI runner to the next, ratios much
less.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import platform
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

__all__ = ["BenchmarkError", "BenchmarkResult", "Figure", "document", "ratio", "render_table", "write_json"]

SCHEMA_VERSION = 1


class BenchmarkError(RuntimeError):
    """A benchmark could not measure what it set out to (a broken precondition, not a slow result)."""


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; raises ``BenchmarkError`` for a zero denominator.

    A zero baseline means the benchmark measured nothing, which must not pass
    for an infinitely good (or bad) result.
    """
    if denominator == 0:
        raise BenchmarkError(f"cannot compare {numerator} against a zero baseline")
    return numerator / denominator


@dataclass(frozen=True)
class Figure:
    """One measured value, its baseline from the same run, and the ratio between them.

    ``ratio_label`` says how to read ``ratio``: ``"× boto3"`` for
    value / baseline, ``"× faster"`` for a speedup (baseline / value).
    ``details`` holds the raw counts behind the figure (JSON-serialisable).
    """

    subject: str
    metric: str
    unit: str
    value: float
    baseline: float
    baseline_label: str
    ratio: float
    ratio_label: str
    note: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    #: A stable name to track the figure from run to run (``memory.submit_rss_mb``).
    id: str = ""


@dataclass(frozen=True)
class BenchmarkResult:
    """The figures of one benchmark, the sizes it ran with, and how long it took to run."""

    name: str
    parameters: Mapping[str, Any]
    figures: Sequence[Figure]
    seconds: float = 0.0


def _number(value: float, unit: str = "") -> str:
    if float(value).is_integer() or abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    elif abs(value) >= 0.01:
        text = f"{value:.3f}".rstrip("0").rstrip(".")
    else:
        text = f"{value:.2g}"
    return f"{text} {unit}".rstrip()


def render_table(results: Sequence[BenchmarkResult], *, quick: bool) -> Table:
    """All figures of all benchmarks, one row each."""
    table = Table(title=f"python -m bench{' --quick' if quick else ''}", show_lines=False, expand=False)
    table.add_column("Benchmark", style="bold")
    table.add_column("Subject")
    table.add_column("Metric")
    table.add_column("Value", justify="right")
    table.add_column("Baseline", justify="right")
    table.add_column("Ratio", justify="right", style="bold")
    table.add_column("Notes", overflow="fold")
    for result in results:
        for index, figure in enumerate(result.figures):
            table.add_row(
                result.name if index == 0 else "",
                figure.subject,
                figure.metric,
                _number(figure.value, figure.unit),
                f"{_number(figure.baseline, figure.unit)}\n[dim]{figure.baseline_label}[/dim]",
                f"{figure.ratio:.2f}{figure.ratio_label}",
                figure.note,
            )
        table.add_section()
    return table


def document(results: Sequence[BenchmarkResult], *, quick: bool) -> dict[str, Any]:
    """The JSON document of one run: environment, then each benchmark's parameters and figures."""
    return {
        "schema_version": SCHEMA_VERSION,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "benchmarks": {
            result.name: {
                "parameters": dict(result.parameters),
                "seconds": round(result.seconds, 3),
                "figures": [dataclasses.asdict(figure) for figure in result.figures],
            }
            for result in results
        },
    }


def write_json(path: Path, content: Mapping[str, Any]) -> None:
    """Write ``content`` as strict JSON (no NaN or infinity: every figure must be a real number)."""
    for benchmark in content.get("benchmarks", {}).values():
        for figure in benchmark["figures"]:
            if not all(math.isfinite(figure[key]) for key in ("value", "baseline", "ratio")):
                raise BenchmarkError(f"{figure['subject']}: {figure['metric']} is not a finite number")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
