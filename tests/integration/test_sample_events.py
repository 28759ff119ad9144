"""Every file in events/ runs through the handler template.yaml names for its function.

This is what ``sam local invoke <Function> -e events/<Function>/<file>`` and the
Lambda console's test events do; the handler is looked up in the template,
never hard-coded here.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import respx

from infra.aws.settings import TableSettings
from infra.aws.stack import Stack
from infra.aws.store import DynamoStore
from infra.local.caldav import RadicaleServer
from infra.local.eventsources import LocalContext
from infra.pipeline.importer import import_events
from integrations.env import LOCAL_RUNTIME_VARIABLE, load_env_model
from tests.conftest import CALDAV_PASSWORD, CALDAV_USER, REGION, ROOT

EVENTS = ROOT / "events"
BASE_URL = "https://tf.test"
WEBHOOK_URL = "https://hooks.test/events"
WEBHOOK_SECRET = "whsec_c2FtcGxlLWV2ZW50cy13ZWJob29rLXNlY3JldA=="
SAMPLES = sorted(EVENTS.glob("*/*.json"))
#: The event the operators' samples name (by URL, and by the id derived from it).
SAMPLE_EVENT = {
    "title": "Warehouse Night",
    "venue": "The Warehouse",
    "date": "2026-09-12",
    "source_url": "https://example.com/events/warehouse-night",
}


def load_handler(dotted: str) -> Callable[[dict[str, Any], Any], Any]:
    module, _, name = dotted.rpartition(".")
    handler: Callable[[dict[str, Any], Any], Any] = getattr(importlib.import_module(module), name)
    return handler


@pytest.fixture
def ticketfairy() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{BASE_URL}/api/draft-events").mock(return_value=httpx.Response(201, json={"data": {"id": "9"}}))
        router.post(WEBHOOK_URL).mock(return_value=httpx.Response(204))
        # Any other integration deployed with a placeholder URL (optional_integrations_on) accepts the event.
        router.post(host__regex=r"\.test$").mock(return_value=httpx.Response(201, json={"id": "1"}))
        yield router


def test_every_function_has_a_sample_event(full_deployment: Stack) -> None:
    assert {path.parent.name for path in SAMPLES} == set(full_deployment.functions)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sample_event_runs_through_its_handler(
    sample: Path,
    full_deployment: Stack,
    monkeypatch: pytest.MonkeyPatch,
    ticketfairy: respx.MockRouter,
    request: pytest.FixtureRequest,
) -> None:
    function = full_deployment.functions[sample.parent.name]
    env = {**full_deployment.env(function.logical_id), "TICKETFAIRY_BASE_URL": BASE_URL, "WEBHOOK_URL": WEBHOOK_URL}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for variable, name in env.items():
        # Every integration's key from SSM (a scaffolded one's too); the webhook's is a whsec_ secret.
        if variable.endswith("_API_KEY_PARAMETER") or variable == "WEBHOOK_SECRET_PARAMETER":
            secret = WEBHOOK_SECRET if variable == "WEBHOOK_SECRET_PARAMETER" else "k"
            boto3.client("ssm", region_name=REGION).put_parameter(Name=name, Value=secret, Type="SecureString")

    if function.logical_id == "CalendarSubmitFunction":
        # A real CalDAV server: the sample is written into its calendar.
        server: RadicaleServer = request.getfixturevalue("radicale")
        name = "/event-importer/calendar/password"
        boto3.client("ssm", region_name=REGION).put_parameter(Name=name, Value=CALDAV_PASSWORD, Type="SecureString")
        calendar = {"CALENDAR_URL": server.calendar_url, "CALENDAR_USERNAME": CALDAV_USER}
        for key, value in {**calendar, "CALENDAR_PASSWORD_PARAMETER": name, LOCAL_RUNTIME_VARIABLE: "1"}.items():
            monkeypatch.setenv(key, value)

    if function.logical_id in ("ReplayFunction", "ApiFunction"):
        store = DynamoStore(load_env_model(TableSettings, full_deployment.env(function.logical_id)))
        assert not import_events(store.events, [("sample", SAMPLE_EVENT)]).invalid
        store.build_index("ticketfairy")  # fan-out is not run here: the backfill files the event as unsubmitted

    handler = load_handler(function.handler)
    event = json.loads(sample.read_text())
    response = handler(event, LocalContext(function.logical_id, timeout_seconds=function.timeout))

    if function.logical_id == "ReplayFunction":
        assert "error" not in response, response
        assert response["selector"] == event["selector"]
        if event["dry_run"]:
            assert response["queued"] == 0
            assert all(item["payload"] for item in response["items"])
        if event["selector"] in ("by-url", "unsubmitted"):
            assert response["selected"] == 1
            assert response["queued"] == (0 if event["dry_run"] else 1)
        return
    if function.logical_id == "ApiFunction":
        assert response["statusCode"] == 200, response["body"]
        assert json.loads(response["body"]) is not None
        return
    assert response == {"batchItemFailures": []}
    if function.logical_id in ("TicketfairySubmitFunction", "WebhookSubmitFunction"):
        assert len(ticketfairy.calls) == 1
    if function.logical_id == "CalendarSubmitFunction":
        body = json.loads(event["Records"][0]["body"])
        assert f"{body['event_id']}@event-importer" in server.events()
    if function.logical_id == "FanoutFunction":
        queue = full_deployment.env("FanoutFunction")["INTEGRATION_QUEUES"]
        queued = boto3.client("sqs", region_name=REGION).receive_message(
            QueueUrl=json.loads(queue)["ticketfairy"], MaxNumberOfMessages=10
        )
        expected = 0 if "unchanged" in sample.name else 1  # a no-op MODIFY is not forwarded
        assert len(queued.get("Messages", [])) == expected
