"""The submit worker's retry decisions, through the real submit handler on moto.

Retry, give up, acknowledge, fence off: what the worker tells SQS (the
partial batch response and ``ChangeMessageVisibility``), what it records,
and whether it calls the destination at all.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import botocore.session
import httpx
import pytest
import respx

from infra.pipeline.retry import RetryPolicy
from infra.pipeline.worker import MAX_REQUEUES
from integrations.event_data import event_id_for
from integrations.records import ChangeKind, SubmissionRecord, SubmissionStatus
from tests.conftest import REGION
from tests.integration import test_pipeline
from tests.integration.test_pipeline import BASE_URL, Pipeline

# The pipeline tests' fixtures: moto deployment driven like Lambda, and TicketFairy on respx.
pipeline = test_pipeline.pipeline
ticketfairy = test_pipeline.ticketfairy

SUBMIT_FUNCTION = "TicketfairySubmitFunction"
FLAKY = {"title": "Flaky night", "date": "2026-04-01", "source_url": "https://source.example.com/flaky"}
STEADY = {"title": "Steady night", "date": "2026-04-02", "source_url": "https://source.example.com/steady"}
FLAKY_ID = event_id_for(FLAKY["source_url"])


@pytest.fixture
def visibility_changes(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The parameters of every ``ChangeMessageVisibility`` call made by clients built after this fixture.

    The submit worker builds its SQS client at its first invocation, on a botocore
    session of its own: sessions made for this test carry the hook.
    """
    changes: list[dict[str, Any]] = []
    original = botocore.session.get_session

    def hooked(env_vars: Any = None) -> botocore.session.Session:
        session = original(env_vars)
        session.register(
            "provide-client-params.sqs.ChangeMessageVisibility", lambda **kwargs: changes.append(dict(kwargs["params"]))
        )
        return session

    monkeypatch.setattr(botocore.session, "get_session", hooked)
    return changes


def fail_flaky_with(ticketfairy: respx.MockRouter, failure: httpx.Response) -> None:
    """TicketFairy answers ``failure`` for the flaky event and 201 for anything else."""
    counter = iter(range(1000, 2000))

    def answer(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["data"]["attributes"]["title"] == FLAKY["title"]:
            return failure
        return httpx.Response(201, json={"data": {"id": str(next(counter))}})

    ticketfairy.routes[0].side_effect = answer


def queue_flaky_and_steady(pipeline: Pipeline) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Import both events and fan them out: all queued messages, and the flaky event's one."""
    pipeline.import_([FLAKY, STEADY])
    assert pipeline.run_fanout() == {"batchItemFailures": []}
    messages = pipeline.queued()
    assert len(messages) == 2
    flaky = next(m for m in messages if json.loads(m["Body"])["event_id"] == FLAKY_ID)
    return messages, flaky


def record_of(pipeline: Pipeline, event_id: str) -> SubmissionRecord:
    record = pipeline.store.submissions.get(event_id, "ticketfairy")
    assert record is not None
    return record


def only_failure(message: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    return {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}


def test_a_503_is_retried_after_a_backoff_set_on_the_message(
    pipeline: Pipeline, ticketfairy: respx.MockRouter, visibility_changes: list[dict[str, Any]]
) -> None:
    # Given TicketFairy in maintenance for one of two events
    fail_flaky_with(ticketfairy, httpx.Response(503, text="maintenance"))
    messages, flaky = queue_flaky_and_steady(pipeline)

    # When the batch is submitted
    response = pipeline.run_submit(messages)

    # Then only that message is reported failed, and SQS will hand it back after the first backoff
    assert response == only_failure(flaky)
    assert len(visibility_changes) == 1
    change = visibility_changes[0]
    assert change["QueueUrl"] == pipeline.queue_url
    assert change["ReceiptHandle"] == flaky["ReceiptHandle"]
    default = RetryPolicy()
    assert default.base_seconds / 2 <= change["VisibilityTimeout"] <= default.base_seconds
    # And its record waits for the retry, saying why
    record = record_of(pipeline, FLAKY_ID)
    assert record.status is SubmissionStatus.PENDING
    assert record.last_error is not None
    assert "HTTP 503" in record.last_error
    assert record_of(pipeline, event_id_for(STEADY["source_url"])).status is SubmissionStatus.SUCCESS


def test_a_429_with_retry_after_postpones_at_least_that_long(
    pipeline: Pipeline, ticketfairy: respx.MockRouter, visibility_changes: list[dict[str, Any]]
) -> None:
    # Given TicketFairy rate-limiting one event and asking for 7 s
    fail_flaky_with(ticketfairy, httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "slow down"}))
    messages, flaky = queue_flaky_and_steady(pipeline)

    # When the batch is submitted
    response = pipeline.run_submit(messages)

    # Then the message comes back no sooner than TicketFairy asked
    assert response == only_failure(flaky)
    assert [change["ReceiptHandle"] for change in visibility_changes] == [flaky["ReceiptHandle"]]
    assert 7 <= visibility_changes[0]["VisibilityTimeout"] <= RetryPolicy().max_seconds
    assert record_of(pipeline, FLAKY_ID).status is SubmissionStatus.PENDING


