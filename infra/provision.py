"""Create the tables and queues ``template.yaml`` declares, for local runs.

On AWS, ``sam deploy`` creates them; on one machine the local runtime calls
``provision`` against a moto server instead, so both run from the same
declarations.  Names follow ``<stack name>-<LogicalId>`` unless the template
names the resource itself (resolved with ``AWS::StackName`` = the stack
name).  Running it again reuses what exists.
"""

from __future__ import annotations

import contextlib
import graphlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from infra.template import (
    DEFAULT_ACCOUNT_ID,
    ResolveContext,
    Template,
    TemplateError,
    referenced_names,
    resolve,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

__all__ = ["ProvisionedResources", "function_environment", "provision", "queue_attributes", "table_definition"]

TABLE: Final = "AWS::DynamoDB::Table"
QUEUE: Final = "AWS::SQS::Queue"

_TABLE_PROPERTIES: Final = (
    "TableName",
    "KeySchema",
    "AttributeDefinitions",
    "BillingMode",
    "ProvisionedThroughput",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "StreamSpecification",
)
# Passed through as SQS attributes.  Encryption (SqsManagedSseEnabled,
# KmsMasterKeyId ...) and tags mean nothing locally and are left out.
_QUEUE_ATTRIBUTES: Final[tuple[QueueAttributeNameType, ...]] = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "VisibilityTimeout",
)
# SQS refuses to change these on an existing queue.
_CREATE_ONLY_QUEUE_ATTRIBUTES: Final = frozenset({"FifoQueue"})


@dataclass
class ProvisionedResources:
    """What ``provision`` created: the resolver's view of physical resources.

    ``physical_ids`` maps a logical id to its ``Ref`` value (table name, queue
    URL); ``attributes`` maps ``(logical id, attribute)`` to its
    ``Fn::GetAtt`` value (``Arn``, ``StreamArn``, ``QueueName``, ``QueueUrl``).
    """

    stack_name: str
    region: str
    account_id: str = DEFAULT_ACCOUNT_ID
    physical_ids: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)

    def context(self, template: Template, parameter_overrides: Mapping[str, str] | None = None) -> ResolveContext:
        """A resolve context for ``template`` naming these resources."""
        return template.context(
            resources=self.physical_ids,
            attributes=self.attributes,
            parameter_overrides=parameter_overrides,
            stack_name=self.stack_name,
            region=self.region,
            account_id=self.account_id,
        )

    def _learn_account(self, arn: str) -> None:
        # The account is whatever the endpoint says it is (moto's default,
        # or a real one): take it from the first ARN it returns.
        self.account_id = arn.split(":")[4]


def provision(
    template: Template | Mapping[str, Any],
    *,
    dynamodb_client: DynamoDBClient,
    sqs_client: SQSClient,
    stack_name: str = "local",
    parameter_overrides: Mapping[str, str] | None = None,
) -> ProvisionedResources:
    """Create every DynamoDB table and SQS queue ``template`` declares; reuse existing ones.

    Resources are created in dependency order (a dead-letter queue before the
    queue whose ``RedrivePolicy`` names its ARN).  An existing table is
    reused as it is; an existing queue gets the declared attributes.  Raises
    ``TemplateError`` when a property cannot be resolved.  ``template`` may
    be a ``Template`` or the dict ``load_template`` returns.
    """
    template = _as_template(template)
    provisioned = ProvisionedResources(stack_name=stack_name, region=dynamodb_client.meta.region_name)
    for logical_id in _creation_order(template):
        context = provisioned.context(template, parameter_overrides)
        if not template.is_active(logical_id, context):
            continue
        properties = template.resources[logical_id].get("Properties") or {}
        if template.resources[logical_id]["Type"] == TABLE:
            definition = table_definition(logical_id, _resolved(properties, _TABLE_PROPERTIES, context), stack_name)
            _create_table(dynamodb_client, logical_id, definition, provisioned)
        else:
            resolved = _resolved(properties, ("QueueName", *_QUEUE_ATTRIBUTES), context)
            _create_queue(sqs_client, logical_id, resolved, provisioned)
    return provisioned


