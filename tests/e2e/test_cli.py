"""``event-importer import`` and ``submissions`` against the running local runtime."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.cli import app
from infra.local.destination import DraftEventsDestination
from infra.local.runtime import LocalRuntime

pytestmark = pytest.mark.e2e

runner = CliRunner()


def successes(endpoint: list[str]) -> int:
    page = runner.invoke(
        app, ["submissions", "--integration", "ticketfairy", "--status", "success", "--json", *endpoint]
    )
    assert page.exit_code == 0, page.output
    return len(json.loads(page.stdout)["items"])


def test_import_then_submissions_against_the_local_runtime(
    runtime: LocalRuntime, destination: DraftEventsDestination, tmp_path: Path
) -> None:
    endpoint = ["--endpoint-url", runtime.endpoint_url]
    assert runtime.wait_until_drained(timeout=60)
    creates_before, successes_before = len(destination.accepted_creates()), successes(endpoint)
    events = tmp_path / "events.jsonl"
    lines = [
        json.dumps({"title": "Good One", "date": "2026-05-01", "source_url": "https://example.com/cli/1"}),
        json.dumps({"title": "Bad Date", "date": "someday", "source_url": "https://example.com/cli/2"}),
        "{not json",
        json.dumps({"title": "Good Two", "date": "2026-05-02", "source_url": "https://example.com/cli/3"}),
    ]
    events.write_text("\n".join(lines) + "\n")

    result = runner.invoke(app, ["import", str(events), *endpoint])

    # The valid events are imported; the exit code says that some lines were refused.
    assert result.exit_code == 1, result.output
    assert "line 2: date: could not read 'someday' as a date" in result.output
    assert "line 3: not valid JSON" in result.output
    assert "created 2, updated 0, unchanged 0, invalid 2" in result.output

    assert runtime.wait_until_drained(timeout=60)
    assert len(destination.accepted_creates()) == creates_before + 2
    assert successes(endpoint) == successes_before + 2


def test_import_reads_standard_input(runtime: LocalRuntime) -> None:
    document = json.dumps([{"title": "From stdin", "source_url": "https://example.com/cli/stdin"}])
    result = runner.invoke(app, ["import", "-", "--endpoint-url", runtime.endpoint_url], input=document)
    assert result.exit_code == 0, result.output
    assert "created 1" in result.output
    assert runtime.wait_until_drained(timeout=60)


def test_index_build_files_what_the_tables_hold(runtime: LocalRuntime) -> None:
    # The runtime built the index at start; building again is harmless (idempotent) and says so.
    result = runner.invoke(app, ["index", "build", "ticketfairy", "--endpoint-url", runtime.endpoint_url, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["built"] is True

    unknown = runner.invoke(app, ["index", "build", "nowhere", "--endpoint-url", runtime.endpoint_url])
    assert unknown.exit_code == 2, unknown.output
