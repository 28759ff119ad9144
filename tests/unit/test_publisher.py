"""The queue publisher: batch packing (pure) and sending through moto's in-process SQS."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws

from infra.aws.publisher import (
    SQS_MAX_BATCH_BYTES,
    OutgoingMessage,
    PublishError,
    PublishReport,
    QueuePublisher,
    pack_batches,
)
from integrations.errors import IntegrationError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import (
        BatchResultErrorEntryTypeDef,
        SendMessageBatchRequestEntryTypeDef,
        SendMessageBatchResultTypeDef,
    )

KIB = 1024
QUEUE_A = "https://sqs.us-east-1.amazonaws.com/123456789012/a"
QUEUE_B = "https://sqs.us-east-1.amazonaws.com/123456789012/b"


def message(index: int, queue_url: str = QUEUE_A, size: int | None = None) -> OutgoingMessage:
    body = f"body-{index}" if size is None else "x" * size
    return OutgoingMessage(queue_url=queue_url, body=body, key=f"seq-{index}#{queue_url.rsplit('/', 1)[-1]}")


def sizes(batches: list[list[OutgoingMessage]]) -> list[int]:
    return [len(batch) for batch in batches]


# --- packing -----------------------------------------------------------------


def test_small_messages_pack_ten_to_a_batch() -> None:
    packing = pack_batches([message(i) for i in range(25)], max_entries=10, max_bytes=SQS_MAX_BATCH_BYTES)

    assert sizes(packing.batches) == [10, 10, 5]
    assert [m.key for batch in packing.batches for m in batch] == [message(i).key for i in range(25)]
    assert packing.oversized == []


def test_large_messages_pack_by_bytes() -> None:
    messages = [message(i, size=300 * KIB) for i in range(7)]

    packing = pack_batches(messages, max_entries=10, max_bytes=SQS_MAX_BATCH_BYTES)

    assert sizes(packing.batches) == [3, 3, 1]
    assert all(sum(m.size for m in batch) <= SQS_MAX_BATCH_BYTES for batch in packing.batches)


def test_queues_never_share_a_batch() -> None:
    queues = [QUEUE_A, QUEUE_B, QUEUE_A + "-c"]
    messages = [message(i, queues[i % 3]) for i in range(30)]

    packing = pack_batches(messages, max_entries=4, max_bytes=SQS_MAX_BATCH_BYTES)

    assert all(len({m.queue_url for m in batch}) == 1 for batch in packing.batches)
    assert sorted(sizes(packing.batches)) == [2, 2, 2, 4, 4, 4, 4, 4, 4]
    for queue in queues:
        in_batches = [m for batch in packing.batches if batch[0].queue_url == queue for m in batch]
        assert in_batches == [m for m in messages if m.queue_url == queue]


def test_message_over_the_limit_is_set_aside_by_key() -> None:
    too_big = message(1, size=101)

    packing = pack_batches([message(0, size=10), too_big, message(2, size=10)], max_entries=10, max_bytes=100)

    assert [m.key for m in packing.oversized] == [too_big.key]
    assert [[m.key for m in batch] for batch in packing.batches] == [[message(0).key, message(2).key]]


@pytest.mark.parametrize(
    ("message_sizes", "expected_batches", "expected_oversized"),
    [
        pytest.param([100], [1], 0, id="one message exactly at the limit"),
        pytest.param([101], [], 1, id="one byte over the limit"),
        pytest.param([60, 40], [2], 0, id="batch exactly at the limit"),
        pytest.param([60, 41], [1, 1], 0, id="batch one byte over the limit"),
        pytest.param([1] * 10, [10], 0, id="exactly max entries"),
        pytest.param([1] * 11, [10, 1], 0, id="one entry over max entries"),
    ],
)
def test_limits_are_inclusive(message_sizes: list[int], expected_batches: list[int], expected_oversized: int) -> None:
    messages = [message(i, size=size) for i, size in enumerate(message_sizes)]

    packing = pack_batches(messages, max_entries=10, max_bytes=100)

    assert sizes(packing.batches) == expected_batches
    assert len(packing.oversized) == expected_oversized


def test_size_counts_utf8_bytes_and_attribute_name_type_and_value() -> None:
    plain = OutgoingMessage(queue_url=QUEUE_A, body="é€", key="k")
    with_attributes = OutgoingMessage(queue_url=QUEUE_A, body="é€", key="k", attributes={"kind": "créé"})

    assert plain.size == 2 + 3
    assert with_attributes.size == 2 + 3 + len("kind") + len("String") + len("créé".encode())


def test_nothing_to_pack() -> None:
    assert pack_batches([], max_entries=10, max_bytes=100) == ([], [])


# --- publishing through moto ---------------------------------------------------


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[SQSClient]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


@pytest.fixture
def queues(sqs: SQSClient) -> tuple[str, str]:
    return sqs.create_queue(QueueName="a")["QueueUrl"], sqs.create_queue(QueueName="b")["QueueUrl"]


@pytest.fixture
def batch_calls(sqs: SQSClient) -> list[object]:
    """Every ``SendMessageBatch`` request that reached botocore."""
    calls: list[object] = []

    def record(**kwargs: object) -> None:
        calls.append(kwargs["params"])

    sqs.meta.events.register("before-call.sqs.SendMessageBatch", record)
    return calls


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def received_bodies(sqs: SQSClient, queue_url: str) -> list[str]:
    bodies: list[str] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        bodies.extend(m["Body"] for m in messages)
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
    return bodies


def test_publishes_across_queues_in_the_fewest_calls(
    sqs: SQSClient, queues: tuple[str, str], batch_calls: list[object]
) -> None:
    queue_a, queue_b = queues
    # 12 for one queue and 11 for the other, interleaved: 2 + 2 calls.
    messages = [message(i, queue_a if i % 2 == 0 else queue_b) for i in range(23)]

    report = QueuePublisher(sqs).publish(messages)

    assert report == PublishReport(sent=report.sent, failed={}, calls=4, resent=0)
    assert sorted(report.sent) == sorted(m.key for m in messages)
    assert len(batch_calls) == 4
    for queue_url in queues:
        assert sorted(received_bodies(sqs, queue_url)) == sorted(m.body for m in messages if m.queue_url == queue_url)


def test_sqs_accepts_batches_packed_up_to_the_byte_limit(
    sqs: SQSClient, queues: tuple[str, str], batch_calls: list[object]
) -> None:
    queue_a, _ = queues
    messages = [OutgoingMessage(queue_url=queue_a, body=f"{i}" * (300 * KIB), key=f"k{i}") for i in range(7)]

    report = QueuePublisher(sqs).publish(messages)

    assert report.ok
    assert report.calls == len(batch_calls) == 3
    assert sorted(received_bodies(sqs, queue_a)) == sorted(m.body for m in messages)


def test_attributes_reach_the_queue(sqs: SQSClient, queues: tuple[str, str]) -> None:
    queue_a, _ = queues
    sent = OutgoingMessage(queue_url=queue_a, body="{}", key="k", attributes={"change": "created", "service": "tf"})

    QueuePublisher(sqs).publish([sent]).raise_for_failures()

    (received,) = sqs.receive_message(QueueUrl=queue_a, MessageAttributeNames=["All"])["Messages"]
    assert {name: value["StringValue"] for name, value in received["MessageAttributes"].items()} == sent.attributes


def test_keys_that_are_not_valid_entry_ids_are_fine(sqs: SQSClient, queues: tuple[str, str]) -> None:
    queue_a, _ = queues
    messages = [OutgoingMessage(queue_url=queue_a, body=str(i), key=f"4969:{i}/ticket fairy") for i in range(3)]

    report = QueuePublisher(sqs).publish(messages)

    assert report.ok
    assert sorted(report.sent) == sorted(m.key for m in messages)


def test_oversized_message_fails_without_calling_sqs(
    sqs: SQSClient, queues: tuple[str, str], batch_calls: list[object]
) -> None:
    queue_a, _ = queues
    too_big = OutgoingMessage(queue_url=queue_a, body="x" * 90, key="big", attributes={"kind": "x"})
    small = OutgoingMessage(queue_url=queue_a, body="x", key="small")

    report = QueuePublisher(sqs, max_batch_bytes=100).publish([too_big, small])

    assert report.sent == ["small"]
    assert report.failed == {"big": "message is 101 bytes, over the 100-byte limit"}
    assert report.calls == len(batch_calls) == 1


def test_a_missing_queue_fails_only_its_own_keys(sqs: SQSClient, queues: tuple[str, str]) -> None:
    queue_a, _ = queues
    missing = queue_a.rsplit("/", 1)[0] + "/no-such-queue"

    report = QueuePublisher(sqs).publish([message(1, queue_a), message(2, missing)])

    assert report.sent == [message(1, queue_a).key]
    assert list(report.failed) == [message(2, missing).key]
    assert "queue does not exist" in report.failed[message(2, missing).key]
    assert report.calls == 2


def test_no_messages_no_calls(sqs: SQSClient, batch_calls: list[object]) -> None:
    assert QueuePublisher(sqs).publish([]) == PublishReport(sent=[], failed={}, calls=0, resent=0)
    assert batch_calls == []


# --- SendMessageBatch's Failed list ----------------------------------------------


class FlakySQS:
    """Wraps a real (moto) client; reports chosen bodies as ``Failed``, the way SQS reports a partial failure.

    ``failures`` maps a body to how many of its sends fail (a large number: all of them).
    """

    def __init__(self, client: SQSClient, failures: dict[str, int], *, sender_fault: bool = False) -> None:
        self._client = client
        self._failures = dict(failures)
        self._sender_fault = sender_fault
        self.requests: list[list[str]] = []

    def send_message_batch(
        self, *, QueueUrl: str, Entries: Sequence[SendMessageBatchRequestEntryTypeDef]
    ) -> SendMessageBatchResultTypeDef:
        self.requests.append([entry["MessageBody"] for entry in Entries])
        failing = [entry for entry in Entries if self._failures.get(entry["MessageBody"], 0) > 0]
        passing = [entry for entry in Entries if entry not in failing]
        for entry in failing:
            self._failures[entry["MessageBody"]] -= 1
        response = self._client.send_message_batch(QueueUrl=QueueUrl, Entries=passing) if passing else None
        failed: list[BatchResultErrorEntryTypeDef] = [
            {
                "Id": entry["Id"],
                "SenderFault": self._sender_fault,
                "Code": "InvalidParameterValue" if self._sender_fault else "InternalError",
                "Message": "rejected by the fake",
            }
            for entry in failing
        ]
        return {
            "Successful": response["Successful"] if response else [],
            "Failed": failed,
            "ResponseMetadata": {"RequestId": "fake", "HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0},
        }


def flaky_publisher(fake: object, sleep: RecordingSleep) -> QueuePublisher:
    return QueuePublisher(cast("SQSClient", fake), sleep=sleep)


def test_entries_failed_once_are_resent(sqs: SQSClient, queues: tuple[str, str]) -> None:
    queue_a, _ = queues
    messages = [message(i, queue_a) for i in range(10)]
    fake = FlakySQS(sqs, {"body-2": 1, "body-5": 1, "body-7": 1})
    sleep = RecordingSleep()

    report = flaky_publisher(fake, sleep).publish(messages)

    assert report.ok
    assert sorted(report.sent) == sorted(m.key for m in messages)
    assert (report.calls, report.resent) == (2, 3)
    assert fake.requests[1] == ["body-2", "body-5", "body-7"]
    assert sleep.delays == [0.05]
    assert sorted(received_bodies(sqs, queue_a)) == sorted(m.body for m in messages)


def test_failures_from_several_batches_are_resent_together(sqs: SQSClient, queues: tuple[str, str]) -> None:
    queue_a, _ = queues
    messages = [message(i, queue_a) for i in range(20)]
    fake = FlakySQS(sqs, {"body-3": 1, "body-13": 1})

    report = flaky_publisher(fake, RecordingSleep()).publish(messages)

    assert report.ok
    assert (report.calls, report.resent) == (3, 2)
    assert fake.requests[2] == ["body-3", "body-13"]


def test_an_entry_that_always_fails_is_reported_and_the_rest_sent(sqs: SQSClient, queues: tuple[str, str]) -> None:
    queue_a, queue_b = queues
    messages = [message(i, queue_a if i < 5 else queue_b) for i in range(8)]
    fake = FlakySQS(sqs, {"body-6": 99})
    sleep = RecordingSleep()

    report = flaky_publisher(fake, sleep).publish(messages)

    assert report.failed == {message(6, queue_b).key: "InternalError: rejected by the fake (after 3 attempts)"}
    assert sorted(report.sent) == sorted(m.key for m in messages if m.body != "body-6")
    assert (report.calls, report.resent) == (4, 2)
    assert sleep.delays == pytest.approx([0.05, 0.10])
    assert sorted(received_bodies(sqs, queue_b)) == ["body-5", "body-7"]


def test_sender_faults_are_not_resent(sqs: SQSClient, queues: tuple[str, str]) -> None:
    queue_a, _ = queues
    messages = [message(i, queue_a) for i in range(4)]
    fake = FlakySQS(sqs, {"body-1": 1}, sender_fault=True)
    sleep = RecordingSleep()

    report = flaky_publisher(fake, sleep).publish(messages)

    assert report.failed == {message(1, queue_a).key: "InvalidParameterValue: rejected by the fake"}
    assert len(report.sent) == 3
    assert (report.calls, report.resent) == (1, 0)
    assert sleep.delays == []


class SilentSQS:
    """Answers every batch with empty Successful and Failed lists, which SQS should never do."""

    def send_message_batch(
        self, *, QueueUrl: str, Entries: Sequence[SendMessageBatchRequestEntryTypeDef]
    ) -> SendMessageBatchResultTypeDef:
        return {
            "Successful": [],
            "Failed": [],
            "ResponseMetadata": {"RequestId": "fake", "HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0},
        }


def test_an_unacknowledged_entry_is_resent_not_lost() -> None:
    report = flaky_publisher(SilentSQS(), RecordingSleep()).publish([message(1)])

    assert report.sent == []
    assert report.failed == {message(1).key: "not acknowledged by SQS (after 3 attempts)"}
    assert (report.calls, report.resent) == (3, 2)


class UnreachableSQS:
    def send_message_batch(
        self, *, QueueUrl: str, Entries: Sequence[SendMessageBatchRequestEntryTypeDef]
    ) -> SendMessageBatchResultTypeDef:
        raise EndpointConnectionError(endpoint_url=QueueUrl)


def test_an_unreachable_endpoint_fails_the_batch_without_raising() -> None:
    report = flaky_publisher(UnreachableSQS(), RecordingSleep()).publish([message(1), message(2)])

    assert set(report.failed) == {message(1).key, message(2).key}
    assert "Could not connect" in report.failed[message(1).key]
    assert report.calls == 1


# --- the report and the constructor --------------------------------------------


def test_raise_for_failures_names_the_keys_that_were_not_sent() -> None:
    report = PublishReport(sent=["ok"], failed={"seq-2#tf": "InternalError", "seq-1#tf": "too big"}, calls=1, resent=0)

    with pytest.raises(PublishError, match=r"2 message\(s\) not sent: seq-1#tf, seq-2#tf") as caught:
        report.raise_for_failures()

    assert isinstance(caught.value, IntegrationError)
    assert caught.value.failed == report.failed


def test_raise_for_failures_returns_a_clean_report() -> None:
    report = PublishReport(sent=["ok"], failed={}, calls=1, resent=0)

    assert report.raise_for_failures() is report


@pytest.mark.parametrize(
    "limits",
    [
        {"max_batch_entries": 0},
        {"max_batch_entries": 11},
        {"max_batch_bytes": 0},
        {"max_batch_bytes": SQS_MAX_BATCH_BYTES + 1},
        {"max_attempts": 0},
    ],
)
def test_limits_beyond_what_sqs_allows_are_refused(limits: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(limits))):
        QueuePublisher(cast("SQSClient", SilentSQS()), **limits)
