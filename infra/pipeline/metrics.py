"""Delivery outcomes as CloudWatch metrics, per integration, for dashboards and alarms without log queries.

Powertools Metrics writes them in the Embedded Metric Format: one JSON line
in the function's log per invocation, which CloudWatch turns into metrics
(namespace ``POWERTOOLS_METRICS_NAMESPACE``). No API call, no added latency.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

__all__ = ["Outcome", "OutcomeMetrics", "metrics", "publishes_metrics"]

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])

#: The process's metrics; the submit handler flushes them after each invocation (``log_metrics``).
metrics = Metrics()


def publishes_metrics(handler: HandlerT) -> HandlerT:
    """``metrics.log_metrics`` (flush after every invocation), keeping the handler's signature for type checkers."""
    return cast("HandlerT", metrics.log_metrics(handler))


class Outcome(StrEnum):
    """What happened to one queue message, as a metric name."""

    #: The destination has the event version (created, updated or withdrawn).
    SUBMITTED = "Submitted"
    #: Refused for good (invalid data, a 4xx), recorded as failed, not retried.
    FAILED = "Failed"
    #: Back to the queue for another attempt (backoff, Retry-After, or behind a live claim).
    RETRIED = "Retried"
    #: On its way to the dead-letter queue: the last attempt failed, or the message is unusable.
    DEAD_LETTERED = "DeadLettered"
    #: Nothing to send: a duplicate, a stale version, or an event removed before it was sent.
    SKIPPED = "Skipped"
    #: The destination answered 410 Gone: its endpoint is disabled until an operator re-enables it.
    ENDPOINT_DISABLED = "EndpointDisabled"


class OutcomeMetrics:
    """Counts outcomes for one integration (the submit function's ``integration`` dimension)."""

    def __init__(
        self, integration: str, *, namespace: str | None = None, service: str | None = None, sink: Metrics = metrics
    ) -> None:
        self.sink = sink
        # From the function's settings: the module-level instance may predate its environment (tests, tools).
        if namespace:
            self.sink.namespace = namespace
        if service:
            self.sink.service = service
        self.sink.set_default_dimensions(integration=integration)

    def count(self, outcome: Outcome) -> None:
        self.sink.add_metric(name=outcome.value, unit=MetricUnit.Count, value=1)
