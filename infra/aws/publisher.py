"""Publishes messages to SQS queues in as few ``SendMessageBatch`` calls as the limits allow.

``SendMessageBatch`` can succeed partially, so every message ends up in the
report as either sent or failed (with the reason), and the caller decides what
a failure means — the fan-out function reports exactly those stream records as
batch item failures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from integrations.errors import IntegrationError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

#: SQS's own limits for one ``SendMessageBatch`` call (entries, and bytes summed
#: over all entries); a single message may be as large as a whole batch.
SQS_MAX_BATCH_ENTRIES = 10
SQS_MAX_BATCH_BYTES = 1024 * 1024

_STRING_TYPE = "String"


@dataclass(frozen=True)
class OutgoingMessage:
    """One message for one queue.

    ``key`` is the caller's identifier (e.g. stream sequence number + integration
    name), used only to report the outcome; keep it unique within one ``publish``.
    """

    queue_url: str
    body: str
    key: str
    #: String message attributes, name -> value.
    attributes: dict[str, str] | None = None

    @property
    def size(self) -> int:
        """Bytes SQS counts against its limits: the body, plus name, type and value of each attribute."""
        attributes = self.attributes or {}
        return len(self.body.encode()) + sum(
            len(name.encode()) + len(_STRING_TYPE) + len(value.encode()) for name, value in attributes.items()
        )


class Packing(NamedTuple):
    """Messages packed into batches, and those too large to send at all."""

    batches: list[list[OutgoingMessage]]
    oversized: list[OutgoingMessage]


def pack_batches(messages: Iterable[OutgoingMessage], max_entries: int, max_bytes: int) -> Packing:
    """Pack messages greedily, in order, into batches of one queue each.

    A batch holds at most ``max_entries`` messages of at most ``max_bytes`` in
    total; a message larger than ``max_bytes`` on its own goes to ``oversized``.
    """
    closed: list[list[OutgoingMessage]] = []
    oversized: list[OutgoingMessage] = []
    open_batches: dict[str, tuple[list[OutgoingMessage], int]] = {}
    for message in messages:
        size = message.size
        if size > max_bytes:
            oversized.append(message)
            continue
        batch, batch_bytes = open_batches.get(message.queue_url, ([], 0))
        if batch and (len(batch) == max_entries or batch_bytes + size > max_bytes):
            closed.append(batch)
            batch, batch_bytes = [], 0
        batch.append(message)
        open_batches[message.queue_url] = (batch, batch_bytes + size)
    return Packing(closed + [batch for batch, _ in open_batches.values()], oversized)


class PublishError(IntegrationError):
    """Some messages could not be sent; ``failed`` maps each one's key to the reason."""

    def __init__(self, failed: dict[str, str]) -> None:
        self.failed = dict(failed)
        super().__init__(f"{len(failed)} message(s) not sent: " + ", ".join(sorted(failed)))


@dataclass(frozen=True)
class PublishReport:
    """What ``QueuePublisher.publish`` did: every key is either in ``sent`` or in ``failed``."""

    sent: list[str]
    #: key -> why it was not sent.
    failed: dict[str, str]
    #: ``SendMessageBatch`` calls made, re-sends included.
    calls: int
    #: Entries sent again after SQS reported them as failed.
    resent: int

    @property
    def ok(self) -> bool:
        return not self.failed

    def raise_for_failures(self) -> PublishReport:
        """Return the report itself when everything was sent; raises ``PublishError`` otherwise."""
        if self.failed:
            raise PublishError(self.failed)
        return self


class _BatchResult(NamedTuple):
    sent: list[str]
    #: Worth sending again, with the reason it failed this time.
    retryable: list[tuple[OutgoingMessage, str]]
    #: key -> reason, not worth sending again.
    failed: dict[str, str]