def test_a_400_is_failed_for_good_with_the_apis_message(
    pipeline: Pipeline, ticketfairy: respx.MockRouter, visibility_changes: list[dict[str, Any]]
) -> None:
    # Given TicketFairy rejecting one event's data
    fail_flaky_with(
        ticketfairy,
        httpx.Response(400, json={"errors": [{"detail": "title is not allowed", "source": {"pointer": "/title"}}]}),
    )
    messages, _ = queue_flaky_and_steady(pipeline)

    # When the batch is submitted
    response = pipeline.run_submit(messages)

    # Then nothing is retried: the message is acknowledged, not postponed
    assert response == {"batchItemFailures": []}
    assert visibility_changes == []
    # And the record is failed with TicketFairy's own words
    record = record_of(pipeline, FLAKY_ID)
    assert record.status is SubmissionStatus.FAILED
    assert record.last_error is not None
    assert "HTTP 400" in record.last_error
    assert "/title: title is not allowed" in record.last_error
    assert record.attempts == 1
    assert len(ticketfairy.calls) == 2


def test_the_final_attempt_records_failed_and_still_reports_the_message(
    pipeline: Pipeline, ticketfairy: respx.MockRouter
) -> None:
    # Given a queue whose redrive policy allows a single receive
    pipeline.deployment.env(SUBMIT_FUNCTION)["MAX_RECEIVE_COUNT"] = "1"
    fail_flaky_with(ticketfairy, httpx.Response(503, text="maintenance"))
    messages, flaky = queue_flaky_and_steady(pipeline)
    assert json.loads(flaky["Body"])["version"] == 1
    assert flaky["Attributes"]["ApproximateReceiveCount"] == "1"

    # When that one attempt meets a 503
    response = pipeline.run_submit(messages)

    # Then the record gives up, saying so, and the message is still reported so SQS dead-letters it
    assert response == only_failure(flaky)
    record = record_of(pipeline, FLAKY_ID)
    assert record.status is SubmissionStatus.FAILED
    assert record.last_error is not None
    assert record.last_error.startswith("gave up after 1 attempts: ")
    assert "HTTP 503" in record.last_error


def test_attempts_count_receives_so_giving_up_names_the_max_receive_count(
    pipeline: Pipeline, ticketfairy: respx.MockRouter
) -> None:
    # Given maxReceiveCount 3 and a destination that keeps answering 503
    pipeline.deployment.env(SUBMIT_FUNCTION)["MAX_RECEIVE_COUNT"] = "3"
    fail_flaky_with(ticketfairy, httpx.Response(503, text="maintenance"))
    _, flaky = queue_flaky_and_steady(pipeline)

    # When the message is received three times, the first receive delivered twice (more claims than receives)
    for count in (1, 1, 2, 3):
        received = {**flaky, "Attributes": {**flaky["Attributes"], "ApproximateReceiveCount": str(count)}}
        pipeline.run_submit([received])

    # Then the record counts the receives, and gives up after as many as the queue allows
    record = record_of(pipeline, FLAKY_ID)
    assert record.status is SubmissionStatus.FAILED
    assert record.attempts == 3
    assert record.last_error is not None
    assert record.last_error.startswith("gave up after 3 attempts: ")


