"""Settings, read from the environment once and validated, in one place.

Each function builds the model it needs (``FanoutSettings``,
``SubmitSettings``) at its first invocation; integrations declare their own
models and load them through ``integrations.env.load_env_model``.  Nothing below the handlers
reads ``os.environ`` directly.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field, field_validator

# SQS allows 1 MiB per message, but a Lambda invocation payload is capped at
# 6 MB: ten full-size messages would not fit one batch.  Events above this
# size travel by reference and are read back from the table.
DEFAULT_MAX_INLINE_EVENT_BYTES = 256 * 1024


class _Settings(BaseModel):
    # Built at the first validation, not at import: a function validates one of these
    # models once, and building the others' validators would only lengthen its cold start.
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)


class TableSettings(_Settings):
    """The two tables every function touches."""

    event_cache_table: str = Field(min_length=3)
    submissions_table: str = Field(min_length=3)
    aws_region: str | None = None
    #: Set only to talk to a local moto server; real AWS needs none.
    aws_endpoint_url: str | None = None
    #: Let botocore and urllib3 log whole requests and answers at DEBUG.  Separate from the
    #: log level on purpose: those lines can carry secrets (an SSM answer holds the key).
    wire_logs: bool = False


def _queue_map(value: object) -> object:
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


class FanoutSettings(TableSettings):
    """The fan-out function: where each integration's queue is."""

    #: JSON object mapping integration name to its queue URL.
    integration_queues: dict[str, str]
    #: Comma-separated integrations to skip even though they have a queue.
    disabled_integrations: frozenset[str] = frozenset()
    max_inline_event_bytes: int = Field(default=DEFAULT_MAX_INLINE_EVENT_BYTES, ge=1024, le=1024 * 1024)

    @field_validator("integration_queues", mode="before")
    @classmethod
    def _queues_from_json(cls, value: object) -> object:
        return _queue_map(value)

    @field_validator("disabled_integrations", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(name.strip() for name in value.split(",") if name.strip())
        return value

    @property
    def enabled_queues(self) -> dict[str, str]:
        return {
            name: url for name, url in sorted(self.integration_queues.items()) if name not in self.disabled_integrations
        }


class SubmitSettings(TableSettings):
    """A submit function: which integration it serves."""

    integration_name: str = Field(min_length=1)
    #: The queue this function consumes (for visibility changes on retry).
    queue_url: str | None = None
    dead_letter_queue_url: str | None = None
    #: The queue's RedrivePolicy maxReceiveCount: the attempt that reaches it records ``failed``.
    max_receive_count: int | None = Field(default=None, ge=1)
    #: With the default MaxReceiveCount of 10, retries span about an hour of destination outage.
    retry_base_seconds: float = Field(default=30.0, gt=0)
    retry_max_seconds: float = Field(default=900.0, gt=0, le=43_200)
    #: CloudWatch namespace of the delivery metrics (the template sets it for every function).
    powertools_metrics_namespace: str = "EventImporter"
    powertools_service_name: str = "event-importer"


class OperationsSettings(FanoutSettings):
    """The operations layer (replay and API functions, the CLI): each integration's queue and DLQ."""

    #: JSON object mapping integration name to its dead-letter queue URL.
    dead_letter_queues: dict[str, str] = Field(default_factory=dict)

    @field_validator("dead_letter_queues", mode="before")
    @classmethod
    def _dead_letter_queues_from_json(cls, value: object) -> object:
        return _queue_map(value)
