"""The sealed world the benchmarks run in: template.yaml on in-process moto, TicketFairy on respx.

``sandbox()`` deploys ``template.yaml`` on ``moto.mock_aws`` (``infra.aws.stack``)
(fake credentials, nothing reaches AWS), answers TicketFairy's draft-events
API through respx (nothing reaches the network), and yields a ``Stack`` that
drives the real handlers the way Lambda's event source mappings do: stream
records to the fan-out function, queue messages to the submit function, in
the batch sizes the template gives.  ``AwsCallLog`` counts the AWS calls the
functions make, through botocore's own events.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

import boto3
import httpx
import respx
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from bench.report import BenchmarkError
from infra import runtime
from infra.aws.settings import TableSettings
from infra.aws.stack import Stack as DeployedStack
from infra.aws.stack import deploy
from infra.aws.store import DynamoStore
from infra.local.eventsources import LocalContext, sqs_event, stream_event
from infra.local.make_samples import is_invalid, load_samples
from infra.pipeline.importer import import_events
from infra.runtime.fanout import fanout_service
from infra.runtime.submit import submit_worker
from integrations import registry
from integrations.env import load_env_model
from integrations.ticketfairy.client import DRAFT_EVENTS_PATH

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from botocore.hooks import BaseEventHooks
    from botocore.model import OperationModel
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_sqs import SQSClient

    from infra.pipeline.fanout import FanOut
    from infra.pipeline.worker import SubmitWorker

__all__ = [
    "FANOUT_FUNCTION",
    "ROOT",
    "SERVICE",
    "SUBMIT_FUNCTION",
    "AwsCallLog",
    "Destination",
    "Stack",
    "StageCalls",
    "distinct_sample_count",
    "sample_events",
    "sandbox",
    "sealed_environment",
]

ROOT: Final = Path(__file__).resolve().parent.parent
REGION: Final = "us-east-1"
STACK_NAME: Final = "bench"
FANOUT_FUNCTION: Final = "FanoutFunction"
SUBMIT_FUNCTION: Final = "TicketfairySubmitFunction"
SERVICE: Final = "ticketfairy"
# A reserved top-level domain: should respx ever let a request through, it resolves nowhere.
BASE_URL: Final = "https://ticketfairy.bench.test"
API_KEY: Final = "bench-api-key"
# WARNING keeps the handlers' per-batch INFO lines out of the report (the template's default is INFO).
PARAMETER_OVERRIDES: Final = {"LogLevel": "WARN", "TicketfairyBaseUrl": BASE_URL}

_FAKE_AWS: Final = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    # moto answers DynamoDB Streams only at the regional endpoint (see DESIGN.md).
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    # No profile, SSO or endpoint override from the developer's own AWS configuration.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}
_DROPPED_PREFIXES: Final = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def sealed_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with fake AWS credentials and no way to reach a real account or endpoint."""
    kept = {
        name: value
        for name, value in environ.items()
        if not name.startswith(_DROPPED_PREFIXES) and not name.startswith("AWS_ENDPOINT_URL")
    }
    return {**kept, **_FAKE_AWS}


@contextmanager
def _sealed_os_environ() -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(sealed_environment(saved))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _reset_process_caches() -> None:
    # Wiring, registry and secrets are cached per process (per Lambda container):
    # one run's clients and API key must not leak into the next.
    runtime.reset()
    registry.clear_cache()
    parameters.clear_caches()  # type: ignore[no-untyped-call]


@functools.cache
def _distinct_samples() -> tuple[dict[str, Any], ...]:
    return tuple(sample for sample in load_samples() if not is_invalid(sample))


def distinct_sample_count() -> int:
    """How many different events ``sample_events`` cycles through."""
    return len(_distinct_samples())


def sample_events(count: int) -> list[dict[str, Any]]:
    """``count`` realistic raw events: the shipped demo samples, cycled, each with its own source URL.

    Event ``n`` is a copy of sample ``n % distinct_sample_count()``.
    """
    return [
        # The event id derives from the source URL: a distinct URL is a distinct event.
        {**sample, "source_url": f"{str(sample['source_url']).rstrip('/')}/bench-{number}"}
        for number, sample in zip(range(count), itertools.cycle(_distinct_samples()), strict=False)
    ]


# ------------------------------------------------------------------ AWS calls


