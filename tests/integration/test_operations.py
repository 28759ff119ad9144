"""The operations layer on a deployed stack (moto): replays go through the queue, refusals do nothing.

A replay's messages are taken off the integration's queue and handed to the
submit function's handler, as the event source mapping would, so what the
destination (respx) sees is what the pipeline does with a replay.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import boto3
import httpx
import pytest
import respx

from functions.submit.app import handler as submit_handler
from infra import runtime
from infra.aws.settings import OperationsSettings
from infra.aws.stack import Stack
from infra.local.eventsources import LocalContext, sqs_event
from infra.operations import Operations
from infra.pipeline.messages import QueueMessage
from infra.runtime.operations import build_operations
from integrations.env import load_env_model
from integrations.errors import BadRequestError, NotFoundError
from integrations.event_data import event_id_for
from integrations.operations import ReplayRequest
from integrations.registry import get_integration
from tests.conftest import REGION

BASE_URL = "https://tf.test"
SUBMIT = "TicketfairySubmitFunction"


def event(number: int, **extra: Any) -> dict[str, Any]:
    return {"title": f"Night {number}", "date": "2026-05-01", "source_url": f"https://ops.example/{number}", **extra}


class Pipeline:
    """The deployment's operations, its queue, and its submit function driven by hand."""

    def __init__(self, stack: Stack, monkeypatch: pytest.MonkeyPatch, destination: respx.MockRouter) -> None:
        self.stack = stack
        self.monkeypatch = monkeypatch
        self.destination = destination
        self.operations: Operations = build_operations(
            load_env_model(OperationsSettings, stack.env("ReplayFunction")), {}
        )
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.queue_url = stack.env(SUBMIT)["QUEUE_URL"]
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name=stack.env(SUBMIT)["TICKETFAIRY_API_KEY_PARAMETER"], Value="k", Type="SecureString"
        )

    def import_(self, *events: dict[str, Any]) -> None:
        assert not self.operations.import_events(list(events)).invalid
        # Fan-out is not run here: the backfill files the new events as unsubmitted, as it would.
        assert self.operations.build_index("ticketfairy").built

    def queued(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while batch := self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", []):
            messages.extend(cast("list[dict[str, Any]]", batch))
        return messages

    def deliver(self) -> int:
        """Run the submit function on everything queued; how many messages it took."""
        messages = self.queued()
        if not messages:
            return 0
        runtime.reset()
        for key, value in {**self.stack.env(SUBMIT), "TICKETFAIRY_BASE_URL": BASE_URL}.items():
            self.monkeypatch.setenv(key, value)
        for start in range(0, len(messages), 10):
            batch = messages[start : start + 10]
            arn = f"arn:aws:sqs:{REGION}:123456789012:{self.queue_url.rsplit('/', 1)[1]}"
            assert submit_handler(sqs_event(batch, queue_arn=arn, region=REGION), LocalContext(SUBMIT)) == {
                "batchItemFailures": []
            }
            for message in batch:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)


