"""The webhook's HTTP routes, mounted by the API under ``/integrations/webhook``.

``GET /integrations/webhook/endpoint`` shows whether the endpoint takes
deliveries (a 410 Gone disables it); ``POST /integrations/webhook/endpoint/enable``
re-enables it.  The operations come from the resolver's context.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from integrations.operations import EndpointView, OperationsPort

router = APIGatewayHttpRouter()  # type: ignore[no-untyped-call]  # Powertools does not annotate it


@router.get("/endpoint", summary="Whether the webhook endpoint takes deliveries")
def endpoint() -> EndpointView:
    operations: OperationsPort = router.context["operations"]
    return operations.endpoint("webhook")


@router.post("/endpoint/enable", summary="Re-enable the webhook endpoint (then replay the failed ones)")
def enable() -> EndpointView:
    operations: OperationsPort = router.context["operations"]
    return operations.enable_endpoint("webhook")
