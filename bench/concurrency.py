"""One SQS batch of the submit function against a slow destination, and against the naive peer.

Everything runs over real sockets: the stack is deployed on a moto server on
loopback, and the destination is the loopback stand-in for TicketFairy,
answering every request after a fixed ``delay``.  The submit handler runs in
this process with the environment the deployment gives it; a warm-up
invocation first pays the one-time costs (wiring, the API key, the HTTP
client).  In the same run and on the same stack:

* the naive peer (``bench.naive.NaiveSubmit``) handles a batch of the same size;
* one POST to the destination is timed alone (one call's latency);
* the store's own time for a batch is timed alone: a claim and an outcome
  write per message, one after the other, as moto serves them.

Figures: the batch against one call plus the store's time (the floor a batch
can reach when its requests overlap), the batch against the naive peer, and
DynamoDB calls per successful submission, ours and the naive peer's, counted.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, cast

import boto3
import httpx

from bench.deployment import API_KEY, FANOUT, REGION, SUBMIT, batch_size, deployed, environ, function_env
from bench.deployment import stream_records as read_stream
from bench.naive import NaiveSubmit
from bench.report import BenchmarkError, BenchmarkResult, Figure, ratio
from bench.sandbox import AwsCallLog, sample_events, sealed_environment
from infra import runtime
from infra.aws.settings import TableSettings
from infra.aws.store import DynamoStore
from infra.local.eventsources import LocalContext, sqs_event, stream_event
from infra.pipeline.importer import import_events
from integrations.env import load_env_model
from integrations.records import SubmissionStatus
from integrations.ticketfairy.client import DRAFT_EVENTS_PATH

NAME: Final = "concurrency"
DELAY_SECONDS: Final = 0.05
#: Batches measured per side (ours, the naive peer's), taking turns.  Even a quick run takes the
#: median of 7: on a busy machine the median of 3 swung the speedup between 2.7× and 3.5×.
QUICK_ROUNDS = 7
FULL_ROUNDS = 11
DYNAMODB_OPERATIONS: Final = ("GetItem", "PutItem", "UpdateItem", "Query", "BatchGetItem", "BatchWriteItem")


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _dynamodb_calls(calls: Mapping[str, int]) -> int:
    return sum(calls.get(operation, 0) for operation in DYNAMODB_OPERATIONS)


def _one_call_seconds(base_url: str, samples: int) -> float:
    """Median latency of one create POST alone, through a warm ``httpx.Client``."""
    payload = {"data": {"attributes": {"title": "latency probe", "url": None}}}
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {API_KEY}"}) as client:
        client.post(DRAFT_EVENTS_PATH, json=payload)
        return statistics.median(
            _timed(lambda: client.post(DRAFT_EVENTS_PATH, json=payload).raise_for_status()) for _ in range(samples)
        )


def _store_seconds(store: DynamoStore, messages: int, samples: int) -> float:
    """Median time of a batch's own store work: a claim and an outcome per message, one after the other."""

    def batch(round_number: int) -> None:
        for index in range(messages):
            claim = store.submissions.claim(
                f"store-probe-{round_number}-{index}", "probe", data_hash="h", version=1, lease_seconds=60
            )
            if claim.record is None:
                raise BenchmarkError("the store probe could not claim a fresh key")
            store.submissions.complete(claim.record, status=SubmissionStatus.SUCCESS)

    return statistics.median(_timed(lambda n=n: batch(n)) for n in range(samples))  # type: ignore[misc]


def _receive(sqs: Any, queue_url: str, count: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while len(messages) < count:
        answer = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=min(10, count - len(messages)), AttributeNames=["All"]
        )
        messages += cast("list[dict[str, Any]]", answer.get("Messages", []))
    return messages


def _failures(response: Mapping[str, Any]) -> int:
    return len(response.get("batchItemFailures", []))


