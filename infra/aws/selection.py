"""The sparse selection index of the Submissions table, and fan-out's placeholders in it.

Selectors must read what they return, never scan the cache.  An item of the
Submissions table is in the ``by_service_selection`` index only while it has
a ``selection`` attribute, ``<state>#<event_id>``, and it carries the event
(data, hash, version), so one index entry is one selected event:

* ``unsubmitted#…``  a *placeholder*: fan-out writes one per cached event per
  deployed integration before any record exists (conditional on no
  ``revision``, so it never overwrites a real record) and deletes it when the
  event is removed.  The submitter's claim replaces it.
* ``pending#…``      a claim in progress, or a retry waiting (``in_progress``, ``pending``);
* ``failed#…``       a failed delivery.

A delivered (or skipped) record has no ``selection``: it leaves the index.
Stacks that held events before the index existed fill it once with
``event-importer index build NAME`` (``Operations.build_index``), which writes
the ``built`` marker the selectors check for.

This module needs boto3 only: fan-out (which does not load pynamodb) writes
through it; ``infra.aws.store`` does everything else.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from integrations.records import Selection, SubmissionStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SELECTION_INDEX: Final = "by_service_selection"
#: The marker item (event id, per service) that says the index was filled for a service.
MARKER_EVENT_ID: Final = "#selection-index"
#: pynamodb's UTCDateTimeAttribute format, so the store reads what fan-out wrote.
DATETIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%S.%f%z"
#: Concurrent placeholder writes per fan-out batch (one conditional PutItem each). A shard's
#: batches run one after another and every event waits for its batch's placeholders (a full
#: batch with three integrations holds 300), so they go out wide: with 8 at once, the local
#: benchmark's fan-out fell 10 s behind a 2,000-event import.
WRITE_CONCURRENCY: Final = 20


_BY_STATUS: Final = {
    SubmissionStatus.PENDING: Selection.PENDING,
    SubmissionStatus.IN_PROGRESS: Selection.PENDING,
    SubmissionStatus.FAILED: Selection.FAILED,
}


def selection_key(state: Selection, event_id: str) -> str:
    return f"{state.value}#{event_id}"


def selection_for(status: SubmissionStatus, event_id: str) -> str | None:
    """The index key of a record in ``status`` (``None``: not selectable, out of the index)."""
    state = _BY_STATUS.get(status)
    return None if state is None else selection_key(state, event_id)


def format_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime(DATETIME_FORMAT)


@dataclass(frozen=True)
class Placeholder:
    """One event version, to be selectable as ``unsubmitted`` for every integration that has no record of it."""

    event_id: str
    data: Mapping[str, Any] | None  # None: the event was removed
    data_hash: str = ""
    version: int = 1
    incarnation: dt.datetime | None = None
    updated_at: dt.datetime | None = None


class PlaceholderWriter:
    """Writes (or, for removed events, deletes) fan-out's placeholders, concurrently, never over a record."""

    def __init__(self, client: DynamoDBClient, table_name: str, services: Iterable[str]) -> None:
        self.client = client
        self._table = table_name
        self.services = sorted(services)

    def write(self, placeholders: Iterable[Placeholder]) -> dict[str, str]:
        """Apply each placeholder for every service; returns ``{event_id: error}`` for those that failed."""
        # The last change of an event in a batch is the one that stands: writing two concurrently could reorder them.
        latest = {placeholder.event_id: placeholder for placeholder in placeholders}
        jobs = [(placeholder, service) for placeholder in latest.values() for service in self.services]
        if not jobs:
            return {}
        failed: dict[str, str] = {}
        with ThreadPoolExecutor(max_workers=min(WRITE_CONCURRENCY, len(jobs))) as pool:
            for (placeholder, _), error in zip(jobs, pool.map(lambda job: self._apply(*job), jobs), strict=True):
                if error is not None:
                    failed[placeholder.event_id] = error
        return failed

    def _apply(self, placeholder: Placeholder, service: str) -> str | None:
        key = {"event_id": {"S": placeholder.event_id}, "service": {"S": service}}
        # A real record (it has a revision) is never touched: the claim owns it from then on.
        condition = "attribute_not_exists(revision)"
        try:
            if placeholder.data is None:
                self.client.delete_item(TableName=self._table, Key=key, ConditionExpression=condition)
            else:
                self.client.put_item(
                    TableName=self._table, Item={**key, **_placeholder_item(placeholder)}, ConditionExpression=condition
                )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            return f"placeholder for {service}: {exc}"
        except BotoCoreError as exc:
            return f"placeholder for {service}: {exc}"
        return None


def _placeholder_item(placeholder: Placeholder) -> dict[str, Any]:
    item: dict[str, Any] = {
        "selection": {"S": selection_key(Selection.UNSUBMITTED, placeholder.event_id)},
        "event": {"S": json.dumps(placeholder.data, separators=(",", ":"), ensure_ascii=False)},
        "data_hash": {"S": placeholder.data_hash},
        "version": {"N": str(placeholder.version)},
    }
    if placeholder.incarnation is not None:
        item["incarnation"] = {"S": format_time(placeholder.incarnation)}
    if placeholder.updated_at is not None:
        item["event_updated_at"] = {"S": format_time(placeholder.updated_at)}
    return item
