"""Importing events into the cache: validate, hash, write only what changed.

Batched: the current hashes of 100 events are read in one ``BatchGetItem``,
then the changed ones are written with conditional ``PutItem`` calls, several
at once.

A write to the cache is what triggers delivery, so an unchanged re-import
must write nothing at all.  One bad event never stops an import: anything
that cannot be read, validated or stored is reported against its line or
item, and the rest is still imported.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any

from pynamodb.exceptions import PynamoDBException

from infra.aws.store import ConcurrentWriteError, DynamoEventRepository, ImportOutcome
from integrations.errors import InvalidEventError
from integrations.event_data import event_id_for, parse_event_with_notes

CHUNK = 100  # one BatchGetItem of current hashes per chunk
#: Conditional writes in flight at once: each is a round trip of its own (DynamoDB has no
#: conditional batch write), so they overlap instead of queueing one behind another.
WRITE_CONCURRENCY = 8
#: Largest event accepted, as serialised JSON.  A DynamoDB item is at most 400 KB, and the
#: cache item carries more than the event (keys, hash, times): this leaves room for them.
MAX_EVENT_BYTES = 350_000
# What reading one line or item can raise besides a clean JSON error: nesting deeper than the
# parser's recursion limit, and numbers too long to convert.
_DECODE_ERRORS = (ValueError, RecursionError)


@dataclass(frozen=True)
class InvalidItem:
    """An input item that could not be imported, and why."""

    label: str  # "item 3" or "line 7"
    problems: list[str]

    def __str__(self) -> str:
        return f"{self.label}: " + "; ".join(self.problems)


@dataclass(frozen=True)
class ImportNote:
    """Something the import changed in an item and why (e.g. a source time zone that is not one)."""

    label: str
    event_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.label}: {self.message}"


@dataclass
class ImportReport:
    """What an import did, item by item."""

    outcomes: list[ImportOutcome] = field(default_factory=list)
    invalid: list[InvalidItem] = field(default_factory=list)
    notes: list[ImportNote] = field(default_factory=list)

    def count(self, change: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.change == change)


@dataclass(frozen=True)
class _Prepared:
    label: str
    event_id: str
    data: dict[str, Any]
    data_hash: str
    source_url: str
    notes: tuple[str, ...] = ()


def prepare(raw: Mapping[str, Any], *, now: dt.datetime, label: str = "event") -> _Prepared:
    """Validate and enrich one raw event (its time zone) and derive its id and hash.

    Raises ``InvalidEventError`` naming each bad field.
    """
    parsed = parse_event_with_notes(raw)
    event = parsed.event
    source_url = event.source_url
    if not source_url:
        raise InvalidEventError(["source_url: required: the event id is derived from it"])
    if event.imported_at is None:
        event = event.model_copy(update={"imported_at": now})
    data = event.model_dump(mode="json")
    size = len(json.dumps(data, ensure_ascii=False).encode())
    if size > MAX_EVENT_BYTES:
        raise InvalidEventError([f"event: {size:,} bytes as JSON; the limit is {MAX_EVENT_BYTES:,} bytes"])
    return _Prepared(
        label=label,
        event_id=event_id_for(source_url),
        data=data,
        data_hash=event.content_hash(),
        source_url=source_url,
        notes=parsed.notes,
    )


def import_events(
    repository: DynamoEventRepository, items: Iterable[tuple[str, Mapping[str, Any] | InvalidItem]]
) -> ImportReport:
    """Import labelled raw items; invalid ones are reported, the rest still imported."""
    report = ImportReport()
    batch: list[_Prepared] = []
    for label, raw in items:
        if isinstance(raw, InvalidItem):
            report.invalid.append(raw)
            continue
        try:
            prepared = prepare(raw, now=repository.clock(), label=label)
        except InvalidEventError as exc:
            report.invalid.append(InvalidItem(label, exc.problems))
            continue
        except RecursionError:
            report.invalid.append(InvalidItem(label, ["event: nested too deeply to read"]))
            continue
        batch.append(prepared)
        report.notes.extend(ImportNote(label, prepared.event_id, note) for note in prepared.notes)
        if len(batch) >= CHUNK:
            report.outcomes.extend(_write(repository, batch, report.invalid))
            batch = []
    report.outcomes.extend(_write(repository, batch, report.invalid))
    return report


def enrich_events(repository: DynamoEventRepository, *, only_missing_zone: bool = True) -> ImportReport:
    """Re-run the import's enrichment on cached events: the backfill for events cached without a zone.

    Each event is parsed again exactly as an import would (so ``time.timezone``
    is resolved) and written only if that changed its content, under the same
    version check as an import; a written event is delivered again as an
    update.  ``only_missing_zone`` skips events that already have a zone.
    """

    def needs_enrichment(data: Mapping[str, Any]) -> bool:
        times = data.get("time")
        return not only_missing_zone or not (isinstance(times, Mapping) and times.get("timezone"))

    items = ((f"event {cached.event_id}", cached.data) for cached in repository.scan() if needs_enrichment(cached.data))
    return import_events(repository, items)


def _write(
    repository: DynamoEventRepository, batch: list[_Prepared], rejected: list[InvalidItem]
) -> list[ImportOutcome]:
    if not batch:
        return []
    # The same source twice in one batch: the last one wins, as it would sequentially.
    latest = {prepared.event_id: prepared for prepared in batch}
    known = repository.known(latest)

    def write(p: _Prepared) -> ImportOutcome | InvalidItem:
        try:
            return repository.put_if_changed(
                p.event_id, p.data, p.data_hash, source_url=p.source_url, known=known.get(p.event_id)
            )
        except ConcurrentWriteError as exc:
            # Never overwrite a change we did not see; the caller reports it and can import again.
            return InvalidItem(p.label, [f"{exc}; import it again"])
        except PynamoDBException as exc:
            # One item DynamoDB refuses (too large, invalid) must not cost every later event its write.
            return InvalidItem(p.label, [f"could not be stored: {exc.cause_response_message or exc.msg}"])

    with ThreadPoolExecutor(max_workers=min(WRITE_CONCURRENCY, len(latest))) as pool:
        results = list(pool.map(write, latest.values()))
    rejected.extend(result for result in results if isinstance(result, InvalidItem))
    return [result for result in results if isinstance(result, ImportOutcome)]


def read_items(stream: IO[bytes] | IO[str]) -> Iterator[tuple[str, Mapping[str, Any] | InvalidItem]]:
    """Labelled items from a JSON array or JSON-lines document (bytes are read as UTF-8).

    Each item is a dict or an ``InvalidItem`` saying which line or item is
    broken and why (bad JSON, bad UTF-8, not an object), so one bad line
    never stops the rest.
    """
    raw = stream.read()
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
    if data.lstrip().startswith(b"["):
        yield from _array_items(data)
        return
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        label = f"line {number}"
        try:
            item = json.loads(line.decode("utf-8"))
        except UnicodeDecodeError as exc:
            yield (
                label,
                InvalidItem(label, [f"not valid UTF-8: byte 0x{line[exc.start]:02x} at column {exc.start + 1}"]),
            )
            continue
        except json.JSONDecodeError as exc:
            yield label, InvalidItem(label, [f"not valid JSON at column {exc.colno}: {exc.msg}"])
            continue
        except _DECODE_ERRORS as exc:
            yield label, InvalidItem(label, [_decode_problem(exc)])
            continue
        yield _labelled(label, item)


def _decode_problem(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "not readable: JSON nested too deeply"
    return f"not readable: {exc}"


def _array_items(data: bytes) -> Iterator[tuple[str, Mapping[str, Any] | InvalidItem]]:
    try:
        items = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        yield "file", InvalidItem("file", [f"not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}"])
        return
    except json.JSONDecodeError as exc:
        yield "file", InvalidItem("file", [f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"])
        return
    except _DECODE_ERRORS as exc:
        yield "file", InvalidItem("file", [_decode_problem(exc)])
        return
    for index, item in enumerate(items, start=1):
        yield _labelled(f"item {index}", item)


def _labelled(label: str, item: object) -> tuple[str, Mapping[str, Any] | InvalidItem]:
    if not isinstance(item, Mapping):
        return label, InvalidItem(label, [f"expected a JSON object, got {type(item).__name__}"])
    return label, item
