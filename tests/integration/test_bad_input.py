"""Bad input never crashes a batch or vanishes.

Each test puts one bad item in a batch with good ones and checks three
things: the error is specific (and logged with the event id where there is
one), the bad item leaves a trace (a ``failed`` record, or a dead-letter
entry with its reason), and the rest of the batch is processed as usual.
"""

from __future__ import annotations

import copy
import io
import json
import logging
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import respx
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from functions.fanout.app import handler as fanout_handler
from infra.local.eventsources import LocalContext
from infra.pipeline.importer import InvalidItem, import_events, read_items
from infra.pipeline.messages import QueueMessage
from integrations.event_data import event_id_for
from integrations.records import SubmissionStatus
from tests.conftest import REGION, ROOT
from tests.integration import test_pipeline
from tests.integration.test_pipeline import Pipeline

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

SUBMIT_FUNCTION = "TicketfairySubmitFunction"
STREAM_INSERT_EVENT = ROOT / "events" / "FanoutFunction" / "stream-insert.json"

_LOG_LINE = LambdaPowertoolsFormatter()

# The pipeline tests' fixtures: moto deployment driven like Lambda, and TicketFairy on respx.
pipeline = test_pipeline.pipeline
ticketfairy = test_pipeline.ticketfairy


@pytest.fixture
def framework_logs(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> pytest.LogCaptureFixture:
    """``caplog`` that sees the framework's ``infra.*`` and ``integrations.*`` loggers.

    The handlers' ``copy_config_to_registered_loggers`` stops those loggers
    propagating to the root logger, where ``caplog`` listens.
    """
    for name in ("infra", "integrations"):
        monkeypatch.setattr(logging.getLogger(name), "propagate", True)
        caplog.set_level(logging.INFO, logger=name)
    return caplog


def problem_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Framework warnings and errors as the function writes them (JSON, with the ``extra`` fields)."""
    return [
        _LOG_LINE.format(record)
        for record in caplog.records
        if record.levelno >= logging.WARNING and record.name.startswith(("infra.", "integrations."))
    ]


def good_events(*numbers: int) -> list[dict[str, Any]]:
    return [
        {"title": f"Good night {n}", "date": f"2026-03-0{n}", "source_url": f"https://source.example.com/good/{n}"}
        for n in numbers
    ]


def submitted_titles(router: respx.MockRouter) -> list[str]:
    return sorted(json.loads(call.request.content)["data"]["attributes"]["title"] for call in router.calls)


def assert_succeeded(pipeline: Pipeline, events: list[dict[str, Any]]) -> None:
    for event in events:
        record = pipeline.store.submissions.get(event_id_for(event["source_url"]), "ticketfairy")
        assert record is not None, event["title"]
        assert record.status is SubmissionStatus.SUCCESS, (event["title"], record.last_error)


def dead_letters(sqs: SQSClient, queue_url: str) -> list[dict[str, Any]]:
    response = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
    )
    return [dict(message) for message in response.get("Messages", [])]


def messages_left(sqs: SQSClient, queue_url: str) -> int:
    """Messages still in the queue, visible or in flight: a reported failure would stay here."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def queue_good_messages_and(pipeline: Pipeline, bad_body: str, good: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Import and fan out ``good``, put ``bad_body`` on the queue between them, and receive the lot."""
    pipeline.import_(good)
    assert pipeline.run_fanout() == {"batchItemFailures": []}
    pipeline.sqs.send_message(QueueUrl=pipeline.queue_url, MessageBody=bad_body)
    messages = pipeline.queued()
    assert len(messages) == len(good) + 1
    return messages


def test_malformed_json_message_is_dead_lettered_with_its_reason_and_the_rest_submitted(
    pipeline: Pipeline, ticketfairy: respx.MockRouter, framework_logs: pytest.LogCaptureFixture
) -> None:
    # Given a batch in which one message is not JSON at all
    good = good_events(1, 2)
    bad_body = "this is {not json"
    messages = queue_good_messages_and(pipeline, bad_body, good)
    bad_id = next(m["MessageId"] for m in messages if m["Body"] == bad_body)

    # When the submit function handles the batch
    response = pipeline.run_submit(messages)

    # Then the bad message is acknowledged, not retried: it went straight to the DLQ with its reason
    assert response == {"batchItemFailures": []}
    assert messages_left(pipeline.sqs, pipeline.queue_url) == 0
    dlq = dead_letters(pipeline.sqs, pipeline.deployment.env(SUBMIT_FUNCTION)["DEAD_LETTER_QUEUE_URL"])
    assert [m["Body"] for m in dlq] == [bad_body]
    reason = dlq[0]["MessageAttributes"]["error"]["StringValue"]
    assert reason.startswith("malformed queue message: ")
    assert "json" in reason.lower()
    # And the log says which message and why
    assert any(bad_id in line and "malformed queue message" in line for line in problem_lines(framework_logs))
    # And the good messages were submitted
    assert submitted_titles(ticketfairy) == ["Good night 1", "Good night 2"]
    assert_succeeded(pipeline, good)


def test_message_for_an_unknown_integration_is_dead_lettered_naming_it(
    pipeline: Pipeline, ticketfairy: respx.MockRouter, framework_logs: pytest.LogCaptureFixture
) -> None:
    # Given a well-formed message addressed to an integration this worker does not serve
    good = good_events(1, 2)
    stray_id = event_id_for("https://source.example.com/stray")
    stray = QueueMessage(
        event_id=stray_id,
        service="nope",
        data_hash="a" * 64,
        version=1,
        event={"title": "Stray", "date": "2026-03-09", "source_url": "https://source.example.com/stray"},
    ).to_body()
    messages = queue_good_messages_and(pipeline, stray, good)

    # When the submit function handles the batch
    response = pipeline.run_submit(messages)

    # Then the stray message is in the DLQ with a reason naming the integration, and not retried
    assert response == {"batchItemFailures": []}
    assert messages_left(pipeline.sqs, pipeline.queue_url) == 0
    dlq = dead_letters(pipeline.sqs, pipeline.deployment.env(SUBMIT_FUNCTION)["DEAD_LETTER_QUEUE_URL"])
    assert [m["Body"] for m in dlq] == [stray]
    reason = dlq[0]["MessageAttributes"]["error"]["StringValue"]
    assert "'nope'" in reason
    assert "'ticketfairy'" in reason
    assert any(stray_id in line and "'nope'" in line for line in problem_lines(framework_logs))
    # And nothing was sent for it, while the good events were submitted
    assert submitted_titles(ticketfairy) == ["Good night 1", "Good night 2"]
    assert_succeeded(pipeline, good)
    assert pipeline.store.submissions.get(stray_id, "ticketfairy") is None


def test_event_failing_validation_is_recorded_failed_naming_the_field(
    pipeline: Pipeline, ticketfairy: respx.MockRouter, framework_logs: pytest.LogCaptureFixture
) -> None:
    # Given a cache item written around the importer, so its date was never validated
    good = good_events(1, 2)
    pipeline.import_(good)
    source_url = "https://source.example.com/undated"
    bad_id = event_id_for(source_url)
    written_at = "2026-06-01T10:00:00.000000+0000"
    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName=pipeline.deployment.env("FanoutFunction")["EVENT_CACHE_TABLE"],
        Item={
            "event_id": {"S": bad_id},
            "data": {"S": json.dumps({"title": "Undated", "date": "not a date", "source_url": source_url})},
            "data_hash": {"S": "b" * 64},
            "version": {"N": "1"},
            "source_url": {"S": source_url},
            "first_imported_at": {"S": written_at},
            "updated_at": {"S": written_at},
        },
    )

    # When it is fanned out and submitted with the good ones
    assert pipeline.run_fanout() == {"batchItemFailures": []}
    messages = pipeline.queued()
    assert len(messages) == 3
    response = pipeline.run_submit(messages)

    # Then its record is failed for good, saying which field is wrong and why
    assert response == {"batchItemFailures": []}
    record = pipeline.store.submissions.get(bad_id, "ticketfairy")
    assert record is not None
    assert record.status is SubmissionStatus.FAILED
    assert record.last_error is not None
    assert "date:" in record.last_error
    assert "'not a date'" in record.last_error
    assert any(bad_id in line and "not a date" in line for line in problem_lines(framework_logs))
    # And the destination never saw it, while the good events went through
    assert submitted_titles(ticketfairy) == ["Good night 1", "Good night 2"]
    assert_succeeded(pipeline, good)


