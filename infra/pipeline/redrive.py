"""DLQ redrive: move dead-lettered messages back to the queue they came from.

This is what the console's "Start DLQ redrive" (``StartMessageMoveTask``)
does; moto lacks that API, so locally and in tests this does it with plain
receive/send/delete.  Messages are deleted from the DLQ only once they are
safely on the source queue, so an interrupted redrive loses nothing (at
worst it duplicates, which processing absorbs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from infra.aws.publisher import OutgoingMessage, QueuePublisher

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import DeleteMessageBatchRequestEntryTypeDef

# The reason our worker attached when it dead-lettered a message; not part of the message.
DROPPED_ATTRIBUTES = frozenset({"error"})


@dataclass
class RedriveReport:
    """How many messages moved, and which could not."""

    moved: int = 0
    failed: dict[str, str] = field(default_factory=dict)


def redrive(
    sqs: SQSClient, *, dead_letter_queue_url: str, source_queue_url: str, limit: int | None = None
) -> RedriveReport:
    """Move up to ``limit`` (default: all) messages from the DLQ to the source queue."""
    report = RedriveReport()
    publisher = QueuePublisher(sqs)
    while limit is None or report.moved < limit:
        wanted = 10 if limit is None else max(1, min(10, limit - report.moved))
        received = sqs.receive_message(
            QueueUrl=dead_letter_queue_url,
            MaxNumberOfMessages=wanted,
            MessageAttributeNames=["All"],
            VisibilityTimeout=60,
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not received:
            break
        outgoing = [
            OutgoingMessage(
                queue_url=source_queue_url,
                body=message["Body"],
                key=message["MessageId"],
                attributes={
                    name: value["StringValue"]
                    for name, value in message.get("MessageAttributes", {}).items()
                    if name not in DROPPED_ATTRIBUTES and "StringValue" in value
                }
                or None,
            )
            for message in received
        ]
        sent = set(publisher.publish(outgoing).sent)
        report.failed.update({m.key: "not sent" for m in outgoing if m.key not in sent})
        entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
            for index, message in enumerate(received)
            if message["MessageId"] in sent
        ]
        if entries:
            sqs.delete_message_batch(QueueUrl=dead_letter_queue_url, Entries=entries)
        report.moved += len(entries)
        if not entries:
            break  # nothing could be sent: stop rather than spin on the same messages
    return report
