"""The queue message: small, self-describing, versioned."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from infra.pipeline.wire import SCHEMA_VERSION, message_body
from integrations.records import CachedEvent, ChangeKind


class QueueMessage(BaseModel):
    """One event version for one integration.

    ``event`` carries the ``EventData`` dict when the message fits the inline
    size limit; otherwise it is ``None`` and the worker reads the event from
    the cache by ``event_id`` (at least version ``version``; a newer one is
    submitted in its place, since it is what the destination should have).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: str = Field(min_length=1)
    service: str = Field(min_length=1)
    data_hash: str = Field(min_length=1)
    version: int = Field(ge=1)
    change: ChangeKind = ChangeKind.CREATED
    event: dict[str, Any] | None = None
    #: When the change reached the event cache (for end-to-end latency).
    changed_at: dt.datetime | None = None
    #: When this incarnation of the event was first cached (orders versions across a re-import).
    incarnation: dt.datetime | None = None
    #: How often a worker re-queued this message behind another worker's claim.
    requeues: int = Field(default=0, ge=0)
    #: Set on messages an operator's replay queued: a version the destination rejected is tried again.
    replay: str | None = Field(default=None, min_length=1, max_length=64)
    #: A forced replay: re-deliver this version even if it was delivered before (needs ``replay``).
    force: bool = False

    @model_validator(mode="after")
    def _force_needs_replay(self) -> QueueMessage:
        if self.force and self.replay is None:
            raise ValueError("force is only for replays: set replay too")
        return self

    def cached_event(self) -> CachedEvent | None:
        """The inline event as a ``CachedEvent``, or ``None`` when sent by reference."""
        if self.event is None:
            return None
        return CachedEvent(
            event_id=self.event_id,
            data=self.event,
            data_hash=self.data_hash,
            version=self.version,
            updated_at=self.changed_at,
            incarnation=self.incarnation,
        )

    def to_body(self) -> str:
        """The JSON body (``infra.pipeline.wire``: the one encoder of the format)."""
        return message_body(**self.model_dump(exclude={"schema_version"}))


def event_id_in(body: str) -> str | None:
    """The event id of a message body that is not a valid ``QueueMessage``, if it can still be read."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    event_id = data.get("event_id") if isinstance(data, dict) else None
    return event_id if isinstance(event_id, str) else None
