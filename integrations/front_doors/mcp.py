"""``<integration>_submit_url``, an MCP tool in the seed's ``TOOLS`` / ``TOOL_HANDLERS`` shape.

A handler takes the call's arguments and the operations (an
``integrations.operations.OperationsPort``) and returns a model; a refusal
raised from it reaches the client as an error result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from integrations.errors import BadRequestError
from integrations.operations import OperationsPort, ReplayReport, ReplayRequest

ToolHandler = Callable[[dict[str, Any], OperationsPort], ReplayReport]
_ARGUMENTS = ("url", "dry_run", "force")


def submit_url_tool(integration: str, description: str) -> tuple[dict[str, Any], dict[str, ToolHandler]]:
    """The tool's declaration, and its handler by name, for ``integration``."""
    name = f"{integration}_submit_url"
    tool = {
        "name": name,
        "description": description,
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

    def submit_url(arguments: dict[str, Any], operations: OperationsPort) -> ReplayReport:
        """Replay the one event imported from ``url`` (validated as every front door does)."""
        unknown = sorted(set(arguments) - set(_ARGUMENTS))
        if unknown:
            raise BadRequestError(f"unknown argument(s): {', '.join(unknown)}; expected {', '.join(_ARGUMENTS)}")
        request = ReplayRequest.model_validate({**arguments, "integration": integration, "selector": "by-url"})
        return operations.replay(request)

    return tool, {name: submit_url}
