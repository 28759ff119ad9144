"""Retry timing (``RetryPolicy``) and the worker's hold on its queue (``QueueControl``, on in-process moto)."""

from __future__ import annotations

import itertools
import logging
import random
import time
from typing import TYPE_CHECKING

import boto3
import pytest

from infra.pipeline.retry import SQS_MAX_ATTRIBUTE_CHARS, SQS_MAX_VISIBILITY_SECONDS, QueueControl, RetryPolicy
from tests.conftest import REGION

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# -- RetryPolicy.delay ---------------------------------------------------------------

SEEDS = range(50)


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(1, 1, 2), (2, 2, 4), (3, 4, 8), (4, 8, 16), (5, 16, 32), (6, 32, 64)],
)
def test_delay_grows_exponentially_within_equal_jitter_bounds(attempt: int, low: int, high: int) -> None:
    # base 2 s: attempt n waits between half and all of 2 × 2^(n-1) seconds
    policy = RetryPolicy(base_seconds=2.0, max_seconds=900.0)

    delays = {policy.delay(attempt, rng=random.Random(seed)) for seed in SEEDS}

    assert min(delays) >= low
    assert max(delays) <= high


def test_each_attempt_waits_longer_on_average() -> None:
    policy = RetryPolicy(base_seconds=2.0, max_seconds=900.0)

    means = [
        sum(policy.delay(attempt, rng=random.Random(seed)) for seed in SEEDS) / len(SEEDS) for attempt in range(1, 7)
    ]

    # Doubling the ceiling each time: every mean is well above the one before it.
    assert all(later > 1.5 * earlier for earlier, later in itertools.pairwise(means))


@pytest.mark.parametrize("attempt", [10, 11, 20, 64])
def test_delay_is_capped_at_max_seconds(attempt: int) -> None:
    policy = RetryPolicy(base_seconds=2.0, max_seconds=60.0)

    delays = {policy.delay(attempt, rng=random.Random(seed)) for seed in SEEDS}

    # Once the cap is the ceiling, jitter works below it: [30, 60].
    assert max(delays) <= 60
    assert min(delays) >= 30


def test_delay_is_capped_for_any_attempt_number() -> None:
    policy = RetryPolicy(base_seconds=2.0, max_seconds=900.0)

    assert 450 <= policy.delay(5_000, rng=random.Random(1)) <= 900


@pytest.mark.parametrize("retry_after", [7.0, 7.2, 30.0, 0.0])
def test_delay_is_never_less_than_retry_after(retry_after: float) -> None:
    policy = RetryPolicy(base_seconds=2.0, max_seconds=900.0)

    for seed in SEEDS:
        assert policy.delay(1, retry_after, rng=random.Random(seed)) >= retry_after


def test_retry_after_above_the_cap_is_capped() -> None:
    policy = RetryPolicy(base_seconds=2.0, max_seconds=120.0)

    assert policy.delay(1, 3_600.0, rng=random.Random(1)) == 120


@pytest.mark.parametrize(
    ("policy", "attempt", "retry_after"),
    [
        (RetryPolicy(), 1, None),
        (RetryPolicy(base_seconds=0.01), 1, None),
        (RetryPolicy(base_seconds=0.01), 1, 0.0),
        (RetryPolicy(), 0, None),
        (RetryPolicy(), 30, None),
        (RetryPolicy(max_seconds=100_000.0), 40, None),
        (RetryPolicy(max_seconds=100_000.0), 1, 86_400.0),
    ],
)
def test_delay_is_a_whole_number_of_seconds_sqs_accepts(
    policy: RetryPolicy, attempt: int, retry_after: float | None
) -> None:
    for seed in SEEDS:
        delay = policy.delay(attempt, retry_after, rng=random.Random(seed))

        assert type(delay) is int
        assert 0 <= delay <= SQS_MAX_VISIBILITY_SECONDS


def test_a_policy_allowing_more_than_sqs_is_held_to_the_sqs_limit() -> None:
    policy = RetryPolicy(base_seconds=2.0, max_seconds=100_000.0)

    assert policy.delay(40, rng=random.Random(1)) == SQS_MAX_VISIBILITY_SECONDS


def test_jitter_spreads_delays_and_a_seed_reproduces_them() -> None:
    policy = RetryPolicy(base_seconds=2.0, max_seconds=900.0)

    spread = {policy.delay(6, rng=random.Random(seed)) for seed in SEEDS}
    again = [policy.delay(6, rng=random.Random(seed)) for seed in SEEDS]

    # Fifty seeds over the 33 whole seconds of [32, 64] must not collapse to a few values.
    assert len(spread) >= 10
    assert again == [policy.delay(6, rng=random.Random(seed)) for seed in SEEDS]