@dataclass
class StageCalls:
    """AWS calls of one stage: calls per operation, entries carried by batch calls, items read."""

    calls: Counter[str] = field(default_factory=Counter)
    #: Messages or keys per batch operation (``SendMessageBatch``, ``BatchGetItem`` ...).
    entries: Counter[str] = field(default_factory=Counter)
    #: Items read, per read operation (``Query:<index>`` for an index).
    items: Counter[str] = field(default_factory=Counter)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def items_read(self) -> int:
        return sum(self.items.values())

    def summary(self) -> str:
        """``"BatchGetItem 2 (200 entries), PutItem 200"``."""
        parts = []
        for operation, count in sorted(self.calls.items()):
            entries = f" ({self.entries[operation]} entries)" if operation in self.entries else ""
            parts.append(f"{operation} {count}{entries}")
        return ", ".join(parts) or "no calls"

    def as_details(self) -> dict[str, dict[str, int]]:
        return {
            "calls_by_operation": dict(self.calls),
            "entries_by_operation": dict(self.entries),
            "items_read_by_operation": dict(self.items),
        }


def _entries(operation: str, params: Mapping[str, Any]) -> int | None:
    if operation.endswith("Batch"):  # SendMessageBatch, DeleteMessageBatch ...
        return len(params.get("Entries", []))
    if operation == "BatchGetItem":
        return sum(len(request.get("Keys", [])) for request in params.get("RequestItems", {}).values())
    if operation == "BatchWriteItem":
        return sum(len(requests) for requests in params.get("RequestItems", {}).values())
    return None


def _items(operation: str, parsed: Mapping[str, Any]) -> int | None:
    if operation == "GetItem":
        return 1 if parsed.get("Item") else 0
    if operation == "BatchGetItem":
        return sum(len(items) for items in parsed.get("Responses", {}).values())
    if operation in ("Query", "Scan"):
        # ScannedCount: what DynamoDB read (and bills), before any filter expression.
        return int(parsed.get("ScannedCount", parsed.get("Count", len(parsed.get("Items", [])))))
    return None


class AwsCallLog:
    """Counts AWS API calls made through the botocore event emitters it watches, per named stage.

    Only calls inside ``recording(stage)`` count: what the driver does between
    invocations (reading the stream, receiving and deleting messages) is the
    event source mapping's work, not the function's.  Calls may come from
    worker threads (``asyncio.to_thread``), hence the lock.
    """

    def __init__(self) -> None:
        self._unique_id = f"bench-aws-call-log-{id(self)}"
        self._lock = threading.Lock()
        self._current: StageCalls | None = None
        self._watched: list[BaseEventHooks] = []
        self.stages: dict[str, StageCalls] = {}

    def watch(self, events: BaseEventHooks) -> None:
        """Count calls through ``events``: a session's (clients created later copy it) or a client's."""
        if any(events is watched for watched in self._watched):
            return
        # unique_id: a client already created from a watched session is not counted twice.
        events.register("before-parameter-build", self._before, unique_id=f"{self._unique_id}-before")
        events.register("after-call", self._after, unique_id=f"{self._unique_id}-after")
        self._watched.append(events)

    def watch_store(self, store: DynamoStore) -> None:
        """Count the calls of a store's pynamodb models, which use botocore sessions of their own."""
        for model in (store.events.model, store.submissions.model):
            self.watch(model._get_connection().connection.client.meta.events)

    def close(self) -> None:
        """Stop counting; pynamodb's clients outlive a sandbox (its models are cached per table)."""
        self._current = None
        for events in self._watched:
            events.unregister("before-parameter-build", unique_id=f"{self._unique_id}-before")
            events.unregister("after-call", unique_id=f"{self._unique_id}-after")
        self._watched.clear()

    @contextmanager
    def recording(self, stage: str) -> Iterator[StageCalls]:
        """Count calls into ``stage`` (added to what it already holds) while the block runs."""
        calls = self.stages.setdefault(stage, StageCalls())
        self._current = calls
        try:
            yield calls
        finally:
            self._current = None

    def _before(self, params: Mapping[str, Any], model: OperationModel, context: dict[str, Any], **_: Any) -> None:
        stage = self._current
        if stage is None:
            return
        entries = _entries(model.name, params)
        with self._lock:
            stage.calls[model.name] += 1
            if entries is not None:
                stage.entries[model.name] += entries
        # after-call sees the parsed response but not the request: pass the index name along.
        if params.get("IndexName"):
            context["bench_index_name"] = params["IndexName"]

    def _after(self, parsed: Mapping[str, Any], model: OperationModel, context: dict[str, Any], **_: Any) -> None:
        stage = self._current
        items = _items(model.name, parsed)
        if stage is None or items is None:
            return
        index = context.get("bench_index_name")
        with self._lock:
            stage.items[f"{model.name}:{index}" if index else model.name] += items


