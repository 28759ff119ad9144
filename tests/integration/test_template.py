"""template.yaml: lint-clean, translatable, safe event sources, and in step with the registry.

The per-integration resources are plain resources (no ``Fn::ForEach``) so
every tool sees them; these tests keep them consistent with
``integrations.registry`` in both directions. What SAM declares is read from
the file; what a function and its event sources end up with, from the stack
deployed on moto (``infra.aws.stack``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.aws.fanout_settings import FanoutSettings
from infra.aws.models import SELECTION_PROJECTION
from infra.aws.selection import SELECTION_INDEX
from infra.aws.settings import OperationsSettings
from infra.aws.stack import Stack, deploy, load_template, optional_integrations_on
from integrations.env import load_env_model
from integrations.registry import get_integration, integration_names

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
SUBMIT_HANDLER = "functions.submit.app.handler"
FANOUT_HANDLER = "functions.fanout.app.handler"
REGION = "us-east-1"
# SQS's default retention (4 days) when a queue does not set one.
DEFAULT_RETENTION_SECONDS = 345_600


def template_files() -> list[Path]:
    """Every CloudFormation template in the repository root and under infra/."""
    candidates = [*REPO_ROOT.glob("*.yaml"), *REPO_ROOT.glob("*.yml")]
    candidates += [*(REPO_ROOT / "infra").rglob("*.yaml"), *(REPO_ROOT / "infra").rglob("*.yml")]
    found = []
    for path in sorted(candidates):
        try:
            body = load_template(path)
        except Exception:  # noqa: S112 - not a template (or not YAML at all): cfn-lint has nothing to check
            continue
        if "AWSTemplateFormatVersion" in body or "Resources" in body:
            found.append(path)
    return found


@pytest.fixture(scope="module")
def body() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with mock_aws():
        yield deploy("template", region=REGION, parameters=optional_integrations_on())


def of_type(body: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {logical_id: r for logical_id, r in body["Resources"].items() if r["Type"] == resource_type}


def walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def declared_mappings(stack: Stack, source: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each event source mapping SAM generated from a function's ``Events``, as declared (intrinsics kept)."""
    for logical_id, resource in of_type(stack.template, "AWS::Lambda::EventSourceMapping").items():
        if resource["Properties"]["EventSourceArn"]["Fn::GetAtt"][1] == source:
            yield logical_id, resource["Properties"]


def submit_functions(stack: Stack) -> list[str]:
    return [name for name, function in stack.functions.items() if function.handler == SUBMIT_HANDLER]


def queue_attributes(url: str) -> dict[str, str]:
    sqs = boto3.client("sqs", region_name=REGION)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return {str(name): value for name, value in attributes.items()}


def consumed_queue(stack: Stack, function: str) -> str:
    (mapping,) = stack.mappings_of(function)
    assert mapping["EventSourceArn"].startswith("arn:aws:sqs:"), f"{function} does not consume a queue"
    queue_name = mapping["EventSourceArn"].rsplit(":", 1)[1]
    (url,) = [url for url in stack.resources.values() if url.endswith(f"/{queue_name}")]
    return url


# ---------------------------------------------------------------- tooling


def cfn_lint_problems(path: Path) -> list[str]:
    from cfnlint.api import lint_file

    # Errors (E) and warnings (W) fail; informational (I) checks are not run.
    return [str(match) for match in lint_file(path) if match.rule.id[:1] in ("E", "W")]


def test_template_files_are_found() -> None:
    assert TEMPLATE_PATH in template_files()


@pytest.mark.parametrize("path", template_files(), ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_cfn_lint_reports_no_error_or_warning(path: Path) -> None:
    problems = cfn_lint_problems(path)

    assert not problems, "cfn-lint:\n" + "\n".join(problems)


def test_cfn_lint_check_does_catch_warnings(tmp_path: Path) -> None:
    # Guards the check above: an API change that returned nothing would pass silently.
    path = tmp_path / "warning.yaml"
    path.write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\n"
        "Parameters:\n  Unused:\n    Type: String\n"
        "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n",
        encoding="utf-8",
    )

    assert any("W2001" in problem for problem in cfn_lint_problems(path))


def test_samtranslator_translates_the_template(stack: Stack) -> None:
    types = {resource["Type"] for resource in stack.template["Resources"].values()}

    assert {"AWS::Lambda::Function", "AWS::Lambda::EventSourceMapping", "AWS::IAM::Role"} <= types


def test_no_language_extension_loops(body: dict[str, Any]) -> None:
    transforms = body.get("Transform", [])

    assert "AWS::LanguageExtensions" not in (transforms if isinstance(transforms, list) else [transforms])
    assert not [key for key in walk(body) if isinstance(key, str) and key.startswith("Fn::ForEach")]


