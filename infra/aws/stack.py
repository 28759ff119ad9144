"""template.yaml deployed the way ``sam deploy`` does it: SAM's translator, then CloudFormation.

``samtranslator`` turns the SAM template into plain CloudFormation (Globals
merged, roles and policies generated, event source mappings from
``Events``); CloudFormation (moto's, here) creates the stack and resolves
every intrinsic function. What a function got is then read back from the
services themselves: its configuration and environment from Lambda, its
permissions from IAM.

Needs the dev dependencies (samtranslator) and an AWS endpoint: moto
in-process (``mock_aws``) or a moto server.
"""

from __future__ import annotations

import ast
import io
import json
import logging
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
CODE_BUCKET = "event-importer-code"
CODE_KEY = "stub.zip"

#: Resource types moto's CloudFormation does not create; anything else unsupported is an error.
UNSUPPORTED_BUT_EXPECTED = frozenset({"AWS::CloudWatch::Alarm"})


class StackError(RuntimeError):
    """The template could not be translated or deployed."""


def translate(template: Mapping[str, Any], iam: Any) -> dict[str, Any]:
    """CloudFormation for a SAM template, as ``sam deploy`` would submit it (code from a stub object)."""
    from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
    from samtranslator.translator.transform import transform

    body = json.loads(json.dumps(template))
    for resource in body["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource.setdefault("Properties", {})["CodeUri"] = f"s3://{CODE_BUCKET}/{CODE_KEY}"
    return dict(transform(body, {}, ManagedPolicyLoader(iam)))


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """A SAM template file, short-form tags (``!Ref``, ``!Sub`` ...) included."""
    from samtranslator.yaml_helper import yaml_parse

    return dict(yaml_parse(path.read_text()))


@dataclass(frozen=True)
class Function:
    """One deployed function: its name, handler, environment and role."""

    logical_id: str
    name: str
    handler: str
    environment: dict[str, str]
    role_name: str
    configuration: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Stack:
    """A deployed stack: physical ids by logical id, outputs, and its functions."""

    name: str
    resources: dict[str, str]
    outputs: dict[str, str]
    functions: dict[str, Function]
    #: Each event source mapping's properties, resolved (not created in moto: see ``deploy``).
    event_sources: dict[str, dict[str, Any]]
    template: dict[str, Any] = field(repr=False)

    def role_policies(self, function: str, iam: Any) -> Iterator[tuple[str, str]]:
        """``(source, policy document JSON)`` for every policy of a function's role, inline and managed."""
        role = self.functions[function].role_name
        for policy_name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
            yield f"inline:{policy_name}", _document_json(document)
        # moto's CloudFormation does not attach a role's managed policies: take them from the template.
        role_resource = self.template["Resources"][f"{function}Role"]["Properties"]
        for arn in role_resource.get("ManagedPolicyArns", []):
            arn = _partition_arn(arn)
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
            yield f"managed:{arn.rsplit('/', 1)[1]}", _document_json(document)


def _document_json(document: Any) -> str:
    if isinstance(document, str):
        try:
            json.loads(document)
        except ValueError:
            # moto keeps an inline policy given as an object as its Python repr.
            document = ast.literal_eval(document)
        else:
            return document
    return json.dumps(document)


def _partition_arn(arn: Any) -> str:
    if isinstance(arn, dict) and "Fn::Sub" in arn:
        return str(arn["Fn::Sub"]).replace("${AWS::Partition}", "aws")
    return str(arn)


def deploy(
    name: str,
    *,
    parameters: Mapping[str, str] | None = None,
    template_path: Path = TEMPLATE,
    region: str = "us-east-1",
    endpoint_url: str | None = None,
) -> Stack:
    """Translate and create the stack; raises ``StackError`` unless it reaches ``CREATE_COMPLETE``."""

    def client(service: str) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=endpoint_url)  # type: ignore[call-overload]

    template = load_template(template_path)
    translated = translate(template, client("iam"))
    _upload_stub(client("s3"), region)
    cloudformation = client("cloudformation")
    _check_supported(translated)
    _quiet_about_expected_types()
    # moto would run each event source mapping itself (invoking the function in Docker) and
    # take the stream records and messages; whoever runs the handlers polls instead, with the
    # mappings' settings as deployed (resolved below).
    mappings = {k: r for k, r in translated["Resources"].items() if r["Type"] == "AWS::Lambda::EventSourceMapping"}
    deployed = {**translated, "Resources": {k: r for k, r in translated["Resources"].items() if k not in mappings}}
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=json.dumps(deployed),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    description = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    if description["StackStatus"] != "CREATE_COMPLETE":
        raise StackError(f"stack {name} ended {description['StackStatus']}: {description.get('StackStatusReason')}")
    resources = {
        item["LogicalResourceId"]: item["PhysicalResourceId"]
        for item in cloudformation.describe_stack_resources(StackName=name)["StackResources"]
        if "LogicalResourceId" in item
    }
    outputs = {item["OutputKey"]: item["OutputValue"] for item in description.get("Outputs", [])}
    lambda_client = client("lambda")
    functions = {}
    for logical_id, resource in translated["Resources"].items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        configuration = lambda_client.get_function_configuration(FunctionName=resources[logical_id])
        functions[logical_id] = Function(
            logical_id=logical_id,
            name=configuration["FunctionName"],
            handler=configuration["Handler"],
            # As Lambda gives them to a process: strings (moto keeps resolved numbers as numbers).
            environment={k: str(v) for k, v in configuration.get("Environment", {}).get("Variables", {}).items()},
            role_name=configuration["Role"].rsplit("/", 1)[1],
            configuration=configuration,
        )
    attributes = _Attributes(resources, client("dynamodb"), client("sqs"))
    event_sources = {logical_id: attributes.resolve(m["Properties"]) for logical_id, m in mappings.items()}
    return Stack(name, resources, outputs, functions, event_sources, translated)


