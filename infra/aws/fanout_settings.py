"""The fan-out function's settings, read without pydantic.

Fan-out validates nothing else: importing pydantic for these eight variables
would be two thirds of its cold start (README, "Cold start").  The rules are
those of the pydantic settings of the other functions (``infra.aws.settings``,
which shares the queue-map and name-list readers below), and so are the
errors: ``ConfigurationError`` naming every bad variable, never its value.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, TypeVar

from aws_lambda_powertools.shared.functions import strtobool

from integrations.errors import ConfigurationError

T = TypeVar("T")

# SQS allows 1 MiB per message, but a Lambda invocation payload is capped at
# 6 MB: ten full-size messages would not fit one batch.  Events above this
# size travel by reference and are read back from the table.
DEFAULT_MAX_INLINE_EVENT_BYTES: Final = 256 * 1024
MIN_INLINE_EVENT_BYTES: Final = 1024
MAX_INLINE_EVENT_BYTES: Final = 1024 * 1024
#: Shortest table name DynamoDB accepts.
MIN_TABLE_NAME: Final = 3


def queue_map(value: object) -> object:
    """An environment variable's JSON object of integration name -> queue URL (other values as given).

    An empty URL is an optional integration this stack leaves out (its template
    condition is false, so it has no queue): it is dropped.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a JSON object of name -> queue URL ({exc.msg})") from exc
    if isinstance(value, dict):
        return {name: url for name, url in value.items() if url != ""}
    return value


def name_set(text: str) -> frozenset[str]:
    """A comma-separated list of names, as a set."""
    return frozenset(name.strip() for name in text.split(",") if name.strip())


def enabled(queues: Mapping[str, str], disabled: frozenset[str]) -> dict[str, str]:
    """The queues of the integrations not disabled, by name."""
    return {name: url for name, url in sorted(queues.items()) if name not in disabled}


def _flag(text: str) -> bool:
    try:
        return strtobool(text)
    except ValueError:
        # Powertools' message quotes the value; ours name only the variable.
        raise ValueError("not a boolean (true/false, yes/no, on/off, 1/0)") from None


def _queues(text: str) -> dict[str, str]:
    value = queue_map(text)
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError("not a JSON object of name -> queue URL")
    return value


def _table(text: str) -> str:
    if len(text) < MIN_TABLE_NAME:
        raise ValueError(f"a table name has at least {MIN_TABLE_NAME} characters")
    return text


def _inline_bytes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError("not a whole number") from None
    if not MIN_INLINE_EVENT_BYTES <= value <= MAX_INLINE_EVENT_BYTES:
        raise ValueError(f"must be between {MIN_INLINE_EVENT_BYTES} and {MAX_INLINE_EVENT_BYTES}")
    return value


class _Variables:
    """Reads variables one by one and collects every problem, as ``load_env_model`` reports them."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[str] = []

    def read(self, name: str, parse: Callable[[str], T], default: T) -> T:
        text = self.environ.get(name.upper(), "")
        if text == "":
            return default
        try:
            return parse(text)
        except ValueError as exc:
            self.problems.append(f"{name.upper()}: {exc}")
            return default

    def require(self, name: str, parse: Callable[[str], T], placeholder: T) -> T:
        if self.environ.get(name.upper(), "") == "":
            self.problems.append(f"{name.upper()}: Field required")
            return placeholder
        return self.read(name, parse, placeholder)


@dataclass(frozen=True)
class FanoutSettings:
    """The fan-out function: its tables and where each integration's queue is."""

    event_cache_table: str
    submissions_table: str
    #: Integration name -> its queue URL (a JSON object in the environment).
    integration_queues: dict[str, str]
    aws_region: str | None = None
    #: Set only to talk to a local moto server; real AWS needs none.
    aws_endpoint_url: str | None = None
    #: Let botocore and urllib3 log whole requests and answers at DEBUG (they can carry secrets).
    wire_logs: bool = False
    #: Comma-separated integrations to skip even though they have a queue.
    disabled_integrations: frozenset[str] = field(default_factory=frozenset)
    max_inline_event_bytes: int = DEFAULT_MAX_INLINE_EVENT_BYTES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FanoutSettings:
        """Read from ``environ`` (default: the process's); ``ConfigurationError`` names every bad variable."""
        variables = _Variables(os.environ if environ is None else environ)
        settings = cls(
            event_cache_table=variables.require("event_cache_table", _table, ""),
            submissions_table=variables.require("submissions_table", _table, ""),
            integration_queues=variables.require("integration_queues", _queues, {}),
            aws_region=variables.read("aws_region", str, None),
            aws_endpoint_url=variables.read("aws_endpoint_url", str, None),
            wire_logs=variables.read("wire_logs", _flag, False),
            disabled_integrations=variables.read("disabled_integrations", name_set, frozenset()),
            max_inline_event_bytes=variables.read(
                "max_inline_event_bytes", _inline_bytes, DEFAULT_MAX_INLINE_EVENT_BYTES
            ),
        )
        if variables.problems:
            raise ConfigurationError(f"invalid settings: {'; '.join(variables.problems)}")
        return settings

    @property
    def enabled_queues(self) -> dict[str, str]:
        return enabled(self.integration_queues, self.disabled_integrations)
