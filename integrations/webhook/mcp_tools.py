"""The webhook's MCP tools: its endpoint's state, and re-enabling it after a 410 Gone."""

from __future__ import annotations

from typing import Any

from integrations.errors import BadRequestError
from integrations.operations import EndpointView, OperationsPort

_NO_ARGUMENTS = {"type": "object", "properties": {}, "additionalProperties": False}

TOOLS: list[dict[str, Any]] = [
    {
        "name": "webhook_endpoint",
        "description": "Whether the webhook endpoint takes deliveries; a 410 Gone disables it, with the reason.",
        "inputSchema": _NO_ARGUMENTS,
    },
    {
        "name": "webhook_enable",
        "description": (
            "Re-enable the webhook endpoint after a 410 Gone. What it missed is recorded failed: "
            "replay the webhook's failed selector afterwards."
        ),
        "inputSchema": _NO_ARGUMENTS,
    },
]


def _no_arguments(arguments: dict[str, Any]) -> None:
    if arguments:
        raise BadRequestError(f"unknown argument(s): {', '.join(sorted(arguments))}; this tool takes none")


def endpoint(arguments: dict[str, Any], operations: OperationsPort) -> EndpointView:
    _no_arguments(arguments)
    return operations.endpoint("webhook")


def enable(arguments: dict[str, Any], operations: OperationsPort) -> EndpointView:
    _no_arguments(arguments)
    return operations.enable_endpoint("webhook")


TOOL_HANDLERS = {"webhook_endpoint": endpoint, "webhook_enable": enable}
