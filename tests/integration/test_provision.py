"""infra.provision: the tables and queues of template.yaml, created on moto as declared."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from infra.aws.settings import FanoutSettings, SubmitSettings, load_env_model
from infra.provision import ProvisionedResources, function_environment, provision, queue_attributes, table_definition
from infra.template import Template, TemplateError, load_template, loads_template

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"


@dataclass(frozen=True)
class Aws:
    dynamodb: DynamoDBClient
    sqs: SQSClient

    def provision(self, template: Template | dict[str, Any], **kwargs: Any) -> ProvisionedResources:
        return provision(template, dynamodb_client=self.dynamodb, sqs_client=self.sqs, **kwargs)


@pytest.fixture
def aws(aws: None) -> Aws:
    """tests/conftest.py's in-process moto (sealed environment included), with this module's clients."""
    return Aws(dynamodb=boto3.client("dynamodb"), sqs=boto3.client("sqs"))


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(TEMPLATE_PATH)


@pytest.fixture
def resources(aws: Aws, template: Template) -> ProvisionedResources:
    return aws.provision(template)


def queue_attributes_of(aws: Aws, url: str) -> dict[str, str]:
    attributes = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return {str(name): value for name, value in attributes.items()}


# ---------------------------------------------------------------- template.yaml


def test_every_table_exists_as_declared(aws: Aws, template: Template, resources: ProvisionedResources) -> None:
    tables = template.resources_of_type("AWS::DynamoDB::Table")

    assert tables
    for logical_id, declaration in tables.items():
        declared = declaration["Properties"]
        table = aws.dynamodb.describe_table(TableName=resources.physical_ids[logical_id])["Table"]
        assert table["TableName"] == f"local-{logical_id}"
        assert table["TableStatus"] == "ACTIVE"
        assert table["KeySchema"] == declared["KeySchema"]
        assert {(a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]} == {
            (a["AttributeName"], a["AttributeType"]) for a in declared["AttributeDefinitions"]
        }
        assert table["BillingModeSummary"]["BillingMode"] == declared["BillingMode"]
        assert resources.attributes[(logical_id, "Arn")] == table["TableArn"]


def test_submissions_status_index(aws: Aws, resources: ProvisionedResources) -> None:
    table = aws.dynamodb.describe_table(TableName=resources.physical_ids["SubmissionsTable"])["Table"]
    (index,) = table["GlobalSecondaryIndexes"]

    assert index["IndexName"] == "by_service_status"
    assert index["KeySchema"] == [
        {"AttributeName": "service", "KeyType": "HASH"},
        {"AttributeName": "status", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_event_cache_stream_is_enabled(aws: Aws, resources: ProvisionedResources) -> None:
    table = aws.dynamodb.describe_table(TableName=resources.physical_ids["EventCacheTable"])["Table"]

    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert resources.attributes[("EventCacheTable", "StreamArn")] == table["LatestStreamArn"]
    assert ("SubmissionsTable", "StreamArn") not in resources.attributes


def test_every_queue_exists_as_declared(aws: Aws, template: Template, resources: ProvisionedResources) -> None:
    queues = template.resources_of_type("AWS::SQS::Queue")

    assert queues
    for logical_id, declaration in queues.items():
        declared = declaration["Properties"]
        url = resources.physical_ids[logical_id]
        attributes = queue_attributes_of(aws, url)
        assert resources.attributes[(logical_id, "Arn")] == attributes["QueueArn"]
        assert resources.attributes[(logical_id, "QueueUrl")] == url
        assert url.endswith("/" + resources.attributes[(logical_id, "QueueName")])
        for name in ("VisibilityTimeout", "MessageRetentionPeriod"):
            if name in declared:
                assert attributes[name] == str(declared[name]), f"{logical_id}.{name}"


def test_declared_queue_names_are_resolved(resources: ProvisionedResources) -> None:
    assert resources.attributes[("TicketfairyQueue", "QueueName")] == "local-ticketfairy"
    assert resources.attributes[("TicketfairyDeadLetterQueue", "QueueName")] == "local-ticketfairy-dlq"


def test_queues_redrive_to_their_dead_letter_queue(
    aws: Aws, template: Template, resources: ProvisionedResources
) -> None:
    declared = template.resources["TicketfairyQueue"]["Properties"]
    attributes = queue_attributes_of(aws, resources.physical_ids["TicketfairyQueue"])

    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": resources.attributes[("TicketfairyDeadLetterQueue", "Arn")],
        "maxReceiveCount": int(template.parameters["MaxReceiveCount"]["Default"]),
    }
    assert declared["RedrivePolicy"]["maxReceiveCount"] == {"Ref": "MaxReceiveCount"}
    assert attributes["VisibilityTimeout"] == str(declared["VisibilityTimeout"])


def test_provisioning_twice_reuses_everything(aws: Aws, template: Template, resources: ProvisionedResources) -> None:
    tables = aws.dynamodb.list_tables()["TableNames"]
    queues = aws.sqs.list_queues()["QueueUrls"]

    again = aws.provision(template)

    assert again == resources
    assert aws.dynamodb.list_tables()["TableNames"] == tables
    assert aws.sqs.list_queues()["QueueUrls"] == queues


def test_an_existing_queue_converges_to_the_declared_attributes(aws: Aws, template: Template) -> None:
    url = aws.sqs.create_queue(QueueName="local-ticketfairy-dlq", Attributes={"MessageRetentionPeriod": "60"})[
        "QueueUrl"
    ]

    resources = aws.provision(template)

    assert resources.physical_ids["TicketfairyDeadLetterQueue"] == url
    assert queue_attributes_of(aws, url)["MessageRetentionPeriod"] == "1209600"


def test_stack_name_prefixes_every_name(aws: Aws, template: Template) -> None:
    resources = aws.provision(template, stack_name="demo")

    assert resources.physical_ids["EventCacheTable"] == "demo-EventCacheTable"
    assert resources.attributes[("TicketfairyQueue", "QueueName")] == "demo-ticketfairy"
    assert resources.context(template).stack_name == "demo"


def test_a_template_dict_is_accepted_too(aws: Aws, template: Template, resources: ProvisionedResources) -> None:
    body = load_template(TEMPLATE_PATH)

    again = aws.provision(body)

    assert again == resources
    assert function_environment(body, again, "FanoutFunction") == function_environment(
        template, resources, "FanoutFunction"
    )


# ---------------------------------------------------------------- environments


def test_fanout_environment_names_real_resources(aws: Aws, template: Template, resources: ProvisionedResources) -> None:
    environment = function_environment(template, resources, "FanoutFunction")

    aws.dynamodb.describe_table(TableName=environment["EVENT_CACHE_TABLE"])
    aws.dynamodb.describe_table(TableName=environment["SUBMISSIONS_TABLE"])
    queues = json.loads(environment["INTEGRATION_QUEUES"])
    assert queues == {"ticketfairy": resources.physical_ids["TicketfairyQueue"]}
    queue_attributes_of(aws, queues["ticketfairy"])
    assert environment["DISABLED_INTEGRATIONS"] == ""
    settings = load_env_model(FanoutSettings, environment)
    assert settings.enabled_queues == queues


def test_submit_environment_names_real_resources(aws: Aws, template: Template, resources: ProvisionedResources) -> None:
    environment = function_environment(template, resources, "TicketfairySubmitFunction")

    assert environment["INTEGRATION_NAME"] == "ticketfairy"
    assert environment["EVENT_CACHE_TABLE"] == resources.physical_ids["EventCacheTable"]
    assert environment["SUBMISSIONS_TABLE"] == resources.physical_ids["SubmissionsTable"]
    assert environment["QUEUE_URL"] == resources.physical_ids["TicketfairyQueue"]
    assert environment["DEAD_LETTER_QUEUE_URL"] == resources.physical_ids["TicketfairyDeadLetterQueue"]
    assert environment["TICKETFAIRY_BASE_URL"] == "https://www.theticketfairy.com"
    assert environment["TICKETFAIRY_API_KEY_PARAMETER"] == "/event-importer/ticketfairy/api-key"
    queue_attributes_of(aws, environment["DEAD_LETTER_QUEUE_URL"])
    settings = load_env_model(SubmitSettings, environment)
    assert (settings.integration_name, settings.queue_url) == ("ticketfairy", environment["QUEUE_URL"])


def test_parameter_overrides_reach_the_environment(template: Template, resources: ProvisionedResources) -> None:
    environment = function_environment(
        template, resources, "FanoutFunction", parameter_overrides={"DisabledIntegrations": "ticketfairy"}
    )

    assert load_env_model(FanoutSettings, environment).enabled_queues == {}


# ---------------------------------------------------------------- other templates


def small_template(resources: str) -> Template:
    return Template(loads_template("Resources:\n" + resources))


def test_conditional_resources_are_skipped_and_fifo_queues_named(aws: Aws) -> None:
    template = Template(
        loads_template(
            """
