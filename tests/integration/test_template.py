"""template.yaml: lint-clean, translatable, safe event sources, and in step with the registry.

The per-integration resources are plain resources (no ``Fn::ForEach``) so
every tool sees them; these tests keep them consistent with
``integrations.registry`` in both directions.
"""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.template import EventSource, Function, ResolveContext, Template, load_template, resolve

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
SUBMIT_HANDLER = "functions.submit.app.handler"
FANOUT_HANDLER = "functions.fanout.app.handler"
BATCH_EVENT_TYPES = {"SQS", "DynamoDB", "Kinesis"}
# SQS's default retention (4 days) when a queue does not set one.
DEFAULT_RETENTION_SECONDS = 345_600


def registered_integration_names() -> list[str]:
    """The registry's integration names; ``["ticketfairy"]`` until the registry module exists."""
    try:
        registry = importlib.import_module("integrations.registry")
    except ModuleNotFoundError as exc:
        if exc.name != "integrations.registry":
            raise  # the registry exists but is broken: fail, don't mask it
        return ["ticketfairy"]
    return sorted(registry.integration_names())


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
def template() -> Template:
    return Template.load(TEMPLATE_PATH)


@pytest.fixture(scope="module")
def fake_context(template: Template) -> ResolveContext:
    """Recognisable fake physical ids and attributes for every resource."""
    attributes = {
        (logical_id, attribute): f"{attribute.lower()}:{logical_id}"
        for logical_id in template.resources
        for attribute in ("Arn", "QueueName", "QueueUrl", "StreamArn")
    }
    return template.context(
        resources={logical_id: f"id:{logical_id}" for logical_id in template.resources}, attributes=attributes
    )


def walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def event_sources(template: Template, *types: str) -> Iterator[tuple[Function, EventSource]]:
    for function in template.functions().values():
        for event in function.events.values():
            if event.type in types:
                yield function, event


def submit_functions(template: Template) -> list[Function]:
    return [function for function in template.functions().values() if function.handler == SUBMIT_HANDLER]


def consumed_queue(function: Function) -> str:
    (event,) = [event for event in function.events.values() if event.type == "SQS"]
    assert event.target is not None, f"{function.logical_id}: SQS event names no queue of this template"
    return event.target


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


