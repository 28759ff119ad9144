"""template.yaml deployed the way ``sam deploy`` does it: SAM's translator, then CloudFormation.

``samtranslator`` turns the SAM template into plain CloudFormation (Globals
merged, roles and policies generated, event source mappings from
``Events``); CloudFormation (moto's, here) creates the stack and resolves
every intrinsic function. What a function got is then read back from the
services themselves: its configuration and environment from Lambda, its
permissions from IAM. ``describe`` reads an existing stack with the same
APIs (the CLI's view of a deployment, local or on AWS).

Some resource types are not handed to moto, on purpose: alarms, which moto's
CloudFormation cannot create and nothing local reads; the HTTP API (API
Gateway v2, which moto's CloudFormation cannot create either: the local
runtime serves the API function's handler itself, on loopback), with what
refers to it (its invoke permission, its URL output); and event source
mappings, which moto would run itself (see ``deploy``). Any other type moto
cannot create fails the deployment loudly.

Needs the dev dependencies (samtranslator) and an AWS endpoint: moto
in-process (``mock_aws``) or a moto server.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import io
import json
import re
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
EVENT_SOURCE_MAPPING = "AWS::Lambda::EventSourceMapping"

#: Resource types moto's CloudFormation does not create; anything else unsupported is an error.
UNSUPPORTED_BUT_EXPECTED = frozenset({"AWS::CloudWatch::Alarm", "AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Stage"})

#: Translations by template: each lists every AWS managed policy (about a second on moto).
_translations: dict[str, str] = {}
#: Parsed templates by (path, size, mtime): PyYAML's pure-Python parser takes ≈0.3 s for template.yaml.
_parsed: dict[tuple[str, int, int], str] = {}


class StackError(RuntimeError):
    """The template could not be translated or deployed, or the stack is not there."""


class StackNotFoundError(StackError):
    """CloudFormation has no stack of that name (in that account, region or endpoint)."""


def translate(template: Mapping[str, Any], iam: Any, region: str) -> dict[str, Any]:
    """CloudFormation for a SAM template, as ``sam deploy`` would submit it (code from a stub object)."""
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
    from samtranslator.translator.translator import Translator

    key = json.dumps([template, region], sort_keys=True)
    if key not in _translations:
        body = json.loads(json.dumps(template))
        for resource in body["Resources"].values():
            if resource["Type"] == "AWS::Serverless::Function":
                resource.setdefault("Properties", {})["CodeUri"] = f"s3://{CODE_BUCKET}/{CODE_KEY}"
        translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=region))
        translated = translator.translate(body, {}, get_managed_policy_map=ManagedPolicyLoader(iam).load)
        _translations[key] = json.dumps(translated)
    return dict(json.loads(_translations[key]))


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """A SAM template file, short-form tags (``!Ref``, ``!Sub`` ...) included."""
    from samtranslator.yaml_helper import yaml_parse

    status = path.stat()
    key = (str(path.resolve()), status.st_size, status.st_mtime_ns)
    if key not in _parsed:
        _parsed[key] = json.dumps(yaml_parse(path.read_text()))
    return dict(json.loads(_parsed[key]))  # a copy: callers edit their body


def optional_integrations_on(template: Mapping[str, Any] | Path = TEMPLATE) -> dict[str, str]:
    """Parameters that switch every optional integration of ``template`` on (placeholder URLs).

    An optional integration's resources exist only when its ``<Name>Url``
    parameter, empty by default, is set: a default deploy leaves it out.
    Tests and benchmarks deploy with these to see every integration.
    """
    body = load_template(template) if isinstance(template, Path) else template
    return {
        name: f"https://{name.lower()}.test/"
        for name, spec in body.get("Parameters", {}).items()
        if name.endswith("Url") and spec.get("Default") == ""
    }


@dataclass(frozen=True)
class Function:
    """One deployed function: its name, handler, limits, environment and role, as Lambda reports them."""

    logical_id: str
    name: str
    handler: str
    timeout: int
    memory_mb: int
    environment: dict[str, str]
    role_name: str
    configuration: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Stack:
    """A deployed stack: physical ids by logical id, parameters, outputs, functions and event sources."""

    name: str
    resources: dict[str, str]
    parameters: dict[str, str]
    outputs: dict[str, str]
    functions: dict[str, Function]
    #: Each event source mapping's properties, resolved (not created in moto: see ``deploy``); empty for a
    #: stack found by ``describe``.
    event_sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The translated template (``deploy`` only).
    template: dict[str, Any] = field(default_factory=dict, repr=False)

    def env(self, function: str) -> dict[str, str]:
        """The environment Lambda gives function ``function`` (a logical id)."""
        return self.functions[function].environment

    def mappings_of(self, function: str) -> list[dict[str, Any]]:
        """The event source mappings that invoke function ``function`` (a logical id)."""
        name = self.functions[function].name
        return [mapping for mapping in self.event_sources.values() if mapping["FunctionName"] == name]

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


@functools.cache
def _session() -> boto3.Session:
    # One session for every deployment in a process: a new one parses each service's model again
    # (about half of a deployment's time on moto). Credentials are resolved once, from the environment.
    return boto3.Session()


class _Clients:
    def __init__(self, region: str | None, endpoint_url: str | None, session: boto3.Session | None = None) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self.session = session

    def __call__(self, service: str) -> Any:
        session = self.session or _session()
        return session.client(service, region_name=self.region, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]


def deploy(
    name: str,
    *,
    template: Mapping[str, Any] | Path = TEMPLATE,
    parameters: Mapping[str, str] | None = None,
    region: str = "us-east-1",
    endpoint_url: str | None = None,
) -> Stack:
    """Translate ``template`` (a file or a loaded body) and create the stack ``name``.

    Parameter overrides are CloudFormation parameters. Raises ``StackError``
    unless the stack reaches ``CREATE_COMPLETE``, or when the template holds
    a resource type moto cannot create (other than alarms).
    """
    client = _Clients(region, endpoint_url)
    body = load_template(template) if isinstance(template, Path) else template
    translated = translate(body, client("iam"), region)
    _check_supported(translated)
    _upload_stub(client("s3"), region)
    # moto would run each event source mapping itself (invoking the function in Docker) and
    # take the stream records and messages; whoever runs the handlers polls instead, with the
    # mappings' settings as deployed (resolved below).
    left_out = {EVENT_SOURCE_MAPPING, *UNSUPPORTED_BUT_EXPECTED}
    resources = translated["Resources"]
    created = _without(translated, {k for k, r in resources.items() if r["Type"] in left_out})
    client("cloudformation").create_stack(
        StackName=name,
        # moto tries every body as YAML first, with PyYAML's pure-Python loader (≈0.2 s for this one);
        # a leading tab is JSON whitespace but no YAML token, so it goes straight to json.loads.
        TemplateBody="\t" + json.dumps(created),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    stack = describe(name, region=region, endpoint_url=endpoint_url)
    attributes = _Attributes(stack.resources, client("dynamodb"), client("sqs"))
    deployed = set(stack.resources)
    mappings = {
        logical_id: attributes.resolve(resource["Properties"])
        for logical_id, resource in resources.items()
        if resource["Type"] == EVENT_SOURCE_MAPPING
        # A mapping of a resource whose Condition is false (an integration left out) does not exist.
        and ("Condition" not in resource or _references(resource["Properties"]) <= deployed)
    }
    return dataclasses.replace(stack, event_sources=mappings, template=translated)


def describe(
    name: str, *, region: str | None = None, endpoint_url: str | None = None, session: boto3.Session | None = None
) -> Stack:
    """The stack ``name`` as CloudFormation and Lambda describe it; ``StackError`` unless it was created.

    ``session`` carries the caller's credentials (the CLI's target); by default, the environment's.
    """
    client = _Clients(region, endpoint_url, session)
    cloudformation = client("cloudformation")
    try:
        (description,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except cloudformation.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ValidationError":
            raise  # access denied, expired token ...: the caller's to report
        raise StackNotFoundError(f"no stack {name}: {exc}") from exc
    if description["StackStatus"] not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        raise StackError(f"stack {name} is {description['StackStatus']}: {description.get('StackStatusReason')}")
    # moto lists a resource whose Condition is false as an entry without ids: it does not exist.
    listed = [
        item
        for item in cloudformation.describe_stack_resources(StackName=name)["StackResources"]
        if "LogicalResourceId" in item and "PhysicalResourceId" in item
    ]
    resources = {item["LogicalResourceId"]: item["PhysicalResourceId"] for item in listed}
    lambda_client = client("lambda")
    functions = {}
    for item in listed:
        if item["ResourceType"] != "AWS::Lambda::Function":
            continue
        configuration = lambda_client.get_function_configuration(FunctionName=item["PhysicalResourceId"])
        functions[item["LogicalResourceId"]] = Function(
            logical_id=item["LogicalResourceId"],
            name=configuration["FunctionName"],
            handler=configuration["Handler"],
            timeout=int(configuration["Timeout"]),
            memory_mb=int(configuration["MemorySize"]),
            # As Lambda gives them to a process: strings (moto keeps resolved numbers as numbers).
            environment={k: str(v) for k, v in configuration.get("Environment", {}).get("Variables", {}).items()},
            role_name=configuration["Role"].rsplit("/", 1)[1],
            configuration=configuration,
        )
    return Stack(
        name=name,
        resources=resources,
        parameters={p["ParameterKey"]: p["ParameterValue"] for p in description.get("Parameters", [])},
        outputs={item["OutputKey"]: item["OutputValue"] for item in description.get("Outputs", [])},
        functions=functions,
    )


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


def _references(value: Any) -> set[str]:
    """Logical ids ``value`` refers to: ``Ref``, ``Fn::GetAtt`` and ``${...}`` in ``Fn::Sub``."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else str(item).split(".")[0])
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) else item
                found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", str(text))}
                if isinstance(item, list):
                    found |= _references(item[1:])
            else:
                found |= _references(item)
    return found


