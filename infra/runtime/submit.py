"""A submit function's wiring, built once per container at its first invocation."""

from __future__ import annotations

import functools
import os

import boto3

from infra.logs import secure_logging
from infra.retry import QueueControl, RetryPolicy
from infra.settings import SubmitSettings, load_env_model
from infra.store import DynamoStore
from infra.worker import SubmitWorker
from integrations.registry import get_integration


@functools.cache
def submit_worker() -> SubmitWorker:
    """The submit function's ``SubmitWorker`` for the integration its environment names."""
    settings = load_env_model(SubmitSettings)
    # Before anything reads a secret or calls AWS.
    secure_logging(wire_logs=settings.wire_logs)
    store = DynamoStore(settings)
    integration = get_integration(settings.integration_name)
    config = integration.load_config(os.environ)
    sqs = boto3.client("sqs", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url)
    return SubmitWorker(
        integration.create_submitter(store, config),
        store,
        queue=QueueControl(sqs, settings.queue_url, settings.dead_letter_queue_url),
        retry=RetryPolicy(settings.retry_base_seconds, settings.retry_max_seconds),
        max_receive_count=settings.max_receive_count,
    )
