"""The local runtime's state file: where it lives, what it holds, and that a dead runtime's file is ignored."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.local.state import RuntimeState, current_state, live_states, recorded, state_dir, write_state


def state(pid: int, *, minutes: int = 0, endpoint: str = "http://127.0.0.1:5000") -> RuntimeState:
    started = dt.datetime(2026, 12, 6, tzinfo=dt.UTC) + dt.timedelta(minutes=minutes)
    return RuntimeState(pid=pid, endpoint_url=endpoint, region="us-east-1", stack="local", started_at=started)


def dead_pid() -> int:
    process = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    return int(process.stdout)


def test_the_state_directory_is_documented_and_overridable(tmp_path: Path) -> None:
    assert state_dir({"EVENT_IMPORTER_STATE_DIR": str(tmp_path)}) == tmp_path
    assert state_dir({"XDG_STATE_HOME": "/xdg"}) == Path("/xdg/event-importer")
    assert state_dir({}) == Path.home() / ".local" / "state" / "event-importer"


def test_a_recorded_runtime_is_found_then_forgotten_on_exit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EVENT_IMPORTER_STATE_DIR", str(tmp_path))
    assert current_state() is None
    with recorded(state(os.getpid())) as path:
        assert path == tmp_path / f"runtime-{os.getpid()}.json"
        assert current_state() == state(os.getpid())
    assert not path.exists()
    assert current_state() is None


def test_stale_and_unreadable_files_are_ignored_and_the_newest_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EVENT_IMPORTER_STATE_DIR", str(tmp_path))
    write_state(state(dead_pid(), minutes=30))  # killed without a chance to clean up
    (tmp_path / "runtime-1.json").write_text("{not json")
    older = state(os.getppid(), minutes=1, endpoint="http://127.0.0.1:5001")
    newer = state(os.getpid(), minutes=2, endpoint="http://127.0.0.1:5002")
    write_state(older)
    write_state(newer)

    assert live_states() == [newer, older]
    assert current_state() == newer
