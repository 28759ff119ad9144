"""The local runtime's event sources behave like Lambda's, end to end on the moto server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from infra.local.destination import DraftEventsDestination, FaultPlan
from infra.local.runtime import LocalRuntime
from infra.pipeline.importer import import_events
from integrations.event_data import event_id_for, parse_event
from integrations.records import SubmissionStatus
from tests.e2e.conftest import API_KEY, fast_template, runtime_store, start_runtime

pytestmark = pytest.mark.e2e


def cache_item(n: int, *, broken: bool = False) -> dict[str, Any]:
    """An EventCache item as the importer writes it; ``broken`` leaves out the content hash."""
    event = parse_event({"title": f"Show {n}", "date": "2026-05-01", "source_url": f"https://example.com/e/{n}"})
    item: dict[str, Any] = {
        "event_id": {"S": event_id_for(f"https://example.com/e/{n}")},
        "data": {"S": json.dumps(event.model_dump(mode="json"))},
        "version": {"N": "1"},
        "updated_at": {"S": "2026-04-01T10:00:00.000000+0000"},
    }
    if not broken:
        item["data_hash"] = {"S": event.content_hash()}
    return item


@pytest.fixture
def windowed_runtime(destination: DraftEventsDestination) -> Iterator[LocalRuntime]:
    """A stream batching window of one second, so that five quick writes make one batch."""
    runtime = start_runtime(fast_template(stream_window=1), destination)
    try:
        yield runtime
    finally:
        runtime.stop()


def test_a_failing_stream_record_is_redelivered_with_everything_after_it_and_nothing_before(
    windowed_runtime: LocalRuntime, destination: DraftEventsDestination
) -> None:
    runtime = windowed_runtime
    # Given five cache writes in one batch, the third of which the fan-out cannot read
    table = runtime.environment("FanoutFunction")["EVENT_CACHE_TABLE"]
    items = [cache_item(n, broken=(n == 3)) for n in range(1, 6)]
    runtime.client("dynamodb").batch_write_item(RequestItems={table: [{"PutRequest": {"Item": i}} for i in items]})
    assert runtime.wait_until_drained(timeout=60)

    # Then the first batch held all five, and every retry started at the broken record
    stream = runtime.stream_sources[0]
    batches = list(stream.delivered)
    first, retries = batches[0], batches[1:]
    assert len(first) == 5
    broken_sequence = first[2]
    assert retries, "the broken record was never retried"
    for batch in retries:
        assert not set(batch) & set(first[:2]), "a record before the failure was delivered again"
        if broken_sequence in batch:
            assert batch[0] == broken_sequence, "a retry did not start at the failed record"
    assert any(set(first[3:]) <= set(batch) for batch in retries), "records after the failure were not redelivered"

    # And after the retry limit only the broken record went to the on-failure destination
    failures = runtime.client("sqs").receive_message(
        QueueUrl=runtime.queue_url("FanoutFailureQueue"), MaxNumberOfMessages=10
    )["Messages"]
    assert len(failures) == 1
    info = json.loads(failures[0]["Body"])["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        broken_sequence,
        broken_sequence,
        1,
    )

    # And the four good events reached the destination once each, despite being fanned out again
    assert len(destination.accepted_creates()) == 4
    statuses = [record.status for record in runtime_store(runtime).submissions.records("ticketfairy")]
    assert statuses == [SubmissionStatus.SUCCESS] * 4


def test_a_message_failing_every_attempt_lands_in_the_dlq_after_max_receive_count() -> None:
    with DraftEventsDestination(api_key=API_KEY, faults=FaultPlan(fail_503=1.0)) as destination:
        max_receive = 3
        # Retries are timed by the worker's backoff (ChangeMessageVisibility); the queue's visibility
        # timeout only delays the final move to the DLQ. Three seconds keep a slow invocation on a busy
        # machine from being received twice (one second did not).
        runtime = start_runtime(
            fast_template(visibility_timeout=3), destination, parameters={"MaxReceiveCount": str(max_receive)}
        )
        try:
            store = runtime_store(runtime)
            import_events(
                store.events,
                [("1", {"title": "Doomed", "date": "2026-05-01", "source_url": "https://example.com/doomed"})],
            )
            dlq = runtime.queue_url("TicketfairyDeadLetterQueue")
            deadline = time.monotonic() + 60
            moved: list[dict[str, Any]] = []
            while not moved and time.monotonic() < deadline:
                moved = runtime.client("sqs").receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", [])
            assert len(moved) == 1
            assert json.loads(moved[0]["Body"])["event_id"] == event_id_for("https://example.com/doomed")
            assert destination.fault_counts()["fail_503"] == max_receive
            assert runtime.queue_depth(runtime.queue_url("TicketfairyQueue")) == 0
            record = store.submissions.get(event_id_for("https://example.com/doomed"), "ticketfairy")
            assert record is not None
            assert record.attempts == max_receive
            # The attempt that exhausted maxReceiveCount recorded the failure before the DLQ took the message.
            assert record.status is SubmissionStatus.FAILED
            assert record.last_error is not None
            assert record.last_error.startswith(f"gave up after {max_receive} attempts:")
            assert "503" in record.last_error
        finally:
            runtime.stop()
