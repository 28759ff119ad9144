"""Replay: invoked from the console (or any caller) to re-deliver events by selector, through the queue.

The event is ``{"integration", "selector", "url", "dry_run", "limit", "force"}``
(``events/ReplayFunction/`` has one per selector).  A refused request answers
``{"error", "message", "status"}`` and has done nothing.
"""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.typing import LambdaContext

from infra.operations import answer_for
from infra.runtime.operations import operations
from integrations.operations import ReplayRequest

logger = Logger(service="replay")
# The framework logs through the standard library; give its loggers our structured output.
copy_config_to_registered_loggers(source_logger=logger, include={"infra", "integrations"})


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        report = operations().replay(ReplayRequest.model_validate(event))
    except Exception as exc:
        refusal = answer_for(exc)
        if refusal is None:
            raise  # not the caller's fault: let Lambda report the failure (and the alarm count it)
        logger.warning("replay refused: %s", refusal.message)
        return refusal.as_dict()
    return report.model_dump(mode="json")
