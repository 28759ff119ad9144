"""The calendar's MCP tools, added to the MCP server's core tools (the seed's ``TOOLS`` / ``TOOL_HANDLERS``).

A handler takes the call's arguments and the operations (an
``integrations.operations.OperationsPort``) and returns a model; a refusal
raised from it reaches the client as an error result.
"""

from __future__ import annotations

from typing import Any

from integrations.errors import BadRequestError
from integrations.operations import OperationsPort, ReplayReport, ReplayRequest

TOOLS: list[dict[str, Any]] = [
    {
        "name": "calendar_submit_url",
        "description": (
            "Submit one cached event to the calendar by its source URL, through the calendar's queue. "
            "dry_run returns the exact calendar object and sends nothing; force re-delivers a version "
            "already delivered (a PUT of the same calendar object)."
        ),
        "inputSchema": {
            "type": "object",
            "properties": {
                "url": {"type": "string", "minLength": 1, "description": "The event's source URL."},
                "dry_run": {"type": "boolean", "default": False},
                "force": {"type": "boolean", "default": False},
            },
            "required": ["url"],
            "additionalProperties": False,
        },
    }
]


def submit_url(arguments: dict[str, Any], operations: OperationsPort) -> ReplayReport:
    """Replay the one event imported from ``url`` to the calendar (validated as every front door does)."""
    unknown = sorted(set(arguments) - set(TOOLS[0]["inputSchema"]["properties"]))
    if unknown:
        raise BadRequestError(f"unknown argument(s): {', '.join(unknown)}; expected url, dry_run, force")
    request = ReplayRequest.model_validate({**arguments, "integration": "calendar", "selector": "by-url"})
    return operations.replay(request)


TOOL_HANDLERS = {"calendar_submit_url": submit_url}
