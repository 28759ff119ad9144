"""Event source mappings, done locally: what Lambda does between a stream or queue and a function.

``StreamSource`` reads DynamoDB stream shards and ``QueueSource`` polls an SQS
queue; both batch records as the template configures, invoke a
``FunctionHost`` with events of the real shape and act on the partial batch
response the way Lambda does.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from infra.local.eventsources import sqs_event, stream_event
from infra.local.host import Invocation

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)

POLL_INTERVAL = 0.05
#: How often an idle stream source reads its shards: Lambda polls a DynamoDB stream's shards four
#: times a second. Each read is a GetRecords per shard for moto to answer.
STREAM_POLL_SECONDS = 0.25
#: An SQS long poll (seconds): how long a queue source waits for a message per request, and so
#: how long stopping it may take.
LONG_POLL_SECONDS = 1
#: How often a stream source looks for new shards.  Every poll would be one more
#: DescribeStream for moto to answer per 50 ms, for shards that appear rarely.
SHARD_DISCOVERY_SECONDS = 1.0


class Invoker(Protocol):
    """Anything that runs a function on an event (a ``FunctionHost``)."""

    function_name: str

    def invoke(self, event: Mapping[str, Any]) -> Invocation: ...


def matches_filters(record: Mapping[str, Any], patterns: Sequence[Mapping[str, Any]]) -> bool:
    """Lambda event filtering, for the pattern forms used here: nested keys with lists of allowed values."""
    if not patterns:
        return True
    return any(_matches(record, pattern) for pattern in patterns)


def _matches(value: Any, pattern: Mapping[str, Any]) -> bool:
    if not isinstance(value, Mapping):
        return False
    for key, expected in pattern.items():
        actual = value.get(key)
        if isinstance(expected, Mapping):
            if not _matches(actual, expected):
                return False
        elif isinstance(expected, list):
            if actual not in expected:
                return False
        elif actual != expected:
            return False
    return True


def failed_identifiers(invocation: Invocation) -> set[str] | None:
    """Item identifiers a partial batch response reports, or ``None`` when the whole batch failed."""
    if invocation.failed:
        return None
    response = invocation.response
    if response is None:
        return set()
    if not isinstance(response, Mapping) or not isinstance(response.get("batchItemFailures", []), list):
        return None  # Lambda treats an unreadable response as a failure of the whole batch
    identifiers = set()
    for item in response.get("batchItemFailures", []):
        identifier = item.get("itemIdentifier") if isinstance(item, Mapping) else None
        if not identifier:
            return None
        identifiers.add(str(identifier))
    return identifiers


@dataclass
class SourceStats:
    """What a source did, for logs and tests."""

    invocations: int = 0
    function_errors: int = 0
    partial_failures: int = 0
    records_delivered: int = 0
    sent_to_on_failure: int = 0
    deleted: int = 0
    duplicates_injected: int = 0


class _Source(threading.Thread):
    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._stop_event = threading.Event()
        self._idle = threading.Event()
        self.stats = SourceStats()

    def stop(self) -> None:
        self._stop_event.set()

    @property
    def idle(self) -> bool:
        """True when the last poll found nothing to deliver."""
        return self._idle.is_set()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                busy = self.poll_once()
            except Exception:
                logger.exception("%s: poll failed", self.name)
                busy = False
            if busy:
                self._idle.clear()
            else:
                self._idle.set()
                self._stop_event.wait(POLL_INTERVAL)

    def poll_once(self) -> bool:
        """Do one round of work; return whether there was any."""
        raise NotImplementedError


@dataclass
class StreamSettings:
    """The template's DynamoDB event properties that shape delivery."""

    batch_size: int = 100
    batching_window_seconds: float = 0.0
    starting_position: str = "TRIM_HORIZON"
    bisect_on_error: bool = False
    maximum_retry_attempts: int = -1  # -1: forever, as Lambda's default
    maximum_record_age_seconds: int = -1
    filter_patterns: list[dict[str, Any]] = field(default_factory=list)
    on_failure_queue_url: str | None = None


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None
    buffer: list[dict[str, Any]] = field(default_factory=list)
    first_buffered_at: float | None = None
    attempts: int = 0
    batch_limit: int | None = None  # shrunk by bisection after a function error
    head_sequence: str | None = None


