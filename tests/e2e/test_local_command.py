"""``event-importer local`` and ``demo`` as a person runs them: real processes, real signals, real ports."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from infra.local import SAMPLE_EVENTS
from tests.conftest import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # two whole runtimes, five function hosts each

CLI = [sys.executable, "-c", "from infra.cli import main; main()"]
URL = re.compile(r"http://127\.0\.0\.1:(\d+)")


def child_pids(pid: int) -> set[int]:
    """Direct children of ``pid``, from /proc."""
    children: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        # A thread may end between listing and reading: its children are then nobody's to count.
        with contextlib.suppress(FileNotFoundError):
            children.update(int(child) for child in (task / "children").read_text().split())
    return children


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_local_stops_cleanly_on_sigterm_and_frees_its_ports(tmp_path: Path) -> None:
    # Ctrl-C is tested on the README walkthrough's runtime (tests/e2e/test_quickstart.py): one start fewer.
    stop_signal = signal.SIGTERM
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    # With a CalDAV server too: the calendar integration is switched on and pointed at it.
    process = subprocess.Popen(
        [*CLI, "local", "--with-caldav"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 120  # a busy machine starts five function hosts and two servers
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, "event-importer local exited early:\n" + "".join(lines)
            lines.append(line)
            if "Ctrl-C to stop" in line:
                break
        output = "".join(lines)
        ports = {int(port) for port in URL.findall(output)}
        # The moto server, the TicketFairy stand-in, the webhook receiver, Radicale and the HTTP API.
        assert len(ports) == 5, output
        (api_line,) = [line for line in lines if "HTTP API" in line]
        api_url = URL.search(api_line)
        assert api_url is not None, api_line
        # The printed URL serves the API function's handler.
        answer = httpx.get(f"{api_url.group(0).rstrip('/')}/integrations", timeout=30)
        assert answer.status_code == 200, answer.text
        deployed = [item["name"] for item in answer.json() if item["deployed"]]
        assert deployed == ["calendar", "ticketfairy", "webhook"]
        hosts = child_pids(process.pid)
        assert len(hosts) >= 2, "expected host processes for the template's functions"

        process.send_signal(stop_signal)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output + rest
    assert "stopped" in rest
    assert not [pid for pid in hosts if alive(pid)], "a function host outlived the runtime"
    assert all(port_is_free(port) for port in ports)


def test_demo_json_delivers_every_valid_event_quietly(tmp_path: Path) -> None:
    # The sample file's first 14 lines, the 14th invalid: the whole demo, at a ninth of its size
    # (`make demo` runs all 130 lines; here three integrations' CPU is what the suite's time goes to).
    lines = SAMPLE_EVENTS.read_text(encoding="utf-8").splitlines(keepends=True)[:14]
    events = tmp_path / "events.jsonl"
    events.write_text("".join(lines), encoding="utf-8")
    result = subprocess.run(
        [*CLI, "demo", "--json", "--events", str(events)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["ok"] is True
    assert summary["events_in_file"] == 14
    assert summary["valid_events"] == 13
    # Radicale is a dev dependency: the demo delivers to a CalDAV calendar too, and reads it back.
    delivered = {"success": summary["valid_events"]}
    assert summary["records_by_status"] == {"calendar": delivered, "ticketfairy": delivered, "webhook": delivered}
    assert summary["destination_creates"] == summary["calendar_events"] == summary["valid_events"]
    # The webhook delivers too: every valid event, and the one change gating lets through.
    assert summary["webhook_messages"] == summary["valid_events"] + 1
    assert summary["webhook_invalid_signatures"] == 0
    # A new thumbnail changes nothing TicketFairy or the calendar is sent, and the whole event the webhook is sent.
    assert summary["change_gating"]["ticketfairy"].startswith("skipped: not sent")
    assert summary["change_gating"]["calendar"].startswith("skipped: not sent")
    assert summary["change_gating"]["webhook"] == "success"
    assert len(summary["invalid_events"]) == 1
    assert all(item["errors"] for item in summary["invalid_events"])
    assert summary["latency_ms"]["p50"] <= summary["latency_ms"]["p95"]
    # Quiet by default: no per-request lines from moto's server, no INFO logs.
    assert "HTTP/1.1" not in result.stderr
    assert '"level":"INFO"' not in result.stderr
    # Nothing went wrong on the way either (a guessed CalDAV login once made a batch's first requests 401).
    assert '"level":"WARNING"' not in result.stderr, result.stderr
