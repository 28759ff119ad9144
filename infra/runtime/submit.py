"""A submit function's wiring, built once per container at its first invocation.

Every client comes from one botocore session: each session loads botocore's
endpoint data (≈5 MB of JSON) once, so a second one (Powertools' own, for the
API key) would load it again on the cold start.  The SQS client is made at the
first retry, requeue or dead-letter: a batch that succeeds never needs it.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING

import boto3.session
import botocore.session

from infra.aws.secrets import SecretResolver
from infra.aws.settings import SubmitSettings
from infra.aws.store import DynamoStore
from infra.pipeline.metrics import OutcomeMetrics
from infra.pipeline.retry import QueueControl, RetryPolicy
from infra.pipeline.worker import SubmitWorker
from infra.runtime.logs import secure_logging
from integrations.env import load_env_model
from integrations.registry import get_integration

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


@functools.cache
def submit_worker() -> SubmitWorker:
    """The submit function's ``SubmitWorker`` for the integration its environment names."""
    settings = load_env_model(SubmitSettings)
    # Before anything reads a secret or calls AWS.
    secure_logging(wire_logs=settings.wire_logs)
    session = botocore.session.get_session()
    store = DynamoStore(settings, session=session)
    integration = get_integration(settings.integration_name)
    config = integration.load_config(os.environ)

    def sqs() -> SQSClient:
        return boto3.session.Session(botocore_session=session).client(
            "sqs", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url
        )

    return SubmitWorker(
        integration.create_submitter(store, config, SecretResolver(session)),
        store,
        queue=QueueControl(sqs, settings.queue_url, settings.dead_letter_queue_url),
        retry=RetryPolicy(settings.retry_base_seconds, settings.retry_max_seconds),
        max_receive_count=settings.max_receive_count,
        metrics=OutcomeMetrics(
            settings.integration_name,
            namespace=settings.powertools_metrics_namespace,
            service=settings.powertools_service_name,
        ),
    )
