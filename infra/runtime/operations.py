"""The operations layer's wiring for the replay and API functions, built once per container."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping

import boto3
import botocore.session

from infra.aws.settings import OperationsSettings
from infra.aws.store import DynamoStore
from infra.operations.service import Operations, Queues
from infra.runtime.logs import secure_logging
from integrations.env import load_env_model


def build_operations(
    settings: OperationsSettings,
    environ: Mapping[str, str] | None = None,
    *,
    session: botocore.session.Session | None = None,
    submit_environments: Mapping[str, Mapping[str, str]] | None = None,
) -> Operations:
    """An ``Operations`` on the deployment ``settings`` describe (also the CLI's, from a stack's function).

    ``session`` carries the caller's credentials (the CLI's target); by default, the environment's.
    """
    session = session or botocore.session.get_session()
    sqs = boto3.session.Session(botocore_session=session).client(
        "sqs", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url
    )
    queues = {
        name: Queues(url, settings.dead_letter_queues.get(name)) for name, url in settings.integration_queues.items()
    }
    return Operations(
        DynamoStore(settings, session=session),
        sqs,
        queues,
        paused=settings.disabled_integrations,
        max_inline_bytes=settings.max_inline_event_bytes,
        environ=environ,
        submit_environments=submit_environments,
    )


@functools.cache
def operations() -> Operations:
    """The function's ``Operations``, from its environment."""
    settings = load_env_model(OperationsSettings)
    # Before anything calls AWS.
    secure_logging(wire_logs=settings.wire_logs)
    return build_operations(settings, dict(os.environ))
