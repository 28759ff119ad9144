"""Shared fixtures: a sealed AWS environment, and moto deployments of template.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from infra import runtime
from integrations import registry

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
REGION = "us-east-1"


@pytest.fixture(autouse=True)
def sealed_aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials, no real endpoints, and fresh per-process caches for every test."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    # moto answers DynamoDB Streams only at the regional endpoint (see DESIGN.md).
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    runtime.reset()
    registry.clear_cache()
    parameters.clear_caches()  # type: ignore[no-untyped-call]  # Powertools caches secrets per process: one test's key must not leak
    yield
    runtime.reset()
    parameters.clear_caches()  # type: ignore[no-untyped-call]


@pytest.fixture
def aws() -> Iterator[None]:
    """In-process moto for every AWS service."""
    with mock_aws():
        yield


@dataclass(frozen=True)
class Deployment:
    """template.yaml provisioned on moto: physical names and each function's environment."""

    resources: object
    environments: dict[str, dict[str, str]]

    def env(self, function: str) -> dict[str, str]:
        return self.environments[function]


@pytest.fixture
def deployment(aws: None, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    """Tables and queues exactly as template.yaml declares them, on in-process moto."""
    from infra.provision import function_environment, provision
    from infra.template import load_template

    template = load_template(TEMPLATE)
    resources = provision(
        template,
        dynamodb_client=boto3.client("dynamodb", region_name=REGION),
        sqs_client=boto3.client("sqs", region_name=REGION),
        stack_name="test",
    )
    functions = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    ]
    environments = {name: function_environment(template, resources, name) for name in functions}
    return Deployment(resources=resources, environments=environments)
