"""``POST /submit`` for an integration's router: one event by its source URL, through its queue."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from integrations.operations import OperationsPort, ReplayReport, ReplayRequest


class SubmitByUrl(BaseModel):
    """One event, by the URL it was imported from."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: str = Field(min_length=1, description="The event's source URL.")
    dry_run: bool = Field(default=False, description="Answer the exact payload; queue nothing.")
    force: bool = Field(default=False, description="Re-deliver it even if this version was delivered (as an update).")


def submit_by_url_router(integration: str, title: str) -> APIGatewayHttpRouter:
    """A router with ``POST /submit`` replaying one event to ``integration`` (the operations from its context)."""
    router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # Powertools does not annotate it

    @router.post("/submit", summary=f"Submit one event to {title} by its source URL (through the queue)")
    def submit_by_url(request: SubmitByUrl) -> ReplayReport:
        operations: OperationsPort = router.context["operations"]
        return operations.replay(
            ReplayRequest(
                integration=integration,
                selector="by-url",
                url=request.url,
                dry_run=request.dry_run,
                force=request.force,
            )
        )

    return router