# ---------------------------------------------------------------- destination


class Destination:
    """TicketFairy's draft-events endpoint: ``201`` with a fresh id, after ``delay`` seconds.

    Counts requests and how many were in flight at once (the peak).
    """

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.requests = 0
        self.in_flight = 0
        self.peak_in_flight = 0

    def reset(self) -> None:
        self.requests = self.in_flight = self.peak_in_flight = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        return httpx.Response(201, json={"data": {"id": str(100_000 + self.requests)}})


# ---------------------------------------------------------------------- stack


def _require_no_failures(function: str, response: PartialItemFailureResponse) -> None:
    if response["batchItemFailures"]:
        failed = ", ".join(str(item["itemIdentifier"]) for item in response["batchItemFailures"])
        raise BenchmarkError(f"{function} reported batch item failures: {failed}")


class Stack:
    """template.yaml deployed on moto, with the handlers and a driver standing in for Lambda."""

    def __init__(self, stack: DeployedStack, destination: Destination, calls: AwsCallLog | None) -> None:
        self.stack = stack
        self.destination = destination
        self.calls = calls
        self.environments = {logical_id: dict(function.environment) for logical_id, function in stack.functions.items()}
        submit_env = self.environments[SUBMIT_FUNCTION]
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name=submit_env["TICKETFAIRY_API_KEY_PARAMETER"], Value=API_KEY, Type="SecureString", Overwrite=True
        )
        self.store = DynamoStore(load_env_model(TableSettings, self.environments[FANOUT_FUNCTION]))
        if calls is not None:
            calls.watch_store(self.store)
        self.queue_url = submit_env["QUEUE_URL"]
        self._sqs: SQSClient = boto3.client("sqs", region_name=REGION)
        self.queue_arn = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self._streams: DynamoDBStreamsClient = boto3.client("dynamodbstreams", region_name=REGION)
        table = boto3.client("dynamodb", region_name=REGION).describe_table(
            TableName=self.environments[FANOUT_FUNCTION]["EVENT_CACHE_TABLE"]
        )
        self.stream_arn = table["Table"]["LatestStreamArn"]
        shards = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        self._iterators = [
            self._streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for shard in shards
        ]

    def batch_size(self, function: str) -> int:
        """The ``BatchSize`` of the function's one event source mapping, as deployed."""
        mappings = self.stack.mappings_of(function)
        if len(mappings) != 1 or "BatchSize" not in mappings[0]:
            raise BenchmarkError(f"{function} must have exactly one event source with a BatchSize")
        return int(mappings[0]["BatchSize"])

    def _use_env(self, function: str) -> None:
        os.environ.update(self.environments[function])

    def _context(self, function: str) -> LocalContext:
        deployed = self.stack.functions[function]
        return LocalContext(function, timeout_seconds=deployed.timeout, memory_limit_in_mb=deployed.memory_mb)

    # -- import ---------------------------------------------------------------

    def import_events(self, events: Sequence[Mapping[str, Any]]) -> None:
        report = import_events(self.store.events, ((f"item {n}", event) for n, event in enumerate(events, 1)))
        if report.invalid:
            raise BenchmarkError(f"sample events did not import: {report.invalid[0]}")

    # -- fan-out --------------------------------------------------------------

    def stream_events(self, batch_size: int | None = None) -> list[dict[str, Any]]:
        """New stream records as Lambda invocation events of ``batch_size`` (default: the template's)."""
        records: list[dict[str, Any]] = []
        for index, iterator in enumerate(self._iterators):
            while True:
                response = self._streams.get_records(ShardIterator=iterator)
                iterator = response["NextShardIterator"]
                records.extend(cast("list[dict[str, Any]]", response["Records"]))
                if not response["Records"]:
                    break
            self._iterators[index] = iterator
        size = batch_size or self.batch_size(FANOUT_FUNCTION)
        return [
            stream_event(records[start : start + size], stream_arn=self.stream_arn, region=REGION)
            for start in range(0, len(records), size)
        ]

    def fanout_service(self) -> FanOut:
        """The fan-out function's wiring, built as its first invocation would build it (its client watched)."""
        self._use_env(FANOUT_FUNCTION)
        service = fanout_service()
        if self.calls is not None:
            # Its clients come from a botocore session of its own, not boto3's default one.
            self.calls.watch(service.publisher.client.meta.events)
            if service.placeholders is not None:
                self.calls.watch(service.placeholders.client.meta.events)
        return service

    def call_fanout(self, event: Mapping[str, Any]) -> PartialItemFailureResponse:
        """Invoke the fan-out handler named in the template (imported here: after the log level is set)."""
        from functions.fanout.app import handler

        self._use_env(FANOUT_FUNCTION)
        return handler(dict(event), self._context(FANOUT_FUNCTION))

    def run_fanout(self, event: Mapping[str, Any]) -> None:
        _require_no_failures(FANOUT_FUNCTION, self.call_fanout(event))

    # -- submit ---------------------------------------------------------------

    def receive(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Up to ``limit`` messages from the integration's queue (all there are without a limit)."""
        messages: list[dict[str, Any]] = []
        while limit is None or len(messages) < limit:
            wanted = 10 if limit is None else min(10, limit - len(messages))
            batch = self._sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=wanted,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                break
            messages.extend(cast("list[dict[str, Any]]", batch))
        return messages

    def submit_events(self, messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Messages as SQS invocation events, at most the template's batch size each."""
        size = self.batch_size(SUBMIT_FUNCTION)
        return [
            sqs_event(messages[start : start + size], queue_arn=self.queue_arn, region=REGION)
            for start in range(0, len(messages), size)
        ]

    def submit_worker(self) -> SubmitWorker:
        """The submit function's wiring, built as its first invocation would build it."""
        self._use_env(SUBMIT_FUNCTION)
        worker = submit_worker()
        if self.calls is not None:
            self.calls.watch_store(worker.store)
        return worker

    def call_submit(self, event: Mapping[str, Any]) -> PartialItemFailureResponse:
        """Invoke the submit handler named in the template."""
        from functions.submit.app import handler

        self._use_env(SUBMIT_FUNCTION)
        return handler(dict(event), self._context(SUBMIT_FUNCTION))

    def acknowledge(self, event: Mapping[str, Any], response: PartialItemFailureResponse) -> None:
        """Delete the batch's messages, as Lambda does after a successful invocation.

        Raises ``BenchmarkError`` if any record failed: every benchmark expects all to succeed.
        """
        _require_no_failures(SUBMIT_FUNCTION, response)
        records = list(event["Records"])
        for start in range(0, len(records), 10):
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": record["receiptHandle"]}
                    for n, record in enumerate(records[start : start + 10])
                ],
            )

    def run_submit(self, event: Mapping[str, Any]) -> None:
        self.acknowledge(event, self.call_submit(event))