class _Attributes:
    """Resolves the intrinsics SAM writes into event source mappings: ``Ref`` and ``Fn::GetAtt``."""

    def __init__(self, resources: Mapping[str, str], dynamodb: Any, sqs: Any) -> None:
        self.resources = resources
        self.dynamodb = dynamodb
        self.sqs = sqs

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self.resources[value["Ref"]]
        if set(value) == {"Fn::GetAtt"}:
            logical_id, attribute = value["Fn::GetAtt"]
            return self.attribute(logical_id, attribute)
        if any(key.startswith("Fn::") for key in value):
            raise StackError(f"cannot resolve {value} in an event source mapping")
        return {key: self.resolve(item) for key, item in value.items()}

    def attribute(self, logical_id: str, attribute: str) -> str:
        physical = self.resources[logical_id]
        if attribute == "StreamArn":
            return str(self.dynamodb.describe_table(TableName=physical)["Table"]["LatestStreamArn"])
        if attribute == "Arn" and physical.startswith("http"):
            queue = self.sqs.get_queue_attributes(QueueUrl=physical, AttributeNames=["QueueArn"])
            return str(queue["Attributes"]["QueueArn"])
        raise StackError(f"cannot resolve {logical_id}.{attribute} in an event source mapping")


def _check_supported(translated: Mapping[str, Any]) -> None:
    from moto.cloudformation.parsing import NULL_MODELS, get_model_map

    known = {*get_model_map(), *NULL_MODELS, *UNSUPPORTED_BUT_EXPECTED}
    unsupported = {resource["Type"] for resource in translated["Resources"].values()} - known
    if unsupported:
        raise StackError(f"moto cannot create {', '.join(sorted(unsupported))}: the local stack would be incomplete")


class _ExpectedTypes(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not any(resource_type in record.getMessage() for resource_type in UNSUPPORTED_BUT_EXPECTED)


def _quiet_about_expected_types() -> None:
    """moto logs and warns about each resource it cannot create, on every stack read; not about the expected ones."""
    logger = logging.getLogger("moto.cloudformation.parsing")
    if not any(isinstance(f, _ExpectedTypes) for f in logger.filters):
        logger.addFilter(_ExpectedTypes())
    for resource_type in UNSUPPORTED_BUT_EXPECTED:
        warnings.filterwarnings("ignore", message=f"Tried to parse {resource_type}")


def _upload_stub(s3: Any, region: str) -> None:
    """The code object every function points at: the handlers run from this checkout, not from it."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as stub:
        stub.writestr("README", "functions run from the source tree")
    if region == "us-east-1":
        s3.create_bucket(Bucket=CODE_BUCKET)
    else:
        s3.create_bucket(Bucket=CODE_BUCKET, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_object(Bucket=CODE_BUCKET, Key=CODE_KEY, Body=archive.getvalue())