def function_environment(
    template: Template | Mapping[str, Any],
    resources: ProvisionedResources,
    logical_id: str,
    *,
    parameter_overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment variables of function ``logical_id``, resolved against ``resources``."""
    template = _as_template(template)
    variables = resolve(template.function(logical_id).environment, resources.context(template, parameter_overrides))
    return {name: _env_string(name, value) for name, value in variables.items()}


def _as_template(template: Template | Mapping[str, Any]) -> Template:
    return template if isinstance(template, Template) else Template(template)


def _env_string(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise TemplateError(f"environment variable {name} must resolve to a string, not {value!r}")


def _creation_order(template: Template) -> list[str]:
    provisionable = {
        logical_id for logical_id, resource in template.resources.items() if resource.get("Type") in (TABLE, QUEUE)
    }
    graph: dict[str, set[str]] = {}
    for logical_id in sorted(provisionable):
        resource = template.resources[logical_id]
        depends_on = resource.get("DependsOn", [])
        dependencies = referenced_names(resource.get("Properties") or {}) | set(
            [depends_on] if isinstance(depends_on, str) else depends_on
        )
        graph[logical_id] = dependencies & provisionable
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise TemplateError(f"circular references between {exc.args[1]}") from exc


def _resolved(properties: Mapping[str, Any], names: tuple[str, ...], context: ResolveContext) -> dict[str, Any]:
    # Only what provisioning uses: other properties (tags, alarms' targets)
    # may name things that do not exist locally.
    selected = {name: properties[name] for name in names if name in properties}
    resolved: dict[str, Any] = resolve(selected, context)
    return resolved


def table_definition(logical_id: str, properties: Mapping[str, Any], stack_name: str) -> dict[str, Any]:
    """``create_table`` keyword arguments from a table's resolved CloudFormation properties.

    Encryption and point-in-time recovery are left out: they change nothing
    locally.
    """
    billing_mode = properties.get("BillingMode", "PROVISIONED")
    provisioned = billing_mode == "PROVISIONED"
    definition: dict[str, Any] = {
        "TableName": properties.get("TableName") or f"{stack_name}-{logical_id}",
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": billing_mode,
    }
    if provisioned:
        definition["ProvisionedThroughput"] = _throughput(properties.get("ProvisionedThroughput"), logical_id)
    if "GlobalSecondaryIndexes" in properties:
        indexes = [_index(index) for index in properties["GlobalSecondaryIndexes"]]
        if provisioned:
            for index, declared in zip(indexes, properties["GlobalSecondaryIndexes"], strict=True):
                index["ProvisionedThroughput"] = _throughput(declared.get("ProvisionedThroughput"), logical_id)
        definition["GlobalSecondaryIndexes"] = indexes
    if "LocalSecondaryIndexes" in properties:
        definition["LocalSecondaryIndexes"] = [_index(index) for index in properties["LocalSecondaryIndexes"]]
    stream = properties.get("StreamSpecification")
    if stream:
        definition["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return definition


def _index(index: Mapping[str, Any]) -> dict[str, Any]:
    projection = {"ProjectionType": index["Projection"].get("ProjectionType", "ALL")}
    if index["Projection"].get("NonKeyAttributes"):
        projection["NonKeyAttributes"] = index["Projection"]["NonKeyAttributes"]
    return {"IndexName": index["IndexName"], "KeySchema": index["KeySchema"], "Projection": projection}


def _throughput(throughput: Mapping[str, Any] | None, logical_id: str) -> dict[str, int]:
    if not throughput:
        raise TemplateError(f"{logical_id}: a PROVISIONED table or index needs ProvisionedThroughput")
    return {
        "ReadCapacityUnits": int(throughput["ReadCapacityUnits"]),
        "WriteCapacityUnits": int(throughput["WriteCapacityUnits"]),
    }


def _create_table(
    client: DynamoDBClient, logical_id: str, definition: dict[str, Any], provisioned: ProvisionedResources
) -> None:
    name = definition["TableName"]
    # Provisioned before: reuse it as it is.
    with contextlib.suppress(client.exceptions.ResourceInUseException):
        client.create_table(**definition)
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    table = client.describe_table(TableName=name)["Table"]
    provisioned._learn_account(table["TableArn"])
    provisioned.physical_ids[logical_id] = name
    provisioned.attributes[(logical_id, "Arn")] = table["TableArn"]
    if "LatestStreamArn" in table:
        provisioned.attributes[(logical_id, "StreamArn")] = table["LatestStreamArn"]


def queue_attributes(properties: Mapping[str, Any]) -> dict[QueueAttributeNameType, str]:
    """SQS attributes (all strings) from a queue's resolved CloudFormation properties."""
    attributes: dict[QueueAttributeNameType, str] = {}
    for name in _QUEUE_ATTRIBUTES:
        if name not in properties:
            continue
        value = properties[name]
        if name == "RedrivePolicy" and isinstance(value, dict):
            value = {**value, "maxReceiveCount": int(value["maxReceiveCount"])}
        if isinstance(value, dict | list):
            attributes[name] = json.dumps(value)
        elif isinstance(value, bool):
            attributes[name] = "true" if value else "false"
        else:
            attributes[name] = str(value)
    return attributes


def _create_queue(
    client: SQSClient, logical_id: str, properties: Mapping[str, Any], provisioned: ProvisionedResources
) -> None:
    attributes = queue_attributes(properties)
    name = properties.get("QueueName") or f"{provisioned.stack_name}-{logical_id}"
    if attributes.get("FifoQueue") == "true" and not name.endswith(".fifo"):
        name += ".fifo"
    try:
        url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    except client.exceptions.QueueNameExists:
        # Exists with other attributes (the template changed): converge.
        url = client.get_queue_url(QueueName=name)["QueueUrl"]
        changeable = {key: value for key, value in attributes.items() if key not in _CREATE_ONLY_QUEUE_ATTRIBUTES}
        if changeable:
            client.set_queue_attributes(QueueUrl=url, Attributes=changeable)
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    provisioned._learn_account(arn)
    provisioned.physical_ids[logical_id] = url
    provisioned.attributes.update(
        {(logical_id, "Arn"): arn, (logical_id, "QueueName"): name, (logical_id, "QueueUrl"): url}
    )