def run(*, quick: bool = False) -> BenchmarkResult:
    """Wall time of one full batch: ours, the naive peer's, one call alone and the store alone."""
    rounds = QUICK_ROUNDS if quick else FULL_ROUNDS
    with deployed(latency_seconds=DELAY_SECONDS, name="concurrency") as (stack, endpoint, base_url):
        size = batch_size(stack, SUBMIT)
        fanout_env, submit_env = function_env(stack, FANOUT, endpoint), function_env(stack, SUBMIT, endpoint)
        # One warm-up message each, then `rounds` batches each.
        total = 2 + 2 * size * rounds
        with environ(sealed_environment({})):
            store = DynamoStore(load_env_model(TableSettings, fanout_env))
            import_events(store.events, ((f"item {i}", e) for i, e in enumerate(sample_events(total), 1)))
            records = read_stream(stack, endpoint, total)
        stream_arn = stack.outputs["EventCacheStreamArn"]
        with environ(fanout_env):
            from functions.fanout.app import handler as fanout_handler

            runtime.reset()
            for start in range(0, total, batch_size(stack, FANOUT)):
                chunk = records[start : start + batch_size(stack, FANOUT)]
                fanout_handler(stream_event(chunk, stream_arn=stream_arn, region=REGION), LocalContext(FANOUT))
        queue_url = submit_env["QUEUE_URL"]
        sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        messages = _receive(sqs, queue_url, total)

        def event_of(batch: Sequence[dict[str, Any]]) -> dict[str, Any]:
            return sqs_event(list(batch), queue_arn=queue_arn, region=REGION)

        ours_batches = [messages[2 + i * size : 2 + (i + 1) * size] for i in range(rounds)]
        naive_batches = [messages[2 + (rounds + i) * size : 2 + (rounds + i + 1) * size] for i in range(rounds)]
        calls = AwsCallLog()
        ours: list[float] = []
        naive: list[float] = []
        with environ(submit_env):
            from functions.submit.app import handler as submit_handler

            runtime.reset()
            context = LocalContext(SUBMIT, timeout_seconds=60)
            if _failures(submit_handler(event_of(messages[:1]), context)):
                raise BenchmarkError("the warm-up message failed")
            worker = runtime.submit.submit_worker()
            calls.watch_store(worker.store)
            dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
            calls.watch(dynamodb.meta.events)
            peer = NaiveSubmit(dynamodb, submit_env["SUBMISSIONS_TABLE"], base_url=base_url, api_key=API_KEY)
            peer.handle(event_of(messages[1:2]))
            try:
                # Turn about, so a machine that gets busier mid-run slows both alike.
                for ours_batch, naive_batch in zip(ours_batches, naive_batches, strict=True):
                    with calls.recording("ours"):
                        started = time.perf_counter()
                        response = submit_handler(event_of(ours_batch), context)
                        ours.append(time.perf_counter() - started)
                    with calls.recording("naive"):
                        started = time.perf_counter()
                        naive_response = peer.handle(event_of(naive_batch))
                        naive.append(time.perf_counter() - started)
                    if _failures(response) or _failures(naive_response):
                        raise BenchmarkError(f"a measured batch failed: {response} / {naive_response}")
            finally:
                peer.close()
            calls.close()
            one_call = _one_call_seconds(base_url, rounds)
            store_time = _store_seconds(worker.store, size, rounds)

    submissions = size * rounds
    ours_calls = _dynamodb_calls(calls.stages["ours"].calls) / submissions
    naive_calls = _dynamodb_calls(calls.stages["naive"].calls) / submissions
    batch, peer_batch = statistics.median(ours), statistics.median(naive)
    floor = one_call + store_time
    details = {
        "delay_seconds": DELAY_SECONDS,
        "batch_size": size,
        "rounds": rounds,
        "batch_samples_seconds": [round(sample, 4) for sample in ours],
        "naive_samples_seconds": [round(sample, 4) for sample in naive],
        "one_call_seconds": round(one_call, 4),
        "store_seconds": round(store_time, 4),
    }
    figures = [
        Figure(
            id="submit.batch10_vs_one_call",
            subject=f"submit batch of {size}",
            metric=f"wall time, destination {DELAY_SECONDS * 1000:g} ms (median of {rounds})",
            unit="s",
            value=batch,
            baseline=floor,
            baseline_label="one call alone + the store's own time for the batch",
            ratio=ratio(batch, floor),
            ratio_label="× floor",
            note=f"one call {one_call * 1000:.0f} ms, store {store_time * 1000:.0f} ms for {2 * size} writes",
            details=details,
        ),
        Figure(
            id="submit.batch10_speedup_vs_naive",
            subject=f"submit batch of {size}",
            metric=f"wall time, destination {DELAY_SECONDS * 1000:g} ms (median of {rounds})",
            unit="s",
            value=batch,
            baseline=peer_batch,
            baseline_label="naive peer: BatchProcessor, sequential POSTs, PutItem per outcome",
            ratio=ratio(peer_batch, batch),
            ratio_label="× faster",
            note="same moto server, same destination, same run",
            details=details,
        ),
        Figure(
            id="submit.dynamodb_calls_per_submission",
            subject="submit",
            metric="DynamoDB calls per successful submission",
            unit="",
            value=ours_calls,
            baseline=naive_calls,
            baseline_label="naive peer: PutItem per outcome, no claim",
            ratio=ratio(ours_calls, naive_calls),
            ratio_label="× naive",
            note="ours: conditional claim + outcome; the event rides in the message (no cache read)",
            details={
                "submissions": submissions,
                "ours": dict(calls.stages["ours"].calls),
                "naive": dict(calls.stages["naive"].calls),
            },
        ),
    ]
    return BenchmarkResult(NAME, {"delay_seconds": DELAY_SECONDS, "batch_size": size, "rounds": rounds}, figures)
