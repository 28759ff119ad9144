"""The HTTP API and the CLI over one deployed stack: the same operations, the same refusals.

The API is driven through its Lambda handler with API Gateway v2 events (as
``sam local invoke`` and the local runtime's front do); the CLI through
typer's runner, with TicketFairy's own commands mounted as ``main`` mounts them.
Every refusal answers one clear line with the right status or exit code,
and leaves the queue as it was.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from functions.api.app import handler as api_handler
from infra.aws.settings import TableSettings
from infra.aws.stack import Stack
from infra.aws.store import DynamoStore
from infra.cli import build_cli
from infra.local.api import http_event
from infra.local.eventsources import LocalContext
from infra.pipeline.importer import import_events
from integrations.env import load_env_model
from tests.conftest import REGION

URL = "https://doors.example/1"
EVENT = {"title": "Doors Night", "date": "2026-05-01", "venue": "Hall", "source_url": URL}


@pytest.fixture
def stack(deployment: Stack, monkeypatch: pytest.MonkeyPatch) -> Stack:
    for key, value in deployment.env("ApiFunction").items():
        monkeypatch.setenv(key, value)
    store = DynamoStore(load_env_model(TableSettings, deployment.env("ApiFunction")))
    assert not import_events(store.events, [("item 1", EVENT)]).invalid
    return deployment


def call(method: str, path: str, query: str = "", body: bytes | None = None) -> tuple[int, Any]:
    event = http_event(method, path, query=query, headers={"content-type": "application/json"}, body=body)
    answer = api_handler(event, LocalContext("ApiFunction"))
    text = answer["body"]
    return answer["statusCode"], json.loads(text) if answer["headers"]["Content-Type"] == "application/json" else text


def queue_depth(stack: Stack) -> int:
    attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=stack.env("TicketfairySubmitFunction")["QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_integration_routes_are_mounted_under_their_name_and_dry_run_returns_the_payload(stack: Stack) -> None:
    status, answer = call(
        "POST", "/integrations/ticketfairy/submit", body=json.dumps({"url": URL, "dry_run": True}).encode()
    )

    assert status == 200, answer
    (item,) = answer["items"]
    assert item["outcome"] == "dry_run"
    assert item["payload"]["data"]["attributes"]["title"] == "Doors Night"
    assert queue_depth(stack) == 0


def test_the_openapi_document_lists_core_and_integration_routes_and_swagger_serves_it(stack: Stack) -> None:
    status, document = call("GET", "/openapi.json")
    assert status == 200
    paths = set(document["paths"])
    assert {"/integrations", "/status", "/events", "/events/{event_id}", "/submissions", "/replay"} <= paths
    assert {"/dlq/{integration}", "/dlq/{integration}/redrive", "/integrations/ticketfairy/submit"} <= paths

    status, page = call("GET", "/swagger")
    assert status == 200
    assert "swagger" in str(page).lower()


def test_a_replay_over_http_queues_through_the_integrations_queue(stack: Stack) -> None:
    status, answer = call(
        "POST", "/replay", body=json.dumps({"integration": "ticketfairy", "selector": "all"}).encode()
    )

    assert status == 200, answer
    assert answer["queued"] == 1
    assert queue_depth(stack) == 1


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "status", "message"),
    [
        ("POST", "/replay", "", {"integration": "nope"}, 404, "no integration named 'nope'"),
        ("POST", "/replay", "", {"integration": "ticketfairy", "selector": "newest"}, 400, "unknown selector 'newest'"),
        (
            "POST",
            "/replay",
            "",
            {"integration": "ticketfairy", "selector": "by-url"},
            400,
            "by-url selector needs a url",
        ),
        ("POST", "/replay", "", b'{"integration": "ticketfairy",', 400, "not valid JSON"),
        ("POST", "/replay", "", {"integration": "ticketfairy", "limit": 0}, 422, "limit"),
        ("POST", "/replay", "", {"integration": "ticketfairy", "colour": "red"}, 422, "colour"),
        ("POST", "/integrations/ticketfairy/submit", "", {"dry_run": True}, 422, "url"),
        ("GET", "/dlq/nope", "", None, 404, "no integration named 'nope'"),
        ("GET", "/submissions", "integration=ticketfairy&status=done", None, 400, "unknown status 'done'"),
        ("GET", "/events/unknown-event", "", None, 404, "no event unknown-event"),
        ("POST", "/events", "", {"title": "not a list"}, 422, "body"),
    ],
)
def test_bad_input_is_refused_over_http_with_its_status_and_nothing_done(
    stack: Stack, method: str, path: str, query: str, body: Any, status: int, message: str
) -> None:
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()

    code, answer = call(method, path, query, data)

    assert code == status, answer
    assert message in answer["message"]
    assert set(answer) == {"error", "message", "status"}
    assert queue_depth(stack) == 0


def test_the_cli_replays_through_the_queue_and_ticketfairys_command_dry_runs(stack: Stack) -> None:
    runner = CliRunner()
    app = build_cli()

    dry = runner.invoke(app, ["ticketfairy", "submit-url", URL, "--dry-run", "--stack", stack.name])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["items"][0]["payload"]["data"]["attributes"]["venue"] == "Hall"
    assert queue_depth(stack) == 0

    queued = runner.invoke(
        app, ["replay", "ticketfairy", "--selector", "by-url", "--url", URL, "--stack", stack.name, "--json"]
    )
    assert queued.exit_code == 0, queued.output
    assert json.loads(queued.stdout)["queued"] == 1
    assert queue_depth(stack) == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["replay", "nope"], "no integration named 'nope'"),
        (["replay", "ticketfairy", "--selector", "newest"], "unknown selector 'newest'"),
        (["replay", "ticketfairy", "--selector", "by-url"], "by-url selector needs a url"),
        (["events", "show"], "exactly one of its id or its source URL"),
        (["ticketfairy", "submit-url", ""], "url"),
    ],
)
def test_bad_input_is_refused_by_the_cli_with_exit_code_2_and_no_traceback(
    stack: Stack, arguments: list[str], message: str
) -> None:
    result = CliRunner().invoke(build_cli(), [*arguments, "--stack", stack.name])

    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert queue_depth(stack) == 0
