"""Fan-out: event-cache stream records -> one message per enabled integration.

Records are planned one by one (Powertools isolates a bad record), then every
planned message of the batch is published together, so the number of
``SendMessageBatch`` calls is the minimum the limits allow.  Meanwhile each
change's ``unsubmitted`` placeholder goes into the selection index
(``infra.aws.selection``) for every deployed integration.  A record is
reported as a batch item failure if it could not be planned or any of its
messages could not be sent; Lambda then re-delivers from the lowest failed
sequence number, which the idempotent submitters absorb.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)

from infra.aws.publisher import OutgoingMessage, QueuePublisher
from infra.aws.selection import Placeholder, PlaceholderWriter
from infra.pipeline.wire import message_body
from integrations.errors import IntegrationError
from integrations.records import ChangeKind, removal_hash

logger = logging.getLogger(__name__)

# pynamodb's UTCDateTimeAttribute serialisation.
_PYNAMODB_DATETIME = "%Y-%m-%dT%H:%M:%S.%f%z"


class BadStreamRecordError(IntegrationError):
    """A stream record that cannot be turned into messages (missing image or attributes)."""


@dataclass(frozen=True)
class CacheChange:
    """A relevant change of one cached event, read from a stream record."""

    event_id: str
    data_hash: str
    version: int
    change: ChangeKind
    event: dict[str, Any] | None
    changed_at: dt.datetime | None
    incarnation: dt.datetime | None = None


def read_change(record: DynamoDBRecord) -> CacheChange | None:
    """The change a stream record carries, or ``None`` when nothing needs delivering.

    INSERTs, content-changing MODIFYs and REMOVEs count; a MODIFY with an
    unchanged content hash (moto emits those even for no-op writes) does not.
    Raises ``BadStreamRecordError`` for a record that cannot be read.
    """
    stream = record.dynamodb
    name = record.event_name
    if stream is None or name is None:
        return None
    keys = stream.keys
    event_id = str(keys.get("event_id") or "?")
    if name is DynamoDBRecordEventName.REMOVE:
        return _removal(event_id, stream.old_image)
    image = stream.new_image
    if not image:
        raise BadStreamRecordError(f"{name.name} record for event {event_id} has no NewImage (stream view type?)")
    data_hash = image.get("data_hash")
    if not isinstance(data_hash, str) or not data_hash:
        raise BadStreamRecordError(f"record for event {event_id} has no data_hash")
    if name is DynamoDBRecordEventName.MODIFY and stream.old_image.get("data_hash") == data_hash:
        return None
    data = _image_data(event_id, image)
    if data is None:
        raise BadStreamRecordError(f"record for event {event_id}: data is missing or not an object")
    return CacheChange(
        event_id=event_id,
        data_hash=data_hash,
        version=int(image.get("version") or 1),
        change=ChangeKind.CREATED if name is DynamoDBRecordEventName.INSERT else ChangeKind.UPDATED,
        event=data,
        changed_at=_parse_time(image.get("updated_at")),
        incarnation=_parse_time(image.get("first_imported_at")),
    )


def _removal(event_id: str, old_image: Mapping[str, Any]) -> CacheChange:
    if not old_image or not old_image.get("data_hash"):
        raise BadStreamRecordError(f"REMOVE record for event {event_id} has no OldImage (stream view type?)")
    # A removal is the event's next version, so a late delivery of an older one is fenced off.
    # It carries the removed content: a submitter whose create is in doubt repeats that create
    # (same key) to learn the draft's id before withdrawing it.
    return CacheChange(
        event_id=event_id,
        data_hash=removal_hash(str(old_image["data_hash"])),
        version=int(old_image.get("version") or 1) + 1,
        change=ChangeKind.REMOVED,
        event=_removed_data(event_id, old_image),
        changed_at=dt.datetime.now(dt.UTC),
        incarnation=_parse_time(old_image.get("first_imported_at")),
    )


def _image_data(event_id: str, image: Mapping[str, Any]) -> dict[str, Any] | None:
    """The event data of a stream image (``None`` if it has none); ``BadStreamRecordError`` if unreadable."""
    try:
        data = json.loads(image["data"]) if isinstance(image.get("data"), str) else image.get("data")
    except json.JSONDecodeError as exc:
        raise BadStreamRecordError(f"record for event {event_id}: data is not valid JSON ({exc.msg})") from exc
    return data if isinstance(data, dict) else None


def _removed_data(event_id: str, old_image: Mapping[str, Any]) -> dict[str, Any] | None:
    try:
        return _image_data(event_id, old_image)
    except BadStreamRecordError:
        return None  # a removal is delivered even when the content it removed is unreadable


def _parse_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.strptime(value, _PYNAMODB_DATETIME)
    except ValueError:
        return None


def build_messages(
    change: CacheChange, queues: Mapping[str, str], *, key_prefix: str, max_inline_bytes: int
) -> list[OutgoingMessage]:
    """One message per integration queue; the event travels inline when small enough."""
    messages = []
    for service, queue_url in queues.items():
        body = _body(change, service, change.event)
        if len(body.encode()) > max_inline_bytes:
            body = _body(change, service, None)
        messages.append(OutgoingMessage(queue_url=queue_url, body=body, key=f"{key_prefix}|{service}"))
    return messages


def _body(change: CacheChange, service: str, event: dict[str, Any] | None) -> str:
    return message_body(
        event_id=change.event_id,
        service=service,
        data_hash=change.data_hash,
        version=change.version,
        change=change.change,
        event=event,
        changed_at=change.changed_at,
        incarnation=change.incarnation,
    )


class FanOut:
    """Turns a stream batch into queue messages and a partial batch response."""

    def __init__(
        self,
        publisher: QueuePublisher,
        queues: Mapping[str, str],
        *,
        max_inline_bytes: int,
        placeholders: PlaceholderWriter | None = None,
    ) -> None:
        self.publisher = publisher
        self.queues = dict(queues)
        self.max_inline_bytes = max_inline_bytes
        self.placeholders = placeholders

    def handle(self, event: Mapping[str, Any]) -> PartialItemFailureResponse:
        """Process one DynamoDB stream event (as Lambda delivers it)."""
        planned: dict[str, list[OutgoingMessage]] = {}
        changes: dict[str, CacheChange] = {}

        def plan(record: DynamoDBRecord) -> None:
            sequence = record.dynamodb.sequence_number if record.dynamodb else None
            if sequence is None:
                raise BadStreamRecordError("stream record without a sequence number")
            change = read_change(record)
            if change is not None:
                changes[sequence] = change
                planned[sequence] = build_messages(
                    change, self.queues, key_prefix=sequence, max_inline_bytes=self.max_inline_bytes
                )

        # A fresh processor per batch: its state must not leak between invocations.
        processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
        with processor(records=list(event.get("Records", [])), handler=plan):
            processor.process()
        failed = [item["itemIdentifier"] for item in processor.response()["batchItemFailures"]]
        for exc_info in processor.exceptions:
            logger.error("stream record rejected: %s", exc_info[1] if exc_info else "?")

        # Placeholders and messages are independent (a claim always wins over a placeholder): in parallel.
        placeholder_errors: dict[str, str] = {}
        writer = threading.Thread(target=lambda: placeholder_errors.update(self._write_placeholders(changes)))
        writer.start()
        report = self.publisher.publish(message for messages in planned.values() for message in messages)
        writer.join()
        for sequence, change in changes.items():
            if change.event_id in placeholder_errors:
                logger.error(
                    "could not file %s as unsubmitted: %s", change.event_id, placeholder_errors[change.event_id]
                )
                if sequence not in failed:
                    failed.append(sequence)
        for key, reason in report.failed.items():
            sequence = key.partition("|")[0]
            logger.error("could not queue %s: %s", key, reason)
            if sequence not in failed:
                failed.append(sequence)
        logger.info(
            "fan-out done",
            extra={
                "records": len(event.get("Records", [])),
                "changes": len(planned),
                "messages": len(report.sent),
                "send_calls": report.calls,
                "failed_records": len(failed),
            },
        )
        return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}

    def _write_placeholders(self, changes: Mapping[str, CacheChange]) -> dict[str, str]:
        if self.placeholders is None:
            return {}
        return self.placeholders.write(
            Placeholder(
                change.event_id,
                None if change.change is ChangeKind.REMOVED else change.event,
                change.data_hash,
                change.version,
                change.incarnation,
                change.changed_at,
            )
            for change in changes.values()
        )