def test_event_over_the_inline_limit_travels_by_reference_and_arrives_whole(
    pipeline: Pipeline, ticketfairy: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a 1 KiB inline limit and one event with a ~5 KB description among small ones
    monkeypatch.setenv("MAX_INLINE_EVENT_BYTES", "1024")
    description = " ".join(f"word{n:04d}" for n in range(600))
    large = {
        "title": "Long story",
        "date": "2026-03-05",
        "long_description": description,
        "source_url": "https://source.example.com/long",
    }
    good = good_events(1, 2)
    pipeline.import_([*good, large])

    # When it is fanned out
    assert pipeline.run_fanout() == {"batchItemFailures": []}
    messages = pipeline.queued()

    # Then the large event's message carries no event (it is sent by reference), the small ones do
    bodies = {body["event_id"]: body for body in (json.loads(m["Body"]) for m in messages)}
    large_id = event_id_for(large["source_url"])
    assert set(bodies) == {large_id, *(event_id_for(e["source_url"]) for e in good)}
    assert "event" not in bodies[large_id]
    assert all("event" in body for event_id, body in bodies.items() if event_id != large_id)
    assert all(len(m["Body"].encode()) <= 1024 for m in messages)

    # And the submit worker reads it from the table: the destination receives the whole description
    assert pipeline.run_submit(messages) == {"batchItemFailures": []}
    sent = {
        json.loads(call.request.content)["data"]["attributes"]["title"]: json.loads(call.request.content)
        for call in ticketfairy.calls
    }
    assert set(sent) == {"Good night 1", "Good night 2", "Long story"}
    assert description in sent["Long story"]["data"]["attributes"]["details"]
    assert_succeeded(pipeline, [*good, large])


def stream_insert(event_id: str, sequence_number: str) -> dict[str, Any]:
    """The canonical INSERT record of events/, re-keyed to ``event_id`` at ``sequence_number``."""
    record: dict[str, Any] = copy.deepcopy(json.loads(STREAM_INSERT_EVENT.read_text())["Records"][0])
    stream = record["dynamodb"]
    stream["Keys"]["event_id"]["S"] = event_id
    stream["NewImage"]["event_id"]["S"] = event_id
    stream["SequenceNumber"] = sequence_number
    record["eventID"] = f"event-{sequence_number}"
    return record


def test_stream_record_without_new_image_is_the_only_failure_reported(
    pipeline: Pipeline, framework_logs: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stream batch whose middle record lost its NewImage (a KEYS_ONLY view, say)
    before, broken, after = "e" * 32, "f" * 32, "0" * 32
    imageless = stream_insert(broken, "200")
    del imageless["dynamodb"]["NewImage"]
    event = {"Records": [stream_insert(before, "100"), imageless, stream_insert(after, "300")]}
    for key, value in pipeline.deployment.env("FanoutFunction").items():
        monkeypatch.setenv(key, value)

    # When the fan-out handles it
    response = fanout_handler(event, LocalContext("fanout"))

    # Then exactly that record is reported, and the log says why, naming the event
    assert response == {"batchItemFailures": [{"itemIdentifier": "200"}]}
    assert any(broken in line and "no NewImage" in line for line in problem_lines(framework_logs))
    # And the records before and after it were queued
    queued = sorted(json.loads(m["Body"])["event_id"] for m in pipeline.queued())
    assert queued == sorted([before, after])


def test_import_file_line_with_invalid_utf8_is_reported_and_the_other_lines_import(pipeline: Pipeline) -> None:
    # Given a JSON-lines file whose second line has a byte that is not UTF-8
    first, third = (json.dumps(event).encode() for event in good_events(1, 3))
    broken = b'{"title": "Caf\xff night", "date": "2026-03-02", "source_url": "https://source.example.com/cafe"}'
    document = b"\n".join([first, broken, third]) + b"\n"

    # When it is read and imported
    items = list(read_items(io.BytesIO(document)))
    report = import_events(pipeline.store.events, items)

    # Then the broken line is reported with the byte and its column
    column = broken.index(b"\xff") + 1
    invalid = [item for _, item in items if isinstance(item, InvalidItem)]
    assert [str(item) for item in invalid] == [f"line 2: not valid UTF-8: byte 0xff at column {column}"]
    assert [str(item) for item in report.invalid] == [str(invalid[0])]
    # And the valid lines were imported
    assert report.count("created") == 2
    for event in good_events(1, 3):
        cached = pipeline.store.events.get(event_id_for(event["source_url"]))
        assert cached is not None
        assert cached.data["title"] == event["title"]
    assert pipeline.store.events.get(event_id_for("https://source.example.com/cafe")) is None


def test_message_with_a_lone_surrogate_is_recorded_failed_as_not_utf8(
    pipeline: Pipeline, ticketfairy: respx.MockRouter, framework_logs: pytest.LogCaptureFixture
) -> None:
    # Given a queue message whose event title holds a lone surrogate, escaped in JSON as \ud800
    good = good_events(1, 2)
    source_url = "https://source.example.com/surrogate"
    bad_id = event_id_for(source_url)
    body = json.dumps(
        {
            "schema_version": 1,
            "event_id": bad_id,
            "service": "ticketfairy",
            "data_hash": "c" * 64,
            "version": 1,
            "change": "created",
            "event": {"title": "Broken \ud800 title", "date": "2026-03-04", "source_url": source_url},
        }
    )
    assert "\\ud800" in body
    messages = queue_good_messages_and(pipeline, body, good)

    # When the submit function handles the batch
    response = pipeline.run_submit(messages)

    # Then the rest of the batch succeeded
    assert response == {"batchItemFailures": []}
    assert submitted_titles(ticketfairy) == ["Good night 1", "Good night 2"]
    assert_succeeded(pipeline, good)
    # And the bad event has a failed record saying its text is not valid UTF-8
    record = pipeline.store.submissions.get(bad_id, "ticketfairy")
    assert record is not None
    assert record.status is SubmissionStatus.FAILED
    assert record.last_error is not None
    assert "not valid UTF-8" in record.last_error
    assert any(bad_id in line and "not valid UTF-8" in line for line in problem_lines(framework_logs))
