"""Where a running local runtime listens, recorded so that every command finds it with no set-up.

``event-importer local`` (and ``demo`` while it runs) writes
``runtime-<pid>.json`` into the state directory and removes it on exit:

1. ``$EVENT_IMPORTER_STATE_DIR``, when set;
2. else ``$XDG_STATE_HOME/event-importer``;
3. else ``~/.local/state/event-importer``.

A file whose process is gone (a runtime killed with SIGKILL) is stale and
ignored.  The file holds addresses only, never a secret.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from pydantic import BaseModel, ValidationError

STATE_DIR_VARIABLE = "EVENT_IMPORTER_STATE_DIR"


class RuntimeState(BaseModel):
    """What a command needs to talk to a running local runtime."""

    pid: int
    endpoint_url: str
    region: str
    stack: str
    #: The stand-in destination's base URL (absent with ``--no-destination``).
    destination_url: str | None = None
    #: The operators' HTTP API on loopback (absent with ``--no-api``).
    api_url: str | None = None
    started_at: dt.datetime


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The directory runtime state files live in (see the module's docstring)."""
    env = os.environ if environ is None else environ
    if env.get(STATE_DIR_VARIABLE):
        return Path(env[STATE_DIR_VARIABLE])
    if env.get("XDG_STATE_HOME"):
        return Path(env["XDG_STATE_HOME"]) / "event-importer"
    return Path.home() / ".local" / "state" / "event-importer"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, but alive
    return True


def write_state(state: RuntimeState) -> Path:
    """Record ``state`` (atomically: a reader never sees half a file); returns the file."""
    directory = state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"runtime-{state.pid}.json"
    partial = path.with_suffix(".tmp")
    partial.write_text(state.model_dump_json(indent=2))
    partial.replace(path)
    return path


def remove_state(path: Path) -> None:
    """Forget a runtime's file (it may already be gone)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def live_states() -> list[RuntimeState]:
    """Running local runtimes, newest first; stale and unreadable files are skipped."""
    directory = state_dir()
    if not directory.is_dir():
        return []
    found = []
    for path in directory.glob("runtime-*.json"):
        try:
            state = RuntimeState.model_validate_json(path.read_text())
        except (OSError, ValidationError):
            continue
        if _alive(state.pid):
            found.append(state)
    return sorted(found, key=lambda state: state.started_at, reverse=True)


def current_state() -> RuntimeState | None:
    """The newest running local runtime, if any."""
    states = live_states()
    return states[0] if states else None


@contextlib.contextmanager
def recorded(state: RuntimeState) -> Iterator[Path]:
    """Keep ``state``'s file for the duration of the block."""
    path = write_state(state)
    try:
        yield path
    finally:
        remove_state(path)