def test_every_function_is_built_by_the_makefile(body: dict[str, Any]) -> None:
    for logical_id, function in of_type(body, "AWS::Serverless::Function").items():
        assert function.get("Metadata", {}).get("BuildMethod") == "makefile", logical_id


# ---------------------------------------------------------------- storage


def test_tables_are_encrypted_recoverable_and_on_demand(body: dict[str, Any]) -> None:
    tables = of_type(body, "AWS::DynamoDB::Table")

    assert set(tables) == {"EventCacheTable", "SubmissionsTable"}
    for logical_id, table in tables.items():
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST", logical_id
        assert properties["SSESpecification"]["SSEEnabled"] is True, logical_id
        assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, logical_id


def test_event_cache_streams_both_images(stack: Stack) -> None:
    table = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=stack.resources["EventCacheTable"])

    assert table["Table"]["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert table["Table"]["KeySchema"] == [{"AttributeName": "event_id", "KeyType": "HASH"}]


def test_submissions_keys_status_and_selection_indexes(stack: Stack) -> None:
    table = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=stack.resources["SubmissionsTable"])
    index, selection = sorted(
        table["Table"]["GlobalSecondaryIndexes"], key=lambda i: i["IndexName"] != "by_service_status"
    )

    assert table["Table"]["KeySchema"] == [
        {"AttributeName": "event_id", "KeyType": "HASH"},
        {"AttributeName": "service", "KeyType": "RANGE"},
    ]
    assert (index["IndexName"], index["KeySchema"], index["Projection"]) == (
        "by_service_status",
        [{"AttributeName": "service", "KeyType": "HASH"}, {"AttributeName": "status", "KeyType": "RANGE"}],
        {"ProjectionType": "KEYS_ONLY"},
    )
    # The selection index carries what the store's model projects: a selector reads nothing else.
    assert (selection["IndexName"], selection["KeySchema"]) == (
        SELECTION_INDEX,
        [{"AttributeName": "service", "KeyType": "HASH"}, {"AttributeName": "selection", "KeyType": "RANGE"}],
    )
    assert selection["Projection"]["ProjectionType"] == "INCLUDE"
    assert sorted(selection["Projection"]["NonKeyAttributes"]) == sorted(SELECTION_PROJECTION)


def test_every_queue_is_encrypted(body: dict[str, Any]) -> None:
    for logical_id, queue in of_type(body, "AWS::SQS::Queue").items():
        properties = queue.get("Properties", {})
        assert properties.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in properties, logical_id


# ---------------------------------------------------------------- event sources


def test_every_batch_event_source_reports_partial_failures(stack: Stack) -> None:
    assert stack.event_sources
    for logical_id, mapping in stack.event_sources.items():
        assert "ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", []), logical_id


def test_stream_event_sources_are_bounded(stack: Stack) -> None:
    sources = list(declared_mappings(stack, "StreamArn"))

    assert [properties["FunctionName"] for _, properties in sources] == [{"Ref": "FanoutFunction"}]
    for where, properties in sources:
        patterns = [json.loads(item["Pattern"]) for item in properties["FilterCriteria"]["Filters"]]
        assert patterns == [{"eventName": ["INSERT", "MODIFY", "REMOVE"]}], where
        assert properties["BisectBatchOnFunctionError"] is True, where
        assert 0 <= properties["MaximumRetryAttempts"] <= 10, where
        assert 60 <= properties["MaximumRecordAgeInSeconds"] <= 6 * 3600, where
        assert properties["StartingPosition"] in ("TRIM_HORIZON", "LATEST"), where
        table = properties["EventSourceArn"]["Fn::GetAtt"][0]
        assert stack.template["Resources"][table]["Type"] == "AWS::DynamoDB::Table", where
        destination = properties["DestinationConfig"]["OnFailure"]["Destination"]
        assert destination == {"Fn::GetAtt": ["FanoutFailureQueue", "Arn"]}, where


def test_queue_visibility_covers_six_function_timeouts(stack: Stack) -> None:
    functions = {function.name: function for function in stack.functions.values()}
    queues = [m for m in stack.event_sources.values() if m["EventSourceArn"].startswith("arn:aws:sqs:")]

    assert queues
    for mapping in queues:
        function = functions[mapping["FunctionName"]]
        url = consumed_queue(stack, function.logical_id)
        # Lambda's guidance: at least 6 x the function timeout plus the batching window.
        needed = 6 * function.timeout + mapping.get("MaximumBatchingWindowInSeconds", 0)
        visibility = int(queue_attributes(url)["VisibilityTimeout"])
        assert visibility >= needed, f"{url}: {visibility} < {needed}"


