"""What the operations answer: plain pydantic models, the same JSON through every front door.

The replay models are the contract the integrations' interface modules see
too, so they live in ``integrations.operations`` and are re-exported here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from integrations.operations import ReplayItem, ReplayReport, ReplayRequest, SubmissionView
from integrations.records import SubmissionRecord

__all__ = [
    "DeadLetter",
    "DeadLetterView",
    "EventView",
    "ImportItemProblem",
    "ImportResult",
    "IntegrationState",
    "IntegrationStatus",
    "RedriveResult",
    "ReplayItem",
    "ReplayReport",
    "ReplayRequest",
    "StatusSummary",
    "SubmissionPage",
    "SubmissionView",
    "submission_view",
]

#: Most events one import request may carry (an HTTP API payload is at most 10 MB anyway).
MAX_IMPORT_ITEMS = 1_000
#: Largest page of submissions one request returns.
MAX_PAGE_SIZE = 500


def submission_view(record: SubmissionRecord) -> SubmissionView:
    """A record as operators see it: no lease, revision or internal hashes."""
    return SubmissionView(
        event_id=record.event_id,
        integration=record.service,
        status=record.status.value,
        version=record.version,
        data_hash=record.data_hash,
        remote_id=record.remote_id,
        attempts=record.attempts,
        last_error=record.last_error,
        response_summary=record.response_summary,
        change=record.change.value if record.change else None,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


class IntegrationState(BaseModel):
    """One registered integration, and where it stands in this deployment."""

    name: str
    #: Has a queue in this deployment (so fan-out and replays can reach it).
    deployed: bool
    #: Listed in DisabledIntegrations: fan-out skips it (replays still queue for it).
    paused: bool
    supports_updates: bool
    supports_deletes: bool
    selectors: list[str]
    interfaces: list[str]
    queue_depth: int | None = None
    dead_letter_depth: int | None = None
    #: Has a submit function in this deployment (``None``: not known where this runs).
    function: bool | None = None
    #: ``ok``, or what is wrong with the function's settings for this integration (``None``: not known).
    settings: str | None = None


class EventView(BaseModel):
    """A cached event (``None`` once removed) and its record for each integration."""

    event_id: str
    version: int | None = None
    data_hash: str | None = None
    updated_at: dt.datetime | None = None
    data: dict[str, Any] | None = None
    submissions: list[SubmissionView]


class SubmissionPage(BaseModel):
    """One page of submission records; pass ``next_token`` back for the next one."""

    integration: str
    status: str | None
    items: list[SubmissionView]
    next_token: str | None = None


class ImportItemProblem(BaseModel):
    label: str
    problems: list[str]


class ImportResult(BaseModel):
    """What an import did; only new or changed events were written (and so delivered)."""

    created: int
    updated: int
    unchanged: int
    invalid: list[ImportItemProblem]
    notes: list[str]
    event_ids: list[str]


class DeadLetter(BaseModel):
    message_id: str
    event_id: str | None
    reason: str


class DeadLetterView(BaseModel):
    """A DLQ's depth and a peek at its first messages (left in place)."""

    integration: str
    depth: int
    messages: list[DeadLetter]


class RedriveResult(BaseModel):
    integration: str
    moved: int
    failed: dict[str, str] = Field(default_factory=dict)


class IntegrationStatus(BaseModel):
    """One integration's counts by status, queue depths and its oldest pending record."""

    model_config = ConfigDict(populate_by_name=True)

    integration: str
    counts: dict[str, int]
    queue_depth: int | None
    dead_letter_depth: int | None
    oldest_pending: SubmissionView | None = None


class StatusSummary(BaseModel):
    integrations: list[IntegrationStatus]


class IndexBuildResult(BaseModel):
    """What building an integration's selection index did (``Operations.build_index``)."""

    integration: str
    events: int = Field(description="cached events filed as unsubmitted (unless a record existed)")
    records: int = Field(description="pending or failed records filed with their event")
    built: bool = Field(description="the index is complete: its selectors may be used")
    errors: dict[str, str] = Field(default_factory=dict, description="events that could not be filed, and why")
