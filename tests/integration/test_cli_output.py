"""What the CLI shows people, on one stack deployed on in-process moto (no functions run here).

Tables fit 80 columns, empty results say so, every listing has ``--json``,
``integrations list`` tells queue, function and settings apart, ``status``
names the oldest pending record, and a dry run needs no secret and takes the
integration's settings from the stack, never from this machine's environment.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws
from typer.testing import CliRunner, Result

from infra import cli
from infra.aws.settings import TableSettings
from infra.aws.stack import Stack, deploy
from infra.aws.store import DynamoStore
from integrations.env import load_env_model
from integrations.event_data import event_id_for
from tests.conftest import REGION

runner = CliRunner()
URL = "https://output.example/events/night"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with mock_aws():
        deployed = deploy("output", region=REGION)
        # The operator's one-off after the first deploy; the selectors refuse until it has run.
        built = runner.invoke(
            cli.build_cli(), ["index", "build", "ticketfairy", "--stack", deployed.name, "--region", REGION]
        )
        assert built.exit_code == 0, built.output
        assert built.stdout.startswith("ticketfairy's selection index built: 0 events filed"), built.stdout
        events = tmp_path_factory.mktemp("output") / "events.jsonl"
        events.write_text(json.dumps({"title": "Night", "date": "2026-07-01", "venue": "Hall", "source_url": URL}))
        imported = runner.invoke(cli.build_cli(), ["import", str(events), "--stack", deployed.name, "--region", REGION])
        assert imported.exit_code == 0, imported.output
        assert "created 1, updated 0, unchanged 0, invalid 0" in imported.stdout
        yield deployed


def invoke(*arguments: str) -> Result:
    result = runner.invoke(cli.build_cli(), [*arguments, "--stack", "output"])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("target: stack output on AWS (us-east-1; AWS configuration)"), result.stderr
    return result


@pytest.mark.parametrize(
    "command",
    [
        ["integrations", "list"],
        ["status"],
        ["submissions"],
        ["submissions", "--integration", "ticketfairy"],
        ["events", "show", "--url", URL],
        ["dlq", "show", "ticketfairy"],
        ["replay", "ticketfairy", "--dry-run"],
    ],
    ids=" ".join,
)
def test_every_listing_has_json(stack: Stack, command: list[str]) -> None:
    assert json.loads(invoke(*command, "--json").stdout)


def test_integrations_list_shows_queue_function_and_settings(stack: Stack) -> None:
    lines = invoke("integrations", "list").stdout.splitlines()
    assert lines[0].split() == ["integration", "queue", "function", "settings", "queued", "DLQ", "fan-out"]
    # An optional integration left out of the stack (no CalendarUrl): nothing of it is deployed.
    assert lines[1].split() == ["calendar", "no", "no", "no", "submit", "function", "-", "-", "-"]
    assert lines[2].split() == ["ticketfairy", "yes", "yes", "ok", "0", "0", "on"]
    # Deployed without a WebhookUrl: paused, and said so rather than "invalid".
    assert lines[3].split() == ["webhook", "yes", "yes", "not", "configured", "(paused)", "0", "0", "paused"]


def test_empty_results_say_so(stack: Stack) -> None:
    assert invoke("submissions", "--integration", "ticketfairy", "--status", "failed").stdout == (
        "no failed submission records for ticketfairy\n"
    )
    assert invoke("dlq", "show", "ticketfairy").stdout == "ticketfairy's dead-letter queue is empty\n"


def test_a_dry_run_needs_no_secret_and_shapes_payloads_with_the_stacks_settings(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This machine's settings must not leak into what the stack would send.
    monkeypatch.setenv("TICKETFAIRY_STATUS", "Leaked")
    monkeypatch.setenv("TICKETFAIRY_BASE_URL", "https://www.theticketfairy.com")
    for name in ("TICKETFAIRY_API_KEY", "TICKETFAIRY_API_KEY_PARAMETER", "TICKETFAIRY_API_KEY_SECRET"):
        monkeypatch.delenv(name, raising=False)

    result = invoke("replay", "ticketfairy", "--selector", "all", "--dry-run")

    assert result.stdout.splitlines()[0] == f"event {event_id_for(URL)} (version 1): dry_run"
    assert '"status": "Public"' in result.stdout
    assert "Leaked" not in result.stdout
    assert result.stdout.splitlines()[-1] == "dry run: 1 events selected (all) for ticketfairy; nothing queued"


def test_status_and_submissions_show_a_pending_record_readably(stack: Stack, tmp_path: Path) -> None:
    store = DynamoStore(load_env_model(TableSettings, stack.env("ReplayFunction")))
    cached = store.events.get(event_id_for(URL))
    assert cached is not None
    claim = store.submissions.claim(
        cached.event_id, "ticketfairy", data_hash=cached.data_hash, version=1, lease_seconds=60
    )
    assert claim.record is not None

    status = invoke("status").stdout.splitlines()
    header = ["integration", "pending", "in", "progress", "success", "failed", "skipped", "queued", "DLQ"]
    assert status[0].split() == header
    assert status[1].split() == ["ticketfairy", "0", "1", "0", "0", "0", "0", "0"]
    assert status[2].split() == ["webhook", "0", "0", "0", "0", "0", "0", "0"]
    assert status[3].startswith(f"oldest pending for ticketfairy: event {cached.event_id}, in_progress since 20")

    table = invoke("submissions").stdout
    assert all(len(line) <= 80 for line in table.splitlines()), table
    assert "in_progress" in table
    assert claim.record.updated_at is not None
    assert claim.record.updated_at.strftime("%Y-%m-%d %H:%M:%S") in table
