"""A change to template.yaml reaches the local runtime with no code change: it deploys what the file says."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra.local.destination import DraftEventsDestination
from infra.pipeline.importer import import_events
from integrations.event_data import event_id_for
from integrations.records import SubmissionStatus
from tests.e2e.conftest import fast_template, runtime_store, start_runtime

pytestmark = pytest.mark.e2e


def changed_template() -> dict[str, Any]:
    """The shipped template with another integration's block, a renamed queue and other batch sizes."""
    body = fast_template()
    resources = body["Resources"]
    for suffix in ("Queue", "DeadLetterQueue", "SubmitFunction"):
        block = copy.deepcopy(resources[f"Ticketfairy{suffix}"])
        resources[f"Echo{suffix}"] = block
    resources["EchoQueue"]["Properties"]["QueueName"] = {"Fn::Sub": "${AWS::StackName}-echo"}
    resources["EchoQueue"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"] = {
        "Fn::GetAtt": ["EchoDeadLetterQueue", "Arn"]
    }
    resources["EchoDeadLetterQueue"]["Properties"]["QueueName"] = {"Fn::Sub": "${AWS::StackName}-echo-dlq"}
    echo = resources["EchoSubmitFunction"]["Properties"]
    echo["Environment"]["Variables"]["INTEGRATION_NAME"] = "echo"
    echo["Environment"]["Variables"]["QUEUE_URL"] = {"Ref": "EchoQueue"}
    echo["Events"] = {"EchoQueue": copy.deepcopy(echo["Events"]["TicketfairyQueue"])}
    echo["Events"]["EchoQueue"]["Properties"]["Queue"] = {"Fn::GetAtt": ["EchoQueue", "Arn"]}
    echo["Events"]["EchoQueue"]["Properties"]["BatchSize"] = 4
    del echo["LoggingConfig"], echo["Policies"]
    resources["TicketfairyQueue"]["Properties"]["QueueName"] = {"Fn::Sub": "${AWS::StackName}-tf-renamed"}
    ticketfairy_events = resources["TicketfairySubmitFunction"]["Properties"]["Events"]
    ticketfairy_events["TicketfairyQueue"]["Properties"]["BatchSize"] = 3
    resources["FanoutFunction"]["Properties"]["Events"]["EventCacheStream"]["Properties"]["BatchSize"] = 7
    return body


def test_a_new_block_a_renamed_queue_and_batch_sizes_reach_the_runtime(destination: DraftEventsDestination) -> None:
    runtime = start_runtime(changed_template(), destination)
    try:
        # The new integration's function runs with its own queue and batch size
        assert "EchoSubmitFunction" in runtime.hosts
        echo_url = runtime.queue_url("EchoQueue")
        assert echo_url.endswith("/local-echo")
        by_queue = {source.queue_url.rsplit("/", 1)[1]: source for source in runtime.queue_sources}
        assert by_queue["local-echo"].settings.batch_size == 4
        assert runtime.environment("EchoSubmitFunction")["INTEGRATION_NAME"] == "echo"

        # The renamed queue is what fan-out sends to and the submit function polls, with the new batch size
        assert runtime.queue_url("TicketfairyQueue").endswith("/local-tf-renamed")
        assert by_queue["local-tf-renamed"].settings.batch_size == 3
        assert "local-ticketfairy" not in by_queue
        (stream,) = runtime.stream_sources
        assert stream.settings.batch_size == 7

        # And an imported event travels through the renamed queue to a success record
        store = runtime_store(runtime)
        url = "https://example.com/parity"
        import_events(store.events, [("1", {"title": "Renamed", "date": "2026-05-01", "source_url": url})])
        assert runtime.wait_until_drained(timeout=60)
        record = store.submissions.get(event_id_for(url), "ticketfairy")
        assert record is not None
        assert record.status is SubmissionStatus.SUCCESS
        assert len(destination.accepted_creates()) == 1
    finally:
        runtime.stop()
