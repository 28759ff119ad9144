"""The operations contract: what operators can ask for, as the integrations' interface modules see it.

The operations layer (``infra.operations``) implements ``OperationsPort``;
every front door (CLI, HTTP API, MCP server, the replay function) calls it,
and so do the integrations' own ``routes.py``, ``cli.py`` and ``mcp_tools.py``,
which receive it from their front door instead of importing the layer above
the framework.  Requests are validated models: a front door parses into
them, so a bad field is refused before anything is done.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

#: Most events one replay enqueues unless the request asks for fewer.
MAX_REPLAY_LIMIT = 10_000


class ReplayRequest(BaseModel):
    """Re-deliver the events a selector chooses, through the integration's queue.

    ``dry_run`` returns the exact payloads and queues nothing; ``force``
    re-delivers versions already delivered (as an update where the
    integration supports updates); ``limit`` caps how many events are selected.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    integration: str = Field(min_length=1)
    selector: str = Field(default="unsubmitted", min_length=1)
    url: str | None = Field(default=None, min_length=1)
    dry_run: bool = False
    limit: int | None = Field(default=None, ge=1, le=MAX_REPLAY_LIMIT)
    force: bool = False


class ReplayItem(BaseModel):
    """One selected event: queued (or not, and why), or in a dry run its payload and message."""

    event_id: str
    version: int
    #: ``queued``, ``not_queued`` (the send failed: ``error`` says why), ``dry_run`` or ``invalid``.
    outcome: str
    #: What the destination would receive (dry runs only).
    payload: dict[str, Any] | None = None
    #: The queue message, exactly as it is (or would be) sent.
    message: dict[str, Any] | None = None
    error: str | None = None


class ReplayReport(BaseModel):
    """What a replay did: the selection, and per event whether it was queued."""

    replay_id: str
    integration: str
    selector: str
    dry_run: bool
    force: bool
    selected: int
    queued: int
    #: True when ``limit`` stopped the selection before the selector was exhausted.
    truncated: bool = False
    items: list[ReplayItem]
    #: ``SendMessageBatch`` calls made (0 for a dry run).
    send_calls: int = 0

    @property
    def ok(self) -> bool:
        """Every selected event was queued (or, in a dry run, could be transformed)."""
        return all(item.outcome in ("queued", "dry_run") for item in self.items)


class SubmissionView(BaseModel):
    """A submission record as operators see it."""

    event_id: str
    integration: str
    status: str
    version: int | None = None
    data_hash: str | None = None
    remote_id: str | None = None
    attempts: int = 0
    last_error: str | None = None
    response_summary: str | None = None
    change: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


class EndpointView(BaseModel):
    """Whether an integration's endpoint takes deliveries, and why not."""

    integration: str
    disabled: bool
    reason: str | None = None
    changed_at: dt.datetime | None = None


class OperationsPort(Protocol):
    """The operations an integration's interface modules may call (``infra.operations.Operations``)."""

    def replay(self, request: ReplayRequest) -> ReplayReport:
        """Select and enqueue (or dry-run) events; raises ``BadRequestError`` / ``NotFoundError`` before acting."""
        ...

    def endpoint(self, integration: str) -> EndpointView:
        """The integration's endpoint state (disabled after a 410 Gone)."""
        ...

    def enable_endpoint(self, integration: str) -> EndpointView:
        """Re-enable the integration's endpoint; what it missed is recorded failed, for a replay."""
        ...


class CommandHost(Protocol):
    """What the CLI gives an integration's ``cli.py`` commands (as ``typer.Context.obj``).

    ``run`` builds the operations of the named stack, calls ``action`` with
    them and prints its answer as JSON; a refusal is printed as one line and
    ends the command with the CLI's exit code for it, never a traceback.
    """

    def run(
        self,
        action: Callable[[OperationsPort], BaseModel],
        *,
        stack: str,
        endpoint_url: str | None,
        region: str | None,
        ok: Callable[[Any], bool] | None = None,
    ) -> None: ...
