"""Per-function wiring, built once per Lambda container at the first invocation.

Reading settings lazily (not at import) keeps handlers importable by tests
and tools; the cache is what makes it "once": clear it to rebuild.
"""

from __future__ import annotations

import functools
import os

import boto3

from infra.fanout import FanOut
from infra.publisher import QueuePublisher
from infra.retry import QueueControl, RetryPolicy
from infra.settings import FanoutSettings, SubmitSettings, load_env_model
from infra.store import DynamoStore
from infra.worker import SubmitWorker
from integrations.registry import get_integration


@functools.cache
def fanout_service() -> FanOut:
    """The fan-out function's ``FanOut``, from its environment."""
    settings = load_env_model(FanoutSettings)
    sqs = boto3.client("sqs", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url)
    return FanOut(
        QueuePublisher(sqs),
        settings.enabled_queues,
        max_inline_bytes=settings.max_inline_event_bytes,
    )


@functools.cache
def submit_worker() -> SubmitWorker:
    """The submit function's ``SubmitWorker`` for the integration its environment names."""
    settings = load_env_model(SubmitSettings)
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


def reset() -> None:
    """Forget the cached wiring (tests, or the local runtime after a settings change)."""
    fanout_service.cache_clear()
    submit_worker.cache_clear()
