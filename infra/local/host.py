"""Function hosts: each function runs in its own process, as in a Lambda execution environment.

A separate process gives every function its own environment variables and
module-level caches (settings, clients), exactly as on Lambda.  An invocation
that overruns the function's timeout is killed and the host restarted, which
is what Lambda does too.  The host speaks JSON lines on its own pipe; the
function's stdout is redirected to stderr, so its logs reach the terminal and
never the protocol.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from infra.local.eventsources import LocalContext


@dataclass(frozen=True)
class Invocation:
    """The outcome of one invocation: a response, or a function error."""

    response: Any = None
    error: str | None = None
    duration_ms: float = 0.0

    @property
    def failed(self) -> bool:
        return self.error is not None


class FunctionHost:
    """One warm execution environment for one function."""

    def __init__(
        self,
        function_name: str,
        handler: str,
        environment: Mapping[str, str],
        *,
        timeout_seconds: float,
        memory_mb: int = 256,
        start_timeout: float = 60.0,
    ) -> None:
        self.function_name = function_name
        self.handler = handler
        self.environment = dict(environment)
        self.timeout_seconds = timeout_seconds
        self.memory_mb = memory_mb
        self.start_timeout = start_timeout
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        #: Execution environments started: 1 + one per crash or timeout.
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        """Start the process and wait until the handler is imported (the cold start)."""
        with self._lock:
            self._start()

    def _start(self) -> None:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "infra.local.host", self.handler, self.function_name, str(self.memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**_inherited_environment(), **self.environment},
            text=True,
            # Its own process group: Ctrl-C goes to the runtime, which stops hosts in order.
            start_new_session=True,
        )
        self._process = process
        self.starts += 1
        if self._read_line(self.start_timeout) is None:
            self._kill()
            raise RuntimeError(f"{self.function_name} failed to start (its output is above)")

    def _read_line(self, timeout: float) -> dict[str, Any] | None:
        stdout = self._process.stdout if self._process is not None else None
        if stdout is None:
            return None
        ready, _, _ = select.select([stdout], [], [], timeout)
        if not ready:
            return None
        line = stdout.readline()
        return json.loads(line) if line else None

    def invoke(self, event: Mapping[str, Any]) -> Invocation:
        """Run the handler on ``event``; a timeout or crash is a function error, and the host restarts."""
        with self._lock:
            if self._process is None:
                self._start()
            started = time.monotonic()
            try:
                stdin = self._process.stdin if self._process is not None else None
                if stdin is None:
                    raise BrokenPipeError
                stdin.write(json.dumps({"event": event, "timeout": self.timeout_seconds}) + "\n")
                stdin.flush()
            except (BrokenPipeError, OSError):
                self._kill()
                return Invocation(error="Runtime exited unexpectedly")
            answer = self._read_line(self.timeout_seconds)
            elapsed = (time.monotonic() - started) * 1000
            if answer is None:
                timed_out = self._process is not None and not _exits_within(self._process, 0.5)
                self._kill()
                error = f"Task timed out after {self.timeout_seconds:.2f} seconds" if timed_out else "Runtime exited"
                return Invocation(error=error, duration_ms=elapsed)
            if "error" in answer:
                return Invocation(error=str(answer["error"]), duration_ms=elapsed)
            return Invocation(response=answer.get("response"), duration_ms=elapsed)

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait(10)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def reconfigure(self, environment: Mapping[str, str]) -> None:
        """Replace the environment; the next invocation starts a fresh process with it (as Lambda does)."""
        self.stop()
        with self._lock:
            self.environment = dict(environment)

    def stop(self) -> None:
        """Ask the host to exit (end of its input); kill it if it does not."""
        with self._lock:
            process = self._process
            if process is None:
                return
            if process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)
            self._kill()


# A host gets what Lambda would give it: the template's environment, not the shell's.
# Only what the interpreter itself needs is inherited; a developer's exported
# TICKETFAIRY_API_KEY or AWS_PROFILE must not leak into a function.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "PYTHONPATH", "VIRTUAL_ENV", "TMPDIR", "SYSTEMROOT")


def _inherited_environment() -> dict[str, str]:
    return {name: os.environ[name] for name in _INHERITED if name in os.environ}


def _exits_within(process: subprocess.Popen[str], seconds: float) -> bool:
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def _serve(handler_path: str, function_name: str, memory_mb: int, requests: IO[str], replies: IO[str]) -> None:
    from infra.local import chaos

    chaos.install()
    module_name, _, attribute = handler_path.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    replies.write(json.dumps({"ready": True}) + "\n")
    replies.flush()
    for line in requests:
        request = json.loads(line)
        context = LocalContext(function_name, timeout_seconds=request["timeout"], memory_limit_in_mb=memory_mb)
        try:
            reply: dict[str, Any] = {"response": handler(request["event"], context)}
        except Exception as exc:  # a function error, reported like Lambda's errorType/errorMessage
            reply = {"error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"}
        replies.write(json.dumps(reply, default=str) + "\n")
        replies.flush()


def main() -> None:
    """Host process entry point: ``python -m infra.local.host HANDLER FUNCTION_NAME MEMORY_MB``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    # The function's own prints and logs go to stderr, never into the protocol.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    _serve(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.stdin, replies)


if __name__ == "__main__":
    main()