# -- QueueControl on moto ---------------------------------------------------------------


@pytest.fixture
def sqs(aws: None) -> SQSClient:
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def queues(sqs: SQSClient) -> tuple[str, str]:
    """A work queue (30 s visibility timeout) and its dead-letter queue."""
    dead = sqs.create_queue(QueueName="work-dlq")["QueueUrl"]
    work = sqs.create_queue(QueueName="work", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    return work, dead


@pytest.fixture
def retry_logs(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> pytest.LogCaptureFixture:
    """``caplog`` for ``infra.pipeline.retry``: the functions' logger setup stops ``infra`` propagating to root."""
    monkeypatch.setattr(logging.getLogger("infra"), "propagate", True)
    caplog.set_level(logging.INFO, logger="infra")
    return caplog


def receive(sqs: SQSClient, queue_url: str) -> list[str]:
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    return [message["Body"] for message in messages]


def test_postpone_makes_the_message_visible_again_after_the_delay(sqs: SQSClient, queues: tuple[str, str]) -> None:
    # Given a received message, invisible for the queue's 30 s
    work, dead = queues
    sqs.send_message(QueueUrl=work, MessageBody="event-1")
    message = sqs.receive_message(QueueUrl=work)["Messages"][0]
    control = QueueControl(sqs, work, dead)

    # When the worker postpones it by 1 s
    control.postpone(message["ReceiptHandle"], 1)

    # Then it is not receivable at once, but is after the second (not after the queue's 30 s)
    assert receive(sqs, work) == []
    time.sleep(1.2)
    assert receive(sqs, work) == ["event-1"]


def test_postpone_without_a_queue_url_does_nothing(sqs: SQSClient, queues: tuple[str, str]) -> None:
    work, dead = queues
    sqs.send_message(QueueUrl=work, MessageBody="event-1")
    message = sqs.receive_message(QueueUrl=work)["Messages"][0]

    QueueControl(sqs, None, dead).postpone(message["ReceiptHandle"], 0)

    # The queue's own 30 s visibility timeout still holds it.
    assert receive(sqs, work) == []


def test_postpone_swallows_an_invalid_receipt_handle_and_warns(
    sqs: SQSClient, queues: tuple[str, str], retry_logs: pytest.LogCaptureFixture
) -> None:
    work, dead = queues

    QueueControl(sqs, work, dead).postpone("not-a-receipt-handle", 5)

    warnings = [r for r in retry_logs.records if r.name == "infra.pipeline.retry" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "could not postpone a message by 5 s" in warnings[0].getMessage()
    assert "ReceiptHandleIsInvalid" in warnings[0].getMessage()


def test_dead_letter_sends_the_body_with_the_reason(sqs: SQSClient, queues: tuple[str, str]) -> None:
    work, dead = queues

    moved = QueueControl(sqs, work, dead).dead_letter('{"event_id": "e1"}', "malformed queue message: version: missing")

    assert moved is True
    messages = sqs.receive_message(QueueUrl=dead, MessageAttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in messages] == ['{"event_id": "e1"}']
    error = messages[0]["MessageAttributes"]["error"]
    assert error["DataType"] == "String"
    assert error["StringValue"] == "malformed queue message: version: missing"
    assert receive(sqs, work) == []


def test_dead_letter_truncates_a_long_reason(sqs: SQSClient, queues: tuple[str, str]) -> None:
    work, dead = queues
    reason = "field: broken; " * 200

    assert QueueControl(sqs, work, dead).dead_letter("body", reason)

    messages = sqs.receive_message(QueueUrl=dead, MessageAttributeNames=["All"])["Messages"]
    stored = messages[0]["MessageAttributes"]["error"]["StringValue"]
    assert len(reason) > SQS_MAX_ATTRIBUTE_CHARS
    assert stored == reason[:SQS_MAX_ATTRIBUTE_CHARS]


def test_dead_letter_without_a_dlq_url_returns_false_and_sends_nothing(sqs: SQSClient, queues: tuple[str, str]) -> None:
    work, dead = queues

    assert QueueControl(sqs, work, None).dead_letter("body", "reason") is False

    assert receive(sqs, dead) == []
    assert receive(sqs, work) == []
