"""API: the operators' HTTP API (API Gateway HTTP API, IAM-authorised) -> the operations layer."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.typing import LambdaContext

from infra.interfaces.http import build_app
from infra.runtime.operations import operations

logger = Logger(service="api")
# The framework logs through the standard library; give its loggers our structured output.
copy_config_to_registered_loggers(source_logger=logger, include={"infra", "integrations"})
app = build_app()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The resolver clears its context after each request; routes (integrations' too) read it from there.
    app.context["operations"] = operations()
    return app.resolve(event, context)
