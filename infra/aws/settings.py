"""Settings, read from the environment once and validated, in one place.

Each function builds the model it needs (``SubmitSettings``,
``OperationsSettings``; fan-out's is ``infra.aws.fanout_settings``, without
pydantic) at its first invocation; integrations declare their own
models and load them through ``integrations.env.load_env_model``.  Nothing below the handlers
reads ``os.environ`` directly.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from infra.aws.fanout_settings import (
    DEFAULT_MAX_INLINE_EVENT_BYTES,
    MAX_INLINE_EVENT_BYTES,
    MIN_INLINE_EVENT_BYTES,
    MIN_TABLE_NAME,
    enabled,
    name_set,
    queue_map,
)


class _Settings(BaseModel):
    # Built at the first validation, not at import: a function validates one of these
    # models once, and building the others' validators would only lengthen its cold start.
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)


class TableSettings(_Settings):
    """The two tables every function touches."""

    event_cache_table: str = Field(min_length=MIN_TABLE_NAME)
    submissions_table: str = Field(min_length=MIN_TABLE_NAME)
    aws_region: str | None = None
    #: Set only to talk to a local moto server; real AWS needs none.
    aws_endpoint_url: str | None = None
    #: Let botocore and urllib3 log whole requests and answers at DEBUG.  Separate from the
    #: log level on purpose: those lines can carry secrets (an SSM answer holds the key).
    wire_logs: bool = False


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


class OperationsSettings(TableSettings):
    """The operations layer (replay and API functions, the CLI): each integration's queue and DLQ.

    Its queue settings are fan-out's (``infra.aws.fanout_settings``), with the same readers.
    """

    #: JSON object mapping integration name to its queue URL.
    integration_queues: dict[str, str]
    #: Comma-separated integrations to skip even though they have a queue.
    disabled_integrations: frozenset[str] = frozenset()
    max_inline_event_bytes: int = Field(
        default=DEFAULT_MAX_INLINE_EVENT_BYTES, ge=MIN_INLINE_EVENT_BYTES, le=MAX_INLINE_EVENT_BYTES
    )
    #: JSON object mapping integration name to its dead-letter queue URL.
    dead_letter_queues: dict[str, str] = Field(default_factory=dict)

    @field_validator("integration_queues", "dead_letter_queues", mode="before")
    @classmethod
    def _queues_from_json(cls, value: object) -> object:
        return queue_map(value)

    @field_validator("disabled_integrations", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        return name_set(value) if isinstance(value, str) else value

    @property
    def enabled_queues(self) -> dict[str, str]:
        return enabled(self.integration_queues, self.disabled_integrations)