def test_every_dead_letter_queue_outlives_its_source(stack: Stack) -> None:
    queues = {url: queue_attributes(url) for url in stack.resources.values() if "/sqs." in url or ":sqs:" in url}
    by_arn = {attributes["QueueArn"]: attributes for attributes in queues.values()}
    redriven = {url: attributes for url, attributes in queues.items() if "RedrivePolicy" in attributes}

    assert redriven
    for url, attributes in redriven.items():
        policy = json.loads(attributes["RedrivePolicy"])
        assert 1 <= int(policy["maxReceiveCount"]) <= 10, url
        dead_letter = by_arn[policy["deadLetterTargetArn"]]
        retention = int(attributes.get("MessageRetentionPeriod", DEFAULT_RETENTION_SECONDS))
        assert int(dead_letter["MessageRetentionPeriod"]) > retention, url


# ---------------------------------------------------------------- registry


def fanout_queues(stack: Stack) -> dict[str, str]:
    (fanout,) = [function for function in stack.functions.values() if function.handler == FANOUT_HANDLER]
    return FanoutSettings.from_env(fanout.environment).integration_queues


@pytest.mark.parametrize("name", sorted(integration_names()))
def test_each_integration_has_one_submit_function_fed_by_fanout(stack: Stack, name: str) -> None:
    functions = [f for f in submit_functions(stack) if stack.env(f).get("INTEGRATION_NAME") == name]

    assert len(functions) == 1, f"{name}: expected one submit function, found {functions}"
    (function,) = functions
    queue = consumed_queue(stack, function)
    attributes = queue_attributes(queue)
    assert "RedrivePolicy" in attributes, f"{queue} has no dead-letter queue"
    assert fanout_queues(stack).get(name) == queue
    environment = stack.env(function)
    assert environment["QUEUE_URL"] == queue
    dead_letter_arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
    assert queue_attributes(environment["DEAD_LETTER_QUEUE_URL"])["QueueArn"] == dead_letter_arn


def test_no_submit_function_or_queue_for_an_unregistered_integration(stack: Stack) -> None:
    registered = set(integration_names())
    served = {stack.env(function).get("INTEGRATION_NAME") for function in submit_functions(stack)}

    assert served <= registered, f"submit functions for unregistered integrations: {served - registered}"
    assert set(fanout_queues(stack)) <= registered


def test_each_submit_function_consumes_its_own_queue(stack: Stack) -> None:
    queues = [consumed_queue(stack, function) for function in submit_functions(stack)]

    assert len(queues) == len(set(queues))


@pytest.mark.parametrize("function", ["ReplayFunction", "ApiFunction"])
def test_the_operators_functions_know_every_integrations_queue_and_dlq(stack: Stack, function: str) -> None:
    env = load_env_model(OperationsSettings, stack.env(function))
    submit = {
        f.environment["INTEGRATION_NAME"]: f.environment
        for f in stack.functions.values()
        if "INTEGRATION_NAME" in f.environment
    }
    assert set(env.integration_queues) == set(integration_names()) == set(submit)
    assert env.integration_queues == {name: e["QUEUE_URL"] for name, e in submit.items()}
    assert env.dead_letter_queues == {name: e["DEAD_LETTER_QUEUE_URL"] for name, e in submit.items()}


def test_a_default_deploy_leaves_the_optional_integrations_out() -> None:
    with mock_aws():
        default = deploy("default", region=REGION)
    names = {default.env(function).get("INTEGRATION_NAME") for function in submit_functions(default)}

    assert "calendar" not in names
    assert set(fanout_queues(default)) == names
    assert not [logical_id for logical_id in default.resources if logical_id.startswith("Calendar")]
    for function in ("ReplayFunction", "ApiFunction"):
        settings = load_env_model(OperationsSettings, default.env(function))
        assert set(settings.integration_queues) == set(settings.dead_letter_queues) == names


def test_the_calendar_is_switched_on_by_its_url_and_reads_its_password_only_with_a_login() -> None:
    parameters = {"CalendarUrl": "https://cal.example.com/dav/events/"}
    with mock_aws():
        anonymous = deploy("anonymous", region=REGION, parameters=parameters)
        login = deploy("login", region=REGION, parameters={**parameters, "CalendarUsername": "importer"})

    assert anonymous.env("CalendarSubmitFunction")["CALENDAR_URL"] == parameters["CalendarUrl"]
    assert anonymous.env("CalendarSubmitFunction")["CALENDAR_PASSWORD_PARAMETER"] == ""
    assert login.env("CalendarSubmitFunction")["CALENDAR_PASSWORD_PARAMETER"] == "/event-importer/calendar/password"
    # What the function will read from that environment is valid as it stands.
    assert get_integration("calendar").is_enabled(login.env("CalendarSubmitFunction"))
