"""Read amplification of the standard selectors: items DynamoDB reads per event selected.

A table of N cached events carries submission records in a fixed mix of
statuses.  Each standard selector runs against it while every item a Scan,
Query, GetItem or BatchGetItem returns is counted (index entries included,
with ``ScannedCount`` for scans and queries: what DynamoDB reads, not what a
filter lets through).  The ideal is one item read per event selected; each is
measured at 1,000 and at 10,000 cached events, and compared with a full
scan of the cache in the same run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from bench.report import BenchmarkError, BenchmarkResult, Figure, ratio
from bench.sandbox import SERVICE, AwsCallLog, sample_events, sandbox
from infra.aws.store import DynamoStore
from infra.pipeline.importer import prepare
from integrations.event_data import content_hash, event_id_for
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


#: Cache sizes measured, in order: read amplification must not grow with the cache.
SIZES: tuple[int, ...] = (1_000, 10_000)
#: Selectors whose figures are tracked by id (``all`` reads everything by definition; ``by-url`` is a key).
TRACKED: Final = ("unsubmitted", "failed", "pending")


def _cache(store: DynamoStore, events: list[dict[str, Any]]) -> list[CachedEvent]:
    """Cache ``events`` as an import would, validating each distinct sample once (10,000 parses take minutes)."""
    now = store.events.clock()
    prepared: dict[str, Any] = {}
    cached = []
    for event in events:
        template_url = str(event["source_url"]).rsplit("/bench-", 1)[0]
        if template_url not in prepared:
            prepared[template_url] = prepare(event, now=now)
        data = {**prepared[template_url].data, "source_url": event["source_url"]}
        outcome = store.events.put_if_changed(
            _event_id(event), data, content_hash(data), source_url=str(event["source_url"]), known=None
        )
        cached.append(CachedEvent(outcome.event_id, data, outcome.data_hash, outcome.version))
    return cached


def run(*, quick: bool = False) -> BenchmarkResult:
    """Items read per selected event, for every standard selector, at each cache size of ``SIZES``."""
    calls = AwsCallLog()
    figures = []
    with sandbox(calls=calls) as stack:
        events = sample_events(max(SIZES))
        done = 0
        for size in SIZES:
            new = events[done:size]
            cached = _cache(stack.store, new)
            for number, event in enumerate(cached, start=done):
                status = STATUS_MIX[number % len(STATUS_MIX)]
                if status is not None:
                    _record(stack.store, event, status)
            done = size
            figures += _measure(stack.store, calls, size, events[0]["source_url"])
    mix = {status.value if status else "none": STATUS_MIX.count(status) / len(STATUS_MIX) for status in STATUS_MIX}
    return BenchmarkResult(NAME, {"events": list(SIZES), "status_mix": mix}, figures)


def _measure(store: DynamoStore, calls: AwsCallLog, size: int, url: str) -> list[Figure]:
    with calls.recording(f"full scan {size}") as scan:
        scanned = sum(1 for _ in store.events.scan())
    if scanned != size:
        raise BenchmarkError(f"the full scan found {scanned} of {size} events")
    full_scan_items = scan.items_read
    parameters: dict[str, dict[str, Any]] = {"by-url": {"url": url}}
    figures = []
    for name, selector_class in STANDARD_SELECTORS.items():
        selector = selector_class(**parameters.get(name, {}))
        with calls.recording(f"selector {name} {size}") as stage:
            selected = sum(1 for _ in selector.select_events(store, SERVICE))
        if name == "all":
            continue  # it is the full scan: a ratio of 1 by construction says nothing
        # A selector that selects nothing still read what it read: count it per one event.
        value = stage.items_read / max(1, selected)
        naive = full_scan_items / max(1, selected)
        figures.append(
            Figure(
                id=f"selector.{name}.reads_per_selected.{size}" if name in TRACKED else "",
                subject=f"{name} ({size:,} cached)",
                metric="items read per event selected",
                unit="",
                value=value,
                baseline=naive,
                baseline_label="naive: a full scan of the cache, filtered",
                ratio=ratio(value, naive),
                ratio_label="× naive",
                note=(
                    f"selected {selected}, read {stage.items_read} "
                    f"({', '.join(f'{op} {n}' for op, n in sorted(stage.items.items()))}) = "
                    f"{ratio(stage.items_read, full_scan_items):.3g}× a full scan of {full_scan_items}"
                ),
                details={
                    "cached_events": size,
                    "selected": selected,
                    "items_read": stage.items_read,
                    "full_scan_items": full_scan_items,
                    "ratio_to_full_scan": ratio(stage.items_read, full_scan_items),
                    **stage.as_details(),
                },
            )
        )
    return figures
