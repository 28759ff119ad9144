"""Submit: one integration's SQS queue -> its submitter -> a submission record per event."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from infra.pipeline.metrics import publishes_metrics
from infra.runtime.submit import submit_worker

logger = Logger(service="submit")
# The framework logs through the standard library; give its loggers our structured output.
copy_config_to_registered_loggers(source_logger=logger, include={"infra", "integrations"})


@publishes_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return submit_worker().handle_batch(event, context)
