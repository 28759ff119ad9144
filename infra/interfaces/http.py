"""The operators' HTTP API: Powertools' ``APIGatewayHttpResolver`` over the operations layer.

Core routes for every operation, plus each integration's ``routes.py``
``router`` mounted under ``/integrations/<name>``.  Request validation and
the OpenAPI document are Powertools' (``/openapi.json``, Swagger UI at
``/swagger``).  The operations object reaches routes through the resolver's
context (``app.context["operations"]``), which included routers share, so an
integration's routes never import this layer.

Refusals answer ``{"error", "message", "status"}``: 400 for a bad request
(malformed JSON, unknown selector, missing URL), 404 for something that does
not exist (an integration, an event), 422 for a body or query that fails
validation; an unexpected error answers 500 without details (they are in the log).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as NoRouteError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from infra.operations.errors import ErrorAnswer, answer_for
from infra.operations.models import (
    DeadLetterView,
    EventView,
    ImportResult,
    IntegrationState,
    RedriveResult,
    ReplayReport,
    ReplayRequest,
    StatusSummary,
    SubmissionPage,
)
from infra.operations.service import Operations
from integrations.registry import all_integrations

logger = logging.getLogger(__name__)

TITLE = "Event Importer operators' API"
#: Where each integration's own routes are mounted.
INTEGRATION_PREFIX = "/integrations"


def _operations(app: APIGatewayHttpResolver) -> Operations:
    operations: Operations = app.context["operations"]
    return operations


def _error(answer: ErrorAnswer) -> Response[dict[str, object]]:
    return Response(status_code=answer.status, content_type=content_types.APPLICATION_JSON, body=answer.as_dict())


def build_app() -> APIGatewayHttpResolver:
    """The resolver with every route; build once per container (routes are registered at build)."""
    app = APIGatewayHttpResolver(enable_validation=True)
    app.enable_swagger(path="/swagger", title=TITLE, description=__doc__.split("\n\n")[0] if __doc__ else None)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> Response[str]:
        return Response(200, content_types.APPLICATION_JSON, app.get_openapi_json_schema(title=TITLE))

    @app.get("/integrations", summary="Registered integrations and their state in this deployment")
    def list_integrations() -> list[IntegrationState]:
        return _operations(app).integrations()

    @app.get("/status", summary="Records by status, queue and DLQ depth, oldest pending, per integration")
    def status() -> StatusSummary:
        return _operations(app).status()

    @app.get("/events", summary="An event by its source URL, with its submission records")
    def event_by_url(url: Annotated[str, Query(min_length=1, description="The event's source URL")]) -> EventView:
        return _operations(app).event(url=url)

    @app.get("/events/<event_id>", summary="An event by id, with its submission records")
    def event_by_id(event_id: str) -> EventView:
        return _operations(app).event(event_id)

    @app.post("/events", summary="Import events: only new or changed ones are written, and so delivered")
    def import_events(events: Annotated[list[Any], Body(description="EventData objects")]) -> ImportResult:
        return _operations(app).import_events(events)

    @app.get("/submissions", summary="A page of an integration's submission records, optionally of one status")
    def submissions(
        integration: Annotated[str, Query(min_length=1)],
        status: Annotated[str | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        next_token: Annotated[str | None, Query()] = None,
    ) -> SubmissionPage:
        return _operations(app).submissions(integration, status, limit=limit, next_token=next_token)

    @app.post("/replay", summary="Replay events by selector through the integration's queue (or dry-run them)")
    def replay(request: ReplayRequest) -> ReplayReport:
        return _operations(app).replay(request)

    @app.get("/dlq/<integration>", summary="A dead-letter queue's depth and first messages (left in place)")
    def dead_letters(integration: str) -> DeadLetterView:
        return _operations(app).dead_letters(integration)

    @app.post("/dlq/<integration>/redrive", summary="Move dead-lettered messages back to the integration's queue")
    def redrive(integration: str, limit: Annotated[int | None, Query(ge=1)] = None) -> RedriveResult:
        return _operations(app).redrive(integration, limit)

    # Powertools' exception_handler is not annotated.
    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def invalid_request(exc: RequestValidationError) -> Response[dict[str, object]]:
        errors = exc.errors()
        if any(error.get("type") == "json_invalid" for error in errors):
            return _error(ErrorAnswer(400, "bad_request", "the body is not valid JSON"))
        # Field and problem only: pydantic's messages, never the input's values.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error.get('loc', ())) or 'request'}: "
            f"{error.get('msg') or error.get('type')}"
            for error in errors
        )
        return _error(ErrorAnswer(422, "invalid_request", problems))

    @app.exception_handler(NoRouteError)  # type: ignore[untyped-decorator]
    def no_route(exc: NoRouteError) -> Response[dict[str, object]]:
        event = app.current_event
        return _error(ErrorAnswer(404, "not_found", f"no route {event.http_method} {event.path}; see /swagger"))

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def refused(exc: Exception) -> Response[dict[str, object]]:
        answer = answer_for(exc)
        if answer is None:
            logger.error("unexpected error serving %s", app.current_event.path, exc_info=exc)
            answer = ErrorAnswer(500, "internal_error", "the request failed; the API function's logs say why")
        return _error(answer)

    for integration in all_integrations():
        router = integration.get_routes()
        if router is not None:
            app.include_router(router, prefix=f"{INTEGRATION_PREFIX}/{integration.name}")
    return app
