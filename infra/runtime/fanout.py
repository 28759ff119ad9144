"""The fan-out function's wiring, built once per container at its first invocation.

Imports only what fan-out uses (no pynamodb, no httpx, no pydantic, not even
boto3: its SQS and DynamoDB clients come straight from botocore, which spares
the cold start boto3's resource layer and s3transfer).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, cast

import botocore.session
from botocore.config import Config

from infra.aws.fanout_settings import FanoutSettings
from infra.aws.publisher import QueuePublisher
from infra.aws.selection import WRITE_CONCURRENCY, PlaceholderWriter
from infra.pipeline.fanout import FanOut
from infra.runtime.logs import secure_logging

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient


@functools.cache
def fanout_service() -> FanOut:
    """The fan-out function's ``FanOut``, from its environment."""
    settings = FanoutSettings.from_env()
    # Before anything reads a secret or calls AWS.
    secure_logging(wire_logs=settings.wire_logs)
    session = botocore.session.get_session()
    region, endpoint = settings.aws_region, settings.aws_endpoint_url
    sqs = cast("SQSClient", session.create_client("sqs", region_name=region, endpoint_url=endpoint))
    # A connection per concurrent placeholder write (botocore keeps 10 by default).
    pool = Config(max_pool_connections=WRITE_CONCURRENCY)
    dynamodb = cast(
        "DynamoDBClient", session.create_client("dynamodb", region_name=region, endpoint_url=endpoint, config=pool)
    )
    # Placeholders for every deployed integration, enabled or not: a disabled one's are its catch-up list.
    placeholders = PlaceholderWriter(dynamodb, settings.submissions_table, settings.integration_queues)
    return FanOut(
        QueuePublisher(sqs),
        settings.enabled_queues,
        max_inline_bytes=settings.max_inline_event_bytes,
        placeholders=placeholders,
    )
