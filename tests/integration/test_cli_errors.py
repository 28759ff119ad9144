"""Every operator mistake and expected failure: one line on stderr, exit code 2 (usage) or 1 (failure).

The CLI runs in-process against one stack deployed on in-process moto; each
case asserts the ``error:`` line (the only other stderr line allowed is the
``target:`` announcement), the exit code, and that no traceback was shown.
``--debug`` and ``EVENT_IMPORTER_DEBUG=1`` let the exception through instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws
from typer.testing import CliRunner, Result

from infra import cli
from infra.aws.stack import Stack, deploy
from infra.operations import Operations
from infra.runtime.operations import build_operations
from tests.conftest import REGION

runner = CliRunner()


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with mock_aws():
        yield deploy("errors", region=REGION)


def invoke(arguments: list[str]) -> Result:
    return runner.invoke(cli.build_cli(), arguments)


def assert_one_error_line(result: Result, code: int, message: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert message in errors[0], errors[0]
    assert all(line.startswith(("error: ", "target: ")) for line in lines), result.stderr
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


USAGE_ERRORS = [
    (["import", "missing.jsonl"], "no file 'missing.jsonl'"),
    (["demo", "--events", "missing.jsonl"], "'missing.jsonl' does not exist"),
    (["replay", "nope"], "no integration named 'nope'"),
    (["replay", "ticketfairy", "--selector", "newest"], "unknown selector 'newest' for ticketfairy; known:"),
    (["replay", "ticketfairy", "--selector", "by-url"], "the by-url selector needs a url"),
    (["replay", "ticketfairy", "--selector", "failed", "--url", "https://x.example/1"], "takes no url"),
    (["replay", "ticketfairy", "--limit", "0"], "--limit"),
    (["submissions", "--integration", "nope"], "no integration named 'nope'"),
    (["submissions", "--status", "done"], "'done' is not one of"),
    (["status", "--colour", "red"], "No such option: --colour"),
    (["events", "show"], "exactly one of its id or its source URL"),
    (["dlq", "show", "nope"], "no integration named 'nope'"),
    (["local", "--no-destination"], "--no-destination needs -p TicketfairyBaseUrl=URL"),
    (["stand-in", "break"], "no local runtime with a stand-in destination is running"),
]


@pytest.mark.parametrize(("arguments", "message"), USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS])
def test_usage_errors_are_one_line_and_exit_2(stack: Stack, arguments: list[str], message: str) -> None:
    takes_stack = arguments[0] not in ("demo", "local", "stand-in")
    assert_one_error_line(invoke([*arguments, "--stack", stack.name] if takes_stack else arguments), 2, message)


def test_a_wrong_stack_says_what_to_do(stack: Stack) -> None:
    result = invoke(["status", "--stack", "nope"])
    assert_one_error_line(result, 1, f"no stack 'nope' in {REGION}: deploy it with `sam deploy`")


def test_an_integration_without_a_queue_is_not_deployed(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    real = build_operations

    def without_queues(*args: object, **kwargs: object) -> Operations:
        operations = real(*args, **kwargs)  # type: ignore[arg-type]
        operations.queues = {}
        return operations

    monkeypatch.setattr(cli, "build_operations", without_queues)
    result = invoke(["dlq", "redrive", "ticketfairy", "--stack", stack.name])
    assert_one_error_line(result, 1, "integration 'ticketfairy' has no queue in this deployment")


def test_no_credentials_against_aws(stack: Stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = invoke(["status", "--stack", stack.name])
    assert_one_error_line(result, 1, "no AWS credentials: configure them")


def test_no_region_against_aws(stack: Stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    result = invoke(["status", "--stack", stack.name])
    assert_one_error_line(result, 1, "no AWS region: pass --region or set AWS_REGION")


def test_an_unreachable_endpoint(stack: Stack) -> None:
    # Port 9 (discard) on loopback: nothing listens there.
    result = invoke(["status", "--endpoint-url", "http://127.0.0.1:9"])
    assert_one_error_line(result, 1, "cannot reach http://127.0.0.1:9")


def test_debug_shows_the_traceback(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    flagged = invoke(["--debug", "replay", "ticketfairy", "--selector", "newest", "--stack", stack.name])
    assert flagged.exception is not None
    assert not isinstance(flagged.exception, SystemExit)
    assert "unknown selector 'newest'" in str(flagged.exception)

    monkeypatch.setenv("EVENT_IMPORTER_DEBUG", "1")
    variable = invoke(["status", "--stack", "nope"])
    assert variable.exception is not None
    assert "no stack 'nope'" in str(variable.exception)
