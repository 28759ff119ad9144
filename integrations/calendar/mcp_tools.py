"""The calendar's MCP tools, added to the MCP server's core tools (the seed's ``TOOLS`` / ``TOOL_HANDLERS``)."""

from __future__ import annotations

from typing import Any

from integrations.front_doors.mcp import ToolHandler, submit_url_tool

_SUBMIT_URL, _HANDLERS = submit_url_tool(
    "calendar",
    (
        "Submit one cached event to the calendar by its source URL, through the calendar's queue. "
        "dry_run returns the exact calendar object and sends nothing; force re-delivers a version "
        "already delivered (a PUT of the same calendar object)."
    ),
)
TOOLS: list[dict[str, Any]] = [_SUBMIT_URL]
TOOL_HANDLERS: dict[str, ToolHandler] = _HANDLERS
