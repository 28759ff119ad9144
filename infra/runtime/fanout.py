"""The fan-out function's wiring, built once per container at its first invocation.

Imports only what fan-out uses (no pynamodb, no httpx): it is its cold start.
"""

from __future__ import annotations

import functools

import boto3

from infra.aws.publisher import QueuePublisher
from infra.aws.selection import PlaceholderWriter
from infra.aws.settings import FanoutSettings
from infra.pipeline.fanout import FanOut
from infra.runtime.logs import secure_logging
from integrations.env import load_env_model


@functools.cache
def fanout_service() -> FanOut:
    """The fan-out function's ``FanOut``, from its environment."""
    settings = load_env_model(FanoutSettings)
    # Before anything reads a secret or calls AWS.
    secure_logging(wire_logs=settings.wire_logs)
    sqs = boto3.client("sqs", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url)
    dynamodb = boto3.client("dynamodb", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url)
    # Placeholders for every deployed integration, enabled or not: a disabled one's are its catch-up list.
    placeholders = PlaceholderWriter(dynamodb, settings.submissions_table, settings.integration_queues)
    return FanOut(
        QueuePublisher(sqs),
        settings.enabled_queues,
        max_inline_bytes=settings.max_inline_event_bytes,
        placeholders=placeholders,
    )
