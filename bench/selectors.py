"""Read amplification of the standard selectors: items DynamoDB reads per event selected.

A table of N cached events carries submission records in a fixed mix of
statuses.  Each standard selector runs against it while every item a Scan,
Query, GetItem or BatchGetItem returns is counted (index entries included,
with ``ScannedCount`` for scans and queries: what DynamoDB reads, not what a
filter lets through).  The ideal is one item read per event selected; the
baseline of the same run is a full scan of the event cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from bench.report import BenchmarkError, BenchmarkResult, Figure, ratio
from bench.sandbox import SERVICE, AwsCallLog, sample_events, sandbox
from infra.aws.store import DynamoStore
from integrations.event_data import event_id_for
from integrations.records import CachedEvent, SubmissionStatus
from integrations.selectors import STANDARD_SELECTORS

NAME: Final = "selectors"
#: Record status per ten events (None: no record at all): 70% success, 10% failed, 10% pending, 10% none.
STATUS_MIX: Final[tuple[SubmissionStatus | None, ...]] = (
    *(SubmissionStatus.SUCCESS,) * 7,
    SubmissionStatus.FAILED,
    SubmissionStatus.PENDING,
    None,
)
IDEAL_ITEMS_PER_EVENT: Final = 1.0


def _event_id(event: Mapping[str, Any]) -> str:
    return event_id_for(str(event["source_url"]))


def _record(store: DynamoStore, event: CachedEvent, status: SubmissionStatus) -> None:
    """A submission record in ``status``, written the way a submitter writes it: claim, then outcome."""
    claim = store.submissions.claim(
        event.event_id, SERVICE, data_hash=event.data_hash, version=event.version, lease_seconds=60
    )
    if claim.record is None:
        raise BenchmarkError(f"could not claim event {event.event_id}")
    store.submissions.complete(claim.record, status=status)


def run(*, quick: bool = False) -> BenchmarkResult:
    """Items read per selected event, for every standard selector."""
    count = 50 if quick else 500
    calls = AwsCallLog()
    with sandbox(calls=calls) as stack:
        events = sample_events(count)
        stack.import_events(events)
        cached = {event.event_id: event for event in stack.store.events.get_many(map(_event_id, events))}
        for number, event in enumerate(events):
            status = STATUS_MIX[number % len(STATUS_MIX)]
            if status is not None:
                _record(stack.store, cached[_event_id(event)], status)

        with calls.recording("full scan") as scan:
            scanned = sum(1 for _ in stack.store.events.scan())
        if scanned != count:
            raise BenchmarkError(f"the full scan found {scanned} of {count} events")
        full_scan_items = scan.items_read

        parameters: dict[str, dict[str, Any]] = {"by-url": {"url": events[0]["source_url"]}}
        figures = []
        for name, selector_class in STANDARD_SELECTORS.items():
            selector = selector_class(**parameters.get(name, {}))
            with calls.recording(f"selector {name}") as stage:
                selected = sum(1 for _ in selector.select_events(stack.store, SERVICE))
            # A selector that selects nothing still read what it read: count it per one event.
            value = stage.items_read / max(1, selected)
            figures.append(
                Figure(
                    subject=name,
                    metric="items read per event selected",
                    unit="",
                    value=value,
                    baseline=IDEAL_ITEMS_PER_EVENT,
                    baseline_label="ideal: one read per event",
                    ratio=ratio(value, IDEAL_ITEMS_PER_EVENT),
                    ratio_label="× ideal",
                    note=(
                        f"selected {selected}, read {stage.items_read} "
                        f"({', '.join(f'{op} {n}' for op, n in sorted(stage.items.items()))}) = "
                        f"{ratio(stage.items_read, full_scan_items):.3g}× a full scan of {full_scan_items}"
                    ),
                    details={
                        "selected": selected,
                        "items_read": stage.items_read,
                        "full_scan_items": full_scan_items,
                        "ratio_to_full_scan": ratio(stage.items_read, full_scan_items),
                        **stage.as_details(),
                    },
                )
            )
    mix = {status.value if status else "none": STATUS_MIX.count(status) / len(STATUS_MIX) for status in STATUS_MIX}
    return BenchmarkResult(NAME, {"events": count, "status_mix": mix}, figures)
