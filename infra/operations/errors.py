"""Refusals, mapped to one answer shape for every front door, in this one place.

An operation refuses bad input by raising ``BadRequestError`` or
``NotFoundError`` before it acts; pydantic's ``ValidationError`` is a request
that did not parse.  ``answer_for`` turns each into a status (HTTP), a short
kind and a message; the CLI maps the status to its exit code, the MCP server
to an error result, the replay function to its answer.  Anything else is a
bug or an outage and is not dressed up as the caller's fault.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from integrations.errors import (
    BadRequestError,
    ConfigurationError,
    NotDeployedError,
    NotFoundError,
    UnknownIntegrationError,
)


@dataclass(frozen=True)
class ErrorAnswer:
    """A refusal as every front door reports it."""

    status: int
    kind: str
    message: str
    #: The CLI's exit code when it is not the one the status implies.
    cli_exit_code: int | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, object]:
        return {"error": self.kind, "message": self.message, "status": self.status}

    @property
    def exit_code(self) -> int:
        """The CLI's exit code: 2 for a request that cannot be done as asked (as for usage errors), 1 otherwise."""
        if self.cli_exit_code is not None:
            return self.cli_exit_code
        return 2 if self.status < 500 else 1


def validation_message(exc: ValidationError) -> str:
    """``field: problem`` for each problem, without pydantic's links or the input's values."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"]) or "body"
        parts.append(f"{where}: {str(error['msg']).removeprefix('Value error, ')}")
    return "; ".join(parts)


def answer_for(exc: BaseException) -> ErrorAnswer | None:
    """The answer for a refusal, or ``None`` for an unexpected error (which the front door reports as such)."""
    if isinstance(exc, ValidationError):
        return ErrorAnswer(400, "bad_request", validation_message(exc))
    if isinstance(exc, NotDeployedError):
        # The request was right; the deployment is not there (yet): a failure, not a usage error.
        return ErrorAnswer(404, "not_deployed", str(exc), cli_exit_code=1)
    if isinstance(exc, BadRequestError):
        return ErrorAnswer(400, "bad_request", str(exc))
    if isinstance(exc, NotFoundError | UnknownIntegrationError):
        return ErrorAnswer(404, "not_found", str(exc))
    if isinstance(exc, ConfigurationError):
        return ErrorAnswer(500, "configuration", str(exc))
    return None
