"""Plain value types shared by the framework, its stores and its integrations."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class SubmissionStatus(StrEnum):
    """Where one (event, integration) pair stands."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    SUCCESS = "success"
    FAILED = "failed"
    DRY_RUN = "dry_run"
    SKIPPED = "skipped"


class Selection(StrEnum):
    """What the standard status selectors select, as the store's selection index files it."""

    UNSUBMITTED = "unsubmitted"  # no record for the integration yet
    PENDING = "pending"  # in progress, or waiting for a retry
    FAILED = "failed"


#: The content hash a removal carries: "removed:" + the hash of the content that was removed.
REMOVAL_PREFIX = "removed:"


def removal_hash(data_hash: str) -> str:
    """The hash that identifies the removal of the content hashed ``data_hash``."""
    return f"{REMOVAL_PREFIX}{data_hash}"


class ChangeKind(StrEnum):
    """What happened to a cached event."""

    CREATED = "created"
    UPDATED = "updated"
    REMOVED = "removed"


@dataclass(frozen=True)
class CachedEvent:
    """One event as stored in the event cache.

    ``data`` is the ``EventData`` as a JSON-ready dict; ``version`` grows by one
    with every content change and orders deliveries of the same event.
    """

    event_id: str
    data: dict[str, Any]
    data_hash: str
    version: int = 1
    updated_at: dt.datetime | None = None
    #: When this incarnation of the event was first cached.  ``version`` restarts
    #: at 1 when a removed event is imported again; the incarnation tells the two apart.
    incarnation: dt.datetime | None = None


@dataclass(frozen=True)
class SubmissionRecord:
    """The durable record of one event's delivery to one integration."""

    event_id: str
    service: str
    status: SubmissionStatus
    data_hash: str | None = None
    version: int | None = None
    incarnation: dt.datetime | None = None
    remote_id: str | None = None
    attempts: int = 0
    last_error: str | None = None
    response_summary: str | None = None
    submitted_hash: str | None = None
    change: ChangeKind | None = None
    #: The failure was permanent (rejected data), not retries running out.
    permanent: bool = False
    #: Content hash of the first create sent under this incarnation's create key whose
    #: outcome (the destination's id) is not known: set before the call, cleared on success.
    #: While it is set the destination may hold a draft this record cannot yet address.
    create_hash: str | None = None
    #: ``Integration.sent_fingerprint`` of the last version delivered: a change with the same one is not sent.
    sent_fingerprint: str | None = None
    lease_until: dt.datetime | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    revision: int | None = None

    @property
    def live_remote_id(self) -> str | None:
        """The destination's id of the event's draft, if one was delivered and not withdrawn since."""
        if self.remote_id is None or self.submitted_hash is None:
            return None
        return None if self.submitted_hash.startswith(REMOVAL_PREFIX) else self.remote_id

    @property
    def create_in_doubt(self) -> bool:
        """A create may have reached the destination, but its id is not known."""
        return self.create_hash is not None and self.live_remote_id is None


@dataclass(frozen=True)
class EndpointState:
    """Whether an integration's endpoint takes deliveries (an operator re-enables one that answered 410 Gone)."""

    service: str
    disabled: bool
    reason: str | None = None
    changed_at: dt.datetime | None = None


@dataclass(frozen=True)
class SubmitResult:
    """What one submission attempt did: the outcome an operator or a handler acts on."""

    event_id: str
    service: str
    status: SubmissionStatus
    payload: dict[str, Any] | None = None
    remote_id: str | None = None
    error: str | None = None
    detail: str | None = None
    attempts: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
