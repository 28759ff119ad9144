"""End-to-end fixtures: the local runtime (moto server on loopback) and a loopback destination."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from infra.aws.stack import load_template
from infra.aws.store import DynamoStore
from infra.local.destination import DraftEventsDestination
from infra.local.runtime import LocalRuntime, RuntimeOptions
from infra.local.webhook_receiver import WebhookReceiver

API_KEY = "e2e-ticketfairy-key"
#: Standard Webhooks secrets are "whsec_" + base64.
WEBHOOK_SECRET = "whsec_ZTJlLXdlYmhvb2stc2lnbmluZy1zZWNyZXQtMzJieXQ="


#: Retry delays for tests: the production defaults (2 s doubling to 15 min) would take minutes.
FAST_RETRIES = {"RETRY_BASE_SECONDS": "0.25", "RETRY_MAX_SECONDS": "2"}


def fast_template(
    *, visibility_timeout: int = 2, stream_window: int = 0, function_timeout: int | None = None
) -> dict[str, Any]:
    """template.yaml with the waits shortened for tests; everything else exactly as declared.

    Batching windows go to zero and queue visibility timeouts to a couple of
    seconds, so retries and dead-lettering happen in seconds, not minutes.
    """
    body: dict[str, Any] = copy.deepcopy(load_template())
    if function_timeout is not None:
        # Claims are leased for the rest of an invocation: a short timeout makes a crashed claim expire soon.
        body["Globals"]["Function"]["Timeout"] = function_timeout
    for resource in body["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in properties:
            properties["VisibilityTimeout"] = visibility_timeout
        for event in (properties.get("Events") or {}).values():
            if event["Type"] not in ("DynamoDB", "SQS"):
                continue  # an HTTP API event has no batching window
            window = stream_window if event["Type"] == "DynamoDB" else 0
            event["Properties"]["MaximumBatchingWindowInSeconds"] = window
    return body


def start_runtime(
    template: dict[str, Any],
    destination: DraftEventsDestination,
    *,
    parameters: dict[str, str] | None = None,
    submit_env: dict[str, str] | None = None,
    duplicate_delivery_rate: float = 0.0,
    receiver: WebhookReceiver | None = None,
) -> LocalRuntime:
    """The runtime on ``template``, TicketFairy pointed at ``destination``, its API key in (moto's) SSM.

    With a ``receiver``, the webhook integration is enabled too, posting to it with ``WEBHOOK_SECRET``.
    """
    submit_functions = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if "INTEGRATION_NAME" in resource["Properties"].get("Environment", {}).get("Variables", {})
    ]
    options = RuntimeOptions(
        template=template,
        parameter_overrides={
            "TicketfairyBaseUrl": destination.base_url,
            **({"WebhookUrl": receiver.url} if receiver is not None else {}),
            **(parameters or {}),
        },
        environment_overrides={name: {**FAST_RETRIES, **(submit_env or {})} for name in submit_functions},
        duplicate_delivery_rate=duplicate_delivery_rate,
    )
    runtime = LocalRuntime(options).start()
    runtime.put_secure_parameter("TicketfairyApiKeyParameter", API_KEY)
    if receiver is not None:
        runtime.put_secure_parameter("WebhookSecretParameter", WEBHOOK_SECRET)
    return runtime


def runtime_store(runtime: LocalRuntime) -> DynamoStore:
    return runtime.store()


@pytest.fixture
def destination() -> Iterator[DraftEventsDestination]:
    with DraftEventsDestination(api_key=API_KEY) as server:
        yield server


@pytest.fixture(scope="session")
def shared_destination() -> Iterator[DraftEventsDestination]:
    with DraftEventsDestination(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def runtime(destination: DraftEventsDestination) -> Iterator[LocalRuntime]:
    # One runtime per test: moto's state is per process, and a moto server or ``mock_aws`` started
    # by any later test in this worker resets it, so a runtime cannot outlive its test.
    runtime = start_runtime(fast_template(), destination)
    try:
        yield runtime
    finally:
        runtime.stop()
