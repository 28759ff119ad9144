"""The framework's one error hierarchy.

Each error type maps to exactly one outcome, decided in one place
(``BaseSubmitter``): retryable errors come back through the queue, permanent
ones are recorded as ``failed`` and not retried.  Nothing matches on message
text.
"""

from __future__ import annotations

from collections.abc import Sequence


class IntegrationError(Exception):
    """Base class of every error the framework raises on purpose."""


class InvalidEventError(IntegrationError, ValueError):
    """Event data failed validation; ``problems`` lists ``"field: what is wrong"``."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid event: " + "; ".join(self.problems))


class ConfigurationError(IntegrationError):
    """Settings are missing or invalid; raised at start-up, never per event."""


class UnknownIntegrationError(IntegrationError, LookupError):
    """No integration is registered under the requested name."""


class SubmitError(IntegrationError):
    """Submitting one event to a destination failed.

    ``status_code`` is the destination's HTTP status when there was a response.
    """

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class RetryableSubmitError(SubmitError):
    """A transient failure (network, timeout, 5xx, 408, 429): try again later.

    ``retry_after`` is the delay in seconds the destination asked for, if any.
    """

    def __init__(self, message: str, *, status_code: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class PermanentSubmitError(SubmitError):
    """A failure that retrying cannot fix (4xx, rejected data): record it as failed."""


class EndpointGoneError(PermanentSubmitError):
    """The destination answered 410 Gone: it wants nothing more until an operator re-enables it."""


class TransformError(PermanentSubmitError):
    """The transformer cannot build a payload from this event's data."""


class CreateInDoubtError(PermanentSubmitError):
    """A create may have made a draft whose id cannot be learned, so it cannot be changed or withdrawn."""


class UnusableAnswerError(SubmitError):
    """The destination accepted a create, but its answer cannot be used (no id, or no readable body).

    Not retried by itself: the create is repeated (same key) only to resolve it,
    when the next change, a removal or an operator's replay needs its id.
    """


class OperationError(IntegrationError):
    """An operator's request was refused before anything was done; every front door maps it the same way."""


class BadRequestError(OperationError, ValueError):
    """The request itself is wrong (unknown selector, missing URL, bad field): fix it and ask again."""


class NotFoundError(OperationError, LookupError):
    """What the request names does not exist (an event, a deployed integration)."""


class NotDeployedError(NotFoundError):
    """The deployment asked lacks a resource the request needs (a stack, an integration's queue)."""