class StreamSource(_Source):
    """Reads every shard of a DynamoDB stream and invokes the function in order, per shard."""

    def __init__(
        self,
        *,
        invoker: Invoker,
        streams: DynamoDBStreamsClient,
        sqs: SQSClient,
        stream_arn: str,
        region: str,
        settings: StreamSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(f"stream->{invoker.function_name}")
        self.invoker = invoker
        self.streams = streams
        self.sqs = sqs
        self.stream_arn = stream_arn
        self.region = region
        self.settings = settings
        self.clock = clock
        self._shards: dict[str, _Shard] = {}
        self._discovered_at: float | None = None
        #: Sequence numbers of each batch handed to the function (the latest ones), for inspection.
        self.delivered: deque[list[str]] = deque(maxlen=1000)

    def _discover_shards(self) -> None:
        now = time.monotonic()
        if self._discovered_at is not None and now - self._discovered_at < SHARD_DISCOVERY_SECONDS:
            return
        self._discovered_at = now
        description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id not in self._shards:
                iterator = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn,
                    ShardId=shard_id,
                    ShardIteratorType="LATEST" if self.settings.starting_position == "LATEST" else "TRIM_HORIZON",
                )["ShardIterator"]
                self._shards[shard_id] = _Shard(shard_id, iterator)

    def poll_once(self) -> bool:
        self._discover_shards()
        delivered = waiting = False
        for shard in self._shards.values():
            self._fill(shard)
            if shard.buffer and self._batch_ready(shard):
                self._deliver(shard)
                delivered = True
            elif shard.buffer:
                waiting = True  # for the batching window: not idle, but no reason to read again at once
        if not delivered:
            # An idle stream is read about four times a second (the run loop waits POLL_INTERVAL more).
            self._stop_event.wait(POLL_INTERVAL if waiting else STREAM_POLL_SECONDS - POLL_INTERVAL)
        return delivered or waiting

    def _fill(self, shard: _Shard) -> None:
        if shard.iterator is None or len(shard.buffer) >= self.settings.batch_size:
            return
        response = self.streams.get_records(ShardIterator=shard.iterator, Limit=1000)
        shard.iterator = response.get("NextShardIterator")
        records = [
            dict(record)
            for record in response.get("Records", [])
            if matches_filters(record, self.settings.filter_patterns)
        ]
        if records and not shard.buffer:
            shard.first_buffered_at = self.clock()
        shard.buffer.extend(records)

    def _batch_ready(self, shard: _Shard) -> bool:
        if len(shard.buffer) >= self.settings.batch_size or shard.attempts:
            return True
        waited = self.clock() - (shard.first_buffered_at or self.clock())
        return waited >= self.settings.batching_window_seconds

    def _deliver(self, shard: _Shard) -> None:
        self._expire_old_records(shard)
        if not shard.buffer:
            return
        size = min(self.settings.batch_size, shard.batch_limit or self.settings.batch_size)
        batch = shard.buffer[:size]
        head = batch[0]["dynamodb"]["SequenceNumber"]
        if head != shard.head_sequence:
            shard.head_sequence, shard.attempts = head, 0
        self.delivered.append([record["dynamodb"]["SequenceNumber"] for record in batch])
        invocation = self.invoker.invoke(stream_event(batch, stream_arn=self.stream_arn, region=self.region))
        self.stats.invocations += 1
        failed = failed_identifiers(invocation)
        if failed == set():
            self._checkpoint(shard, len(batch))
            self.stats.records_delivered += len(batch)
            shard.batch_limit = None
            return
        sequences = [record["dynamodb"]["SequenceNumber"] for record in batch]
        if failed is None or not failed <= set(sequences):
            # A function error (or a response naming records not in the batch): retry the whole batch.
            self.stats.function_errors += 1
            logger.warning("%s failed on a batch of %d: %s", self.invoker.function_name, len(batch), invocation.error)
            first_failed = 0
        else:
            # Checkpoint just before the lowest failed record; it and everything after come again.
            self.stats.partial_failures += 1
            first_failed = min(sequences.index(identifier) for identifier in failed)
            self.stats.records_delivered += first_failed
        self._checkpoint(shard, first_failed)
        if first_failed:
            return  # a new head: its retries start from zero
        if self.settings.bisect_on_error and len(batch) > 1:
            # The head itself keeps failing: narrow down to it, so that only the
            # poison record (not its healthy neighbours) can end up discarded.
            shard.batch_limit = max(1, len(batch) // 2)
        shard.attempts += 1
        limit = self.settings.maximum_retry_attempts
        if limit >= 0 and shard.attempts > limit:
            self._send_to_on_failure(shard, batch, "RetryAttemptsExhausted", shard.attempts)
            self._checkpoint(shard, len(batch))
            shard.batch_limit = None

    def _checkpoint(self, shard: _Shard, count: int) -> None:
        del shard.buffer[:count]
        shard.first_buffered_at = self.clock() if shard.buffer else None

    def _expire_old_records(self, shard: _Shard) -> None:
        max_age = self.settings.maximum_record_age_seconds
        if max_age < 0:
            return
        now = self.clock()
        expired = 0
        for record in shard.buffer:
            created = record["dynamodb"].get("ApproximateCreationDateTime")
            created_at = created.timestamp() if isinstance(created, dt.datetime) else float(created or now)
            if now - created_at <= max_age:
                break
            expired += 1
        if expired:
            self._send_to_on_failure(shard, shard.buffer[:expired], "RecordAgeExceeded", shard.attempts)
            self._checkpoint(shard, expired)

    def _send_to_on_failure(self, shard: _Shard, batch: list[dict[str, Any]], condition: str, attempts: int) -> None:
        """Record a discarded batch the way Lambda's on-failure destination does (metadata, not records)."""
        self.stats.sent_to_on_failure += len(batch)
        logger.error("%s: discarding %d stream records (%s)", self.invoker.function_name, len(batch), condition)
        if not self.settings.on_failure_queue_url:
            return
        first, last = batch[0]["dynamodb"], batch[-1]["dynamodb"]
        body = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{self.region}:123456789012:function:{self.invoker.function_name}",
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": dt.datetime.now(dt.UTC).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": str(first.get("ApproximateCreationDateTime")),
                "approximateArrivalOfLastRecord": str(last.get("ApproximateCreationDateTime")),
                "batchSize": len(batch),
                "streamArn": self.stream_arn,
            },
        }
        self.sqs.send_message(QueueUrl=self.settings.on_failure_queue_url, MessageBody=json.dumps(body))

    @property
    def pending_records(self) -> int:
        return sum(len(shard.buffer) for shard in self._shards.values())


