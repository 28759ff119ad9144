"""The automatic pipeline, in-process on moto: import -> stream -> fan-out -> queue -> submit -> record.

Each step hands the handlers named in template.yaml exactly what AWS would:
the stream records moto produced and the messages moto queued.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import boto3
import httpx
import pytest
import respx
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from functions.fanout.app import handler as fanout_handler
from functions.submit.app import handler as submit_handler
from infra.aws.settings import TableSettings
from infra.aws.stack import Stack
from infra.aws.store import DynamoStore
from infra.local.eventsources import LocalContext, sqs_event, stream_event
from infra.pipeline.importer import import_events
from infra.runtime.fanout import fanout_service
from integrations.env import load_env_model
from integrations.event_data import event_id_for
from integrations.records import ChangeKind, SubmissionStatus
from tests.conftest import REGION
from tests.slow_destination import SlowDestination

API_KEY = "tf-live-secret-key"
BASE_URL = "https://tf.test"


def sample_events() -> list[dict[str, Any]]:
    return [
        {
            "title": "Warehouse <b>Techno</b> Night",
            "venue": "Tresor",
            "date": "2025-07-12",
            "time": {"start": "23:00", "end": "06:00", "timezone": "Europe/Berlin"},
            "lineup": ["DJ One", "DJ Two"],
            "long_description": "Deep & dark <script>alert(1)</script>",
            "location": {"city": "Berlin", "country": "Germany", "coordinates": {"lat": 52.51, "lng": 13.42}},
            "ticket_url": "https://tickets.example.com/1",
            "source_url": "https://source.example.com/events/1",
        },
        {
            "title": "Jazz Brunch",
            "venue": "Blue Note",
            "date": "2025-07-13",
            "time": {"start": "11:00", "end": "14:00"},
            "location": {"city": "New York", "state": "NY", "country": "United States"},
            "ticket_url": "N/A",
            "source_url": "https://source.example.com/events/2",
        },
        {
            "title": "Festival Day One",
            "date": "2025-08-01",
            "location": {"city": "Tokyo", "country": "Japan"},
            "source_url": "https://source.example.com/events/3",
        },
    ]


class Pipeline:
    """Moves records and messages between the stages the way Lambda's event sources do."""

    def __init__(self, deployment: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
        self.deployment = deployment
        self.monkeypatch = monkeypatch
        fanout_env = deployment.env("FanoutFunction")
        self.store = DynamoStore(load_env_model(TableSettings, fanout_env))
        self.streams = boto3.client("dynamodbstreams", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        table = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=fanout_env["EVENT_CACHE_TABLE"])
        self.stream_arn = table["Table"]["LatestStreamArn"]
        self._iterators = self._shard_iterators()
        self.queue_url = deployment.env("TicketfairySubmitFunction")["QUEUE_URL"]

    def _shard_iterators(self) -> list[str]:
        shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        return [
            self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for shard in shards
        ]

    def _use_env(self, function: str) -> None:
        for key, value in {**self.deployment.env(function), "TICKETFAIRY_BASE_URL": BASE_URL}.items():
            self.monkeypatch.setenv(key, value)

    def import_(self, events: list[dict[str, Any]]) -> None:
        report = import_events(self.store.events, ((f"item {i}", e) for i, e in enumerate(events, 1)))
        assert not report.invalid

    def stream_records(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for index, iterator in enumerate(self._iterators):
            response = self.streams.get_records(ShardIterator=iterator)
            records.extend(cast("list[dict[str, Any]]", response["Records"]))
            self._iterators[index] = response["NextShardIterator"]
        return records

    def run_fanout(self) -> dict[str, Any]:
        self._use_env("FanoutFunction")
        event = stream_event(self.stream_records(), stream_arn=self.stream_arn, region=REGION)
        return dict(fanout_handler(event, LocalContext("fanout")))

    def queued(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while batch := self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
        ).get("Messages", []):
            messages.extend(cast("list[dict[str, Any]]", batch))
        return messages

    def run_submit(self, messages: list[dict[str, Any]]) -> PartialItemFailureResponse:
        self._use_env("TicketfairySubmitFunction")
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]
        event = sqs_event(messages, queue_arn=arn["QueueArn"], region=REGION)
        response = submit_handler(event, LocalContext("submit"))
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        for message in messages:  # what Lambda does with the successes
            if message["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return response


@pytest.fixture
def pipeline(deployment: Stack, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    parameter = deployment.env("TicketfairySubmitFunction")["TICKETFAIRY_API_KEY_PARAMETER"]
    boto3.client("ssm", region_name=REGION).put_parameter(Name=parameter, Value=API_KEY, Type="SecureString")
    return Pipeline(deployment, monkeypatch)


@pytest.fixture
def ticketfairy() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        counter = iter(range(1000, 2000))
        router.post(f"{BASE_URL}/api/draft-events").mock(
            side_effect=lambda request: httpx.Response(201, json={"data": {"id": str(next(counter))}})
        )
        router.route(method__in=["PATCH", "DELETE"], url__regex=rf"^{BASE_URL}/api/draft-events/\d+$").mock(
            side_effect=lambda request: httpx.Response(200, json={"data": {"id": request.url.path.rsplit("/", 1)[1]}})
        )
        yield router


def test_import_to_submission_record(pipeline: Pipeline, ticketfairy: respx.MockRouter) -> None:
    # Given three imported events
    pipeline.import_(sample_events())

    # When the stream reaches the fan-out and the queue reaches the submit function
    assert pipeline.run_fanout() == {"batchItemFailures": []}
    messages = pipeline.queued()
    assert len(messages) == 3
    assert pipeline.run_submit(messages) == {"batchItemFailures": []}

    # Then TicketFairy received exactly the three drafts, authenticated
    calls = ticketfairy.calls
    assert len(calls) == 3
    for call in calls:
        assert call.request.headers["Authorization"] == f"Bearer {API_KEY}"
        assert call.request.headers["Content-Type"] == "application/json"
        assert call.request.headers["Idempotency-Key"].startswith("ticketfairy:")
        assert call.request.headers["Origin"] == "https://restlessnites.com"
    payloads = {
        json.loads(call.request.content)["data"]["attributes"]["title"]: json.loads(call.request.content)
        for call in calls
    }
    techno = payloads["Warehouse Techno Night"]["data"]["attributes"]
    assert techno["startDate"] == "2025-07-12 23:00:00"
    assert techno["endDate"] == "2025-07-13 06:00:00"
    assert techno["timezone"] == "Europe/Berlin"
    assert techno["url"] == "https://tickets.example.com/1"
    assert "<script>" not in techno["details"]
    # The whole payload, exactly: "N/A" falls back to the source URL; New York's zone from the city,
    # resolved and stored at import.
    assert payloads["Jazz Brunch"] == {
        "data": {
            "attributes": {
                "title": "Jazz Brunch",
                "url": "https://source.example.com/events/2",
                "image": None,
                "hostedBy": True,
                "startDate": "2025-07-13 11:00:00",
                "endDate": "2025-07-13 14:00:00",
                "timezone": "America/New_York",
                "isOnline": 0,
                "status": "Public",
                "address": "New York, NY, United States",
                "venue": "Blue Note",
                "details": "",
            }
        }
    }
    assert payloads["Festival Day One"]["data"]["attributes"]["timezone"] == "Asia/Tokyo"

    # And every event has a success record with the sent hash and remote id
    records = list(pipeline.store.submissions.records("ticketfairy"))
    assert len(records) == 3
    for record in records:
        cached = pipeline.store.events.get(record.event_id)
        assert cached is not None
        assert record.status is SubmissionStatus.SUCCESS
        assert record.data_hash == cached.data_hash == record.submitted_hash
        assert record.remote_id is not None
        assert record.remote_id.isdigit()
        assert record.attempts == 1
        assert record.last_error is None
        assert record.response_summary is not None
        assert record.remote_id in record.response_summary
        assert API_KEY not in repr(record)


def test_reimport_identical_queues_nothing_and_a_change_resubmits_only_that_event(
    pipeline: Pipeline, ticketfairy: respx.MockRouter
) -> None:
    events = sample_events()
    pipeline.import_(events)
    pipeline.run_fanout()
    pipeline.run_submit(pipeline.queued())
    assert len(ticketfairy.calls) == 3

    # Re-importing identical data writes nothing, so nothing is queued.
    pipeline.import_(sample_events())
    assert pipeline.stream_records() == []
    assert pipeline.queued() == []

    # Changing one event sends exactly that one again, as an update of the draft it created.
    jazz_id = event_id_for(changed_url := sample_events()[1]["source_url"])
    before = pipeline.store.submissions.get(jazz_id, "ticketfairy")
    assert before is not None
    assert changed_url
    changed = sample_events()
    changed[1]["title"] = "Jazz Brunch (moved indoors)"
    pipeline.import_(changed)
    assert pipeline.run_fanout() == {"batchItemFailures": []}
    messages = pipeline.queued()
    assert len(messages) == 1
    assert json.loads(messages[0]["Body"])["event_id"] == event_id_for(changed[1]["source_url"])
    assert pipeline.run_submit(messages) == {"batchItemFailures": []}
    assert len(ticketfairy.calls) == 4
    update = ticketfairy.calls[-1].request
    assert (update.method, update.url.path) == ("PATCH", f"/api/draft-events/{before.remote_id}")
    assert json.loads(update.content)["data"]["attributes"]["title"] == "Jazz Brunch (moved indoors)"
    record = pipeline.store.submissions.get(jazz_id, "ticketfairy")
    assert record is not None
    assert (record.status, record.version, record.change) == (SubmissionStatus.SUCCESS, 2, ChangeKind.UPDATED)
    assert record.remote_id == before.remote_id


def test_destination_errors_are_recorded_not_reported_as_success(
    pipeline: Pipeline, ticketfairy: respx.MockRouter
) -> None:
    ticketfairy.routes[0].side_effect = [
        httpx.Response(422, json={"errors": [{"detail": "startDate is in the past"}]}),
        httpx.Response(503, text="maintenance"),
        httpx.Response(201, json={"data": {"id": "77"}}),
    ]
    pipeline.import_(sample_events())
    pipeline.run_fanout()
    messages = pipeline.queued()
    response = pipeline.run_submit(messages)

    # The 503 comes back through the queue; the 422 is failed for good; the 201 succeeded.
    assert len(response["batchItemFailures"]) == 1
    statuses = sorted(record.status.value for record in pipeline.store.submissions.records("ticketfairy"))
    assert statuses == ["failed", "pending", "success"]
    failed = next(pipeline.store.submissions.records("ticketfairy", SubmissionStatus.FAILED))
    assert failed.last_error is not None
    assert "startDate is in the past" in failed.last_error
    pending = next(pipeline.store.submissions.records("ticketfairy", SubmissionStatus.PENDING))
    assert pending.last_error is not None
    assert "503" in pending.last_error


def many_events(count: int) -> list[dict[str, Any]]:
    return [
        {"title": f"Club night {n}", "date": "2026-02-01", "source_url": f"https://source.example.com/many/{n}"}
        for n in range(count)
    ]


def test_fanout_uses_as_few_send_calls_as_the_limits_allow(pipeline: Pipeline, ticketfairy: respx.MockRouter) -> None:
    calls: list[int] = []
    # The fan-out function's wiring, as its first invocation builds it: the hook goes on its own client.
    pipeline._use_env("FanoutFunction")
    fanout_service().publisher.client.meta.events.register(
        "provide-client-params.sqs.SendMessageBatch", lambda params, **_: calls.append(len(params["Entries"]))
    )
    pipeline.import_(many_events(25))
    assert pipeline.run_fanout() == {"batchItemFailures": []}
    assert calls == [10, 10, 5]
    assert len(pipeline.queued()) == 25


def test_a_batch_of_messages_is_submitted_concurrently(pipeline: Pipeline, ticketfairy: respx.MockRouter) -> None:
    slow = SlowDestination()
    ticketfairy.routes[0].side_effect = slow
    pipeline.import_(many_events(10))
    pipeline.run_fanout()
    messages = pipeline.queued()
    assert len(messages) == 10
    assert pipeline.run_submit(messages) == {"batchItemFailures": []}
    assert slow.peak == 10  # all ten records of the SQS batch were at the destination at once


def test_a_removed_event_is_withdrawn_and_a_reimport_is_submitted_again(
    pipeline: Pipeline, ticketfairy: respx.MockRouter
) -> None:
    # Given a submitted event
    event = sample_events()[0]
    event_id = event_id_for(event["source_url"])
    pipeline.import_([event])
    pipeline.run_fanout()
    pipeline.run_submit(pipeline.queued())
    first = pipeline.store.submissions.get(event_id, "ticketfairy")
    assert first is not None

    # When it is removed from the cache, its draft is withdrawn
    pipeline.store.events.delete(event_id)
    pipeline.run_fanout()
    assert pipeline.run_submit(pipeline.queued()) == {"batchItemFailures": []}
    deletion = ticketfairy.calls[-1].request
    assert (deletion.method, deletion.url.path) == ("DELETE", f"/api/draft-events/{first.remote_id}")
    record = pipeline.store.submissions.get(event_id, "ticketfairy")
    assert record is not None
    assert record.change is ChangeKind.REMOVED

    # And when it is imported again (its version counter restarts), it is a new draft, not a stale delivery
    pipeline.import_([event])
    pipeline.run_fanout()
    assert pipeline.run_submit(pipeline.queued()) == {"batchItemFailures": []}
    creation = ticketfairy.calls[-1].request
    assert (creation.method, creation.url.path) == ("POST", "/api/draft-events")
    again = pipeline.store.submissions.get(event_id, "ticketfairy")
    assert again is not None
    assert (again.status, again.change, again.version) == (SubmissionStatus.SUCCESS, ChangeKind.CREATED, 1)
    assert again.remote_id != first.remote_id