@pytest.fixture
def pipeline(deployment: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    ids = iter(range(1, 10_000))
    with respx.mock(assert_all_called=False) as destination:
        destination.post(f"{BASE_URL}/api/draft-events").mock(
            side_effect=lambda request: httpx.Response(201, json={"data": {"id": str(next(ids))}})
        )
        destination.patch(url__startswith=f"{BASE_URL}/api/draft-events/").mock(
            return_value=httpx.Response(200, json={})
        )
        yield Pipeline(deployment, monkeypatch, destination)


def test_a_replay_queues_fan_outs_messages_packed_to_the_sqs_limits(pipeline: Pipeline) -> None:
    pipeline.import_(*(event(n) for n in range(25)))

    report = pipeline.operations.replay(ReplayRequest(integration="ticketfairy", selector="unsubmitted"))

    assert (report.selected, report.queued, report.send_calls) == (25, 25, 3)  # 10 + 10 + 5 per SendMessageBatch
    bodies = [QueueMessage.model_validate_json(m["Body"]) for m in pipeline.queued()]
    assert {m.event_id for m in bodies} == {event_id_for(event(n)["source_url"]) for n in range(25)}
    assert {m.replay for m in bodies} == {report.replay_id}
    assert not any(m.force for m in bodies)
    assert all(m.event is not None and m.service == "ticketfairy" for m in bodies)


def test_replayed_messages_go_through_the_submit_function_and_the_ledger(pipeline: Pipeline) -> None:
    pipeline.import_(event(1), event(2))
    pipeline.operations.replay(ReplayRequest(integration="ticketfairy", selector="unsubmitted"))

    assert pipeline.deliver() == 2

    page = pipeline.operations.submissions("ticketfairy", "success")
    assert len(page.items) == 2
    assert len(pipeline.destination.calls) == 2


def test_a_dry_run_returns_the_exact_payloads_and_sends_nothing(pipeline: Pipeline) -> None:
    pipeline.import_(event(1, venue="Hall"))

    report = pipeline.operations.replay(ReplayRequest(integration="ticketfairy", selector="all", dry_run=True))

    assert report.queued == 0
    assert pipeline.queued() == []
    (item,) = report.items
    cached = pipeline.operations.store.events.get(item.event_id)
    assert cached is not None
    transformer = get_integration("ticketfairy").create_transformer({})
    assert item.payload == transformer.transform(cached.data)
    assert item.payload is not None
    assert item.payload["data"]["attributes"]["venue"] == "Hall"
    assert item.message is not None
    assert item.message["replay"] == report.replay_id


def test_force_re_delivers_a_delivered_version_as_an_update_and_without_it_nothing_is_sent(
    pipeline: Pipeline,
) -> None:
    pipeline.import_(event(1))
    pipeline.operations.replay(ReplayRequest(integration="ticketfairy"))
    pipeline.deliver()
    url = event(1)["source_url"]

    pipeline.operations.replay(ReplayRequest(integration="ticketfairy", selector="by-url", url=url))
    pipeline.deliver()
    assert [call.request.method for call in pipeline.destination.calls] == ["POST"]  # a duplicate: acknowledged

    forced = pipeline.operations.replay(
        ReplayRequest(integration="ticketfairy", selector="by-url", url=url, force=True)
    )
    pipeline.deliver()

    methods = [call.request.method for call in pipeline.destination.calls]
    assert methods == ["POST", "PATCH"]
    update = pipeline.destination.calls[-1].request
    assert update.url.path == "/api/draft-events/1"
    assert update.headers["Idempotency-Key"].endswith(f":replay:{forced.replay_id}")
    view = pipeline.operations.event(url=url)
    assert [(s.status, s.change) for s in view.submissions] == [("success", "updated")]


def test_limit_caps_the_selection_and_says_so(pipeline: Pipeline) -> None:
    pipeline.import_(*(event(n) for n in range(5)))

    report = pipeline.operations.replay(ReplayRequest(integration="ticketfairy", selector="all", limit=3))

    assert (report.selected, report.queued, report.truncated) == (3, 3, True)


@pytest.mark.parametrize(
    ("request_fields", "error", "message"),
    [
        ({"integration": "nope"}, NotFoundError, "no integration named 'nope'"),
        ({"integration": "ticketfairy", "selector": "newest"}, BadRequestError, "unknown selector 'newest'"),
        ({"integration": "ticketfairy", "selector": "by-url"}, BadRequestError, "needs a url"),
        ({"integration": "ticketfairy", "selector": "all", "url": "https://x"}, BadRequestError, "takes no url"),
    ],
)
def test_a_refused_replay_names_the_problem_and_queues_nothing(
    pipeline: Pipeline, request_fields: dict[str, Any], error: type[Exception], message: str
) -> None:
    pipeline.import_(event(1))

    with pytest.raises(error, match=message):
        pipeline.operations.replay(ReplayRequest.model_validate(request_fields))

    assert pipeline.queued() == []


def test_submissions_are_paged_with_an_opaque_token(pipeline: Pipeline) -> None:
    pipeline.import_(*(event(n) for n in range(5)))
    pipeline.operations.replay(ReplayRequest(integration="ticketfairy"))
    pipeline.deliver()

    seen: list[str] = []
    token = None
    for _ in range(5):
        page = pipeline.operations.submissions("ticketfairy", limit=2, next_token=token)
        seen += [item.event_id for item in page.items]
        token = page.next_token
        if token is None:
            break

    assert sorted(seen) == sorted(event_id_for(event(n)["source_url"]) for n in range(5))
    with pytest.raises(BadRequestError, match="next_token"):
        pipeline.operations.submissions("ticketfairy", next_token="not-a-token")
    with pytest.raises(BadRequestError, match="unknown status 'done'"):
        pipeline.operations.submissions("ticketfairy", "done")


def test_status_counts_records_and_shows_the_oldest_pending_and_dlq_depth(pipeline: Pipeline) -> None:
    pipeline.import_(event(1), event(2))
    pipeline.operations.replay(ReplayRequest(integration="ticketfairy", selector="by-url", url=event(1)["source_url"]))
    pipeline.deliver()
    # Event 2: claimed but never finished (a crashed worker), so it is in progress.
    cached = pipeline.operations.store.events.get(event_id_for(event(2)["source_url"]))
    assert cached is not None
    pipeline.operations.store.submissions.claim(
        cached.event_id, "ticketfairy", data_hash=cached.data_hash, version=1, lease_seconds=60
    )
    dlq = pipeline.stack.env(SUBMIT)["DEAD_LETTER_QUEUE_URL"]
    pipeline.sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"event_id": "gone"}))

    (summary,) = [s for s in pipeline.operations.status().integrations if s.integration == "ticketfairy"]

    assert summary.counts["success"] == 1
    assert summary.counts["in_progress"] == 1
    assert summary.dead_letter_depth == 1
    assert summary.oldest_pending is not None
    assert summary.oldest_pending.event_id == cached.event_id
    view = pipeline.operations.dead_letters("ticketfairy")
    assert [(m.event_id, m.reason) for m in view.messages] == [("gone", "retries exhausted")]
    assert pipeline.operations.redrive("ticketfairy").moved == 1
    assert pipeline.operations.dead_letters("ticketfairy").depth == 0


def test_an_endpoint_disabled_by_a_410_is_shown_and_re_enabled(pipeline: Pipeline) -> None:
    operations = pipeline.operations
    assert operations.endpoint("webhook").disabled is False
    operations.store.submissions.set_endpoint(
        "webhook", disabled=True, reason="the webhook endpoint is gone (HTTP 410)"
    )

    shown = operations.endpoint("webhook")
    assert shown.disabled
    assert "410" in (shown.reason or "")
    assert operations.enable_endpoint("webhook").disabled is False
    assert operations.endpoint("webhook").disabled is False
    # The endpoint row is no submission: no selector, page or count sees it.
    assert list(operations.store.submissions.records("webhook")) == []
    with pytest.raises(BadRequestError, match="never disabled"):
        operations.enable_endpoint("ticketfairy")
    with pytest.raises(NotFoundError):
        operations.endpoint("nope")
