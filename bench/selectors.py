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
from infra.aws.selection import Placeholder, PlaceholderWriter
from infra.aws.store import DynamoStore
from infra.pipeline.importer import prepare
from integrations.event_data import content_hash, event_id_for
from integrations.records import CachedEvent, SubmissionStatus
from integrations.selectors import STANDARD_SELECTORS

NAME: Final = "selectors"
#: Record status per twenty events (None: no record at all): 70% success, 10% failed,
#: 10% pending (half waiting for a retry, half in progress), 10% none.
STATUS_MIX: Final[tuple[SubmissionStatus | None, ...]] = (
    *(SubmissionStatus.SUCCESS,) * 14,
    *(SubmissionStatus.FAILED,) * 2,
    SubmissionStatus.PENDING,
    SubmissionStatus.IN_PROGRESS,
    None,
    None,
)


def _event_id(event: Mapping[str, Any]) -> str:
    return event_id_for(str(event["source_url"]))


def _record(store: DynamoStore, event: CachedEvent, status: SubmissionStatus) -> None:
    """A submission record in ``status``, written the way a submitter writes it: claim, then outcome."""
    claim = store.submissions.claim(
        event.event_id, SERVICE, data_hash=event.data_hash, version=event.version, lease_seconds=60, event=event.data
    )
    if claim.record is None:
        raise BenchmarkError(f"could not claim event {event.event_id}")
    if status is not SubmissionStatus.IN_PROGRESS:
        store.submissions.complete(claim.record, status=status, event=event.data)


def _file_unsubmitted(store: DynamoStore, cached: list[CachedEvent]) -> None:
    """What fan-out does for each change: its ``unsubmitted`` placeholder in the selection index."""
    connection = store.submissions.model._get_connection()
    writer = PlaceholderWriter(connection.connection.client, connection.table_name, [SERVICE])  # type: ignore[arg-type]
    errors = writer.write(Placeholder(e.event_id, e.data, e.data_hash, e.version, e.incarnation) for e in cached)
    if errors:
        raise BenchmarkError(f"could not file {len(errors)} events as unsubmitted: {next(iter(errors.values()))}")


#: Cache sizes measured, in order: read amplification must not grow with the cache.
SIZES: tuple[int, ...] = (1_000, 10_000)
#: Selectors whose figures are tracked by id (``all`` reads everything by definition; ``by-url`` is a key).
TRACKED: Final = ("unsubmitted", "failed", "pending")


def _cache(store: DynamoStore, events: list[dict[str, Any]]) -> list[CachedEvent]:
    """Cache ``events`` as items an import writes, validating each distinct sample once (10,000 parses take minutes).

    Written in batches: how the items got there does not change what a selector reads, and
    one call per item would make this benchmark's set-up most of ``make bench``'s time.
    """
    now = store.events.clock()
    prepared: dict[str, Any] = {}
    cached = []
    model = store.events.model
    with model.batch_write() as batch:
        for event in events:
            template_url = str(event["source_url"]).rsplit("/bench-", 1)[0]
            if template_url not in prepared:
                prepared[template_url] = prepare(event, now=now)
            data = {**prepared[template_url].data, "source_url": event["source_url"]}
            item = model(
                _event_id(event),
                data=data,
                data_hash=content_hash(data),
                source_url=str(event["source_url"]),
                first_imported_at=now,
                updated_at=now,
                version=1,
            )
            batch.save(item)
            cached.append(CachedEvent(item.event_id, data, item.data_hash, 1, now, now))
    return cached


def _delivered(store: DynamoStore, cached: list[CachedEvent]) -> None:
    """Delivered records, in the shape claim and outcome leave them (out of the selection index), in batches."""
    now = store.submissions.clock()
    model = store.submissions.model
    with model.batch_write() as batch:
        for event in cached:
            batch.save(
                model(
                    event.event_id,
                    SERVICE,
                    status=SubmissionStatus.SUCCESS.value,
                    data_hash=event.data_hash,
                    submitted_hash=event.data_hash,
                    version=event.version,
                    incarnation=event.incarnation,
                    remote_id=f"remote-{event.event_id}",
                    attempts=1,
                    change="created",
                    created_at=now,
                    updated_at=now,
                    revision=2,
                )
            )


def run(*, quick: bool = False) -> BenchmarkResult:
    """Items read per selected event, for every standard selector, at each cache size of ``SIZES``."""
    calls = AwsCallLog()
    figures = []
    with sandbox(calls=calls) as stack:
        store = stack.store
        events = sample_events(max(SIZES))
        store.build_index(SERVICE)  # on empty tables, as after the first deploy: from then on fan-out fills it
        done = 0
        for size in SIZES:
            cached = _cache(store, events[done:size])
            by_status: dict[SubmissionStatus | None, list[CachedEvent]] = {}
            for number, event in enumerate(cached, start=done):
                by_status.setdefault(STATUS_MIX[number % len(STATUS_MIX)], []).append(event)
            # Fan-out files every change as unsubmitted; a record replaces that, so only the
            # events left without one need it here.
            _file_unsubmitted(store, by_status.pop(None, []))
            _delivered(store, by_status.pop(SubmissionStatus.SUCCESS, []))
            for status, chosen in by_status.items():
                for event in chosen:
                    _record(store, event, status)  # type: ignore[arg-type]  # None was popped
            done = size
            figures += _measure(store, calls, size, events[0]["source_url"])
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
