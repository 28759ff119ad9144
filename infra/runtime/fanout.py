"""The fan-out function's wiring, built once per container at its first invocation.

Imports only what fan-out uses (no pynamodb, no httpx, not even boto3: its
one SQS client comes straight from botocore, which spares the cold start
boto3's resource layer and s3transfer).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, cast

import botocore.session

from infra.aws.publisher import QueuePublisher
from infra.aws.settings import FanoutSettings
from infra.pipeline.fanout import FanOut
from infra.runtime.logs import secure_logging
from integrations.env import load_env_model

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


@functools.cache
def fanout_service() -> FanOut:
    """The fan-out function's ``FanOut``, from its environment."""
    settings = load_env_model(FanoutSettings)
    # Before anything reads a secret or calls AWS.
    secure_logging(wire_logs=settings.wire_logs)
    sqs = cast(
        "SQSClient",
        botocore.session.get_session().create_client(
            "sqs", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url
        ),
    )
    return FanOut(QueuePublisher(sqs), settings.enabled_queues, max_inline_bytes=settings.max_inline_event_bytes)