@dataclass
class QueueSettings:
    """The template's SQS event properties that shape delivery."""

    batch_size: int = 10
    batching_window_seconds: float = 0.0
    #: Fault injection: the share of received messages that SQS "delivers twice" (a copy is queued).
    duplicate_rate: float = 0.0
    seed: int = 0


class QueueSource(_Source):
    """Polls one SQS queue; deletes what the function processed, leaves failures to come back."""

    def __init__(
        self, *, invoker: Invoker, sqs: SQSClient, queue_url: str, queue_arn: str, region: str, settings: QueueSettings
    ) -> None:
        super().__init__(f"sqs->{invoker.function_name}")
        self.invoker = invoker
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.region = region
        self.settings = settings
        self._rng = random.Random(settings.seed)  # noqa: S311 - fault injection, not security

    def poll_once(self) -> bool:
        messages = self._receive_batch()
        if not messages:
            return False
        self._inject_duplicates(messages)
        invocation = self.invoker.invoke(sqs_event(messages, queue_arn=self.queue_arn, region=self.region))
        self.stats.invocations += 1
        failed = failed_identifiers(invocation)
        if failed is None:
            # Nothing is deleted: every message becomes visible again after its visibility timeout.
            self.stats.function_errors += 1
            logger.warning("%s failed on %d messages: %s", self.invoker.function_name, len(messages), invocation.error)
            return True
        if failed:
            self.stats.partial_failures += 1
        done = [message for message in messages if message["MessageId"] not in failed]
        self._delete_messages(done)
        self.stats.records_delivered += len(done)
        return True

    def _inject_duplicates(self, messages: list[dict[str, Any]]) -> None:
        # SQS is at-least-once: a second copy of a message may arrive at any later time.
        if self.settings.duplicate_rate <= 0:
            return
        for message in messages:
            if self._rng.random() < self.settings.duplicate_rate:
                self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=message["Body"])
                self.stats.duplicates_injected += 1

    def _receive_batch(self) -> list[dict[str, Any]]:
        """Up to a batch of messages: long-poll for the first, then gather more until the batching window closes.

        Long polls, as Lambda's pollers do: an idle queue costs one request a
        second (``LONG_POLL_SECONDS``) instead of one every ``POLL_INTERVAL``,
        each of which moto answers by walking the queue.
        """
        messages: list[dict[str, Any]] = []
        deadline = math.inf
        while len(messages) < self.settings.batch_size and not self._stop_event.is_set():
            remaining = deadline - time.monotonic()
            if messages and remaining <= 0:
                break
            # SQS waits in whole seconds: within the window, never past it.
            wait = LONG_POLL_SECONDS if not messages else min(LONG_POLL_SECONDS, int(remaining))
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, self.settings.batch_size - len(messages)),
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received = [dict(message) for message in response.get("Messages", [])]
            if not messages and not received:
                break  # an idle queue: the run loop polls again
            if not messages:
                deadline = time.monotonic() + self.settings.batching_window_seconds
            messages.extend(received)
            if not received and wait == 0:
                self._stop_event.wait(POLL_INTERVAL)
        return messages

    def _delete_messages(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)  # type: ignore[arg-type]
            self.stats.deleted += len(chunk)
