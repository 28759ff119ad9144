"""infra.aws.stack: template.yaml deployed through samtranslator and moto's CloudFormation, as sam deploy does."""

from __future__ import annotations

import json
import logging

import boto3
import pytest

from infra.aws.stack import StackError, deploy, describe, load_template
from tests.conftest import REGION


def test_parameter_overrides_are_stack_parameters(aws: None) -> None:
    stack = deploy("overrides", parameters={"MaxReceiveCount": "3"}, region=REGION)

    assert stack.parameters["MaxReceiveCount"] == "3"
    assert stack.env("TicketfairySubmitFunction")["MAX_RECEIVE_COUNT"] == "3"
    queue = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=stack.resources["TicketfairyQueue"], AttributeNames=["RedrivePolicy"]
    )
    assert json.loads(queue["Attributes"]["RedrivePolicy"])["maxReceiveCount"] == 3


def test_describe_reads_the_same_stack_back(aws: None) -> None:
    deployed = deploy("described", region=REGION)

    found = describe("described", region=REGION)

    assert (found.resources, found.outputs, found.parameters) == (
        deployed.resources,
        deployed.outputs,
        deployed.parameters,
    )
    assert {name: (f.handler, f.environment) for name, f in found.functions.items()} == {
        name: (f.handler, f.environment) for name, f in deployed.functions.items()
    }
    with pytest.raises(StackError, match="no stack"):
        describe("missing", region=REGION)


def test_alarms_are_left_out_quietly(aws: None, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        stack = deploy("alarms", region=REGION)

    assert "FanoutErrorsAlarm" in stack.template["Resources"]
    assert "FanoutErrorsAlarm" not in stack.resources
    assert not [record for record in caplog.records if record.name.startswith("moto")]


def test_a_resource_type_moto_cannot_create_fails_loudly(aws: None) -> None:
    body = load_template()
    body["Resources"]["Pipe"] = {
        "Type": "AWS::Pipes::Pipe",
        "Properties": {"RoleArn": "arn:aws:iam::123456789012:role/r", "Source": "s", "Target": "t"},
    }

    with pytest.raises(StackError, match=r"moto cannot create AWS::Pipes::Pipe"):
        deploy("unsupported", template=body, region=REGION)
