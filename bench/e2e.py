"""The local pipeline end to end: events per second and import -> success latency, and where the time went.

The local runtime runs ``template.yaml`` as declared (batching windows,
batch sizes, each function in its own process) on a moto server on
loopback, with TicketFairy's loopback stand-in as the destination.  The
events are imported in this process the way ``event-importer import`` does
(batched), and the run ends when every one is recorded as delivered.

Per event: the cache write (``updated_at``), the time fan-out sent its message
(SQS ``SentTimestamp``), the submit invocation that took it, and the outcome
record (``updated_at``).  Baselines, measured in the same run: the import
alone (how fast events reach the cache: the pipeline cannot beat it) and one
event through the idle pipeline (its batching windows: the latency floor).
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bench.report import BenchmarkError, BenchmarkResult, Figure, ratio
from bench.sandbox import ROOT, sample_events
from infra.aws.stack import load_template
from infra.aws.store import DynamoStore
from infra.local.destination import DraftEventsDestination
from infra.local.fast import fast_template
from infra.local.host import FunctionHost, Invocation
from infra.local.runtime import LocalRuntime, RuntimeOptions
from infra.pipeline.importer import import_events
from integrations.event_data import event_id_for
from integrations.records import SubmissionStatus

NAME: Final = "e2e"
SERVICE: Final = "ticketfairy"
API_KEY: Final = "bench-e2e-key"
EVENTS: Final = 2_000
QUICK_EVENTS: Final = 1_000
#: No cap of the runtime's own on concurrent executions: the template's ScalingConfig decides.
AS_DECLARED: Final = 1_000
#: Give up on a run that has not finished after this long (moto slows down, it does not stop).
TIMEOUT_SECONDS: Final = 600.0
#: The template's batching windows, as measured; the bench's own tests zero them (infra.local.fast):
#: they check what is counted and reported, and would otherwise spend most of their time waiting.
ZERO_WINDOWS = False


@dataclass
class _Timeline:
    """When each event reached each stage (epoch seconds)."""

    cached: dict[str, float]
    sent: dict[str, float]
    invoked: dict[str, float]
    recorded: dict[str, float]


class _SubmitWatch:
    """Records, per event, when SQS received its message and when a submit invocation took it."""

    def __init__(self) -> None:
        self.sent: dict[str, float] = {}
        self.invoked: dict[str, float] = {}
        self.busy_seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    def wrap(self, host: FunctionHost, stage: str, *, submit: bool) -> None:
        invoke = host.invoke

        def watched(event: Mapping[str, Any]) -> Invocation:
            started = time.time()
            if submit:
                self._note(event, started)
            invocation = invoke(event)
            with self._lock:
                self.busy_seconds[stage] = self.busy_seconds.get(stage, 0.0) + time.time() - started
            return invocation

        host.invoke = watched  # type: ignore[method-assign]  # the sources look it up per call

    def _note(self, event: Mapping[str, Any], started: float) -> None:
        with self._lock:
            for record in event.get("Records", []):
                event_id = str(json.loads(record["body"]).get("event_id"))
                if event_id not in self.invoked:
                    self.invoked[event_id] = started
                    self.sent[event_id] = int(record["attributes"]["SentTimestamp"]) / 1000


def _percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _delivered(store: DynamoStore, ids: Sequence[str]) -> dict[str, float]:
    """When each of ``ids`` that is recorded as delivered was: three attributes of each record, by key."""
    model = store.submissions.model
    attributes = [model.event_id.attr_name, model.status.attr_name, model.updated_at.attr_name]
    return {
        item.event_id: item.updated_at.timestamp()
        for item in model.batch_get([(event_id, SERVICE) for event_id in ids], attributes_to_get=attributes)
        if item.status == SubmissionStatus.SUCCESS.value and item.updated_at is not None
    }


def _wait_for(
    store: DynamoStore, destination: DraftEventsDestination, ids: Sequence[str], deadline: float, *, creates: int
) -> dict[str, float]:
    """When each of ``ids`` was recorded as delivered, once all are (and the destination has ``creates`` drafts).

    Watched at the destination (in this process) until it has every create, so
    that watching does not load the moto server being measured; then the
    records are read, each until it is seen delivered.
    """
    done: dict[str, float] = {}
    while True:
        if len(destination.accepted_creates()) >= creates:
            done.update(_delivered(store, [event_id for event_id in ids if event_id not in done]))
            if len(done) == len(ids):
                return done
        if time.monotonic() > deadline:
            raise BenchmarkError(f"not all of {len(ids)} events were delivered in {TIMEOUT_SECONDS:.0f} s")
        time.sleep(0.25)


def _import(store: DynamoStore, events: Sequence[Mapping[str, Any]]) -> list[str]:
    """Import ``events``; their ids."""
    report = import_events(store.events, ((f"item {n}", event) for n, event in enumerate(events, 1)))
    if report.invalid or report.count("created") != len(events):
        raise BenchmarkError(f"import: {len(report.invalid)} invalid, {report.count('created')} created")
    return [event_id_for(str(event["source_url"])) for event in events]


def _cached_at(store: DynamoStore, ids: Sequence[str]) -> dict[str, float]:
    """When each event was written to the cache (the import sets ``updated_at`` on every write).

    Read once the run is over and only the two attributes needed: reading
    whole items while the pipeline runs would load the moto server measured.
    """
    model = store.events.model
    attributes = [model.event_id.attr_name, model.updated_at.attr_name]
    return {
        item.event_id: item.updated_at.timestamp()
        for item in model.batch_get(list(ids), attributes_to_get=attributes)
        if item.updated_at is not None
    }


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU time a process has used so far (Linux ``/proc``; 0 where unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _CpuMeter:
    """CPU seconds per process role between ``start`` and ``stop``: robust to a busy machine, unlike wall time."""

    def __init__(self, roles: Mapping[str, Sequence[int | None]]) -> None:
        self.roles = {role: list(pids) for role, pids in roles.items()}
        self._start: dict[str, float] = {}
        self.used: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        return {role: sum(_cpu_seconds(pid) for pid in pids) for role, pids in self.roles.items()}

    def start(self) -> None:
        self._start = self._now()

    def stop(self) -> None:
        now = self._now()
        self.used = {role: now[role] - self._start.get(role, 0.0) for role in now}


@contextlib.contextmanager
def _moto_process() -> Iterator[tuple[str, int]]:
    """A moto server in a process of its own (``python -m infra.local.server``); its URL.

    In this process it would share one interpreter lock with the import and the
    destination it is measured against, as it does not on a machine running the stack.
    """
    server = subprocess.Popen([sys.executable, "-m", "infra.local.server"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        url = server.stdout.readline().strip() if server.stdout is not None else ""
        if not url.startswith("http://127.0.0.1:"):
            raise BenchmarkError(f"the moto server did not start (it said {url!r})")
        yield url, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


def measure(count: int) -> tuple[dict[str, Any], list[Figure]]:
    """Run ``count`` events (plus one alone first, the latency baseline) through the local runtime."""
    events = sample_events(count + 1)
    with DraftEventsDestination(api_key=API_KEY) as destination, _moto_process() as (endpoint_url, moto_pid):
        # Each queue's submit functions as many at once as its mapping's MaximumConcurrency says.
        options = RuntimeOptions(
            endpoint_url=endpoint_url,
            parameter_overrides={"TicketfairyBaseUrl": destination.base_url},
            max_concurrency=AS_DECLARED,
        )
        if ZERO_WINDOWS:
            options.template = fast_template(load_template())
        with LocalRuntime(options) as runtime:
            runtime.put_secure_parameter("TicketfairyApiKeyParameter", API_KEY)
            runtime.warm()  # every environment warm, as under steady traffic: their CPU is metered from here
            watch = _SubmitWatch()
            for logical_id, hosts in runtime.hosts.items():
                for host in hosts:
                    watch.wrap(
                        host,
                        "submit" if logical_id != "FanoutFunction" else "fanout",
                        submit=logical_id != "FanoutFunction",
                    )
            store = runtime.store()
            deadline = time.monotonic() + TIMEOUT_SECONDS

            # The baseline: one event through the idle pipeline (its batching windows).
            alone = _import(store, events[:1])
            alone_done = _wait_for(store, destination, alone, deadline, creates=1)
            alone_cached = _cached_at(store, alone)
            one_event_latency = statistics.fmean(alone_done[i] - alone_cached[i] for i in alone_cached)

            meter = _CpuMeter(
                {
                    "moto server": [moto_pid],
                    "import and destination (this process)": [os.getpid()],
                    "fan-out": [host.pid for host in runtime.hosts.get("FanoutFunction", [])],
                    "submit": [
                        h.pid for name, hosts in runtime.hosts.items() if name != "FanoutFunction" for h in hosts
                    ],
                }
            )
            meter.start()
            started = time.time()
            ids = _import(store, events[1:])
            import_seconds = time.time() - started
            recorded = _wait_for(store, destination, ids, deadline, creates=1 + count)
            finished = max(recorded.values())
            meter.stop()
            cached = _cached_at(store, ids)
    timeline = _Timeline(cached, watch.sent, watch.invoked, recorded)
    cpu_ms = {f"{role} CPU ms per event": round(seconds / count * 1000, 2) for role, seconds in meter.used.items()}
    return _figures(
        timeline, count, started, finished, import_seconds, one_event_latency, {**watch.busy_seconds, **cpu_ms}
    )


def _figures(
    timeline: _Timeline,
    count: int,
    started: float,
    finished: float,
    import_seconds: float,
    one_event_latency: float,
    busy: Mapping[str, float],
) -> tuple[dict[str, Any], list[Figure]]:
    ids = list(timeline.cached)
    latency = [timeline.recorded[i] - timeline.cached[i] for i in ids]
    stages = {
        "stream and fan-out (cache write -> message sent)": [
            timeline.sent[i] - timeline.cached[i] for i in ids if i in timeline.sent
        ],
        "queue wait (sent -> submit invoked)": [
            timeline.invoked[i] - timeline.sent[i] for i in ids if i in timeline.invoked
        ],
        "submit (invoked -> outcome recorded)": [
            timeline.recorded[i] - timeline.invoked[i] for i in ids if i in timeline.invoked
        ],
    }
    wall = finished - started
    rate = count / wall
    import_rate = count / import_seconds
    p50, p95 = _percentile(latency, 0.50), _percentile(latency, 0.95)
    where = {
        "import_seconds": round(import_seconds, 2),
        "wall_seconds": round(wall, 2),
        **{f"{name} p50": round(_percentile(values, 0.5), 3) for name, values in stages.items()},
        **{f"{name} p95": round(_percentile(values, 0.95), 3) for name, values in stages.items()},
        **{
            (name if "CPU" in name else f"{name} invocations busy seconds"): round(value, 2)
            for name, value in busy.items()
        },
    }
    note = f"{count} events in {wall:.1f} s; import {import_seconds:.1f} s; per event p50: " + ", ".join(
        f"{name.split(' (')[0]} {_percentile(values, 0.5):.2f} s" for name, values in stages.items()
    )
    figures = [
        Figure(
            id="e2e.events_per_second",
            subject=f"local pipeline ({count:,} events)",
            metric="events delivered per second, import -> success",
            unit="events/s",
            value=rate,
            baseline=import_rate,
            baseline_label="the import alone (events cached per second, same run)",
            ratio=ratio(rate, import_rate),
            ratio_label="× import",
            note=note,
            details=where,
        ),
        Figure(
            id="e2e.p50_seconds",
            subject=f"local pipeline ({count:,} events)",
            metric="p50 latency, import -> success",
            unit="s",
            value=p50,
            baseline=one_event_latency,
            baseline_label="one event through the idle pipeline (batching windows)",
            ratio=ratio(p50, one_event_latency),
            ratio_label="× one event",
        ),
        Figure(
            id="e2e.p95_seconds",
            subject=f"local pipeline ({count:,} events)",
            metric="p95 latency, import -> success",
            unit="s",
            value=p95,
            baseline=one_event_latency,
            baseline_label="one event through the idle pipeline (batching windows)",
            ratio=ratio(p95, one_event_latency),
            ratio_label="× one event",
            note=f"p50 {p50:.2f} s, p95 {p95:.2f} s, max {max(latency):.2f} s",
        ),
    ]
    return {"events": count, "where_the_time_went": where}, figures


def run(*, quick: bool = False, events: int | None = None) -> BenchmarkResult:
    """``events`` (default: 2,000, or 1,000 when ``quick``) through the local runtime."""
    count = events or (QUICK_EVENTS if quick else EVENTS)
    parameters, figures = measure(count)
    return BenchmarkResult(NAME, parameters, figures)
