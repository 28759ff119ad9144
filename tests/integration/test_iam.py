"""Every AWS call a function makes is allowed by its role, and its role allows nothing it never uses.

moto does not enforce IAM, so a role can lack an action the code needs and
every other test still passes. Here template.yaml is deployed as ``sam
deploy`` would (samtranslator, then CloudFormation on moto), each function's
handler runs every path its code has (deliveries, retries, requeues,
dead-lettering, secrets, events by reference, removals) with the
environment Lambda gives it, every botocore call is recorded, and each one
is checked against the role's policies as IAM evaluates them (moto's own
policy evaluator), resources included.
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

import boto3
import httpx
import pytest
import respx
from botocore.client import BaseClient
from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, PermissionResult

from functions.api.app import handler as api_handler
from functions.fanout.app import handler as fanout_handler
from functions.replay.app import handler as replay_handler
from functions.submit.app import handler as submit_handler
from infra import runtime
from infra.aws.settings import TableSettings
from infra.aws.stack import Stack, deploy
from infra.aws.store import DynamoStore
from infra.local.api import http_event
from infra.local.eventsources import LocalContext, sqs_event, stream_event
from infra.pipeline.importer import import_events
from integrations.env import load_env_model
from integrations.event_data import event_id_for
from integrations.registry import integration_names
from tests.conftest import REGION

ACCOUNT = "123456789012"
FANOUT = "FanoutFunction"
SUBMIT = "TicketfairySubmitFunction"
WEBHOOK_SUBMIT = "WebhookSubmitFunction"
REPLAY = "ReplayFunction"
API = "ApiFunction"
FUNCTIONS = [FANOUT, SUBMIT, WEBHOOK_SUBMIT, REPLAY, API]
BASE_URL = "https://tf.test"
WEBHOOK_URL = "https://hooks.test/events"
#: Each submit function, its integration and what points it at the mocked destination.
SUBMITS = {
    SUBMIT: ("ticketfairy", {"TICKETFAIRY_BASE_URL": BASE_URL}),
    WEBHOOK_SUBMIT: ("webhook", {"WEBHOOK_URL": WEBHOOK_URL}),
}
#: Statements the Lambda service uses on the function's behalf, not the function's code.
USED_BY_LAMBDA = {FANOUT: {"OnFailureDestination"}}
#: Batch operations authorised by the single action's permission.
SQS_BATCH_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


@dataclass(frozen=True)
class Call:
    """One API call as IAM sees it: the action, the resource, and the request's condition keys."""

    action: str
    resource: str
    conditions: tuple[tuple[str, str], ...] = ()


