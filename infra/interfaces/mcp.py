"""The MCP server (stdio, official ``mcp`` SDK): one tool per operation, plus each integration's tools.

``event-importer mcp`` runs it.  Core tools call the operations layer; an
integration's ``mcp_tools.py`` adds ``TOOLS`` (dicts with ``name``,
``description`` and ``inputSchema``) and ``TOOL_HANDLERS`` (name ->
``handler(arguments, operations)``).  Arguments are validated by the same
models the other front doors use; a refusal is a tool result with
``isError`` and one clear line, so the client sees what to fix; nothing was done.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from pydantic import BaseModel, ConfigDict, Field

from infra.operations.errors import answer_for
from infra.operations.models import MAX_PAGE_SIZE
from infra.operations.service import Operations
from integrations.operations import ReplayRequest
from integrations.registry import all_integrations

logger = logging.getLogger(__name__)

SERVER_NAME = "event-importer"


class _Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoArguments(_Arguments):
    pass


class EventArguments(_Arguments):
    event_id: str | None = Field(default=None, min_length=1, description="The event's id.")
    url: str | None = Field(default=None, min_length=1, description="Or the event's source URL.")


class SubmissionArguments(_Arguments):
    integration: str = Field(min_length=1)
    status: str | None = Field(default=None, description="pending, in_progress, success, failed or skipped")
    limit: int = Field(default=50, ge=1, le=MAX_PAGE_SIZE)
    next_token: str | None = Field(default=None, description="From the previous page's next_token.")


class ImportArguments(_Arguments):
    events: list[Any] = Field(description="EventData objects: title, date, source_url, venue, ...")


class IntegrationArguments(_Arguments):
    integration: str = Field(min_length=1)


class RedriveArguments(IntegrationArguments):
    limit: int | None = Field(default=None, ge=1, description="Move at most this many messages.")


Handler = Callable[[dict[str, Any], Operations], Any]


@dataclass(frozen=True)
class Tool:
    """One tool: its description, the model its arguments must satisfy, and what it calls."""

    name: str
    description: str
    arguments: type[BaseModel]
    call: Callable[[Any, Operations], Any]

    def definition(self) -> types.Tool:
        return types.Tool(name=self.name, description=self.description, input_schema=self.arguments.model_json_schema())

    def handle(self, arguments: dict[str, Any], operations: Operations) -> Any:
        return self.call(self.arguments.model_validate(arguments), operations)


CORE_TOOLS = [
    Tool(
        "list_integrations",
        "Registered integrations, what they support, their selectors and queue depths.",
        NoArguments,
        lambda _, ops: ops.integrations(),
    ),
    Tool(
        "status",
        "Per integration: submission records by status, queue and dead-letter queue depth, oldest pending record.",
        NoArguments,
        lambda _, ops: ops.status(),
    ),
    Tool(
        "show_event",
        "A cached event (by id or source URL) and its submission record for each integration.",
        EventArguments,
        lambda a, ops: ops.event(a.event_id, url=a.url),
    ),
    Tool(
        "list_submissions",
        "A page of an integration's submission records, optionally of one status; pass next_token for more.",
        SubmissionArguments,
        lambda a, ops: ops.submissions(a.integration, a.status, limit=a.limit, next_token=a.next_token),
    ),
    Tool(
        "import_events",
        "Import events into the cache; only new or changed ones are written, and so delivered.",
        ImportArguments,
        lambda a, ops: ops.import_events(a.events),
    ),
    Tool(
        "replay",
        "Re-deliver the events a selector chooses (unsubmitted, failed, pending, all, by-url with url) through the "
        "integration's queue. dry_run returns the exact payloads and sends nothing; force re-delivers versions "
        "already delivered; limit caps the selection.",
        ReplayRequest,
        lambda request, ops: ops.replay(request),
    ),
    Tool(
        "dlq_show",
        "An integration's dead-letter queue: its depth and first messages with why each was dead-lettered.",
        IntegrationArguments,
        lambda a, ops: ops.dead_letters(a.integration),
    ),
    Tool(
        "dlq_redrive",
        "Move an integration's dead-lettered messages back to its queue (processing is idempotent).",
        RedriveArguments,
        lambda a, ops: ops.redrive(a.integration, a.limit),
    ),
]


class IntegrationTool:
    """A tool from an integration's ``mcp_tools.py``: its own schema and handler."""

    def __init__(self, definition: Mapping[str, Any], handler: Handler) -> None:
        self.name = str(definition["name"])
        self._definition = types.Tool(
            name=self.name,
            description=definition.get("description"),
            input_schema=dict(definition.get("inputSchema") or definition.get("input_schema") or {"type": "object"}),
        )
        self._handler = handler

    def definition(self) -> types.Tool:
        return self._definition

    def handle(self, arguments: dict[str, Any], operations: Operations) -> Any:
        return self._handler(arguments, operations)


def tools() -> dict[str, Tool | IntegrationTool]:
    """Core tools, then every integration's; a name used twice is a bug, reported at start."""
    found: dict[str, Tool | IntegrationTool] = {tool.name: tool for tool in CORE_TOOLS}
    for integration in all_integrations():
        definitions, handlers = integration.get_mcp_tools()
        for definition in definitions:
            tool = IntegrationTool(definition, handlers[definition["name"]])
            if tool.name in found:
                raise ValueError(f"{integration.name} defines MCP tool {tool.name!r}, which already exists")
            found[tool.name] = tool
    return found


def _result(answer: Any) -> types.CallToolResult:
    if isinstance(answer, BaseModel):
        text = answer.model_dump_json(indent=2)
    elif isinstance(answer, list) and all(isinstance(item, BaseModel) for item in answer):
        text = "[" + ",\n".join(item.model_dump_json(indent=2) for item in answer) + "]"
    else:
        text = json.dumps(answer, indent=2, default=str)
    return types.CallToolResult(content=[types.TextContent(text=text)])


def _refusal(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


def build_server(operations: Callable[[], Operations]) -> Server[Any]:
    """The MCP server; ``operations`` is called (once) at the first tool call, so listing tools needs no AWS."""
    available = tools()
    cached = functools.cache(operations)

    async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[tool.definition() for tool in available.values()])

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        tool = available.get(params.name)
        if tool is None:
            return _refusal(f"unknown tool {params.name!r}; known: {', '.join(sorted(available))}")
        try:
            # The operations are blocking calls (boto3): off the event loop.
            answer = await asyncio.to_thread(lambda: tool.handle(dict(params.arguments or {}), cached()))
            if inspect.isawaitable(answer):
                answer = await answer
        except Exception as exc:
            refusal = answer_for(exc)
            if refusal is None:
                logger.exception("tool %s failed", params.name)
                return _refusal(f"{params.name} failed: {type(exc).__name__}: {exc}")
            return _refusal(refusal.message)
        return _result(answer)

    return Server(SERVER_NAME, on_list_tools=list_tools, on_call_tool=call_tool)


def serve(operations: Callable[[], Operations]) -> None:
    """Serve on standard input/output until the client closes the connection."""
    server = build_server(operations)

    async def run() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    asyncio.run(run())