Parameters:
  WithExtra: {Type: String, Default: 'no'}
Conditions:
  Extra: !Equals [!Ref WithExtra, 'yes']
Resources:
  Ordered:
    Type: AWS::SQS::Queue
    Properties: {FifoQueue: true, ContentBasedDeduplication: true}
  ExtraQueue:
    Type: AWS::SQS::Queue
    Condition: Extra
"""
        )
    )

    resources = aws.provision(template)
    with_extra = aws.provision(template, parameter_overrides={"WithExtra": "yes"})

    assert set(resources.physical_ids) == {"Ordered"}
    assert resources.attributes[("Ordered", "QueueName")] == "local-Ordered.fifo"
    assert queue_attributes_of(aws, resources.physical_ids["Ordered"])["FifoQueue"] == "true"
    assert set(with_extra.physical_ids) == {"Ordered", "ExtraQueue"}


def test_provisioned_table_with_indexes(aws: Aws) -> None:
    template = small_template(
        """
  Table:
    Type: AWS::DynamoDB::Table
    DependsOn: Queue
    Properties:
      TableName: !Sub '${AWS::StackName}-named'
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}, {AttributeName: sk, AttributeType: N}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]
      ProvisionedThroughput: {ReadCapacityUnits: 2, WriteCapacityUnits: '3'}
      GlobalSecondaryIndexes:
        - IndexName: by_sk
          KeySchema: [{AttributeName: sk, KeyType: HASH}]
          Projection: {ProjectionType: INCLUDE, NonKeyAttributes: [pk]}
          ProvisionedThroughput: {ReadCapacityUnits: 1, WriteCapacityUnits: 1}
      LocalSecondaryIndexes:
        - IndexName: local
          KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]
          Projection: {}
      SSESpecification: {SSEEnabled: true}
  Queue:
    Type: AWS::SQS::Queue
