"""The local event sources' Lambda semantics, without AWS: filters, checkpoints, bisection, limits."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

import pytest

from infra.local.host import Invocation
from infra.local.sources import StreamSettings, StreamSource, _Shard, failed_identifiers, matches_filters

NOW = 1_800_000_000.0


class FakeSqs:
    """Collects what a source sends to its on-failure queue."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        self.sent.append(kwargs)
        return {}


class ScriptedFunction:
    """Answers each invocation from a script; remembers the sequence numbers it was given."""

    function_name = "FanoutFunction"

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.batches: list[list[str]] = []

    def invoke(self, event: Mapping[str, Any]) -> Invocation:
        sequences = [record["dynamodb"]["SequenceNumber"] for record in event["Records"]]
        self.batches.append(sequences)
        result: Invocation = self.answer(sequences)
        return result


def record(sequence: int, *, age: float = 0) -> dict[str, Any]:
    return {
        "eventName": "INSERT",
        "dynamodb": {"SequenceNumber": str(sequence), "ApproximateCreationDateTime": NOW - age},
    }


def source(function: ScriptedFunction, sqs: FakeSqs, **settings: Any) -> StreamSource:
    return StreamSource(
        invoker=function,
        streams=cast("Any", None),
        sqs=cast("Any", sqs),
        stream_arn="arn:aws:dynamodb:us-east-1:1:table/t/stream/x",
        region="us-east-1",
        settings=StreamSettings(on_failure_queue_url="https://queue", **settings),
        clock=lambda: NOW,
    )


def poison(bad: str) -> Any:
    return lambda sequences: Invocation(
        response={"batchItemFailures": [{"itemIdentifier": bad}] if bad in sequences else []}
    )


def test_filters_match_nested_keys_against_allowed_values() -> None:
    patterns = [{"eventName": ["INSERT", "MODIFY"]}]
    assert matches_filters({"eventName": "INSERT"}, patterns)
    assert not matches_filters({"eventName": "REMOVE"}, patterns)
    assert matches_filters({"eventName": "REMOVE"}, [])
    assert matches_filters({"dynamodb": {"Keys": {"id": 1}}}, [{"dynamodb": {"Keys": {"id": 1}}}])


@pytest.mark.parametrize(
    ("invocation", "expected"),
    [
        (Invocation(response={"batchItemFailures": []}), set()),
        (Invocation(response=None), set()),
        (Invocation(response={"batchItemFailures": [{"itemIdentifier": "7"}]}), {"7"}),
        (Invocation(response={"batchItemFailures": [{"itemIdentifier": ""}]}), None),
        (Invocation(response="not a response"), None),
        (Invocation(error="boom"), None),
    ],
)
def test_partial_batch_responses_are_read_as_lambda_reads_them(
    invocation: Invocation, expected: set[str] | None
) -> None:
    assert failed_identifiers(invocation) == expected


def test_a_partial_failure_checkpoints_before_the_failed_record() -> None:
    function = ScriptedFunction(poison("3"))
    sqs = FakeSqs()
    stream = source(function, sqs, maximum_retry_attempts=2, bisect_on_error=True)
    shard = _Shard("shard-1", None, buffer=[record(n) for n in range(1, 6)])

    for _ in range(10):
        if shard.buffer:
            stream._deliver(shard)

    first, *retries = function.batches
    assert first == ["1", "2", "3", "4", "5"]
    assert all("1" not in batch and "2" not in batch for batch in retries)
    assert retries[0] == ["3", "4", "5"]
    assert ["3"] in retries  # bisection narrowed the retries down to the poison record
    [discarded] = sqs.sent
    info = json.loads(discarded["MessageBody"])
    assert info["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert (info["DDBStreamBatchInfo"]["startSequenceNumber"], info["DDBStreamBatchInfo"]["batchSize"]) == ("3", 1)
    assert function.batches[-1] == ["4", "5"]  # the healthy records after it were delivered
    assert shard.buffer == []


def test_records_older_than_the_maximum_age_go_to_the_on_failure_destination() -> None:
    function = ScriptedFunction(lambda sequences: Invocation(response={"batchItemFailures": []}))
    sqs = FakeSqs()
    stream = source(function, sqs, maximum_record_age_seconds=60)
    shard = _Shard("shard-1", None, buffer=[record(1, age=120), record(2, age=90), record(3, age=10)])

    stream._deliver(shard)

    [expired] = sqs.sent
    info = json.loads(expired["MessageBody"])
    assert info["requestContext"]["condition"] == "RecordAgeExceeded"
    assert info["DDBStreamBatchInfo"]["batchSize"] == 2
    assert function.batches == [["3"]]


def test_a_function_error_retries_the_whole_batch_and_bisects_it() -> None:
    function = ScriptedFunction(lambda sequences: Invocation(error="Task timed out"))
    stream = source(function, FakeSqs(), maximum_retry_attempts=3, bisect_on_error=True)
    shard = _Shard("shard-1", None, buffer=[record(n) for n in range(1, 9)])

    for _ in range(4):
        stream._deliver(shard)

    assert [len(batch) for batch in function.batches] == [8, 4, 2, 1]
    assert stream.stats.function_errors == 4
