"""A real CalDAV server (Radicale) on loopback, for ``event-importer local --with-caldav`` and the tests.

``RadicaleServer`` runs ``python -m radicale`` in its own process on
``127.0.0.1`` and a free port, storing into a temporary folder that is
removed when it stops.  With a password it authenticates one user from an
htpasswd file, as a deployed server would; without one it accepts anyone.
``start`` creates the calendar collection events are delivered to and
returns its URL; ``events`` reads the calendar back through the ``caldav``
client, the way any calendar application would see it.

A dev dependency (``radicale``): never part of a function.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

__all__ = ["CALENDAR_NAME", "PASSWORD_PARAMETER", "RadicaleServer"]

CALENDAR_NAME = "events"
#: The template parameter naming the SSM parameter that holds the CalDAV password.
PASSWORD_PARAMETER = "CalendarPasswordParameter"  # noqa: S105 - a parameter name, not a password
_START_TIMEOUT_SECONDS = 20.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RadicaleServer:
    """One Radicale process holding one calendar (``<base>/<username>/events/``)."""

    def __init__(self, *, username: str = "importer", password: str | None = None) -> None:
        self.username = username
        self.password = password
        self._folder: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def calendar_url(self) -> str:
        return f"{self.base_url}{self.username}/{CALENDAR_NAME}/"

    def template_parameters(self) -> dict[str, str]:
        """The template parameters that switch the calendar integration on and point it here."""
        return {"CalendarUrl": self.calendar_url, "CalendarUsername": self.username}

    def start(self) -> str:
        """Start the server, create the calendar and return its URL."""
        self._folder = Path(tempfile.mkdtemp(prefix="radicale-"))
        self.port = _free_port()
        config = self._folder / "config"
        lines = [
            "[server]",
            f"hosts = 127.0.0.1:{self.port}",
            "[storage]",
            f"filesystem_folder = {self._folder / 'collections'}",
            "[logging]",
            "level = warning",
            "[auth]",
        ]
        if self.password is None:
            lines.append("type = none")
        else:
            users = self._folder / "users"
            users.write_text(f"{self.username}:{self.password}\n", encoding="utf-8")
            # No delay after a refused login (Radicale's brute-force brake): tests refuse one on purpose.
            lines += ["type = htpasswd", f"htpasswd_filename = {users}", "htpasswd_encryption = plain", "delay = 0"]
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        log = (self._folder / "radicale.log").open("wb")
        command = [sys.executable, "-m", "radicale", "--config", str(config)]
        self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603 - our own interpreter
        log.close()
        self._wait_until_listening()
        self._make_calendar()
        return self.calendar_url

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                time.sleep(0.05)
            else:
                return
        log = (self._folder / "radicale.log").read_text(errors="replace") if self._folder else ""
        self.stop()
        raise RuntimeError(f"Radicale did not start on 127.0.0.1:{self.port}: {log[-500:]}")

    def client(self) -> Any:
        """A synchronous ``caldav.DAVClient`` logged in as the calendar's owner."""
        from caldav.davclient import DAVClient

        # Basic auth up front: with auth "none" Radicale never asks, but the login names the owner.
        return DAVClient(url=self.base_url, username=self.username, password=self.password or "-", auth_type="basic")

    def _make_calendar(self) -> None:
        with self.client() as dav:
            dav.principal().make_calendar(name=CALENDAR_NAME, cal_id=CALENDAR_NAME)

    def events(self) -> dict[str, Any]:
        """Every VEVENT in the calendar, read back through CalDAV, by UID (``icalendar.Event``)."""
        from caldav.collection import Calendar

        with self.client() as dav:
            calendar = Calendar(client=dav, url=self.calendar_url)
            found = {}
            events: Any = calendar.get_events()  # a list with a sync client (the stubs allow a coroutine)
            for item in events:
                component = item.icalendar_component
                found[str(component["UID"])] = component
            return found

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