@contextmanager
def sandbox(*, calls: AwsCallLog | None = None, destination: Destination | None = None) -> Iterator[Stack]:
    """template.yaml on in-process moto and TicketFairy on respx, for the duration of the block.

    The process environment, boto3's default session and the per-process
    caches are restored afterwards.  ``calls`` (if given) watches the fresh
    default session, so it counts every boto3 client created inside, and the
    stores' pynamodb clients.
    """
    destination = destination or Destination()
    previous_session = boto3.DEFAULT_SESSION
    with ExitStack() as stack:
        stack.enter_context(_sealed_os_environ())
        _reset_process_caches()
        stack.callback(_reset_process_caches)
        stack.enter_context(mock_aws())
        router = stack.enter_context(respx.mock(assert_all_called=False, assert_all_mocked=True))
        router.post(f"{BASE_URL}{DRAFT_EVENTS_PATH}").mock(side_effect=destination)
        # A fresh default session: hooks on it reach every client the functions create.
        boto3.setup_default_session()
        stack.callback(setattr, boto3, "DEFAULT_SESSION", previous_session)
        # Deployed before any counting starts: only the functions' calls are measured.
        deployed = deploy(STACK_NAME, parameters=PARAMETER_OVERRIDES, region=REGION)
        if calls is not None:
            assert boto3.DEFAULT_SESSION is not None
            calls.watch(boto3.DEFAULT_SESSION.events)
            stack.callback(calls.close)
        yield Stack(deployed, destination, calls)
