"""``event-importer mcp`` through the MCP SDK's own stdio client, against the local runtime.

The server is the real command in its own process; the client lists the
tools, imports an event, dry-runs TicketFairy's submit-by-URL tool, replays
for real (the runtime delivers to the loopback destination) and gets a
refusal back as an error result, not a crash.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

from infra.local.destination import DraftEventsDestination
from infra.local.runtime import LocalRuntime
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

URL = "https://mcp.example/night"
EVENT = {"title": "MCP Night", "date": "2026-06-01", "venue": "Loft", "source_url": URL}


def text(result: types.CallToolResult) -> str:
    (block,) = result.content
    assert isinstance(block, types.TextContent)
    return block.text


async def session_calls(endpoint_url: str) -> dict[str, Any]:
    server = StdioServerParameters(
        command=sys.executable,
        args=["-c", "from infra.cli import main; main()", "mcp", "--endpoint-url", endpoint_url],
        env={**os.environ, "AWS_REGION": "us-east-1"},
        cwd=str(ROOT),
    )
    seen: dict[str, Any] = {}
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        seen["tools"] = {tool.name for tool in (await session.list_tools()).tools}
        seen["import"] = await session.call_tool("import_events", {"events": [EVENT]})
        seen["dry_run"] = await session.call_tool("ticketfairy_submit_url", {"url": URL, "dry_run": True})
        seen["refused"] = await session.call_tool("replay", {"integration": "ticketfairy", "selector": "newest"})
        seen["replay"] = await session.call_tool(
            "replay", {"integration": "ticketfairy", "selector": "by-url", "url": URL, "force": True}
        )
    return seen


def test_the_mcp_server_serves_every_operation_and_ticketfairys_tool(
    runtime: LocalRuntime, shared_destination: DraftEventsDestination
) -> None:
    seen = anyio.run(session_calls, runtime.endpoint_url)

    assert {
        "list_integrations",
        "status",
        "show_event",
        "list_submissions",
        "import_events",
        "replay",
        "dlq_show",
        "dlq_redrive",
        "ticketfairy_submit_url",
    } <= seen["tools"]
    assert not seen["import"].is_error, text(seen["import"])
    dry = json.loads(text(seen["dry_run"]))
    assert dry["queued"] == 0
    assert dry["items"][0]["payload"]["data"]["attributes"]["venue"] == "Loft"
    assert seen["refused"].is_error
    assert "unknown selector 'newest'" in text(seen["refused"])
    assert json.loads(text(seen["replay"]))["queued"] == 1
    # The replay went through the queue to the destination, and the ledger says so.
    store = runtime.store()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        view = [r for r in store.submissions.records("ticketfairy") if r.event_id == dry["items"][0]["event_id"]]
        if view and view[0].status.value == "success":
            break
        time.sleep(0.2)
    assert view
    assert view[0].status.value == "success"
