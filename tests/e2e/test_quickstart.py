"""The README's five-minute walkthrough, run exactly as written, with each command's output checked.

``event-importer local --fast`` runs as a real process (it is what a newcomer
starts in terminal 1) with a private state directory; every other command of
the walkthrough runs in this process, with no option added, so it finds the
runtime through the state file alone.  A command the README says to run
"again until" something shows is repeated until it does (with a deadline).
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from infra.cli import build_cli
from infra.local.state import current_state
from tests.conftest import ROOT
from tests.e2e.test_local_command import URL, alive, child_pids, port_is_free

pytestmark = pytest.mark.e2e

README = ROOT / "README.md"
START, END = "<!-- walkthrough:start", "<!-- walkthrough:end -->"
#: The walkthrough's waits are seconds with --fast; this is for a machine shared by many processes.
DEADLINE_SECONDS = 90


def walkthrough_commands() -> list[str]:
    """The ``event-importer`` command lines of the README's walkthrough, comments stripped, in order."""
    text = README.read_text()
    section = text[text.index(START) : text.index(END)]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    lines = [line.split("  #", 1)[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("event-importer ")]


def rows(result: Result, first: str) -> list[list[str]]:
    return [line.split() for line in result.stdout.splitlines() if line.split()[:1] == [first]]


def status_row(result: Result) -> dict[str, str]:
    header = ["integration", "pending", "in_progress", "success", "failed", "skipped", "queued", "DLQ"]
    (row,) = rows(result, "ticketfairy")
    return dict(zip(header, row, strict=True))


def all_success(count: int) -> Callable[[Result], bool]:
    def check(result: Result) -> bool:
        statuses = [line.split()[1] for line in result.stdout.splitlines()[1:] if line.strip()]
        return len(statuses) == count and set(statuses) == {"success"}

    return check


#: What each command must print (checked once), or, for "again until" commands, print eventually.
CHECKS: dict[str, tuple[bool, Callable[[Result], bool]]] = {
    "event-importer import examples/walkthrough.jsonl": (
        False,
        lambda r: r.stdout.strip() == "created 3, updated 0, unchanged 0, invalid 0",
    ),
    "event-importer submissions --integration ticketfairy": (True, all_success(3)),
    "event-importer replay ticketfairy --selector all --dry-run": (
        False,
        lambda r: (
            r.stdout.count('"title": "') == 3
            and r.stdout.splitlines()[-1] == "dry run: 3 events selected (all) for ticketfairy; nothing queued"
        ),
    ),
    "event-importer stand-in break": (False, lambda r: r.stdout.startswith("stand-in destination broken")),
    "event-importer import examples/more-events.jsonl": (
        False,
        lambda r: r.stdout.strip() == "created 2, updated 0, unchanged 0, invalid 0",
    ),
    "event-importer dlq show ticketfairy": (
        False,
        lambda r: "dead-letter queue holds 2 messages" in r.stdout and r.stdout.count("retries exhausted") == 2,
    ),
    "event-importer stand-in fix": (False, lambda r: r.stdout.startswith("stand-in destination fixed")),
    "event-importer dlq redrive ticketfairy": (
        False,
        lambda r: r.stdout.strip() == "moved 2 messages from ticketfairy's dead-letter queue back to its queue",
    ),
}


def status_until(wanted: dict[str, str]) -> Callable[[Result], bool]:
    def check(result: Result) -> bool:
        row = status_row(result)
        return all(row[column] == value for column, value in wanted.items())

    return check


#: ``status`` is run twice, waiting for different things.
STATUS_WAITS = [
    status_until({"DLQ": "2", "success": "3"}),
    status_until({"DLQ": "0", "success": "5", "failed": "0", "pending": "0", "in_progress": "0"}),
]


@dataclass
class Walkthrough:
    """The walkthrough's ``event-importer local --fast`` process and what it printed."""

    process: subprocess.Popen[str]
    state_dir: Path
    banner: str


@pytest.fixture(scope="module")
def local_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walkthrough]:
    """``event-importer local --fast`` as the README starts it (the last test stops it with Ctrl-C)."""
    state_dir = tmp_path_factory.mktemp("quickstart-state")
    (command,) = [line for line in walkthrough_commands() if line.startswith("event-importer local")]
    env = {**os.environ, "EVENT_IMPORTER_STATE_DIR": str(state_dir), "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    cli = [sys.executable, "-c", "from infra.cli import main; main()"]
    process = subprocess.Popen(
        [*cli, *shlex.split(command)[1:]],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not any("Ctrl-C to stop" in line for line in lines):
            line = process.stdout.readline()
            assert line, "event-importer local exited early:\n" + "".join(lines)
            lines.append(line)
        yield Walkthrough(process, state_dir, "".join(lines))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_readme_walkthrough_runs_as_written(local_runtime: Walkthrough, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENT_IMPORTER_STATE_DIR", str(local_runtime.state_dir))
    monkeypatch.chdir(ROOT)
    running = current_state()
    assert running is not None
    assert running.destination_url is not None
    runner = CliRunner()
    statuses = iter(STATUS_WAITS)
    timings: list[tuple[str, float]] = []

    for command in walkthrough_commands():
        if command.startswith("event-importer local"):
            continue
        if command == "event-importer status":
            repeat, check = True, next(statuses)
        else:
            assert command in CHECKS, f"the README's walkthrough has a command this test does not check: {command}"
            repeat, check = CHECKS[command]
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:
            started = time.monotonic()
            result = runner.invoke(build_cli(), shlex.split(command)[1:])
            assert result.exit_code == 0, f"{command}\n{result.output}"
            # No option names the target: the state file does, and each operation says so.
            expected = (
                f"target: stand-in destination at {running.destination_url}"
                if command.startswith("event-importer stand-in")
                else f"target: stack local on endpoint {running.endpoint_url}"
            )
            assert result.stderr.startswith(expected), result.stderr
            timings.append((command, time.monotonic() - started))
            if check(result):
                break
            assert repeat, f"{command} printed:\n{result.stdout}"
            assert time.monotonic() < deadline, f"{command} never showed what the README promises:\n{result.stdout}"
            time.sleep(0.25)
    print(" ".join(f"{c.split(' ', 1)[1]}={t:.1f}s" for c, t in timings))


def test_ctrl_c_stops_the_runtime_frees_its_ports_and_removes_its_state_file(local_runtime: Walkthrough) -> None:
    # The other way to stop it, SIGTERM, is tests/e2e/test_local_command.py's.
    ports = {int(port) for port in URL.findall(local_runtime.banner)}
    # the moto server, the TicketFairy stand-in, the webhook receiver and the HTTP API
    assert len(ports) == 4, local_runtime.banner
    hosts = child_pids(local_runtime.process.pid)
    assert len(hosts) >= 2, "expected host processes for the template's functions"

    local_runtime.process.send_signal(signal.SIGINT)
    rest, _ = local_runtime.process.communicate(timeout=60)

    assert local_runtime.process.returncode == 0, local_runtime.banner + rest
    assert "stopped" in rest
    assert not list(local_runtime.state_dir.glob("runtime-*.json")), "the state file outlived the runtime"
    assert not [pid for pid in hosts if alive(pid)], "a function host outlived the runtime"
    assert all(port_is_free(port) for port in ports)