def _queue_arn(url: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{url.rstrip('/').rsplit('/', 1)[1]}"


def _table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def authorised_calls(service: str, operation: str, params: Mapping[str, Any]) -> list[Call]:
    """The (action, resource) pairs IAM checks for one botocore call; unknown services fail loudly."""
    if service == "sqs":
        action = f"sqs:{SQS_BATCH_ACTIONS.get(operation, operation)}"
        return [Call(action, _queue_arn(params["QueueUrl"]))]
    if service == "dynamodb":
        if "RequestItems" in params:
            return [Call(f"dynamodb:{operation}", _table_arn(table)) for table in params["RequestItems"]]
        resource = _table_arn(params["TableName"])
        if "IndexName" in params:
            resource += f"/index/{params['IndexName']}"
        return [Call(f"dynamodb:{operation}", resource)]
    if service == "ssm":
        names = params.get("Names") or [params["Name"]]
        calls = [Call(f"ssm:{operation}", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name}") for name in names]
        if params.get("WithDecryption"):
            # SSM decrypts a SecureString with the caller's kms:Decrypt, via SSM, with the aws/ssm key.
            via = (("kms:ViaService", f"ssm.{REGION}.amazonaws.com"), ("kms:ResourceAliases", "alias/aws/ssm"))
            calls.append(Call("kms:Decrypt", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/aws-ssm-default", via))
        return calls
    raise AssertionError(f"no IAM resource mapping for {service}:{operation}; add one to this test")


class CallRecorder:
    """Records every botocore call (boto3 and pynamodb alike), labelled with the function making it."""

    def __init__(self) -> None:
        self.calls: dict[str, set[Call]] = defaultdict(set)
        self.acting: str | None = None

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        original = BaseClient._make_api_call  # type: ignore[attr-defined]  # botocore's one entry for every call
        recorder = self

        def recording(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
            if recorder.acting is not None:
                service = client.meta.service_model.service_name
                recorder.calls[recorder.acting].update(authorised_calls(service, operation_name, api_params))
            return original(client, operation_name, api_params)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(BaseClient, "_make_api_call", recording)
            yield

    @contextlib.contextmanager
    def acting_as(self, function: str) -> Iterator[None]:
        self.acting = function
        try:
            yield
        finally:
            self.acting = None


class Harness:
    """Drives the deployed functions' handlers the way their event sources do, recording their calls."""

    def __init__(self, stack: Stack, recorder: CallRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
        self.stack = stack
        self.recorder = recorder
        self.monkeypatch = monkeypatch
        fanout_env = stack.functions[FANOUT].environment
        self.store = DynamoStore(load_env_model(TableSettings, fanout_env))
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.streams = boto3.client("dynamodbstreams", region_name=REGION)
        self.stream_arn = stack.outputs["EventCacheStreamArn"]
        shard = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"][0]
        self.iterator = self.streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]

    def _environment(self, function: str, **overrides: str) -> None:
        runtime.reset()
        for key, value in {**self.stack.functions[function].environment, **overrides}.items():
            self.monkeypatch.setenv(key, value)

    def import_(self, *events: dict[str, Any]) -> None:
        report = import_events(self.store.events, ((f"item {i}", e) for i, e in enumerate(events, 1)))
        assert not report.invalid

    def fanout(self, **overrides: str) -> None:
        response = self.streams.get_records(ShardIterator=self.iterator)
        self.iterator = response["NextShardIterator"]
        event = stream_event(
            cast("list[dict[str, Any]]", response["Records"]), stream_arn=self.stream_arn, region=REGION
        )
        self._environment(FANOUT, **overrides)
        with self.recorder.acting_as(FANOUT):
            assert fanout_handler(event, LocalContext(FANOUT)) == {"batchItemFailures": []}

    def queue_url(self, function: str) -> str:
        return self.stack.functions[function].environment["QUEUE_URL"]

    def receive(self, function: str) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while batch := self.sqs.receive_message(
            QueueUrl=self.queue_url(function), MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", []):
            messages.extend(cast("list[dict[str, Any]]", batch))
        return messages

    def submit(self, function: str, messages: list[dict[str, Any]], **overrides: str) -> None:
        self._environment(function, **SUBMITS[function][1], **overrides)
        queue_arn = _queue_arn(self.queue_url(function))
        with self.recorder.acting_as(function):
            submit_handler(sqs_event(messages, queue_arn=queue_arn, region=REGION), LocalContext(function))
        for message in messages:
            self.sqs.delete_message(QueueUrl=self.queue_url(function), ReceiptHandle=message["ReceiptHandle"])

    def deliver(self) -> None:
        """Every submit function takes what its queue holds."""
        for function in SUBMITS:
            self.submit(function, self.receive(function))

    def replay(self, **request: Any) -> dict[str, Any]:
        self._environment(REPLAY)
        with self.recorder.acting_as(REPLAY):
            answer: dict[str, Any] = replay_handler(
                {"integration": "ticketfairy", **request}, LocalContext(REPLAY, timeout_seconds=300)
            )
        assert "error" not in answer, answer
        return answer

    def api(self, method: str, path: str, query: str = "", body: Any = None) -> Any:
        self._environment(API)
        data = None if body is None else json.dumps(body).encode()
        request = http_event(method, path, query=query, headers={"content-type": "application/json"}, body=data)
        with self.recorder.acting_as(API):
            answer = api_handler(request, LocalContext(API))
        assert answer["statusCode"] == 200, answer["body"]
        return json.loads(answer["body"])


def event(number: int, **extra: Any) -> dict[str, Any]:
    return {"title": f"Night {number}", "date": "2026-05-01", "source_url": f"https://iam.example/{number}", **extra}


@pytest.fixture(scope="module")
def exercised() -> Iterator[tuple[Stack, CallRecorder]]:
    """The stack, and the calls each function made on every path its code has."""
    with pytest.MonkeyPatch.context() as monkeypatch, respx.mock(assert_all_called=False) as destination:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
        }.items():
            monkeypatch.setenv(name, value)
        from moto import mock_aws

        with mock_aws():
            stack = deploy("iam", parameters={"WebhookUrl": WEBHOOK_URL})
            recorder = CallRecorder()
            ssm = boto3.client("ssm", region_name=REGION)
            key_parameter = stack.functions[SUBMIT].environment["TICKETFAIRY_API_KEY_PARAMETER"]
            ssm.put_parameter(Name=key_parameter, Value="tf-iam-key", Type="SecureString")
            secret_parameter = stack.functions[WEBHOOK_SUBMIT].environment["WEBHOOK_SECRET_PARAMETER"]
            ssm.put_parameter(Name=secret_parameter, Value="whsec_aWFtLXdlYmhvb2stc2VjcmV0", Type="SecureString")
            destination.post(WEBHOOK_URL).mock(
                side_effect=lambda request: httpx.Response(503 if b"Night 2" in request.content else 204)
            )
            ids = iter(range(1, 10_000))
            destination.post(f"{BASE_URL}/api/draft-events").mock(
                side_effect=lambda request: (
                    httpx.Response(503)
                    if b"Night 2" in request.content
                    else httpx.Response(201, json={"data": {"id": str(next(ids))}})
                )
            )
            destination.route(method__in=["PATCH", "DELETE"]).mock(return_value=httpx.Response(200, json={}))
            harness = Harness(stack, recorder, monkeypatch)
            for name in integration_names():  # an operator's one-off, after the first deploy
                harness.store.build_index(name)
            with recorder.installed():
                exercise(harness)
            yield stack, recorder
        runtime.reset()


def exercise(harness: Harness) -> None:
    # Deliveries (1), a retry (2, the destination answers 503), an event by reference (3).
    harness.import_(event(1), event(2), event(3, long_description="x" * 2_000))
    harness.fanout(MAX_INLINE_EVENT_BYTES="1500")
    harness.deliver()
    # An update of a delivered event, then its removal.
    harness.import_(event(1, venue="Moved"))
    harness.fanout()
    harness.deliver()
    harness.store.events.delete(event_id_for(event(1)["source_url"]))
    harness.fanout()
    harness.deliver()
    # The final attempt behind another worker's live claim: requeued onto the function's own queue.
    harness.import_(event(4))
    harness.fanout()
    cached = harness.store.events.get(event_id_for(event(4)["source_url"]))
    assert cached is not None
    for function, (service, _) in SUBMITS.items():
        (message,) = harness.receive(function)
        harness.store.submissions.claim(
            cached.event_id, service, data_hash=cached.data_hash, version=cached.version, lease_seconds=60
        )
        harness.submit(function, [message], MAX_RECEIVE_COUNT="1")
        # A message that is not a queue message goes straight to the dead-letter queue.
        harness.sqs.send_message(QueueUrl=harness.queue_url(function), MessageBody="not json")
        harness.submit(function, harness.receive(function))
    exercise_operators(harness)


def exercise_operators(harness: Harness) -> None:
    """Every selector of the replay function, and every core route of the API (event 2 is pending)."""
    for selector in ("unsubmitted", "failed", "pending", "all"):
        harness.replay(selector=selector, dry_run=selector == "all")
    assert harness.replay(selector="by-url", url=event(3)["source_url"], force=True)["queued"] == 1
    assert {item["name"] for item in harness.api("GET", "/integrations") if item["deployed"]} >= {"ticketfairy"}
    assert harness.api("GET", "/status")["integrations"][0]["oldest_pending"] is not None
    assert harness.api("GET", "/events", f"url={event(3)['source_url']}")["submissions"]
    assert harness.api("POST", "/events", body=[event(5)])["created"] == 1
    assert harness.api("GET", "/submissions", "integration=ticketfairy&limit=2")["items"]
    assert harness.api("POST", "/replay", body={"integration": "ticketfairy", "selector": "all", "dry_run": True})
    assert harness.api("GET", "/integrations/webhook/endpoint")["disabled"] is False
    assert harness.api("POST", "/integrations/webhook/endpoint/enable")["disabled"] is False
    for name in ("ticketfairy", "webhook"):
        assert harness.replay(integration=name, selector="by-url", url=event(3)["source_url"], force=True)["queued"]
        assert harness.api("POST", "/replay", body={"integration": name, "selector": "pending"})["queued"]
        assert harness.api("GET", f"/dlq/{name}")["depth"] == 1
        assert harness.api("POST", f"/dlq/{name}/redrive")["moved"] == 1


def permitted(policies: list[tuple[str, str]], call: Call) -> bool:
    results = [
        IAMPolicy(document).is_action_permitted(
            call.action, call.resource, incoming_condition_values=dict(call.conditions)
        )
        for _, document in policies
    ]
    return PermissionResult.PERMITTED in results and PermissionResult.DENIED not in results


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_call_a_function_makes_is_allowed_by_its_role(
    exercised: tuple[Stack, CallRecorder], function: str
) -> None:
    stack, recorder = exercised
    policies = list(stack.role_policies(function, boto3.client("iam", region_name=REGION)))
    calls = recorder.calls[function]
    assert calls, f"{function} made no AWS call: the harness did not exercise it"

    denied = sorted(f"{call.action} on {call.resource}" for call in calls if not permitted(policies, call))

    assert denied == [], f"{function}'s role denies calls its code makes"


def test_the_paths_that_matter_were_exercised(exercised: tuple[Stack, CallRecorder]) -> None:
    _, recorder = exercised
    actions = {function: {call.action for call in calls} for function, calls in recorder.calls.items()}
    # Messages, and each change's placeholder in the selection index (deleted on removal).
    assert actions[FANOUT] == {"sqs:SendMessage", "dynamodb:PutItem", "dynamodb:DeleteItem"}
    assert {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "sqs:ChangeMessageVisibility",
        "sqs:SendMessage",
        "ssm:GetParameter",
        "kms:Decrypt",
    } <= actions[SUBMIT]
    queues = {call.resource for call in recorder.calls[SUBMIT] if call.action == "sqs:SendMessage"}
    assert len(queues) == 2, "both the requeue (own queue) and the dead-lettering (DLQ) must have run"
    assert actions[REPLAY] == {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Scan",
        "dynamodb:Query",
        "sqs:SendMessage",
    }
    assert {"dynamodb:PutItem", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} <= actions[API]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_role_allows_nothing_its_code_never_uses(exercised: tuple[Stack, CallRecorder], function: str) -> None:
    stack, recorder = exercised
    calls = recorder.calls[function]
    unused = []
    for source, document in stack.role_policies(function, boto3.client("iam", region_name=REGION)):
        if not source.startswith("inline:"):
            continue  # managed policies SAM attaches for the event source and logs: used by Lambda itself
        statements = json.loads(document)["Statement"]
        for statement in statements if isinstance(statements, list) else [statements]:
            if statement.get("Sid") in USED_BY_LAMBDA.get(function, set()):
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for action in actions:
                for resource in resources:
                    one = IAMPolicyStatement({**statement, "Action": action, "Resource": resource})
                    if not any(
                        one.is_action_permitted(c.action, c.resource, incoming_condition_values=dict(c.conditions))
                        is PermissionResult.PERMITTED
                        for c in calls
                    ):
                        unused.append(f"{statement.get('Sid', '?')}: {action} on {resource}")

    assert unused == [], f"{function}'s role allows what its code never does"
