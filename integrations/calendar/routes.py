"""The calendar's HTTP routes, mounted by the API under ``/integrations/calendar``.

``POST /integrations/calendar/submit`` submits one event by its source
URL through the calendar's queue (or, with ``dry_run``, answers the exact
payload).  The operations come from the resolver's context: this module
imports Powertools' router (the HTTP API's framework) and the framework's
contract, never the layer above it.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from integrations.operations import OperationsPort, ReplayReport, ReplayRequest

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # Powertools does not annotate it


class SubmitByUrl(BaseModel):
    """One event, by the URL it was imported from."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: str = Field(min_length=1, description="The event's source URL.")
    dry_run: bool = Field(default=False, description="Answer the exact payload; queue nothing.")
    force: bool = Field(default=False, description="Re-deliver it even if this version was delivered (as an update).")


@router.post("/submit", summary="Submit one event to the calendar by its source URL (through the queue)")
def submit_by_url(request: SubmitByUrl) -> ReplayReport:
    operations: OperationsPort = router.context["operations"]
    return operations.replay(
        ReplayRequest(
            integration="calendar",
            selector="by-url",
            url=request.url,
            dry_run=request.dry_run,
            force=request.force,
        )
    )