def _without(translated: Mapping[str, Any], dropped: set[str]) -> dict[str, Any]:
    """The template less ``dropped`` and, transitively, every resource and output that refers to one."""
    resources = dict(translated["Resources"])
    gone = set(dropped)
    while True:
        more = {k for k, r in resources.items() if k not in gone and _references(r) & gone}
        if not more:
            break
        gone |= more
    kept = {k: r for k, r in resources.items() if k not in gone}
    outputs = {k: o for k, o in translated.get("Outputs", {}).items() if not _references(o) & gone}
    return {**translated, "Resources": kept, "Outputs": outputs}


def _check_supported(translated: Mapping[str, Any]) -> None:
    from moto.cloudformation.parsing import NULL_MODELS, get_model_map

    known = {*get_model_map(), *NULL_MODELS, *UNSUPPORTED_BUT_EXPECTED, EVENT_SOURCE_MAPPING}
    unsupported = {resource["Type"] for resource in translated["Resources"].values()} - known
    if unsupported:
        raise StackError(f"moto cannot create {', '.join(sorted(unsupported))}: the local stack would be incomplete")


def _upload_stub(s3: Any, region: str) -> None:
    """The code object every function points at: the handlers run from this checkout, not from it."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as stub:
        stub.writestr("README", "functions run from the source tree")
    try:
        if region == "us-east-1":
            s3.create_bucket(Bucket=CODE_BUCKET)
        else:
            s3.create_bucket(Bucket=CODE_BUCKET, CreateBucketConfiguration={"LocationConstraint": region})
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass  # a second stack on the same endpoint
    s3.put_object(Bucket=CODE_BUCKET, Key=CODE_KEY, Body=archive.getvalue())