def test_a_duplicate_delivery_after_success_is_acknowledged_without_a_call(
    pipeline: Pipeline, ticketfairy: respx.MockRouter
) -> None:
    # Given an event delivered successfully
    pipeline.import_([STEADY])
    pipeline.run_fanout()
    [message] = pipeline.queued()
    assert pipeline.run_submit([message]) == {"batchItemFailures": []}
    assert len(ticketfairy.calls) == 1
    before = record_of(pipeline, event_id_for(STEADY["source_url"]))

    # When SQS delivers the same message again (at-least-once)
    pipeline.sqs.send_message(QueueUrl=pipeline.queue_url, MessageBody=message["Body"])
    [duplicate] = pipeline.queued()
    response = pipeline.run_submit([duplicate])

    # Then it is acknowledged, TicketFairy is not called again, and the record is untouched
    assert response == {"batchItemFailures": []}
    assert len(ticketfairy.calls) == 1
    assert record_of(pipeline, event_id_for(STEADY["source_url"])) == before


def test_a_late_message_for_an_older_version_is_fenced_off(pipeline: Pipeline, ticketfairy: respx.MockRouter) -> None:
    # Given version 1 and then version 2 of an event delivered
    event_id = event_id_for(STEADY["source_url"])
    pipeline.import_([STEADY])
    pipeline.run_fanout()
    [first] = pipeline.queued()
    pipeline.run_submit([first])
    pipeline.import_([{**STEADY, "title": "Steady night (moved)"}])
    pipeline.run_fanout()
    [second] = pipeline.queued()
    assert [json.loads(m["Body"])["version"] for m in (first, second)] == [1, 2]
    assert pipeline.run_submit([second]) == {"batchItemFailures": []}
    current = record_of(pipeline, event_id)
    assert (current.status, current.version) == (SubmissionStatus.SUCCESS, 2)
    calls = len(ticketfairy.calls)

    # When a copy of the version-1 message arrives late
    pipeline.sqs.send_message(QueueUrl=pipeline.queue_url, MessageBody=first["Body"])
    response = pipeline.run_submit(pipeline.queued())

    # Then it is acknowledged without calling TicketFairy, and version 2's record stands
    assert response == {"batchItemFailures": []}
    assert len(ticketfairy.calls) == calls
    assert record_of(pipeline, event_id) == current


def delete_cached(pipeline: Pipeline, event_id: str) -> None:
    boto3.client("dynamodb", region_name=REGION).delete_item(
        TableName=pipeline.deployment.env("FanoutFunction")["EVENT_CACHE_TABLE"], Key={"event_id": {"S": event_id}}
    )


def test_removing_a_submitted_event_deletes_its_draft(pipeline: Pipeline, ticketfairy: respx.MockRouter) -> None:
    # Given an event submitted as a TicketFairy draft
    event_id = event_id_for(STEADY["source_url"])
    pipeline.import_([STEADY])
    pipeline.run_fanout()
    pipeline.run_submit(pipeline.queued())
    remote_id = record_of(pipeline, event_id).remote_id
    assert remote_id is not None

    # When it is deleted from the cache, and the removal fanned out and submitted
    delete_cached(pipeline, event_id)
    assert pipeline.run_fanout() == {"batchItemFailures": []}
    [removal] = pipeline.queued()
    assert json.loads(removal["Body"])["change"] == "removed"
    assert pipeline.run_submit([removal]) == {"batchItemFailures": []}

    # Then the draft was deleted, and the record says the event was removed
    request = ticketfairy.calls[-1].request
    assert len(ticketfairy.calls) == 2
    assert (request.method, str(request.url)) == ("DELETE", f"{BASE_URL}/api/draft-events/{remote_id}")
    record = record_of(pipeline, event_id)
    assert (record.status, record.change, record.remote_id) == (SubmissionStatus.SUCCESS, ChangeKind.REMOVED, remote_id)


def test_removing_an_event_never_submitted_calls_nothing_and_is_skipped(
    pipeline: Pipeline, ticketfairy: respx.MockRouter
) -> None:
    # Given an event created and deleted before any of its messages was submitted
    event_id = event_id_for(STEADY["source_url"])
    pipeline.import_([STEADY])
    delete_cached(pipeline, event_id)
    assert pipeline.run_fanout() == {"batchItemFailures": []}
    messages = {json.loads(m["Body"])["change"]: m for m in pipeline.queued()}
    assert set(messages) == {"created", "removed"}

    # When the removal is submitted
    assert pipeline.run_submit([messages["removed"]]) == {"batchItemFailures": []}

    # Then TicketFairy is not called and the record says the event was skipped
    assert ticketfairy.calls.call_count == 0
    record = record_of(pipeline, event_id)
    assert (record.status, record.change) == (SubmissionStatus.SKIPPED, ChangeKind.REMOVED)
    assert record.response_summary == "removed from the cache before it was submitted"

    # And the creation arriving after its removal is fenced off too
    assert pipeline.run_submit([messages["created"]]) == {"batchItemFailures": []}
    assert ticketfairy.calls.call_count == 0
    assert record_of(pipeline, event_id) == record