"""
    )

    resources = aws.provision(template, stack_name="s")
    table = aws.dynamodb.describe_table(TableName="s-named")["Table"]

    assert resources.physical_ids["Table"] == "s-named"
    assert table["ProvisionedThroughput"]["WriteCapacityUnits"] == 3
    assert table["GlobalSecondaryIndexes"][0]["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["pk"]}
    assert table["LocalSecondaryIndexes"][0]["Projection"] == {"ProjectionType": "ALL"}
    assert ("Table", "StreamArn") not in resources.attributes


def test_provisioned_table_without_throughput_is_an_error() -> None:
    properties = {
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    }

    with pytest.raises(TemplateError, match="Table: a PROVISIONED table or index needs ProvisionedThroughput"):
        table_definition("Table", properties, "local")


def test_queue_attributes_are_sqs_strings() -> None:
    attributes = queue_attributes(
        {
            "QueueName": "ignored",
            "VisibilityTimeout": 60,
            "FifoQueue": False,
            "SqsManagedSseEnabled": True,
            "KmsMasterKeyId": "alias/aws/sqs",
            "RedrivePolicy": {"deadLetterTargetArn": "arn:dlq", "maxReceiveCount": "4"},
            "RedriveAllowPolicy": '{"redrivePermission": "allowAll"}',
        }
    )

    assert attributes == {
        "VisibilityTimeout": "60",
        "FifoQueue": "false",
        "RedrivePolicy": '{"deadLetterTargetArn": "arn:dlq", "maxReceiveCount": 4}',
        "RedriveAllowPolicy": '{"redrivePermission": "allowAll"}',
    }


def test_circular_references_are_an_error(aws: Aws) -> None:
    template = small_template(
        """
  A:
    Type: AWS::SQS::Queue
    Properties: {RedrivePolicy: {deadLetterTargetArn: !GetAtt B.Arn, maxReceiveCount: 1}}
  B:
    Type: AWS::SQS::Queue
    Properties: {RedrivePolicy: {deadLetterTargetArn: !GetAtt A.Arn, maxReceiveCount: 1}}
"""
    )

    with pytest.raises(TemplateError, match="circular"):
        aws.provision(template)


def test_environment_values_must_be_strings(aws: Aws) -> None:
    template = small_template(
        """
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Environment:
        Variables: {FLAG: true, COUNT: 3, LIST: !Split [',', 'a,b']}
"""
    )

    with pytest.raises(TemplateError, match="LIST must resolve to a string"):
        function_environment(template, aws.provision(template), "Fn")


def test_environment_scalars_become_strings(aws: Aws) -> None:
    template = small_template(
        """
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Environment:
        Variables: {FLAG: true, NO_FLAG: false, COUNT: 3}
"""
    )

    assert function_environment(template, aws.provision(template), "Fn") == {
        "FLAG": "true",
        "NO_FLAG": "false",
        "COUNT": "3",
    }
