"""What the framework needs from storage and secrets, as protocols.

``infra.aws.store`` implements the storage ones on DynamoDB (pynamodb) and
``infra.aws.secrets.resolve_secret`` is a ``SecretReader``; selectors and
submitters depend only on these shapes, so the framework carries no AWS code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from pydantic import SecretStr

from integrations.records import (
    CachedEvent,
    ChangeKind,
    EndpointState,
    Selection,
    SubmissionRecord,
    SubmissionStatus,
)


class ClaimOutcome(StrEnum):
    """The answer to "may I submit this version now?"."""

    CLAIMED = "claimed"  # go ahead: the record is ours until the lease ends
    ALREADY_SUBMITTED = "already_submitted"  # this version was delivered before
    BUSY = "busy"  # another worker holds a live claim: try again later
    SUPERSEDED = "superseded"  # a newer version of the event is already recorded
    ALREADY_FAILED = "already_failed"  # the destination rejected this version for good


@dataclass(frozen=True)
class Claim:
    """A claim attempt's outcome and the record as it now stands."""

    outcome: ClaimOutcome
    record: SubmissionRecord | None


class SecretReader(Protocol):
    """Returns a secret from exactly one source: ``value`` itself, an SSM ``parameter`` or a Secrets Manager ``secret``.

    ``force`` skips any cache (after a destination refused the cached value).
    Raises ``ConfigurationError`` naming the source that could not be read.
    """

    def __call__(
        self, value: SecretStr | None, parameter: str | None, secret: str | None, *, force: bool = False
    ) -> SecretStr: ...


class EventRepository(Protocol):
    """Read access to the event cache."""

    def get(self, event_id: str) -> CachedEvent | None: ...

    def get_many(self, event_ids: Iterable[str]) -> Iterator[CachedEvent]: ...

    def scan(self) -> Iterator[CachedEvent]: ...


class SubmissionLedger(Protocol):
    """Submission records: claims, outcomes and the queries selectors need."""

    def get(self, event_id: str, service: str) -> SubmissionRecord | None: ...

    def claim(
        self,
        event_id: str,
        service: str,
        *,
        data_hash: str,
        version: int,
        lease_seconds: float,
        incarnation: dt.datetime | None = None,
        retry_failed: bool = False,
        change: ChangeKind = ChangeKind.CREATED,
        attempt: int | None = None,
        force: bool = False,
        event: Mapping[str, Any] | None = None,
    ) -> Claim: ...

    def complete(
        self,
        claimed: SubmissionRecord,
        *,
        status: SubmissionStatus,
        remote_id: str | None = None,
        last_error: str | None = None,
        response_summary: str | None = None,
        change: ChangeKind | None = None,
        permanent: bool = False,
        sent_fingerprint: str | None = None,
        event: Mapping[str, Any] | None = None,
    ) -> SubmissionRecord: ...

    def selected(self, service: str, state: Selection) -> Iterator[tuple[str, CachedEvent | None]]:
        """``(event_id, event)`` per item of ``service`` in ``state``; ``event`` is ``None`` if not stored."""
        ...

    def index_built(self, service: str) -> bool: ...

    def event_ids(self, service: str, status: SubmissionStatus | None = None) -> Iterator[str]: ...

    def records(self, service: str, status: SubmissionStatus | None = None) -> Iterator[SubmissionRecord]: ...

    def endpoint(self, service: str) -> EndpointState | None:
        """The endpoint's state; ``None`` when nothing was ever recorded (it is enabled)."""
        ...

    def set_endpoint(self, service: str, *, disabled: bool, reason: str | None = None) -> EndpointState:
        """Disable the endpoint (with the reason) or re-enable it."""
        ...


class Store(Protocol):
    """The two tables, as the framework sees them."""

    @property
    def events(self) -> EventRepository: ...

    @property
    def submissions(self) -> SubmissionLedger: ...