def test_a_live_claim_on_the_final_attempt_is_requeued_not_dead_lettered(
    pipeline: Pipeline, ticketfairy: respx.MockRouter
) -> None:
    # Given a queue that allows a single receive, and another worker holding the flaky event's claim
    pipeline.deployment.env(SUBMIT_FUNCTION)["MAX_RECEIVE_COUNT"] = "1"
    messages, _ = queue_flaky_and_steady(pipeline)
    cached = pipeline.store.events.get(FLAKY_ID)
    assert cached is not None
    # A lease a busy machine cannot outlast between this claim and the submit below.
    held = pipeline.store.submissions.claim(
        FLAKY_ID, "ticketfairy", data_hash=cached.data_hash, version=cached.version, lease_seconds=30
    )
    assert held.record is not None

    # When the final attempt meets that claim
    response = pipeline.run_submit(messages)

    # Then the message is acknowledged and a fresh copy waits for the lease to end: nothing is dead-lettered
    assert response == {"batchItemFailures": []}
    assert len(ticketfairy.calls) == 1  # only the steady event
    sqs = boto3.client("sqs", region_name=REGION)
    attributes = sqs.get_queue_attributes(QueueUrl=pipeline.queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
    dead_letters = pipeline.deployment.env(SUBMIT_FUNCTION)["DEAD_LETTER_QUEUE_URL"]
    assert "Messages" not in sqs.receive_message(QueueUrl=dead_letters)
    assert record_of(pipeline, FLAKY_ID).status is SubmissionStatus.IN_PROGRESS


def test_a_message_requeued_too_often_is_left_to_the_dead_letter_queue(
    pipeline: Pipeline, ticketfairy: respx.MockRouter
) -> None:
    # Given a final attempt behind a live claim, for a message already requeued the maximum number of times
    pipeline.deployment.env(SUBMIT_FUNCTION)["MAX_RECEIVE_COUNT"] = "1"
    messages, flaky = queue_flaky_and_steady(pipeline)
    flaky["Body"] = json.dumps({**json.loads(flaky["Body"]), "requeues": MAX_REQUEUES})
    cached = pipeline.store.events.get(FLAKY_ID)
    assert cached is not None
    pipeline.store.submissions.claim(
        FLAKY_ID, "ticketfairy", data_hash=cached.data_hash, version=cached.version, lease_seconds=30
    )

    # When it is processed, it is reported failed (SQS's redrive policy then dead-letters it), not requeued again
    assert pipeline.run_submit(messages) == only_failure(flaky)
    sqs = boto3.client("sqs", region_name=REGION)
    attributes = sqs.get_queue_attributes(QueueUrl=pipeline.queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "0"


def emf_documents(output: str) -> list[dict[str, Any]]:
    """The Embedded Metric Format documents among a function's output lines."""
    lines = (json.loads(line) for line in output.splitlines() if line.startswith("{"))
    return [document for document in lines if "_aws" in document]


def test_each_invocation_publishes_its_outcomes_per_integration(
    pipeline: Pipeline, ticketfairy: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a batch where one event is delivered, one is retried and one message is unusable
    fail_flaky_with(ticketfairy, httpx.Response(503, text="maintenance"))
    messages, _ = queue_flaky_and_steady(pipeline)
    boto3.client("sqs", region_name=REGION).send_message(QueueUrl=pipeline.queue_url, MessageBody="not json")
    messages += pipeline.queued()
    capsys.readouterr()

    # When the batch is submitted
    pipeline.run_submit(messages)

    # Then one EMF document counts each outcome, under the integration's dimension
    (document,) = emf_documents(capsys.readouterr().out)
    assert document["integration"] == "ticketfairy"
    assert (document["Submitted"], document["Retried"], document["DeadLettered"]) == ([1.0], [1.0], [1.0])
    names = {metric["Name"] for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert names == {"Submitted", "Retried", "DeadLettered"}
