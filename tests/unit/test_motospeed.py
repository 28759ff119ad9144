"""The local moto server's speed-ups change no answer and remove the per-request work they name."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import backends
from moto.core import utils as moto_utils
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sqs.models import Message, Queue, sqs_backends

from infra.local.motospeed import speed_up_moto

REGION = "eu-west-1"


def count_reads(monkeypatch: pytest.MonkeyPatch, owner: type, name: str) -> list[None]:
    """Count every read of the property ``owner.name`` from now on: one entry per read."""
    reads: list[None] = []
    original = getattr(owner, name)

    def counted(instance: Any) -> Any:
        reads.append(None)
        return original.fget(instance)

    monkeypatch.setattr(owner, name, property(counted))
    return reads


@pytest.fixture
def sqs(aws: None) -> Any:
    speed_up_moto()
    return boto3.client("sqs", region_name=REGION)


def test_moto_lists_its_modules_once() -> None:
    listed = list(backends.list_of_moto_modules())
    speed_up_moto()
    assert list(backends.list_of_moto_modules()) == listed
    assert backends.list_of_moto_modules() is backends.list_of_moto_modules()
    assert "dynamodb" in listed


def test_a_receive_does_not_rebuild_the_queue_attributes_per_message(sqs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    url = sqs.create_queue(QueueName="backlog")["QueueUrl"]
    for start in range(0, 200, 10):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{n}"} for n in range(start, start + 10)]
        )
    built = count_reads(monkeypatch, Queue, "attributes")
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(received) == 10
    # moto built them (three walks of the 200 messages each) once per message received, several times over.
    assert len(built) == 0


def test_messages_past_the_retention_period_are_still_dropped(sqs: Any) -> None:
    backend = sqs_backends[DEFAULT_ACCOUNT_ID][REGION]
    for name in ("expired", "fresh"):
        url = sqs.create_queue(QueueName=name, Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=name)
    # Milliseconds: sent 61 s ago, past the queue's 60 s.
    expired = backend.get_queue("expired")._messages[0]
    expired.sent_timestamp = int(expired.sent_timestamp or 0) - 61_000  # type: ignore[assignment]
    for name, expected in (("expired", []), ("fresh", ["fresh"])):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        assert [message["Body"] for message in answer.get("Messages", [])] == expected


@pytest.mark.parametrize("name", ["ApproximateNumberOfMessages", "ReceiveMessage", "FifoQueue", "KmsMasterKeyId", ""])
def test_cached_name_conversion_answers_as_moto_does(name: str) -> None:
    from moto.core import responses
    from moto.sqs import models

    speed_up_moto()
    expected = moto_utils.camelcase_to_underscores(name)
    assert responses.camelcase_to_underscores(name) == expected  # type: ignore[attr-defined]
    assert models.camelcase_to_underscores(name) == expected  # type: ignore[attr-defined]


def test_the_queue_counts_agree_with_each_message_s_own_answer(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="mixed")["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{n}"} for n in range(6)])
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"d{n}", "DelaySeconds": 60} for n in range(2)]
    )
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60)
    queue = sqs_backends[DEFAULT_ACCOUNT_ID][REGION].get_queue("mixed")
    messages = queue._messages
    assert queue.messages == [m for m in messages if m.visible and not m.delayed]
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == str(sum(m.visible and not m.delayed for m in messages)) == "4"
    assert counts["ApproximateNumberOfMessagesNotVisible"] == str(sum(not m.visible for m in messages)) == "2"
    assert counts["ApproximateNumberOfMessagesDelayed"] == str(sum(m.delayed for m in messages)) == "2"


def test_a_send_does_not_ask_every_queued_message_the_time(sqs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    url = sqs.create_queue(QueueName="deep")["QueueUrl"]
    for start in range(0, 100, 10):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{n}"} for n in range(start, start + 10)]
        )
    asked = count_reads(monkeypatch, Message, "visible")
    sqs.send_message(QueueUrl=url, MessageBody="one more")
    # moto asked each of the 100 queued messages, twice, to read ContentBasedDeduplication.
    assert len(asked) == 0