def test_samtranslator_translates_the_template(monkeypatch: pytest.MonkeyPatch) -> None:
    # cfn-lint >= 1.5x validates SAM with its own schemas and no longer
    # installs aws-sam-translator; run the real translation when it is there.
    pytest.importorskip("samtranslator", reason="aws-sam-translator is not installed")
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    # The translator reads the region for ARNs from the environment; no AWS call.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    body = copy.deepcopy(load_template(TEMPLATE_PATH))
    for resource in body["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            # As cfn-lint and sam validate do: local code paths become S3 URIs.
            resource.setdefault("Properties", {})["CodeUri"] = "s3://bucket/code.zip"
    translator = Translator(managed_policy_map={}, sam_parser=Parser())

    try:
        translated = translator.translate(sam_template=body, parameter_values={})
    except InvalidDocumentException as exc:
        pytest.fail("samtranslator: " + "; ".join(cause.message for cause in exc.causes))

    types = {resource["Type"] for resource in translated["Resources"].values()}
    assert {"AWS::Lambda::Function", "AWS::Lambda::EventSourceMapping", "AWS::IAM::Role"} <= types


def test_no_language_extension_loops() -> None:
    body = load_template(TEMPLATE_PATH)
    transforms = body.get("Transform", [])

    assert "AWS::LanguageExtensions" not in (transforms if isinstance(transforms, list) else [transforms])
    assert not [key for key in walk(body) if isinstance(key, str) and key.startswith("Fn::ForEach")]


def test_every_function_is_built_by_the_makefile(template: Template) -> None:
    for logical_id in template.functions():
        assert template.resources[logical_id].get("Metadata", {}).get("BuildMethod") == "makefile", logical_id


# ---------------------------------------------------------------- storage


def test_tables_are_encrypted_recoverable_and_on_demand(template: Template) -> None:
    tables = template.resources_of_type("AWS::DynamoDB::Table")

    assert set(tables) == {"EventCacheTable", "SubmissionsTable"}
    for logical_id, table in tables.items():
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST", logical_id
        assert properties["SSESpecification"]["SSEEnabled"] is True, logical_id
        assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, logical_id


def test_event_cache_streams_both_images(template: Template) -> None:
    properties = template.resources["EventCacheTable"]["Properties"]

    assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert properties["KeySchema"] == [{"AttributeName": "event_id", "KeyType": "HASH"}]


def test_submissions_keys_and_status_index(template: Template) -> None:
    properties = template.resources["SubmissionsTable"]["Properties"]
    (index,) = properties["GlobalSecondaryIndexes"]

    assert properties["KeySchema"] == [
        {"AttributeName": "event_id", "KeyType": "HASH"},
        {"AttributeName": "service", "KeyType": "RANGE"},
    ]
    assert index == {
        "IndexName": "by_service_status",
        "KeySchema": [{"AttributeName": "service", "KeyType": "HASH"}, {"AttributeName": "status", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    }


def test_every_queue_is_encrypted(template: Template) -> None:
    for logical_id, queue in template.resources_of_type("AWS::SQS::Queue").items():
        properties = queue.get("Properties", {})
        assert properties.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in properties, logical_id


# ---------------------------------------------------------------- event sources


def test_every_batch_event_source_reports_partial_failures(template: Template) -> None:
    sources = list(event_sources(template, *BATCH_EVENT_TYPES))

    assert sources
    for function, event in sources:
        assert "ReportBatchItemFailures" in event.properties.get("FunctionResponseTypes", []), (
            f"{function.logical_id}.{event.name}"
        )


def test_stream_event_sources_are_bounded(template: Template) -> None:
    sources = list(event_sources(template, "DynamoDB", "Kinesis"))

    assert [function.logical_id for function, _ in sources] == ["FanoutFunction"]
    for function, event in sources:
        where = f"{function.logical_id}.{event.name}"
        properties = event.properties
        patterns = [json.loads(item["Pattern"]) for item in properties["FilterCriteria"]["Filters"]]
        assert patterns == [{"eventName": ["INSERT", "MODIFY", "REMOVE"]}], where
        assert properties["BisectBatchOnFunctionError"] is True, where
        assert 0 <= properties["MaximumRetryAttempts"] <= 10, where
        assert 60 <= properties["MaximumRecordAgeInSeconds"] <= 6 * 3600, where
        assert properties["StartingPosition"] in ("TRIM_HORIZON", "LATEST"), where
        destination = properties["DestinationConfig"]["OnFailure"]["Destination"]
        assert event.target is not None, where
        assert template.resources[event.target]["Type"] == "AWS::DynamoDB::Table", where
        failure_queue = resolve(destination, template.context(attributes={("FanoutFailureQueue", "Arn"): "arn:q"}))
        assert failure_queue == "arn:q", where


def test_queue_visibility_covers_six_function_timeouts(template: Template) -> None:
    sources = list(event_sources(template, "SQS"))

    assert sources
    for function, event in sources:
        assert event.target is not None
        queue = template.resources[event.target]["Properties"]
        # Lambda's guidance: at least 6 x the function timeout plus the batching window.
        needed = 6 * function.timeout + event.properties.get("MaximumBatchingWindowInSeconds", 0)
        assert queue["VisibilityTimeout"] >= needed, f"{event.target}: {queue['VisibilityTimeout']} < {needed}"


def test_every_dead_letter_queue_outlives_its_source(template: Template) -> None:
    queues = template.resources_of_type("AWS::SQS::Queue")
    redriven = {logical_id: queue for logical_id, queue in queues.items() if "RedrivePolicy" in queue["Properties"]}

    assert redriven
    for logical_id, queue in redriven.items():
        properties = queue["Properties"]
        dead_letter = properties["RedrivePolicy"]["deadLetterTargetArn"]
        assert dead_letter == {"Fn::GetAtt": [dead_letter["Fn::GetAtt"][0], "Arn"]}, logical_id
        dead_letter_properties = queues[dead_letter["Fn::GetAtt"][0]]["Properties"]
        max_receive = resolve(properties["RedrivePolicy"]["maxReceiveCount"], template.context())
        assert 1 <= int(max_receive) <= 10, logical_id
        assert dead_letter_properties["MessageRetentionPeriod"] > properties.get(
            "MessageRetentionPeriod", DEFAULT_RETENTION_SECONDS
        ), logical_id


# ---------------------------------------------------------------- registry


def fanout_queues(template: Template, context: ResolveContext) -> dict[str, str]:
    (fanout,) = [function for function in template.functions().values() if function.handler == FANOUT_HANDLER]
    queues: dict[str, str] = json.loads(resolve(fanout.environment["INTEGRATION_QUEUES"], context))
    return queues


@pytest.mark.parametrize("name", registered_integration_names())
def test_each_integration_has_one_submit_function_fed_by_fanout(
    template: Template, fake_context: ResolveContext, name: str
) -> None:
    functions = [f for f in submit_functions(template) if f.environment.get("INTEGRATION_NAME") == name]

    assert len(functions) == 1, f"{name}: expected one submit function, found {[f.logical_id for f in functions]}"
    (function,) = functions
    queue = consumed_queue(function)
    assert "RedrivePolicy" in template.resources[queue]["Properties"], f"{queue} has no dead-letter queue"
    assert fanout_queues(template, fake_context).get(name) == f"id:{queue}"
    environment = resolve(function.environment, fake_context)
    assert environment["QUEUE_URL"] == f"id:{queue}"
    dead_letter = template.resources[queue]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert environment["DEAD_LETTER_QUEUE_URL"] == f"id:{dead_letter}"


def test_no_submit_function_or_queue_for_an_unregistered_integration(
    template: Template, fake_context: ResolveContext
) -> None:
    registered = set(registered_integration_names())
    served = {function.environment.get("INTEGRATION_NAME") for function in submit_functions(template)}

    assert served <= registered, f"submit functions for unregistered integrations: {served - registered}"
    assert set(fanout_queues(template, fake_context)) <= registered


def test_each_submit_function_consumes_its_own_queue(template: Template) -> None:
    queues = [consumed_queue(function) for function in submit_functions(template)]

    assert len(queues) == len(set(queues))