class QueuePublisher:
    """Sends messages to SQS with ``SendMessageBatch``, re-sending what SQS reports as failed on its side.

    Failures SQS blames on the sender (``SenderFault``) are not re-sent: the
    same request would fail the same way.
    """

    def __init__(
        self,
        client: SQSClient,
        *,
        max_batch_entries: int = SQS_MAX_BATCH_ENTRIES,
        max_batch_bytes: int = SQS_MAX_BATCH_BYTES,
        max_attempts: int = 3,
        backoff_seconds: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 1 <= max_batch_entries <= SQS_MAX_BATCH_ENTRIES:
            raise ValueError(f"max_batch_entries must be 1..{SQS_MAX_BATCH_ENTRIES}, not {max_batch_entries}")
        if not 1 <= max_batch_bytes <= SQS_MAX_BATCH_BYTES:
            raise ValueError(f"max_batch_bytes must be 1..{SQS_MAX_BATCH_BYTES}, not {max_batch_bytes}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        self._client = client
        self._max_entries = max_batch_entries
        self._max_bytes = max_batch_bytes
        self._max_attempts = max_attempts
        self._backoff_seconds = backoff_seconds
        self._sleep = sleep

    @property
    def client(self) -> SQSClient:
        """The SQS client it sends through."""
        return self._client

    def publish(self, messages: Iterable[OutgoingMessage]) -> PublishReport:
        """Send ``messages``; a message that still cannot be sent is reported, by key, not raised.

        Callers that must fail as a whole chain ``.raise_for_failures()``; the
        fan-out instead fails only the stream records whose messages are listed.
        """
        packing = pack_batches(messages, self._max_entries, self._max_bytes)
        sent: list[str] = []
        failed = {
            message.key: f"message is {message.size} bytes, over the {self._max_bytes}-byte limit"
            for message in packing.oversized
        }
        calls = resent = 0
        batches = packing.batches
        retryable: list[tuple[OutgoingMessage, str]] = []
        for attempt in range(1, self._max_attempts + 1):
            if retryable:
                self._sleep(self._backoff_seconds * (attempt - 1))
                resent += len(retryable)
                # Re-pack rather than re-send each batch's leftovers: failures
                # spread over several batches of one queue go out in one call.
                batches = pack_batches(
                    (message for message, _ in retryable), self._max_entries, self._max_bytes
                ).batches
            retryable = []
            for batch in batches:
                calls += 1
                result = self._send(batch)
                sent.extend(result.sent)
                failed.update(result.failed)
                retryable.extend(result.retryable)
            if not retryable:
                break
        failed.update((message.key, f"{reason} (after {self._max_attempts} attempts)") for message, reason in retryable)
        return PublishReport(sent=sent, failed=failed, calls=calls, resent=resent)

    def _send(self, batch: Sequence[OutgoingMessage]) -> _BatchResult:
        # Entry ids only need to be unique within the call, and the caller's
        # keys may hold characters SQS does not allow in an id.
        by_id = {str(index): message for index, message in enumerate(batch)}
        try:
            response = self._client.send_message_batch(
                QueueUrl=batch[0].queue_url, Entries=[_entry(entry_id, message) for entry_id, message in by_id.items()]
            )
        except (BotoCoreError, ClientError) as exc:
            # botocore has already retried throttling and 5xx errors; what is
            # left (missing queue, access denied, no network) will not heal in
            # a few milliseconds, so fail this batch and carry on with the rest.
            return _BatchResult([], [], {message.key: str(exc) for message in batch})
        sent = [by_id.pop(entry["Id"]).key for entry in response.get("Successful", [])]
        retryable: list[tuple[OutgoingMessage, str]] = []
        failed: dict[str, str] = {}
        for entry in response.get("Failed", []):
            message = by_id.pop(entry["Id"])
            reason = f"{entry['Code']}: {entry['Message']}" if entry.get("Message") else entry["Code"]
            if entry["SenderFault"]:
                failed[message.key] = reason
            else:
                retryable.append((message, reason))
        # SQS lists every entry as either successful or failed; should one be
        # missing, sending it again beats losing it without a word.
        retryable.extend((message, "not acknowledged by SQS") for message in by_id.values())
        return _BatchResult(sent, retryable, failed)


def _entry(entry_id: str, message: OutgoingMessage) -> SendMessageBatchRequestEntryTypeDef:
    entry: SendMessageBatchRequestEntryTypeDef = {"Id": entry_id, "MessageBody": message.body}
    if message.attributes:
        entry["MessageAttributes"] = {
            name: {"DataType": _STRING_TYPE, "StringValue": value} for name, value in message.attributes.items()
        }
    return entry
