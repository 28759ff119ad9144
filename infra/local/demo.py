"""The demo: the shipped sample events through the whole pipeline on the local runtime.

A loopback destination answers like TicketFairy's draft-events endpoint and,
with ``with_caldav``, a real CalDAV server (Radicale) on loopback holds the
calendar integration's calendar; the sample file is imported through the same
import operation the CLI uses; the demo waits until every queue is drained and
summarises the submission records, and what each destination now holds.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.aws.store import DynamoStore
from infra.local import SAMPLE_EVENTS
from infra.local.caldav import PASSWORD_PARAMETER, RadicaleServer
from infra.local.destination import DraftEventsDestination
from infra.local.runtime import LocalRuntime, RuntimeOptions
from infra.pipeline.importer import import_events, read_items
from integrations.records import SubmissionStatus

DEMO_API_KEY = "demo-ticketfairy-key"  # a local stand-in; never a real key
API_KEY_PARAMETER = "TicketfairyApiKeyParameter"
DEMO_CALDAV_USER = "demo"
DEMO_CALDAV_PASSWORD = "demo-caldav-password"  # noqa: S105 - the local Radicale's, never a real one
TERMINAL = (SubmissionStatus.SUCCESS, SubmissionStatus.FAILED)

Progress = Callable[[int, int], None]


@dataclass
class DemoSummary:
    """What the demo did, printable as a table or as one JSON object."""

    events_in_file: int = 0
    valid_events: int = 0
    invalid: list[dict[str, Any]] = field(default_factory=list)
    records_by_status: dict[str, dict[str, int]] = field(default_factory=dict)
    destination_creates: int = 0
    #: Events the calendar shows, read back through CalDAV (``None``: no calendar in this run).
    calendar_events: int | None = None
    latency_ms: dict[str, float] = field(default_factory=dict)
    drained: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Every valid event was submitted to every integration, and every queue drained."""
        return self.drained and all(
            counts.get(SubmissionStatus.SUCCESS.value, 0) == self.valid_events
            for counts in self.records_by_status.values()
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events_in_file": self.events_in_file,
            "valid_events": self.valid_events,
            "invalid_events": self.invalid,
            "records_by_status": self.records_by_status,
            "destination_creates": self.destination_creates,
            "calendar_events": self.calendar_events,
            "latency_ms": self.latency_ms,
            "drained": self.drained,
            "seconds": round(self.seconds, 2),
        }


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (nearest rank) of ``values``."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def run_demo(
    sample_file: Path = SAMPLE_EVENTS,
    *,
    verbose: bool = False,
    progress: Progress | None = None,
    timeout: float = 300.0,
    with_caldav: bool = False,
) -> DemoSummary:
    """Run the pipeline on ``sample_file`` and return the summary; ``with_caldav`` adds the calendar."""
    started = time.monotonic()
    summary = DemoSummary()
    with contextlib.ExitStack() as running:
        destination = running.enter_context(DraftEventsDestination(api_key=DEMO_API_KEY))
        overrides = {"TicketfairyBaseUrl": destination.base_url}
        calendar = None
        if with_caldav:
            calendar = running.enter_context(RadicaleServer(username=DEMO_CALDAV_USER, password=DEMO_CALDAV_PASSWORD))
            overrides.update(calendar.template_parameters())
        runtime = running.enter_context(LocalRuntime(RuntimeOptions(parameter_overrides=overrides, verbose=verbose)))
        runtime.put_secure_parameter(API_KEY_PARAMETER, DEMO_API_KEY)
        if calendar is not None:
            runtime.put_secure_parameter(PASSWORD_PARAMETER, DEMO_CALDAV_PASSWORD)
        store = runtime.store()

        with sample_file.open("rb") as stream:
            items = list(read_items(stream))
        summary.events_in_file = len(items)
        report = import_events(store.events, items)
        summary.invalid = [{"item": item.label, "errors": item.problems} for item in report.invalid]
        summary.valid_events = len({outcome.event_id for outcome in report.outcomes})

        # The integrations this stack delivers to (an optional one may be left out).
        services = runtime.integrations()
        _wait_for_records(store, services, summary.valid_events, progress, started + timeout)
        summary.drained = runtime.wait_until_drained(timeout=max(1.0, started + timeout - time.monotonic()))
        summary.records_by_status = {service: _count(store, service) for service in services}
        summary.latency_ms = _latency(store, services)
        summary.destination_creates = len(destination.accepted_creates())
        if calendar is not None:
            summary.calendar_events = len(calendar.events())
    summary.seconds = time.monotonic() - started
    return summary


def _count(store: DynamoStore, service: str) -> dict[str, int]:
    counts = Counter(record.status.value for record in store.submissions.records(service))
    return dict(sorted(counts.items()))


def _wait_for_records(
    store: DynamoStore, services: list[str], valid: int, progress: Progress | None, deadline: float
) -> None:
    total = valid * len(services)
    while time.monotonic() < deadline:
        done = sum(
            1 for service in services for status in TERMINAL for _ in store.submissions.event_ids(service, status)
        )
        if progress:
            progress(min(done, total), total)
        if done >= total:
            return
        time.sleep(0.25)


def _latency(store: DynamoStore, services: list[str]) -> dict[str, float]:
    """Import-to-submission latency: the cache write to the success record, per (event, integration)."""
    samples: list[float] = []
    for service in services:
        records = list(store.submissions.records(service, SubmissionStatus.SUCCESS))
        written = {event.event_id: event.updated_at for event in store.events.get_many(r.event_id for r in records)}
        for record in records:
            cached_at = written.get(record.event_id)
            if cached_at and record.updated_at:
                samples.append((record.updated_at - cached_at).total_seconds() * 1000)
    if not samples:
        return {}
    return {
        "p50": round(statistics.median(samples), 1),
        "p95": round(percentile(samples, 0.95), 1),
        "max": round(max(samples), 1),
    }
