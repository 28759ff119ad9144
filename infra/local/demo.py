"""The demo: the shipped sample events through the whole pipeline on the local runtime.

A loopback destination answers like TicketFairy's draft-events endpoint, a
loopback receiver verifies every webhook's signature and, with ``with_caldav``,
a real CalDAV server (Radicale) on loopback holds the calendar integration's
calendar; the sample file is imported through the same
import operation the CLI uses; the demo waits until every queue is drained and
summarises the submission records, and what each destination now holds.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.session

from infra.aws.settings import OperationsSettings
from infra.aws.store import DynamoStore
from infra.local import SAMPLE_EVENTS
from infra.local.caldav import PASSWORD_PARAMETER, RadicaleServer
from infra.local.destination import DraftEventsDestination
from infra.local.runtime import LocalRuntime, RuntimeOptions
from infra.local.state import recorded
from infra.local.webhook_receiver import WebhookReceiver
from infra.operations import Operations
from infra.pipeline.importer import read_items
from infra.runtime.operations import build_operations
from integrations.env import load_env_model
from integrations.records import SubmissionStatus

DEMO_API_KEY = "demo-ticketfairy-key"  # a local stand-in; never a real key
API_KEY_PARAMETER = "TicketfairyApiKeyParameter"
OPERATIONS_FUNCTION = "ReplayFunction"
#: The loopback receiver's signing secret (Standard Webhooks' whsec_ + base64); never a real one.
DEMO_WEBHOOK_SECRET = "whsec_ZGVtby13ZWJob29rLXNpZ25pbmctc2VjcmV0LTMyYnk="  # noqa: S105 - a local stand-in's
WEBHOOK_SECRET_PARAMETER = "WebhookSecretParameter"  # noqa: S105 - a template parameter's name
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
    #: Messages the webhook receiver accepted (each signature verified), and any whose signature did not verify.
    webhook_messages: int = 0
    webhook_invalid_signatures: int = 0
    #: Events the calendar shows, read back through CalDAV (``None``: no calendar in this run).
    calendar_events: int | None = None
    latency_ms: dict[str, float] = field(default_factory=dict)
    #: Change gating, shown: one event gets a new thumbnail; integration -> what its record says.
    change_gating: dict[str, str] = field(default_factory=dict)
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
            "webhook_messages": self.webhook_messages,
            "webhook_invalid_signatures": self.webhook_invalid_signatures,
            "calendar_events": self.calendar_events,
            "latency_ms": self.latency_ms,
            "change_gating": self.change_gating,
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
        receiver = running.enter_context(WebhookReceiver([DEMO_WEBHOOK_SECRET]))
        parameters = {"TicketfairyBaseUrl": destination.base_url, "WebhookUrl": receiver.url}
        calendar = None
        if with_caldav:
            calendar = running.enter_context(RadicaleServer(username=DEMO_CALDAV_USER, password=DEMO_CALDAV_PASSWORD))
            parameters.update(calendar.template_parameters())
        runtime = running.enter_context(LocalRuntime(RuntimeOptions(parameter_overrides=parameters, verbose=verbose)))
        # Recorded while it runs: other commands (event-importer status ...) find it with no set-up.
        running.enter_context(recorded(runtime.state(destination_url=destination.base_url)))
        runtime.put_secure_parameter(API_KEY_PARAMETER, DEMO_API_KEY)
        runtime.put_secure_parameter(WEBHOOK_SECRET_PARAMETER, DEMO_WEBHOOK_SECRET)
        if calendar is not None:
            runtime.put_secure_parameter(PASSWORD_PARAMETER, DEMO_CALDAV_PASSWORD)
        store = runtime.store()
        # Imports and counts go through the operations layer, as every operator's command does.
        operations = build_operations(
            load_env_model(OperationsSettings, runtime.environment(OPERATIONS_FUNCTION)),
            session=botocore.session.Session(),
        )

        with sample_file.open("rb") as stream:
            items = list(read_items(stream))
        summary.events_in_file = len(items)
        report = operations.import_items(items)
        summary.invalid = [{"item": item.label, "errors": item.problems} for item in report.invalid]
        summary.valid_events = len(set(report.event_ids))

        # The integrations this stack delivers to (an optional one may be left out).
        services = runtime.integrations()
        _wait_for_records(operations, summary.valid_events * len(services), progress, started + timeout)
        summary.drained = runtime.wait_until_drained(timeout=max(1.0, started + timeout - time.monotonic()))
        summary.records_by_status = _counts(operations)
        summary.latency_ms = _latency(store, services)
        summary.destination_creates = len(destination.accepted_creates())
        summary.change_gating = _show_change_gating(operations, store, services, started + timeout)
        summary.webhook_messages = receiver.counts().get("accepted", 0)
        summary.webhook_invalid_signatures = receiver.counts().get("invalid", 0)
        if calendar is not None:
            summary.calendar_events = len(calendar.events())
    summary.seconds = time.monotonic() - started
    return summary


def _counts(operations: Operations) -> dict[str, dict[str, int]]:
    """Records by status (those there are), per integration."""
    return {
        item.integration: {status: count for status, count in sorted(item.counts.items()) if count}
        for item in operations.status().integrations
    }


def _wait_for_records(operations: Operations, total: int, progress: Progress | None, deadline: float) -> None:
    while time.monotonic() < deadline:
        done = sum(counts.get(status.value, 0) for counts in _counts(operations).values() for status in TERMINAL)
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


def _show_change_gating(
    operations: Operations, store: DynamoStore, services: list[str], deadline: float
) -> dict[str, str]:
    """Give one delivered event a new thumbnail and report what each integration's record says.

    TicketFairy sends the full image (the thumbnail only without one), so its
    record says ``skipped``; the webhook sends the whole event, so it sends it.
    """
    event = next(
        (e for e in store.events.scan() if (e.data.get("images") or {}).get("full") and e.data.get("title")), None
    )
    if event is None:
        return {}
    images = {**event.data["images"], "thumbnail": "https://images.example.com/demo-new-thumbnail.jpg"}
    (event_id,) = operations.import_items([("change gating", {**event.data, "images": images})]).event_ids
    changed = store.events.get(event_id)
    if changed is None:
        return {}
    found: dict[str, str] = {}
    while time.monotonic() < deadline and len(found) < len(services):
        for service in services:
            record = store.submissions.get(changed.event_id, service)
            done = record is not None and record.data_hash == changed.data_hash
            if done and record is not None and record.status in (*TERMINAL, SubmissionStatus.SKIPPED):
                detail = record.response_summary if record.status is SubmissionStatus.SKIPPED else None
                found[service] = record.status.value + (f": {detail}" if detail else "")
        time.sleep(0.25)
    return found
